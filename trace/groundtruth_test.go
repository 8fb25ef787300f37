package trace_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/cluster"
	"github.com/tracehound/tracehound/ingest"
	"github.com/tracehound/tracehound/sim"
	"github.com/tracehound/tracehound/store/pebble"
	"github.com/tracehound/tracehound/trace"
)

// TestGroundTruth traces simulated thefts (split wallets, peel chains, a
// mixer, a bridge, a swap into a token, deposits at several exchanges, in
// a background of ordinary transfers) from the theft transaction and
// compares the exchange endpoints with what the simulator knows: under
// poison every deposit address the stolen funds reached without passing
// the mixer is found (recall 1.0), in ETH and, through the swap, in the
// token; under haircut the amounts equal the simulator's to the base
// unit; and no endpoint is reported that the simulator did not create.
func TestGroundTruth(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			ctx := context.Background()
			cfg := sim.DefaultConfig()
			cfg.Seed, cfg.Background = seed, 50_000
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
			truth := sc.Truth
			tagged := labels{}
			for _, tg := range truth.Tags() {
				tagged[tg.Address.Value] = trace.Label{Entity: tg.Entity, Category: tg.Category}
			}
			lab := &cluster.Deposits{Graph: db.Graph(), Base: tagged}
			// What a tracer stopping at the mixer can see at each deposit,
			// in ETH and in the token the swap paid.
			type key struct {
				addr  string
				asset chain.Asset
			}
			want := map[key]chain.Amount{}
			for addr, d := range truth.Deposits {
				if v, under := d.Haircut.Sub(d.ViaMixer); !under && !v.IsZero() {
					want[key{addr, chain.Native}] = v
				}
				if !d.Tokens.IsZero() {
					want[key{addr, truth.Services.Token}] = d.Tokens
				}
			}
			for _, m := range []trace.Model{trace.Poison, trace.Haircut} {
				r, err := trace.Run(ctx, db.Graph(), []trace.Seed{{Tx: truth.TheftTx}}, trace.Options{Chain: chain.Ethereum, Model: m, MaxHops: 30, Labels: lab})
				if err != nil {
					t.Fatal(err)
				}
				if err := r.Check(); err != nil {
					t.Fatalf("%s: %v", m, err)
				}
				got := map[key]chain.Amount{}
				for _, e := range r.Endpoints {
					if e.Label.Category != "exchange" {
						continue
					}
					if _, ok := truth.Deposits[e.Address]; !ok {
						t.Errorf("%s: endpoint %s (%s, %s) is not a deposit address the simulator made", m, e.Address, e.Label.Entity, e.Label.Heuristic)
					}
					got[key{e.Address, e.Asset}] = e.Amount
				}
				for k, amt := range want {
					g, ok := got[k]
					if !ok {
						t.Errorf("%s: deposit address %s (%s) with %s stolen %q not found", m, k.addr, truth.Deposits[k.addr].Exchange, amt, k.asset)
						continue
					}
					if m == trace.Haircut && g.Cmp(amt) != 0 {
						t.Errorf("haircut at %s in %q: %s, simulator %s", k.addr, k.asset, g, amt)
					}
				}
				for k := range got {
					if _, ok := want[k]; !ok {
						t.Errorf("%s: endpoint %s in %q, where the simulator deposited none", m, k.addr, k.asset)
					}
				}
				if len(r.Swaps) == 0 {
					t.Errorf("%s: no swap followed", m)
				}
				t.Logf("%s: %d exchange endpoints of %d expected, %d addresses, %d transfers, %s", m, len(got), len(want), len(r.Nodes), len(r.Edges), r.Elapsed)
			}
		})
	}
}
