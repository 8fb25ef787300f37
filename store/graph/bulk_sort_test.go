package graph

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/chain"
)

// TestSortOps: the distribution sort orders a chunk as the comparison
// sort does, with keys that share long prefixes, repeat, and differ
// only past the sort words.
func TestSortOps(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 100, radixCutoff + 1, 50_000} {
		w := graphWriter{c: chain.Ethereum}
		for i := range n {
			k := chainKey([]string{gPost, gTx, gTotals}[r.IntN(3)], w.c)
			k = append(k, byte(r.IntN(3)))
			for range r.IntN(70) {
				k = append(k, byte(r.IntN(2)))
			}
			if r.IntN(4) == 0 && i > 0 {
				k = append([]byte(nil), w.opKey(&w.ops[r.IntN(len(w.ops))])...)
			}
			w.add(opKind(r.IntN(3)), k, []byte{byte(i)})
		}
		want := slices.Clone(w.ops)
		slices.SortFunc(want, w.cmpOps)
		w.sortOps(w.ops)
		if !slices.Equal(w.ops, want) {
			t.Errorf("%d operations: the distribution sort differs from the comparison sort", n)
		}
	}
}

// postingOps is a writer holding a million posting-like operations: a
// Zipf address, a time, then the rest of a posting key.
func postingOps() *graphWriter {
	r := rand.New(rand.NewPCG(1, 2))
	z := rand.NewZipf(r, 1.1, 1, 400_000)
	w := &graphWriter{c: chain.Ethereum}
	for i := range 1_000_000 {
		var addr [20]byte
		a := z.Uint64()
		for j := range addr {
			addr[j] = byte(a * uint64(j+7) >> 3)
		}
		k := postingKey(nil, w.c, "0x"+string(appendHexLower(nil, addr[:])), int64(1_700_000_000+i/300*12), uint64(i/300), uint32(i%300), 1, 0, byte(i&1))
		w.add(opSet, k, make([]byte, 80))
	}
	return w
}

// BenchmarkSortOps sorts a million posting-like operations.
func BenchmarkSortOps(b *testing.B) {
	w := postingOps()
	ops := slices.Clone(w.ops)
	for _, sorter := range []struct {
		name string
		sort func([]op)
	}{
		{"radix", w.sortOps},
		{"pdq", func(ops []op) { slices.SortFunc(ops, w.cmpOps) }},
	} {
		b.Run(sorter.name, func(b *testing.B) {
			for b.Loop() {
				copy(w.ops, ops)
				sorter.sort(w.ops)
			}
		})
	}
}

func appendHexLower(b, p []byte) []byte {
	const digits = "0123456789abcdef"
	for _, c := range p {
		b = append(b, digits[c>>4], digits[c&15])
	}
	return b
}

// BenchmarkWriteRun writes a million sorted posting-like operations,
// read from the arena in key order, as a run (disk), and copies them out
// in order without writing them (memory), which is the part that waits
// on the processor's cache misses rather than on the disk.
func BenchmarkWriteRun(b *testing.B) {
	w := postingOps()
	w.sortOps(w.ops)
	b.Run("disk", func(b *testing.B) {
		path := filepath.Join(b.TempDir(), "run")
		for b.Loop() {
			if err := writeRun(context.Background(), w, w.ops, path); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("memory", func(b *testing.B) {
		buf := make([]byte, 0, runBlock)
		for b.Loop() {
			err := w.eachKey(context.Background(), w.ops, func(kind opKind, k, v []byte) error {
				if len(buf)+3+len(k)+len(v) > cap(buf) {
					buf = buf[:0]
				}
				buf = append(append(append(buf, byte(kind), byte(len(k)), byte(len(v))), k...), v...)
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkEncodeBlocks encodes Ethereum-like blocks into a chunk, as a
// bulk load's encoder does: 150 transfers a block between Zipf-chosen
// addresses, whose strings are fresh per block as a source's are.
func BenchmarkEncodeBlocks(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	z := rand.NewZipf(r, 1.1, 1, 200_000)
	pool := make([]string, 200_001)
	for i := range pool {
		var a [20]byte
		for j := range a {
			a[j] = byte(r.Uint32())
		}
		pool[i] = "0x" + string(appendHexLower(nil, a[:]))
	}
	hash := func() string {
		var h [32]byte
		for j := range h {
			h[j] = byte(r.Uint32())
		}
		return "0x" + string(appendHexLower(nil, h[:]))
	}
	token := chain.Asset(pool[len(pool)-1])
	var blocks []*chain.Block
	const perBlock, nblocks = 150, 400
	for h := range nblocks {
		blk := &chain.Block{Chain: chain.Ethereum, Height: uint64(h + 1), Hash: hash(), Parent: hash(), Time: time.Unix(1_700_000_000+int64(h)*12, 0)}
		var picked strings.Builder
		for range 2 * perBlock {
			picked.WriteString(pool[z.Uint64()])
		}
		addrs := picked.String()
		for i := range perBlock {
			from, to := addrs[2*i*42:(2*i+1)*42], addrs[(2*i+1)*42:(2*i+2)*42]
			tx := chain.Tx{Hash: hash(), Index: i, From: from, Fee: chain.NewAmount(21000 * 30_000_000_000)}
			tr := chain.Transfer{Chain: chain.Ethereum, Tx: tx.Hash, Block: blk.Height, Time: blk.Time, From: from, To: to, Amount: chain.NewAmount(r.Uint64N(1e18)), Kind: chain.KindNative}
			if i%3 == 0 {
				tr.Kind, tr.Asset, tr.Pos = chain.KindToken, token, uint32(i)
			}
			tx.Transfers = []chain.Transfer{tr}
			blk.Txs = append(blk.Txs, tx)
		}
		blocks = append(blocks, blk)
	}
	// A chunk's memory is allocated once for the load.
	ops, arena := make([]op, 0, 1<<20), make([]byte, 0, 128<<20)
	b.ResetTimer()
	for b.Loop() {
		w := graphWriter{c: chain.Ethereum, sums: &sums{}, ops: ops[:0], arena: arena[:0]}
		for _, blk := range blocks {
			if err := w.block(blk); err != nil {
				b.Fatal(err)
			}
		}
		w.flushTotals()
		ops, arena = w.ops, w.arena
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perBlock*nblocks), "ns/transfer")
}
