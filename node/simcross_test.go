package node

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/trace"
)

// The cross-chain scenario, written through the node's ingest (the bulk
// path, bridge events with their blocks) and traced through the node
// with its tags: every exchange deposit on every chain with its amount.
func TestSimulateCross(t *testing.T) {
	ctx := context.Background()
	n, err := Open(ctx, Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	truthPath := filepath.Join(t.TempDir(), "truth.json")
	truth, st, err := n.SimulateCross(ctx, Simulation{Seed: 3, Background: 3_000, TruthPath: truthPath})
	if err != nil {
		t.Fatal(err)
	}
	if st.Blocks == 0 || st.Transfers < 9_000 {
		t.Fatalf("stats %+v", st)
	}
	r, err := n.Trace(ctx, trace.Request{Seeds: []trace.Seed{{Tx: truth.TheftTx}}, Options: trace.Options{Chain: chain.Ethereum, Model: trace.Haircut, MaxHops: 40}})
	if err != nil {
		t.Fatal(err)
	}
	type key struct {
		c    chain.Chain
		addr string
	}
	got := map[key]chain.Amount{}
	for _, e := range r.Endpoints {
		if e.Label.Category == "exchange" {
			got[key{r.ChainOf(e.Chain), e.Address}] = e.Amount
		}
	}
	for _, d := range truth.Deposits {
		if v := got[key{d.Chain, d.Address}]; v.Cmp(d.Amount) != 0 {
			t.Errorf("%s %s: %s, simulator %s", d.Chain, d.Address, v, d.Amount)
		}
	}
	if len(got) != len(truth.Deposits) || len(r.Chains()) != 3 {
		t.Errorf("%d exchange endpoints on %v, simulator %d", len(got), r.Chains(), len(truth.Deposits))
	}
	// A second run into the same store is refused, naming the chain.
	if _, _, err := n.SimulateCross(ctx, Simulation{Seed: 3, Background: 3_000}); err == nil {
		t.Error("simulated twice into one store")
	}
}
