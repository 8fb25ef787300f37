package node

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/cluster"
	"github.com/tracehound/tracehound/sim"
	"github.com/tracehound/tracehound/trace"
)

// A node's traces walk the traversal layout, opened by the first trace,
// and find what the store itself gives: the same nodes, transfers and
// endpoints, with the deposit heuristic reading the layout too.
func TestTraceReadsTraversal(t *testing.T) {
	ctx := context.Background()
	n, truth := simulatedNode(t, 3_000)
	if n.trav.Load() != nil {
		t.Fatal("the traversal layout was opened before any trace")
	}
	o := trace.Options{Chain: chain.Ethereum, Model: trace.Haircut, MaxHops: 40}
	seeds := []trace.Seed{{Tx: truth.TheftTx}}
	got, err := n.Trace(ctx, trace.Request{Seeds: seeds, Options: o})
	if err != nil {
		t.Fatal(err)
	}
	tr := n.trav.Load()
	if tr == nil {
		t.Fatal("a trace left the traversal layout closed")
	}
	if g := n.traceGraph(ctx); g == nil {
		t.Fatal("no trace graph")
	}
	// The same trace read from the store alone, with the same labels.
	base, err := n.labels(ctx, chain.Ethereum, true)
	if err != nil {
		t.Fatal(err)
	}
	o.Labels = &cluster.Deposits{Graph: n.db.Graph(), Base: base}
	want, err := trace.Run(ctx, n.db.Graph(), seeds, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Nodes) == 0 || len(got.Endpoints) == 0 {
		t.Fatalf("trace found %d nodes, %d endpoints", len(got.Nodes), len(got.Endpoints))
	}
	for i := range min(len(got.Nodes), len(want.Nodes)) {
		if !reflect.DeepEqual(got.Nodes[i], want.Nodes[i]) {
			t.Errorf("node %d: %+v, store %+v", i, got.Nodes[i], want.Nodes[i])
			break
		}
	}
	for i := range min(len(got.Edges), len(want.Edges)) {
		if !reflect.DeepEqual(got.Edges[i], want.Edges[i]) {
			t.Errorf("edge %d: %+v, store %+v", i, got.Edges[i], want.Edges[i])
			break
		}
	}
	for i := range min(len(got.Endpoints), len(want.Endpoints)) {
		if !reflect.DeepEqual(got.Endpoints[i], want.Endpoints[i]) {
			t.Errorf("endpoint %d: %+v, store %+v", i, got.Endpoints[i], want.Endpoints[i])
			break
		}
	}
	if !reflect.DeepEqual(got.Nodes, want.Nodes) || !reflect.DeepEqual(got.Edges, want.Edges) || !reflect.DeepEqual(got.Endpoints, want.Endpoints) {
		t.Fatalf("through the traversal: %d nodes, %d edges, %d endpoints; from the store: %d, %d, %d",
			len(got.Nodes), len(got.Edges), len(got.Endpoints), len(want.Nodes), len(want.Edges), len(want.Endpoints))
	}
	s, err := tr.Snapshot(ctx, chain.Ethereum)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Release()
	if _, ok := s.AddressID(got.Nodes[0].Address); !ok {
		t.Fatalf("the traversal does not know %s, which the trace reached", got.Nodes[0].Address)
	}
}

// The same trace asked again of an unchanged graph is answered from the
// memo, under a new id and with the deposit evidence of the first; a
// change to the graph or to the screening index clears the memo.
func TestTraceMemo(t *testing.T) {
	ctx := context.Background()
	n, truth := simulatedNode(t, 3_000)
	req := trace.Request{Seeds: []trace.Seed{{Tx: truth.TheftTx}}, Options: trace.Options{Chain: chain.Ethereum, Model: trace.Haircut, MaxHops: 40}}
	first, err := n.Trace(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if n.memo.Len() != 1 {
		t.Fatalf("%d results kept after a trace, want 1", n.memo.Len())
	}
	again, err := n.Trace(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if again.ID == "" || again.ID == first.ID {
		t.Fatalf("the trace asked again has id %q, the first %q", again.ID, first.ID)
	}
	f, a := *first, *again
	f.ID, a.ID = "", ""
	if !reflect.DeepEqual(f, a) {
		t.Fatal("the trace asked again differs from the first")
	}
	if n.traces.evidence(first.ID) == nil || !reflect.DeepEqual(n.traces.evidence(first.ID), n.traces.evidence(again.ID)) {
		t.Fatal("the trace asked again lost the first's deposit evidence")
	}
	// Another question is another result.
	poison := req
	poison.Model = trace.Poison
	if _, err := n.Trace(ctx, poison); err != nil {
		t.Fatal(err)
	}
	if n.memo.Len() != 2 {
		t.Fatalf("%d results kept after two questions, want 2", n.memo.Len())
	}
	n.graphChanged(chain.Ethereum)([]string{first.Nodes[0].Address}, false)
	if n.memo.Len() != 0 {
		t.Fatal("an ingest left traces kept")
	}
	if _, err := n.Trace(ctx, req); err != nil {
		t.Fatal(err)
	}
	idx, err := n.Index(ctx)
	if err != nil {
		t.Fatal(err)
	}
	idx.SetTags(nil)
	if n.memo.Len() != 0 {
		t.Fatal("new attributions left traces kept")
	}
}

// A serving node opens the traversal layout in the background once
// ready, so that its first trace does not wait for the segments' checks.
func TestServeOpensTraversal(t *testing.T) {
	n, _ := simulatedNode(t, 1_000)
	serveNode(t, n, "")
	deadline := time.Now().Add(30 * time.Second)
	for n.trav.Load() == nil {
		if time.Now().After(deadline) {
			t.Fatal("the traversal layout was not opened 30 s after serving began")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// simulatedNode is a node on a new store holding a simulated theft
// across chains among background transfers, closed when the test ends.
func simulatedNode(t *testing.T, background int) (*Node, *sim.CrossTruth) {
	t.Helper()
	ctx := context.Background()
	n, err := Open(ctx, Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	truth, _, err := n.SimulateCross(ctx, Simulation{Seed: 5, Background: background})
	if err != nil {
		t.Fatal(err)
	}
	return n, truth
}
