package trace

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// randomOrders makes n keys whose words are drawn from few values or
// many, as hops and addresses are, with ties in all the words for the
// comparison to settle by each key's tie field.
func randomOrders(rng *rand.Rand, n int, spread []uint64) (keys []order, tie []int) {
	keys, tie = make([]order, n), make([]int, n)
	for i := range keys {
		keys[i].i = int32(i)
		for j := range keys[i].w {
			keys[i].w[j] = rng.Uint64N(spread[j])
		}
		tie[i] = rng.IntN(n)
	}
	return keys, tie
}

// orderTies settles keys whose words are equal by their tie field, and
// orderCmp is the whole order, written apart from the sort's.
func orderTies(tie []int) func(a, b *order) int {
	return func(a, b *order) int {
		return cmp.Or(cmp.Compare(tie[a.i], tie[b.i]), cmp.Compare(a.i, b.i))
	}
}

func orderCmp(tie []int) func(a, b *order) int {
	ties := orderTies(tie)
	return func(a, b *order) int {
		for j := range a.w {
			if a.w[j] != b.w[j] {
				return cmp.Compare(a.w[j], b.w[j])
			}
		}
		return ties(a, b)
	}
}

// TestSortOrders: the radix sort orders keys as the comparison sort
// does, with keys random in every byte, in a few bytes, or in none.
func TestSortOrders(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const all = 1<<64 - 1
	spreads := [][]uint64{
		{7, all, all, all, all, all},
		{7, 3, 1, 1, 1, 1 << 16},                // program-made addresses: zeros, a number
		{1, 1, 1, 1, 1, 1},                      // all equal: the comparison decides
		{3, 1 << 8, 2, 1, 1 << 40, 5},           // ties in some words
		{2, all >> 7, 1, all >> 60, 1, 1 << 33}, // differing bits in the middle of bytes
	}
	for _, spread := range spreads {
		for _, n := range []int{0, 1, 2, radixCutoff, radixCutoff + 1, 100, 1000, 20_000} {
			keys, tie := randomOrders(rng, n, spread)
			c := orderCmp(tie)
			want := slices.Clone(keys)
			slices.SortFunc(want, func(a, b order) int { return c(&a, &b) })
			sortOrders(keys, make([]order, n), orderTies(tie))
			if !slices.Equal(keys, want) {
				t.Fatalf("spread %v, %d keys: radix sort differs from the comparison sort", spread, n)
			}
		}
	}
}

func BenchmarkSortOrders(b *testing.B) {
	const all = 1<<64 - 1
	for _, c := range []struct {
		name   string
		spread []uint64
	}{
		{"random", []uint64{7, all, all, all, all, all}},
		{"numbered", []uint64{7, 3, 1, 1, 1, 1 << 16}},
	} {
		keys, tie := randomOrders(rand.New(rand.NewPCG(1, 2)), 10_000, c.spread)
		cmp, ties := orderCmp(tie), orderTies(tie)
		s, tmp := make([]order, len(keys)), make([]order, len(keys))
		b.Run(fmt.Sprint(c.name, "/radix"), func(b *testing.B) {
			for range b.N {
				copy(s, keys)
				sortOrders(s, tmp, ties)
			}
		})
		b.Run(fmt.Sprint(c.name, "/pdqsort"), func(b *testing.B) {
			for range b.N {
				copy(s, keys)
				slices.SortFunc(s, func(a, b order) int { return cmp(&a, &b) })
			}
		})
	}
}
