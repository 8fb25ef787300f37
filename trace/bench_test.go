package trace_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/cluster"
	"github.com/tracehound/tracehound/sim"
	"github.com/tracehound/tracehound/store/graph"
	"github.com/tracehound/tracehound/store/pebble"
	"github.com/tracehound/tracehound/trace"
)

// fanOut stores sim.FanOut's theft, sweeping to five tagged hot wallets:
// the laundering tree of tracebench, without its background.
func fanOut(tb testing.TB) (*pebble.DB, string, labels) {
	tb.Helper()
	ctx := context.Background()
	name := func(kind byte, n uint64) string { return fmt.Sprintf("0x%02x%038x", kind, n) }
	thief := name(1, 0)
	hot := make([]string, 5)
	l := labels{}
	for i := range hot {
		hot[i] = name(2, uint64(i))
		l[hot[i]] = trace.Label{Entity: fmt.Sprintf("Exchange %d", i), Category: "exchange"}
	}
	pays := sim.FanOut(thief, hot, 18_000_000_000, name)
	db, err := pebble.Open(ctx, tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	// Several transactions a block, so that edges are ordered by their
	// place in the block as well as by block.
	const perBlock = 150
	var blocks []*chain.Block
	for i := 0; i < len(pays); i += perBlock {
		h := uint64(i/perBlock + 1)
		bt := t0.Add(time.Duration(h) * 12 * time.Second)
		b := &chain.Block{Chain: chain.Ethereum, Height: h, Hash: hash(1_000_000 + int(h)), Time: bt}
		for j, p := range pays[i:min(i+perBlock, len(pays))] {
			th := hash(i + j + 1)
			b.Txs = append(b.Txs, chain.Tx{Hash: th, Index: j, From: p.From, Transfers: []chain.Transfer{{
				Chain: chain.Ethereum, Tx: th, Kind: chain.KindNative, Block: h, Time: bt, From: p.From, To: p.To, Amount: chain.NewAmount(p.Amount)}}})
		}
		blocks = append(blocks, b)
	}
	if err := db.Graph().WriteBlocks(ctx, chain.Ethereum, "bench", blocks); err != nil {
		tb.Fatal(err)
	}
	return db, thief, l
}

// BenchmarkCachedTrace is a 6-hop haircut trace over 10,211 addresses
// whose histories are all in the trace cache: what a server answers
// again and again, and where the trace's own allocations show.
func BenchmarkCachedTrace(b *testing.B) {
	db, thief, l := fanOut(b)
	ctx := context.Background()
	cg := trace.NewCachedGraph(db.Graph(), 2_000_000)
	o := trace.Options{Chain: chain.Ethereum, Model: trace.Haircut, MaxHops: 6, Labels: &cluster.Deposits{Graph: cg, Base: l}}
	seeds := []trace.Seed{{Address: thief}}
	r, err := trace.Run(ctx, cg, seeds, o)
	if err != nil {
		b.Fatal(err)
	}
	if len(r.Nodes) != 10_211 || len(r.Edges) != 19_110 || len(r.Endpoints) != 100 {
		b.Fatalf("%d nodes, %d edges, %d endpoints", len(r.Nodes), len(r.Edges), len(r.Endpoints))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := trace.Run(ctx, cg, seeds, o); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTraversalTrace is BenchmarkCachedTrace's trace read from the
// traversal layout: a new trace each time, nothing kept between them
// (store), or with the trace cache's working memory kept (cached).
func BenchmarkTraversalTrace(b *testing.B) {
	db, thief, l := fanOut(b)
	ctx := context.Background()
	tr, err := db.Graph().Traversal(ctx, graph.TraversalOptions{MergeInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Close()
	if err := tr.Merge(ctx); err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{"store", "cached"} {
		b.Run(name, func(b *testing.B) {
			var g trace.Graph = tr
			if name == "cached" {
				g = trace.NewCachedGraph(tr, 2_000_000)
			}
			o := trace.Options{Chain: chain.Ethereum, Model: trace.Haircut, MaxHops: 6, Labels: &cluster.Deposits{Graph: g.(cluster.Graph), Base: l}}
			seeds := []trace.Seed{{Address: thief}}
			r, err := trace.Run(ctx, g, seeds, o)
			if err != nil {
				b.Fatal(err)
			}
			if len(r.Nodes) != 10_211 || len(r.Edges) != 19_110 || len(r.Endpoints) != 100 {
				b.Fatalf("%d nodes, %d edges, %d endpoints", len(r.Nodes), len(r.Edges), len(r.Endpoints))
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := trace.Run(ctx, g, seeds, o); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
