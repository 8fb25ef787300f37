package graph

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tracehound/tracehound/chain"
)

// genBlocks builds n blocks from height from over a few addresses, with
// block times that go back now and then (as Bitcoin's may), so that
// neighbouring generations overlap in time.
func genBlocks(from, n int) []*chain.Block {
	r := rand.New(rand.NewPCG(1, uint64(from)))
	addrs := []string{"0x00000000000000000000000000000000000000a1", "0x00000000000000000000000000000000000000b2", "0x00000000000000000000000000000000000000c3", "0x00000000000000000000000000000000000000d4", "0x00000000000000000000000000000000000000e5"}
	assets := []chain.Asset{chain.Native, "0x00000000000000000000000000000000000000f6"}
	var out []*chain.Block
	for h := from; h < from+n; h++ {
		ts := time.Unix(1_700_000_000+int64(h)*10+int64(r.IntN(40))-20, 0).UTC()
		blk := &chain.Block{Chain: chain.Ethereum, Height: uint64(h), Hash: fmt.Sprintf("0x%064x", h), Parent: fmt.Sprintf("0x%064x", h-1), Time: ts}
		for i := range 1 + r.IntN(3) {
			th := fmt.Sprintf("0x%032x%032x", h, i)
			f, to := addrs[r.IntN(len(addrs))], addrs[r.IntN(len(addrs))]
			tx := chain.Tx{Hash: th, Index: i, From: f, Fee: chain.NewAmount(uint64(21000 + i))}
			for p := range 1 + r.IntN(2) {
				tx.Transfers = append(tx.Transfers, chain.Transfer{Chain: chain.Ethereum, Tx: th, Kind: chain.KindNative, Pos: uint32(p), Block: uint64(h), Time: ts,
					From: f, To: to, Asset: assets[r.IntN(len(assets))], Amount: chain.NewAmount(uint64(r.Int64N(1 << 62)))})
				to = addrs[r.IntN(len(addrs))]
			}
			blk.Txs = append(blk.Txs, tx)
		}
		out = append(out, blk)
	}
	return out
}

// genState is everything the reads show of genBlocks' graph up to block
// n: postings in every order, window, limit and direction, totals,
// transactions and blocks.
func genState(t *testing.T, d *Store, n int) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	tip, ok, err := d.Tip(ctx, chain.Ethereum)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "tip %v %d %s\n", ok, tip.Height, tip.Hash)
	base := time.Unix(1_700_000_000, 0)
	queries := []PostingQuery{{}, {Oldest: true}, {Limit: 1}, {Limit: 7}, {Oldest: true, Limit: 9}, {Incoming: true}, {Outgoing: true, Oldest: true},
		{Since: base.Add(150 * time.Second)}, {Until: base.Add(300 * time.Second), Oldest: true},
		{Since: base.Add(200 * time.Second), Until: base.Add(420 * time.Second), Limit: 11}, {Since: base.Add(200 * time.Second), Until: base.Add(420 * time.Second), Oldest: true, Outgoing: true}}
	for _, a := range []string{"0x00000000000000000000000000000000000000a1", "0x00000000000000000000000000000000000000b2", "0x00000000000000000000000000000000000000c3", "0x00000000000000000000000000000000000000d4", "0x00000000000000000000000000000000000000e5"} {
		tot, ok, err := d.AddressTotals(ctx, chain.Ethereum, a)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %v %+v\n", a, ok, tot)
		for _, q := range queries {
			fmt.Fprintf(&b, " %+v\n", q)
			err := d.Postings(ctx, chain.Ethereum, a, q, func(p Posting) bool {
				fmt.Fprintf(&b, "  %+v\n", p)
				return true
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	for h := 1; h <= n; h++ {
		for i := range 3 {
			r, ok, err := d.Tx(ctx, chain.Ethereum, fmt.Sprintf("0x%032x%032x", h, i))
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "tx %d/%d %v %+v\n", h, i, ok, r)
		}
	}
	err = d.Blocks(ctx, chain.Ethereum, 0, uint64(n)+5, func(blk *chain.Block) bool {
		fmt.Fprintf(&b, "block %+v\n", *blk)
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func bulkLoad(t *testing.T, d *Store, o BulkOptions, blocks []*chain.Block) {
	t.Helper()
	ctx := context.Background()
	l, err := d.NewBulkLoader(ctx, chain.Ethereum, "test", o)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := 0; i < len(blocks); i += 3 {
		if err := l.WriteBlocks(ctx, blocks[i:min(i+3, len(blocks))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

func generationsOf(t *testing.T, d *Store) []generation {
	t.Helper()
	gens, err := readGenerations(d.db, chain.Ethereum)
	if err != nil {
		t.Fatal(err)
	}
	return gens
}

// TestGenerationsReadAsOneStore: a store whose blocks are in batches and
// in many generations, overlapping in time, reads as a store written in
// batches alone; so it does after rollbacks into and across generations,
// and after more blocks, in batches and in generations, on top.
func TestGenerationsReadAsOneStore(t *testing.T) {
	ctx := context.Background()
	all := genBlocks(1, 60)
	ref := openGraph(t)
	if err := ref.WriteBlocks(ctx, chain.Ethereum, "test", all[:50]); err != nil {
		t.Fatal(err)
	}
	d := openGraph(t)
	if err := d.WriteBlocks(ctx, chain.Ethereum, "test", all[:4]); err != nil {
		t.Fatal(err)
	}
	bulkLoad(t, d, BulkOptions{MaxBlocks: 6, BatchBytes: -1}, all[4:40])
	if err := d.WriteBlocks(ctx, chain.Ethereum, "test", all[40:43]); err != nil {
		t.Fatal(err)
	}
	bulkLoad(t, d, BulkOptions{MaxBlocks: 4, BatchBytes: -1}, all[43:50])
	gens := generationsOf(t, d)
	if len(gens) != 8 {
		t.Fatalf("%d generations, want 8: %+v", len(gens), gens)
	}
	for i, g := range gens {
		if i > 0 && (g.n <= gens[i-1].n || g.first <= gens[i-1].last) {
			t.Errorf("generations out of order: %+v", gens)
		}
	}
	if got, want := genState(t, d, 50), genState(t, ref, 50); got != want {
		t.Fatalf("store in generations differs from batches:\n%s\nwant\n%s", got, want)
	}
	// Merged into fewer: the same reads, the replaced ranges gone.
	n, err := d.MergeGenerations(ctx, chain.Ethereum, 5)
	if err != nil {
		t.Fatal(err)
	}
	merged := generationsOf(t, d)
	if n != 4 || len(merged) != 5 {
		t.Fatalf("merged %d, left %+v", n, merged)
	}
	for _, g := range gens {
		if !slices.ContainsFunc(merged, func(m generation) bool { return m.n == g.n }) {
			for _, prefix := range []string{gGenPost, gGenTx} {
				lo := genKey(prefix, chain.Ethereum, g.n)
				it, err := d.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: prefixEnd(lo)})
				if err != nil {
					t.Fatal(err)
				}
				if it.First() {
					t.Errorf("key %q of merged generation %d left", it.Key(), g.n)
				}
				it.Close()
			}
		}
	}
	if got, want := genState(t, d, 50), genState(t, ref, 50); got != want {
		t.Fatalf("merged generations differ from batches:\n%s\nwant\n%s", got, want)
	}
	// Into the middle of a generation (blocks 35-40), then across two.
	for _, h := range []uint64{37, 26} {
		for _, s := range []*Store{ref, d} {
			if _, err := s.Rollback(ctx, chain.Ethereum, h); err != nil {
				t.Fatal(err)
			}
		}
		if got, want := genState(t, d, 50), genState(t, ref, 50); got != want {
			t.Fatalf("rolled back to %d: store in generations differs from batches:\n%s\nwant\n%s", h, got, want)
		}
	}
	if g := generationsOf(t, d); len(g) == 0 || g[len(g)-1].last != 26 {
		t.Errorf("generations after the rollback to 26: %+v", g)
	}
	// The same heights again, other blocks: in batches, then a load.
	redo := genBlocks(100, 40)
	for i, b := range redo {
		b.Height = uint64(27 + i)
		b.Parent = ""
		for j := range b.Txs {
			b.Txs[j].Hash = fmt.Sprintf("0x%032x%032x", 27+i, j)
			for k := range b.Txs[j].Transfers {
				b.Txs[j].Transfers[k].Tx, b.Txs[j].Transfers[k].Block = b.Txs[j].Hash, b.Height
			}
		}
	}
	if err := ref.WriteBlocks(ctx, chain.Ethereum, "test", redo); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteBlocks(ctx, chain.Ethereum, "test", redo[:5]); err != nil {
		t.Fatal(err)
	}
	bulkLoad(t, d, BulkOptions{MaxBlocks: 10, BatchBytes: -1}, redo[5:])
	if got, want := genState(t, d, 66), genState(t, ref, 66); got != want {
		t.Fatalf("after the rollbacks and new blocks: store in generations differs from batches:\n%s\nwant\n%s", got, want)
	}
}

// TestGenerationIngestedInLastLevel: a commit into a store that holds
// data puts its postings and transactions in the last level, where
// nothing is left to compact.
func TestGenerationIngestedInLastLevel(t *testing.T) {
	d := openGraph(t)
	blocks := genBlocks(1, 400)
	bulkLoad(t, d, BulkOptions{BatchBytes: -1}, blocks[:200])
	bulkLoad(t, d, BulkOptions{BatchBytes: -1}, blocks[200:])
	gens := generationsOf(t, d)
	if len(gens) != 2 {
		t.Fatalf("generations %+v", gens)
	}
	last := len(d.opts.Levels) - 1
	for _, prefix := range []string{gGenPost, gGenTx} {
		lo := genKey(prefix, chain.Ethereum, gens[1].n)
		tables, err := d.db.SSTables()
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for level, ts := range tables {
			for _, tab := range ts {
				if string(tab.Smallest.UserKey) >= string(lo) && string(tab.Largest.UserKey) < string(prefixEnd(lo)) {
					found = true
					if level != last {
						t.Errorf("%s table of the second commit in L%d", prefix, level)
					}
				}
			}
		}
		if !found {
			t.Errorf("no %s table of the second commit", prefix)
		}
	}
}

// TestGenerationCrashBeforeIngest: a load interrupted after its tables
// are written and before they are ingested leaves neither a generation
// nor its keys; the next commit's generation reads as a batch store.
func TestGenerationCrashBeforeIngest(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ts, err := openDir(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	d := ts.Store
	all := genBlocks(1, 30)
	bulkLoad(t, d, BulkOptions{MaxBlocks: 10, BatchBytes: -1}, all[:10])
	l, err := d.NewBulkLoader(ctx, chain.Ethereum, "test", BulkOptions{BatchBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.WriteBlocks(ctx, all[10:20]); err != nil {
		t.Fatal(err)
	}
	// The commit's tables, written and not ingested: the crash.
	if _, err := l.writeTables(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if err := ts.Close(); err != nil {
		t.Fatal(err)
	}
	if ts, err = openDir(ctx, dir); err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	d, db := ts.Store, ts.db
	if gens := generationsOf(t, d); len(gens) != 1 || gens[0].last != 10 {
		t.Fatalf("generations after the crash %+v", gens)
	}
	for _, prefix := range []string{gGenPost, gGenTx} {
		lo := genKey(prefix, chain.Ethereum, 2)
		it, err := db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: prefixEnd(lo)})
		if err != nil {
			t.Fatal(err)
		}
		if it.First() {
			t.Errorf("key %q of the interrupted commit in the store", it.Key())
		}
		it.Close()
	}
	bulkLoad(t, d, BulkOptions{MaxBlocks: 7, BatchBytes: -1}, all[10:30])
	ref := openGraph(t)
	if err := ref.WriteBlocks(ctx, chain.Ethereum, "test", all); err != nil {
		t.Fatal(err)
	}
	if got, want := genState(t, d, 30), genState(t, ref, 30); got != want {
		t.Fatalf("resumed load differs from batches:\n%s\nwant\n%s", got, want)
	}
}

// TestGenerationsMergedWhenMany: a load of many commits keeps the
// chain's generations bounded and reads as batches do.
func TestGenerationsMergedWhenMany(t *testing.T) {
	all := genBlocks(1, 45)
	ref := openGraph(t)
	if err := ref.WriteBlocks(context.Background(), chain.Ethereum, "test", all); err != nil {
		t.Fatal(err)
	}
	d := openGraph(t)
	bulkLoad(t, d, BulkOptions{MaxBlocks: 1, BatchBytes: -1}, all)
	if gens := generationsOf(t, d); len(gens) > maxGenerations || len(gens) < keepGenerations {
		t.Errorf("%d generations after 45 commits", len(gens))
	}
	if got, want := genState(t, d, 45), genState(t, ref, 45); got != want {
		t.Fatalf("store in merged generations differs from batches:\n%s\nwant\n%s", got, want)
	}
}

// TestGenerationTxRepeatedAfterMerge: a hash in two generations (as
// Bitcoin repeated two coinbase transactions) reads as its later block's,
// as in g/x/, also once a merge has numbered the generation of the
// earlier block past that of the later one.
func TestGenerationTxRepeatedAfterMerge(t *testing.T) {
	ctx := context.Background()
	all := genBlocks(1, 20)
	dup := "0x" + strings.Repeat("ab", 32)
	for _, h := range []int{3, 12} {
		tx := &all[h-1].Txs[0]
		tx.Hash = dup
		for k := range tx.Transfers {
			tx.Transfers[k].Tx = dup
		}
	}
	ref := openGraph(t)
	if err := ref.WriteBlocks(ctx, chain.Ethereum, "test", all); err != nil {
		t.Fatal(err)
	}
	want, ok, err := ref.Tx(ctx, chain.Ethereum, dup)
	if err != nil || !ok || want.Block != 12 {
		t.Fatalf("batch store reads %s as %+v %v %v, want block 12", dup, want, ok, err)
	}
	d := openGraph(t)
	bulkLoad(t, d, BulkOptions{MaxBlocks: 5, BatchBytes: -1}, all)
	gens := generationsOf(t, d)
	if len(gens) != 4 {
		t.Fatalf("generations %+v", gens)
	}
	if got, ok, err := d.Tx(ctx, chain.Ethereum, dup); err != nil || !ok || got.Block != want.Block {
		t.Errorf("before the merge %s reads as %+v %v %v, want block %d", dup, got, ok, err, want.Block)
	}
	// The two oldest merged: their blocks (with block 3) now in the
	// generation of the highest number.
	if err := d.mergeGenerations(ctx, chain.Ethereum, gens, 0, 2); err != nil {
		t.Fatal(err)
	}
	if g := generationsOf(t, d); len(g) != 3 || !g[len(g)-1].holds(3) {
		t.Fatalf("generations after the merge %+v", g)
	}
	if got, ok, err := d.Tx(ctx, chain.Ethereum, dup); err != nil || !ok || got.Block != want.Block {
		t.Errorf("after the merge %s reads as %+v %v %v, want block %d", dup, got, ok, err, want.Block)
	}
	// All in one: the merge keeps the later block's record.
	if _, err := d.MergeGenerations(ctx, chain.Ethereum, 1); err != nil {
		t.Fatal(err)
	}
	if g := generationsOf(t, d); len(g) != 1 {
		t.Fatalf("generations after merging all %+v", g)
	}
	if got, ok, err := d.Tx(ctx, chain.Ethereum, dup); err != nil || !ok || got.Block != want.Block {
		t.Errorf("merged into one, %s reads as %+v %v %v, want block %d", dup, got, ok, err, want.Block)
	}
}

// TestGenerationsMergedAgain: a merged generation, numbered past the
// others, is merged again with the generations of its neighbouring
// blocks, so that merges fold the chain's history as a whole rather than
// leave merged generations between the others, each a barrier.
func TestGenerationsMergedAgain(t *testing.T) {
	ctx := context.Background()
	all := genBlocks(1, 35)
	ref := openGraph(t)
	if err := ref.WriteBlocks(ctx, chain.Ethereum, "test", all); err != nil {
		t.Fatal(err)
	}
	d := openGraph(t)
	bulkLoad(t, d, BulkOptions{MaxBlocks: 5, BatchBytes: -1}, all[:30])
	gens := generationsOf(t, d)
	if len(gens) != 6 {
		t.Fatalf("generations %+v", gens)
	}
	// The two oldest merged, numbered past the others; then a commit
	// whose blocks follow those of the generation numbered before it.
	if err := d.mergeGenerations(ctx, chain.Ethereum, gens, 0, 2); err != nil {
		t.Fatal(err)
	}
	bulkLoad(t, d, BulkOptions{MaxBlocks: 5, BatchBytes: -1}, all[30:])
	n, err := d.MergeGenerations(ctx, chain.Ethereum, 1)
	if err != nil {
		t.Fatal(err)
	}
	if g := generationsOf(t, d); len(g) != 1 || g[0].first != 1 || g[0].last != 35 || n != 6 {
		t.Fatalf("merged %d into %+v, want the 6 generations into one of blocks 1-35", n, g)
	}
	if got, want := genState(t, d, 35), genState(t, ref, 35); got != want {
		t.Fatalf("merged generations differ from batches:\n%s\nwant\n%s", got, want)
	}
}

// TestSegmentRebuiltFromGenerations: a traversal segment of bulk-loaded
// blocks, refused as damaged, is rebuilt from the generations that hold
// them.
func TestSegmentRebuiltFromGenerations(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st := openTest(t, dir)
	l, err := st.NewBulkLoader(ctx, chain.Ethereum, "t", BulkOptions{MaxBlocks: 20, BatchBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(l.WriteBlocks(ctx, randomBlocks(5, 1, 60)), l.Flush(ctx), l.Close()); err != nil {
		t.Fatal(err)
	}
	if g := generationsOf(t, st.Store); len(g) != 3 {
		t.Fatalf("generations %+v, want 3", g)
	}
	st.Close()
	files := segFiles(t, dir)
	if len(files) != 3 {
		t.Fatalf("segments %v", files)
	}
	b, err := os.ReadFile(files[1])
	if err != nil {
		t.Fatal(err)
	}
	b[segHeaderSize+len(b[segHeaderSize:])/3] ^= 0x40
	if err := os.WriteFile(files[1], b, 0o600); err != nil {
		t.Fatal(err)
	}
	st = openTest(t, dir)
	defer st.Close()
	var lg logs
	tr, err := st.Traversal(ctx, TraversalOptions{MergeInterval: -1, Logf: lg.logf})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if !lg.has(filepath.Base(files[1]), "refused", "rebuilt") {
		t.Fatalf("damaged segment not refused by name: %q", lg.l)
	}
	checkSnapshot(t, st.Store, tr, poolAddrs())
}
