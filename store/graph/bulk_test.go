package graph_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/store/graph"
	"github.com/tracehound/tracehound/store/pebble"
)

// load writes blocks through a bulk loader in calls of step blocks and
// flushes it.
func load(t *testing.T, db *graph.Store, c chain.Chain, o graph.BulkOptions, blocks []*chain.Block, step int) {
	t.Helper()
	ctx := context.Background()
	l, err := db.NewBulkLoader(ctx, c, "test", o)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := 0; i < len(blocks); i += step {
		if err := l.WriteBlocks(ctx, blocks[i:min(i+step, len(blocks))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// graphState is what the stores show of some addresses and transactions.
func graphState(t *testing.T, db *graph.Store, c chain.Chain, addrs, txs []string) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	tip, ok, err := db.Tip(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "tip %v %d %s\n", ok, tip.Height, tip.Hash)
	for _, a := range addrs {
		tot, ok, err := db.AddressTotals(ctx, c, a)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %v %d %d %s %s %s %v\n", a, ok, tot.Incoming, tot.Outgoing, tot.FeesPaid, tot.FirstSeen, tot.LastSeen, amountsString(tot.Assets))
		err = db.Postings(ctx, c, a, graph.PostingQuery{Oldest: true}, func(p graph.Posting) bool {
			fmt.Fprintf(&b, "  %+v\n", p)
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, h := range txs {
		r, ok, err := db.Tx(ctx, c, h)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "tx %s %v %+v\n", h, ok, r)
	}
	return b.String()
}

func ethState(t *testing.T, db *graph.Store) string { return ethStateTo(t, db, 40) }

// ethStateTo is the state of ethBlocks' addresses and of the
// transactions of blocks 1 to n.
func ethStateTo(t *testing.T, db *graph.Store, n int) string {
	var txs []string
	for h := 1; h <= n; h++ {
		txs = append(txs, hash("0x", h*10+1), hash("0x", h*10+2), hash("0x", h*10+3))
	}
	return graphState(t, db, chain.Ethereum, []string{"0xa11ce", "0xb0b", "0xca401", "0x70ce4"}, txs)
}

func TestBulkLoadEqualsBatches(t *testing.T) {
	ctx := context.Background()
	ref := open(t)
	if err := ref.WriteBlocks(ctx, chain.Ethereum, "test", ethBlocks(1, 40)); err != nil {
		t.Fatal(err)
	}
	want := ethState(t, ref)
	// Block 41 written after the load must leave what one batch of the 41
	// blocks leaves.
	ref41 := open(t)
	if err := ref41.WriteBlocks(ctx, chain.Ethereum, "test", ethBlocks(1, 41)); err != nil {
		t.Fatal(err)
	}
	want41 := ethStateTo(t, ref41, 41)
	for _, o := range []graph.BulkOptions{{BatchBytes: -1}, {MaxBlocks: 7, BatchBytes: -1}, {ChunkBytes: 1, BatchBytes: -1}, {ChunkBytes: 1, MaxBlocks: 7, BatchBytes: -1}, {MaxBlocks: 7}} {
		db := open(t)
		// A first part written in batches: the load extends it.
		if err := db.WriteBlocks(ctx, chain.Ethereum, "test", ethBlocks(1, 3)); err != nil {
			t.Fatal(err)
		}
		load(t, db, chain.Ethereum, o, ethBlocks(4, 37), 5)
		if got := ethState(t, db); got != want {
			t.Errorf("%+v: bulk load differs from batches:\n%s\nwant\n%s", o, got, want)
		}
		// The graph goes on in batches after the load.
		if err := db.WriteBlocks(ctx, chain.Ethereum, "test", ethBlocks(41, 1)); err != nil {
			t.Fatal(err)
		}
		if got := ethStateTo(t, db, 41); got != want41 {
			t.Errorf("%+v: block 41 written after the bulk load differs from batches:\n%s\nwant\n%s", o, got, want41)
		}
	}
}

func btcState(t *testing.T, db *graph.Store) string {
	var txs []string
	for h := 1; h <= 12; h++ {
		txs = append(txs, hash("", h*10), hash("", h*10+1))
	}
	s := graphState(t, db, chain.Bitcoin, []string{"1miner", "1payee"}, txs)
	var refs []chain.OutPoint
	for h := 1; h <= 12; h++ {
		refs = append(refs, chain.OutPoint{Tx: hash("", h*10), Index: 0}, chain.OutPoint{Tx: hash("", h*10+1), Index: 0}, chain.OutPoint{Tx: hash("", h*10+1), Index: 1})
	}
	un, err := db.Unspent(context.Background(), chain.Bitcoin, refs)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range refs {
		tx, i, spent, err := db.SpentBy(context.Background(), chain.Bitcoin, r)
		if err != nil {
			t.Fatal(err)
		}
		s += fmt.Sprintf("%s:%d unspent %+v spent by %s:%d %v\n", r.Tx, r.Index, un[r], tx, i, spent)
	}
	return s
}

func TestBulkLoadBitcoin(t *testing.T) {
	ctx := context.Background()
	ref := open(t)
	if err := ref.WriteBlocks(ctx, chain.Bitcoin, "test", btcBlocks(1, 12)); err != nil {
		t.Fatal(err)
	}
	want := btcState(t, ref)
	// Outputs spent within a chunk and across chunks.
	db := open(t)
	load(t, db, chain.Bitcoin, graph.BulkOptions{MaxBlocks: 5, BatchBytes: -1}, btcBlocks(1, 12), 2)
	if got := btcState(t, db); got != want {
		t.Errorf("bulk load differs from batches:\n%s\nwant\n%s", got, want)
	}
	// A run a block, merged at one commit: outputs created in one run
	// and spent in a later one.
	runs := open(t)
	load(t, runs, chain.Bitcoin, graph.BulkOptions{ChunkBytes: 1, BatchBytes: -1}, btcBlocks(1, 12), 2)
	if got := btcState(t, runs); got != want {
		t.Errorf("bulk load in runs differs from batches:\n%s\nwant\n%s", got, want)
	}
	// A rollback of loaded blocks is exact.
	if _, err := db.Rollback(ctx, chain.Bitcoin, 3); err != nil {
		t.Fatal(err)
	}
	ref3 := open(t)
	if err := ref3.WriteBlocks(ctx, chain.Bitcoin, "test", btcBlocks(1, 3)); err != nil {
		t.Fatal(err)
	}
	if got, want := btcState(t, db), btcState(t, ref3); got != want {
		t.Errorf("rolled back to 3:\n%s\nwant\n%s", got, want)
	}
}

// TestBulkLoadUnspent: before its chunk is stored, a load answers for the
// outputs its blocks created and spent.
func TestBulkLoadUnspent(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	if err := db.WriteBlocks(ctx, chain.Bitcoin, "test", btcBlocks(1, 2)); err != nil {
		t.Fatal(err)
	}
	l, err := db.NewBulkLoader(ctx, chain.Bitcoin, "test", graph.BulkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.WriteBlocks(ctx, btcBlocks(3, 3)); err != nil {
		t.Fatal(err)
	}
	cb := func(h int) chain.OutPoint { return chain.OutPoint{Tx: hash("", h*10), Index: 0} }
	refs := []chain.OutPoint{cb(1), cb(2), cb(3), cb(4), cb(5), {Tx: hash("", 51), Index: 0}}
	un, err := l.Unspent(ctx, chain.Bitcoin, refs)
	if err != nil {
		t.Fatal(err)
	}
	// Coinbase 1 was spent in a stored block, 2 (stored), 3 and 4 (the
	// chunk's) in the chunk; 5 and block 5's payment are unspent.
	var got []string
	for _, r := range refs {
		if o, ok := un[r]; ok {
			got = append(got, fmt.Sprintf("%s:%d %s %d", r.Tx[60:], r.Index, o.Address, o.Value))
		}
	}
	if want := []string{"0032:0 1miner 5000001000", "0033:0 1payee 3000000000"}; !slices.Equal(got, want) {
		t.Errorf("unspent during the load: %q, want %q", got, want)
	}
	if tip, _, _ := db.Tip(ctx, chain.Bitcoin); tip.Height != 2 {
		t.Errorf("tip %d before the flush", tip.Height)
	}
}

func TestBulkLoadRefusesDuplicates(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	if err := db.WriteBlocks(ctx, chain.Ethereum, "test", ethBlocks(1, 10)); err != nil {
		t.Fatal(err)
	}
	l, err := db.NewBulkLoader(ctx, chain.Ethereum, "test", graph.BulkOptions{BatchBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.WriteBlocks(ctx, ethBlocks(10, 1)); err == nil {
		t.Error("block 10 accepted again: totals would count it twice")
	}
	if err := l.WriteBlocks(ctx, ethBlocks(11, 2)); err != nil {
		t.Fatal(err)
	}
	if err := l.WriteBlocks(ctx, ethBlocks(12, 1)); err == nil {
		t.Error("block 12 accepted twice in one chunk")
	}
	if err := l.WriteBlocks(ctx, ethBlocks(14, 1)); err == nil {
		t.Error("block 14 accepted after 12")
	}
	// Another writer moves the tip: the chunk no longer extends it.
	if err := db.WriteBlocks(ctx, chain.Ethereum, "test", ethBlocks(11, 1)); err != nil {
		t.Fatal(err)
	}
	if err := l.Flush(ctx); err == nil {
		t.Error("a chunk that does not extend the tip was stored")
	}
	if err := l.WriteBlocks(ctx, ethBlocks(13, 1)); err == nil {
		t.Error("a failed load went on")
	}
	tot, _, _ := db.AddressTotals(ctx, chain.Ethereum, "0xb0b")
	if tip, _, _ := db.Tip(ctx, chain.Ethereum); tip.Height != 11 || tot.Incoming != 11 {
		t.Errorf("tip %d, bob received %d times; want 11 and 11", tip.Height, tot.Incoming)
	}
}

// TestBulkLoadInterrupted: a load stopped before its last chunk is stored
// (a crash) leaves the store at the last chunk stored, with no trace of
// the rest; resuming from the tip gives the store an uninterrupted load
// gives.
func TestBulkLoadInterrupted(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := pebble.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	l, err := db.Graph().NewBulkLoader(ctx, chain.Ethereum, "test", graph.BulkOptions{MaxBlocks: 4, BatchBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.WriteBlocks(ctx, ethBlocks(1, 10)); err != nil {
		t.Fatal(err)
	}
	if h, ok := l.Tip(); !ok || h != 8 {
		t.Errorf("loader tip %d %v, want 8", h, ok)
	}
	// A table of a load that a crash interrupted before its ingestion.
	stale, err := os.MkdirTemp(dir, "bulk-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stale, "0-000000.sst"), []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	db.Close() // without Flush or Close of the loader
	db, err = pebble.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if left, _ := filepath.Glob(filepath.Join(dir, "bulk-*")); len(left) != 0 {
		t.Errorf("left after reopening: %v", left)
	}
	tip, _, err := db.Graph().Tip(ctx, chain.Ethereum)
	if err != nil || tip.Height != 8 {
		t.Fatalf("tip after the crash %d %v, want 8", tip.Height, err)
	}
	if _, ok, _ := db.Graph().Tx(ctx, chain.Ethereum, hash("0x", 91)); ok {
		t.Error("a transaction of block 9, which was not stored, is readable")
	}
	load(t, db.Graph(), chain.Ethereum, graph.BulkOptions{MaxBlocks: 4, BatchBytes: -1}, ethBlocks(9, 32), 3)
	ref := open(t)
	load(t, ref, chain.Ethereum, graph.BulkOptions{}, ethBlocks(1, 40), 40)
	if got, want := ethState(t, db.Graph()), ethState(t, ref); got != want {
		t.Errorf("resumed load differs from an uninterrupted one:\n%s\nwant\n%s", got, want)
	}
}

// TestBulkLoadBadBlock: a block that cannot be encoded stops the load;
// what was stored before it stays, and nothing of its chunk is stored.
func TestBulkLoadBadBlock(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	l, err := db.NewBulkLoader(ctx, chain.Ethereum, "test", graph.BulkOptions{MaxBlocks: 4, BatchBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	blocks := ethBlocks(1, 6)
	blocks[5].Txs[1].Hash = "0xnothex"
	if err := l.WriteBlocks(ctx, blocks); err == nil {
		t.Fatal("a transaction hash that is not hex was accepted")
	}
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	tip, _, _ := db.Tip(ctx, chain.Ethereum)
	if _, ok, _ := db.Tx(ctx, chain.Ethereum, hash("0x", 51)); tip.Height != 4 || ok {
		t.Errorf("tip %d, block 5 stored %v; want 4 and false", tip.Height, ok)
	}
}

// TestBulkLoadLargeChunk: a chunk large enough to be sorted and written
// as key ranges on goroutines of their own.
func TestBulkLoadLargeChunk(t *testing.T) {
	ctx := context.Background()
	ref := open(t)
	if err := ref.WriteBlocks(ctx, chain.Ethereum, "test", ethBlocks(1, 300)); err != nil {
		t.Fatal(err)
	}
	var txs []string
	for h := 1; h <= 300; h += 7 {
		txs = append(txs, hash("0x", h*10+1), hash("0x", h*10+2))
	}
	addrs := []string{"0xa11ce", "0xb0b", "0xca401", "0x70ce4"}
	want := graphState(t, ref, chain.Ethereum, addrs, txs)
	// One chunk, and chunks of about 1,500 operations merged as runs.
	for _, o := range []graph.BulkOptions{{BatchBytes: -1}, {ChunkBytes: 100 << 10, BatchBytes: -1}} {
		db := open(t)
		load(t, db, chain.Ethereum, o, ethBlocks(1, 300), 300)
		if got := graphState(t, db, chain.Ethereum, addrs, txs); got != want {
			t.Errorf("%+v: bulk load differs from batches:\n%s\nwant\n%s", o, got, want)
		}
	}
}

// TestBulkLoadProgress: a commit that merges runs reports its progress,
// from nothing to everything, never backwards.
func TestBulkLoadProgress(t *testing.T) {
	db := open(t)
	var got [][2]int64
	o := graph.BulkOptions{ChunkBytes: 1, BatchBytes: -1, Progress: func(merged, total int64) { got = append(got, [2]int64{merged, total}) }}
	load(t, db, chain.Ethereum, o, ethBlocks(1, 40), 5)
	if len(got) < 2 || got[0][0] != 0 || got[len(got)-1][0] != got[len(got)-1][1] || got[0][1] == 0 {
		t.Fatalf("progress %v, want 0 first and all of it last", got)
	}
	for i := 1; i < len(got); i++ {
		if got[i][0] < got[i-1][0] || got[i][1] != got[0][1] {
			t.Errorf("progress %v goes backwards or changes its total", got)
		}
	}
}

// hexBlocks are ethBlocks between addresses of 40 lowercase hex digits,
// which the writers key by their bytes, and one in mixed case, kept as
// a string.
func hexBlocks(from, n int) []*chain.Block {
	addr := map[string]string{
		"0xa11ce": "0x" + strings.Repeat("a1", 20), "0xb0b": "0x" + strings.Repeat("b0", 20),
		"0xca401": "0xCA" + strings.Repeat("40", 19), "0x70ce4": "0x" + strings.Repeat("7c", 20),
	}
	blocks := ethBlocks(from, n)
	for _, b := range blocks {
		for i := range b.Txs {
			tx := &b.Txs[i]
			tx.From = addr[tx.From]
			for j := range tx.Transfers {
				t := &tx.Transfers[j]
				t.From, t.To = addr[t.From], addr[t.To]
				if t.Asset != chain.Native {
					t.Asset = chain.Asset(addr[string(t.Asset)])
				}
			}
		}
	}
	return blocks
}

// TestBulkLoadHexTotals: totals summed on the loader's own goroutine, by
// address bytes, across chunks of one block and a block dropped for an
// error, are those of batch writes of the blocks stored.
func TestBulkLoadHexTotals(t *testing.T) {
	ctx := context.Background()
	addrs := []string{"0x" + strings.Repeat("a1", 20), "0x" + strings.Repeat("b0", 20), "0xCA" + strings.Repeat("40", 19), "0x" + strings.Repeat("7c", 20)}
	ref := open(t)
	if err := ref.WriteBlocks(ctx, chain.Ethereum, "test", hexBlocks(1, 14)); err != nil {
		t.Fatal(err)
	}
	want := graphState(t, ref, chain.Ethereum, addrs, nil)

	db := open(t)
	l, err := db.NewBulkLoader(ctx, chain.Ethereum, "test", graph.BulkOptions{ChunkBytes: 1, MaxBlocks: 12, BatchBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.WriteBlocks(ctx, hexBlocks(1, 12)); err != nil {
		t.Fatal(err)
	}
	// Blocks 13 and 14 are summed, then dropped with the bad 14th, then
	// written again.
	bad := hexBlocks(13, 2)
	bad[1].Txs[0].Hash = "0xnothex"
	if err := l.WriteBlocks(ctx, bad); err == nil {
		t.Fatal("a transaction hash that is not hex was accepted")
	}
	if err := l.WriteBlocks(ctx, hexBlocks(13, 2)); err != nil {
		t.Fatal(err)
	}
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := graphState(t, db, chain.Ethereum, addrs, nil); got != want {
		t.Errorf("bulk load differs from batches:\n%s\nwant\n%s", got, want)
	}
}
