package trace_test

import (
	"context"
	"encoding/json"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/ingest"
	"github.com/tracehound/tracehound/trace"
)

// countingGraph counts the reads of each address's postings.
type countingGraph struct {
	trace.Graph
	mu    sync.Mutex
	reads map[string]int
}

func (g *countingGraph) Postings(ctx context.Context, c chain.Chain, a string, q chain.PostingQuery, fn func(chain.Posting) bool) error {
	g.mu.Lock()
	g.reads[a]++
	g.mu.Unlock()
	return g.Graph.Postings(ctx, c, a, q, fn)
}

// total is the reads so far and the most of any one address.
func (g *countingGraph) total() (n, most int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, r := range g.reads {
		n, most = n+r, max(most, r)
	}
	return n, most
}

// TestCachedGraph: traces through the cache equal traces on the store,
// with a budget that holds everything and one so small that entries are
// evicted and busy addresses bypass it. With room for everything, each
// address is read from the store once, on a miss, and a trace run again
// reads nothing from it; with room for nothing, the store is read again.
func TestCachedGraph(t *testing.T) {
	db := store(t, theft)
	ctx := context.Background()
	for _, budget := range []int{1_000_000, 3} {
		g := &countingGraph{Graph: db.Graph(), reads: make(map[string]int)}
		cg := trace.NewCachedGraph(g, budget)
		for _, m := range []trace.Model{trace.Poison, trace.Haircut, trace.FIFO} {
			o := trace.Options{Chain: chain.Ethereum, Model: m, Labels: services}
			want, err := trace.Run(ctx, db.Graph(), []trace.Seed{{Address: addr("7")}}, o)
			if err != nil {
				t.Fatal(err)
			}
			for run := range 2 {
				reads, _ := g.total()
				hits, misses := cg.Stats()
				got, err := trace.Run(ctx, cg, []trace.Seed{{Address: addr("7")}}, o)
				if err != nil {
					t.Fatal(err)
				}
				got.Elapsed, want.Elapsed = 0, 0
				gj, _ := json.Marshal(got)
				wj, _ := json.Marshal(want)
				if string(gj) != string(wj) {
					t.Errorf("budget %d, %s, run %d: cached trace differs:\n%v\n%v", budget, m, run, got, want)
				}
				reads2, most := g.total()
				hits2, misses2 := cg.Stats()
				switch {
				case budget == 3 && run == 1 && reads2 == reads:
					t.Errorf("budget 3, %s: a trace run again read nothing from the store, though no history fits", m)
				case budget == 3:
				case reads2 > reads && run == 1:
					t.Errorf("budget %d, %s: a trace run again read the store %d times (%v)", budget, m, reads2-reads, g.reads)
				case most > 1:
					t.Errorf("budget %d, %s, run %d: an address read from the store %d times (%v)", budget, m, run, most, g.reads)
				case misses2-misses != uint64(reads2-reads):
					t.Errorf("budget %d, %s, run %d: %d misses, %d reads of the store", budget, m, run, misses2-misses, reads2-reads)
				case m == trace.Poison && run == 0 && (misses2 == 0 || reads2 == 0):
					t.Errorf("budget %d: the first trace missed %d times and read the store %d times", budget, misses2, reads2)
				case run == 1 && hits2 <= hits:
					t.Errorf("budget %d, %s: a trace run again hit the cache %d times", budget, m, hits2-hits)
				}
			}
		}
		// Windows, directions and limits answered from memory.
		reads, _ := g.total()
		var a, b []string
		q := chain.PostingQuery{Outgoing: true, Limit: 1}
		db.Graph().Postings(ctx, chain.Ethereum, addr("7"), q, func(p chain.Posting) bool { a = append(a, p.Tx); return true })
		cg.Postings(ctx, chain.Ethereum, addr("7"), q, func(p chain.Posting) bool { b = append(b, p.Tx); return true })
		if !reflect.DeepEqual(a, b) || len(a) != 1 {
			t.Errorf("budget %d: newest outgoing %v, store says %v", budget, b, a)
		}
		if n, _ := g.total(); budget > 3 && n != reads {
			t.Errorf("budget %d: a window of a cached history read the store", budget)
		}
	}
}

// TestCachedGraphForget: after a new block, the cache answers the old
// history until the changed addresses are forgotten, and then the new.
func TestCachedGraphForget(t *testing.T) {
	db := store(t, theft)
	ctx := context.Background()
	cg := trace.NewCachedGraph(db.Graph(), 1_000_000)
	o := trace.Options{Chain: chain.Ethereum, Model: trace.Haircut, Labels: services}
	seed := []trace.Seed{{Address: addr("7")}}
	before, err := trace.Run(ctx, cg, seed, o)
	if err != nil {
		t.Fatal(err)
	}
	// Block 7: a pays the exchange its remaining 50.
	h := uint64(len(theft) + 1)
	bt := t0.Add(time.Duration(h) * time.Minute)
	blk := &chain.Block{Chain: chain.Ethereum, Height: h, Hash: hash(1001 + len(theft)), Parent: hash(1000 + len(theft)), Time: bt, Txs: []chain.Tx{{
		Hash: hash(int(h)), From: addr("a"), Transfers: []chain.Transfer{{Chain: chain.Ethereum, Tx: hash(int(h)), Kind: chain.KindNative, Block: h, Time: bt,
			From: addr("a"), To: addr("e"), Amount: chain.NewAmount(50)}}}}}
	if err := db.Graph().WriteBlocks(ctx, chain.Ethereum, "test", []*chain.Block{blk}); err != nil {
		t.Fatal(err)
	}
	exchange := func(r *trace.Result) string {
		for _, e := range r.Endpoints {
			if e.Address == addr("e") {
				return e.Amount.String()
			}
		}
		return ""
	}
	stale, err := trace.Run(ctx, cg, seed, o)
	if err != nil {
		t.Fatal(err)
	}
	if exchange(stale) != exchange(before) {
		t.Fatalf("the cache changed by itself: %s, then %s", exchange(before), exchange(stale))
	}
	cg.Forget(chain.Ethereum, ingest.Touched([]*chain.Block{blk}))
	fresh, err := trace.Run(ctx, cg, seed, o)
	if err != nil {
		t.Fatal(err)
	}
	want, err := trace.Run(ctx, db.Graph(), seed, o)
	if err != nil {
		t.Fatal(err)
	}
	if exchange(fresh) != exchange(want) || exchange(fresh) == exchange(before) {
		t.Errorf("after Forget the exchange holds %s; the store says %s (before the block: %s)", exchange(fresh), exchange(want), exchange(before))
	}
}

// TestCachedGraphForgetKeepsBusy: an address too busy to hold stays
// known as such when a new block pays it, so that the deposit heuristic's
// question about it (SolePayee) does not read its history again on
// every block; what the cache answers of it still comes from the store,
// new block included.
func TestCachedGraphForgetKeepsBusy(t *testing.T) {
	db := store(t, theft)
	ctx := context.Background()
	g := &countingGraph{Graph: db.Graph(), reads: make(map[string]int)}
	// A budget of 3 holds histories of one posting: 7 has four.
	cg := trace.NewCachedGraph(g, 3)
	busy := addr("7")
	if _, _, _, ok, err := cg.SolePayee(ctx, chain.Ethereum, busy, 10); err != nil || ok {
		t.Fatalf("SolePayee of a busy address: ok %v, %v", ok, err)
	}
	if g.reads[busy] != 1 {
		t.Fatalf("the busy address read %d times to find it busy", g.reads[busy])
	}
	h := uint64(len(theft) + 1)
	bt := t0.Add(time.Duration(h) * time.Minute)
	blk := &chain.Block{Chain: chain.Ethereum, Height: h, Hash: hash(1001 + len(theft)), Parent: hash(1000 + len(theft)), Time: bt, Txs: []chain.Tx{{
		Hash: hash(int(h)), From: addr("a"), Transfers: []chain.Transfer{{Chain: chain.Ethereum, Tx: hash(int(h)), Kind: chain.KindNative, Block: h, Time: bt,
			From: addr("a"), To: busy, Amount: chain.NewAmount(50)}}}}}
	if err := db.Graph().WriteBlocks(ctx, chain.Ethereum, "test", []*chain.Block{blk}); err != nil {
		t.Fatal(err)
	}
	cg.Forget(chain.Ethereum, ingest.Touched([]*chain.Block{blk}))
	for range 3 {
		if _, _, _, ok, err := cg.SolePayee(ctx, chain.Ethereum, busy, 10); err != nil || ok {
			t.Fatalf("SolePayee of a busy address after Forget: ok %v, %v", ok, err)
		}
	}
	if g.reads[busy] != 1 {
		t.Errorf("after Forget the busy address was read %d times more to find it busy again", g.reads[busy]-1)
	}
	// Its postings, the new one first, still come from the store.
	var got []string
	if err := cg.Postings(ctx, chain.Ethereum, busy, chain.PostingQuery{Incoming: true, Limit: 1}, func(p chain.Posting) bool {
		got = append(got, p.Tx)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != hash(int(h)) {
		t.Errorf("the busy address's newest incoming posting through the cache: %v, want %s", got, hash(int(h)))
	}
}

// TestCachedGraphRenewsView: a cache whose interned strings outgrow
// their bound starts a new view; traces through it still equal traces on
// the store, and the old view's histories leave the budget.
func TestCachedGraphRenewsView(t *testing.T) {
	db := store(t, theft)
	ctx := context.Background()
	cg := trace.NewCachedGraph(db.Graph(), 1_000_000)
	trace.SetSymbolLimit(cg, 4)
	o := trace.Options{Chain: chain.Ethereum, Model: trace.Haircut, Labels: services}
	seed := []trace.Seed{{Address: addr("7")}}
	want, err := trace.Run(ctx, db.Graph(), seed, o)
	if err != nil {
		t.Fatal(err)
	}
	want.Elapsed = 0
	wj, _ := json.Marshal(want)
	var views []any
	for run := range 3 {
		got, err := trace.Run(ctx, cg, seed, o)
		if err != nil {
			t.Fatal(err)
		}
		got.Elapsed = 0
		if gj, _ := json.Marshal(got); string(gj) != string(wj) {
			t.Errorf("run %d: trace through a renewed view differs:\n%s\n%s", run, gj, wj)
		}
		views = append(views, trace.CurrentView(cg, chain.Ethereum))
	}
	if views[0] == views[1] || views[1] == views[2] {
		t.Errorf("the view was not renewed although its strings passed the bound")
	}
}
