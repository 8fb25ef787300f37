package trace_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/trace"
)

// TestCachedGraph: traces through the cache equal traces on the store,
// with a budget that holds everything and one so small that entries are
// evicted and busy addresses bypass it.
func TestCachedGraph(t *testing.T) {
	db := store(t, theft)
	ctx := context.Background()
	for _, budget := range []int{1_000_000, 3} {
		cg := trace.NewCachedGraph(db, budget)
		for _, m := range []trace.Model{trace.Poison, trace.Haircut, trace.FIFO} {
			o := trace.Options{Chain: chain.Ethereum, Model: m, Labels: services}
			want, err := trace.Run(ctx, db, []trace.Seed{{Address: addr("7")}}, o)
			if err != nil {
				t.Fatal(err)
			}
			for run := range 2 {
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
			}
		}
		// Windows, directions and limits answered from memory.
		var a, b []string
		q := chain.PostingQuery{Outgoing: true, Limit: 1}
		db.Postings(ctx, chain.Ethereum, addr("7"), q, func(p chain.Posting) bool { a = append(a, p.Tx); return true })
		cg.Postings(ctx, chain.Ethereum, addr("7"), q, func(p chain.Posting) bool { b = append(b, p.Tx); return true })
		if !reflect.DeepEqual(a, b) {
			t.Errorf("budget %d: newest outgoing %v, store says %v", budget, b, a)
		}
		hits, misses := cg.Stats()
		t.Logf("budget %d: %d hits, %d misses", budget, hits, misses)
	}
}
