package trace

import (
	"cmp"
	"slices"
)

// A trace's nodes are sorted by hop and address, its edges by block and
// place in the block, and a trace reaches tens of thousands of them:
// comparing keys through a function value took a fifth of a cached
// trace. A radix sort reads each key a few times instead, and only the
// bytes in which the keys differ (addresses made by a program share long
// runs of zeros; random ones are told apart by their first bytes).

// order is a sort key: six words compared in turn (a node's hop and the
// first 40 bytes of its address after the prefix all the trace's
// addresses share; an edge's block and place in it), and i, the place
// of what it orders.
type order struct {
	w [6]uint64
	i int32
}

// digit is a byte of a key: its word and its shift in the word.
type digit struct{ word, shift uint8 }

func (d digit) of(o *order) byte { return byte(o.w[d.word] >> d.shift) }

// Buckets this small are sorted by comparison.
const radixCutoff = 24

// sortOrders sorts s by its keys' words, and keys whose words are equal
// by ties. tmp is scratch of s's length.
func sortOrders(s, tmp []order, ties func(a, b *order) int) {
	if len(s) < 2 {
		return
	}
	// The bytes in which some key differs from the first, most
	// significant first: the others order nothing.
	var diff [6]uint64
	for i := range s {
		for j := range diff {
			diff[j] |= s[i].w[j] ^ s[0].w[j]
		}
	}
	var digits [48]digit
	n := 0
	for j := range diff {
		for shift := 56; shift >= 0; shift -= 8 {
			if byte(diff[j]>>shift) != 0 {
				digits[n] = digit{uint8(j), uint8(shift)}
				n++
			}
		}
	}
	radix(s, tmp, digits[:n], ties)
}

// compare orders keys by their words, then by ties.
func (a *order) compare(b *order, ties func(a, b *order) int) int {
	for j := range a.w {
		if a.w[j] != b.w[j] {
			return cmp.Compare(a.w[j], b.w[j])
		}
	}
	return ties(a, b)
}

// radix sorts s, whose keys are equal in the bytes before digits[0], by
// the first digit, then each bucket by the digits after it.
func radix(s, tmp []order, digits []digit, ties func(a, b *order) int) {
	if len(s) <= radixCutoff || len(digits) == 0 {
		sortRun(s, ties)
		return
	}
	d := digits[0]
	var count [256]int
	for i := range s {
		count[d.of(&s[i])]++
	}
	if count[d.of(&s[0])] == len(s) {
		radix(s, tmp, digits[1:], ties) // a byte this bucket shares
		return
	}
	var at [256]int
	sum := 0
	for b, c := range count {
		at[b] = sum
		sum += c
	}
	for i := range s {
		b := d.of(&s[i])
		tmp[at[b]] = s[i]
		at[b]++
	}
	copy(s, tmp)
	lo := 0
	for _, c := range count {
		if c > 1 {
			radix(s[lo:lo+c], tmp[lo:lo+c], digits[1:], ties)
		}
		lo += c
	}
}

// sortRun sorts keys the radix passes left together: a short run by
// insertion, a long one (keys whose words are all equal) by pdqsort.
func sortRun(s []order, ties func(a, b *order) int) {
	if len(s) > radixCutoff {
		slices.SortFunc(s, func(a, b order) int { return a.compare(&b, ties) })
		return
	}
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j].compare(&s[j-1], ties) < 0; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
