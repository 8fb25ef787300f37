package trace_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/cluster"
	"github.com/tracehound/tracehound/ingest"
	"github.com/tracehound/tracehound/sim"
	"github.com/tracehound/tracehound/store/graph"
	"github.com/tracehound/tracehound/store/pebble"
	"github.com/tracehound/tracehound/trace"
)

// TestTraversalSameResults: a trace over the traversal layout (its
// delta, then its segments), with and without the trace cache, gives
// the result the store gives, field for field, under every model, from
// a theft transaction and from an address, swaps followed.
func TestTraversalSameResults(t *testing.T) {
	ctx := context.Background()
	cfg := sim.DefaultConfig()
	cfg.Seed, cfg.Background = 4, 30_000
	sc, err := sim.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db, err := pebble.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := ingest.RunStream(ctx, db.Graph(), sc.Source(), ingest.Options{From: cfg.StartHeight, Batch: 500}); err != nil {
		t.Fatal(err)
	}
	tagged := labels{}
	for _, tg := range sc.Truth.Tags() {
		tagged[tg.Address.Value] = trace.Label{Entity: tg.Entity, Category: tg.Category}
	}
	tr, err := db.Graph().Traversal(ctx, graph.TraversalOptions{MergeInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	result := func(g trace.Graph, seed trace.Seed, m trace.Model) string {
		t.Helper()
		o := trace.Options{Chain: chain.Ethereum, Model: m, MaxHops: 30, Labels: &cluster.Deposits{Graph: g.(cluster.Graph), Base: tagged}}
		r, err := trace.Run(ctx, g, []trace.Seed{seed}, o)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Check(); err != nil {
			t.Fatal(err)
		}
		r.Elapsed = 0
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	seeds := []trace.Seed{{Tx: sc.Truth.TheftTx}, {Address: sc.Truth.Thief}}
	for _, layout := range []string{"delta", "segments"} {
		if layout == "segments" {
			if err := tr.Merge(ctx); err != nil {
				t.Fatal(err)
			}
		}
		for _, seed := range seeds {
			for _, m := range []trace.Model{trace.Poison, trace.Haircut, trace.FIFO} {
				want := result(db.Graph(), seed, m)
				for name, g := range map[string]trace.Graph{"traversal": tr, "cached": trace.NewCachedGraph(tr, 100_000)} {
					if got := result(g, seed, m); got != want {
						t.Fatalf("%s %s, seed %s, %s: the result differs from the store's\n%s\n%s", layout, name, seed, m, got, want)
					}
				}
			}
		}
	}
	var r struct{ Nodes []any }
	json.Unmarshal([]byte(result(tr, seeds[0], trace.Haircut)), &r)
	if len(r.Nodes) < 20 {
		t.Fatalf("the trace reached %d addresses: too few to compare", len(r.Nodes))
	}
}
