package trace_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/cluster"
	"github.com/tracehound/tracehound/store/pebble"
	"github.com/tracehound/tracehound/trace"
)

// fanOut stores a theft that fans out over four hops to 9,000 addresses
// (ten ways, then nine), which pay 100 exchange deposit addresses that
// sweep to five tagged hot wallets: the laundering tree of tracebench,
// without its background. A 6-hop trace from the thief reaches 10,211
// addresses over 19,110 transfers.
func fanOut(tb testing.TB) (*pebble.DB, string, labels) {
	tb.Helper()
	ctx := context.Background()
	name := func(kind byte, n int) string { return fmt.Sprintf("0x%02x%038x", kind, n) }
	thief := name(1, 0)
	hot := make([]string, 5)
	l := labels{}
	for i := range hot {
		hot[i] = name(2, i)
		l[hot[i]] = trace.Label{Entity: fmt.Sprintf("Exchange %d", i), Category: "exchange"}
	}
	pays := []pay{{name(3, 0), thief, 18_000_000_000}}
	level, amount, id := []string{thief}, uint64(18_000_000_000), 0
	for hop := 1; hop <= 4; hop++ {
		fan := 10
		if hop == 4 {
			fan = 9
		}
		amount /= uint64(fan)
		var next []string
		for _, from := range level {
			for range fan {
				id++
				to := name(4, id)
				pays = append(pays, pay{from, to, amount})
				next = append(next, to)
			}
		}
		level = next
	}
	deposits := make([]string, 100)
	for i := range deposits {
		deposits[i] = name(5, i)
	}
	for i, from := range level {
		pays = append(pays, pay{from, deposits[i%len(deposits)], amount})
	}
	for i, d := range deposits {
		pays = append(pays, pay{d, hot[i%len(hot)], amount * uint64(len(level)/len(deposits))})
	}
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
			b.Txs = append(b.Txs, chain.Tx{Hash: th, Index: j, From: p.from, Transfers: []chain.Transfer{{
				Chain: chain.Ethereum, Tx: th, Kind: chain.KindNative, Block: h, Time: bt, From: p.from, To: p.to, Amount: chain.NewAmount(p.amount)}}})
		}
		blocks = append(blocks, b)
	}
	if err := db.WriteBlocks(ctx, chain.Ethereum, "bench", blocks); err != nil {
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
	cg := trace.NewCachedGraph(db, 2_000_000)
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
