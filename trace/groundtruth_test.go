package trace_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
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
//
// The simulator's thieves hold nothing clean, so haircut there equals
// poison by construction; "mixed funds" is a theft into an address that
// holds clean funds before and after it, whose amounts under each model
// are worked out by hand below.
func TestGroundTruth(t *testing.T) {
	t.Run("mixed funds", testMixedFunds)
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

// testMixedFunds: m holds 1,000 clean when 600 are stolen into it, then
// 401 clean more, and pays x, y and an exchange; x pays a second exchange,
// y pays z and a third. Every amount is small enough to check by hand,
// and chosen so that the shares round.
func testMixedFunds(t *testing.T) {
	db := store(t, []pay{
		{"c1", "m", 1000},  // 1: clean
		{"71c7", "m", 600}, // 2: the theft, the seed
		{"c2", "m", 401},   // 3: clean
		{"m", "x", 700},    // 4
		{"m", "y", 500},    // 5
		{"m", "e1", 300},   // 6
		{"x", "e2", 700},   // 7
		{"y", "z", 333},    // 8
		{"y", "e3", 167},   // 9
	})
	exchanges := labels{}
	for _, e := range []string{"e1", "e2", "e3"} {
		exchanges[addr(e)] = trace.Label{Entity: "Exchange " + e, Category: "exchange"}
	}
	type want struct {
		endpoints map[string]uint64 // exchange: tainted amount it received
		received  map[string]uint64 // address: tainted amount it received
		remaining map[string]uint64 // address: tainted amount it still holds
	}
	for _, c := range []struct {
		model trace.Model
		want  want
	}{
		// Haircut: each payment carries amount × tainted ÷ balance,
		// rounded down, and the tainted balance falls by what it carried.
		//   m holds 1000 + 600 + 401 = 2001, 600 tainted.
		//   m→x  700: 700×600/2001 = 420000/2001 = 209 (2001×209 = 418209); m: 1301, 391.
		//   m→y  500: 500×391/1301 = 195500/1301 = 150 (1301×150 = 195150); m: 801, 241.
		//   m→e1 300: 300×241/801  =  72300/801  =  90 (801×90 = 72090);    m: 501, 151.
		//   x→e2 700: 700×209/700  = 209.
		//   y→z  333: 333×150/500  =  49950/500  =  99;                     y: 167, 51.
		//   y→e3 167: 167×51/167   =  51.
		// 151 + 90 + 209 + 51 + 99 = 600.
		{trace.Haircut, want{
			endpoints: map[string]uint64{"e1": 90, "e2": 209, "e3": 51},
			received:  map[string]uint64{"m": 600, "x": 209, "y": 150, "z": 99},
			remaining: map[string]uint64{"m": 151, "x": 0, "y": 0, "z": 99},
		}},
		// FIFO: m's lots are 1000 clean, 600 stolen, 401 clean.
		//   m→x  700: 700 of the clean 1000: nothing tainted, x is not reached.
		//   m→y  500: the clean 300 left, then 200 of the stolen 600: 200.
		//   m→e1 300: 300 of the stolen 400 left: 300; m keeps 100 stolen.
		//   y's one lot, 500 with 200 tainted, gives it up pro rata:
		//   y→z  333: 333×200/500 = 66600/500 = 133; the lot: 167, 67.
		//   y→e3 167: the rest of the lot: 67.
		// 100 + 300 + 67 + 133 = 600.
		{trace.FIFO, want{
			endpoints: map[string]uint64{"e1": 300, "e3": 67},
			received:  map[string]uint64{"m": 600, "y": 200, "z": 133},
			remaining: map[string]uint64{"m": 100, "y": 0, "z": 133},
		}},
		// Poison: all m sent after the theft, and all its payees sent.
		{trace.Poison, want{
			endpoints: map[string]uint64{"e1": 300, "e2": 700, "e3": 167},
			received:  map[string]uint64{"m": 600, "x": 700, "y": 500, "z": 333},
		}},
	} {
		r, err := trace.Run(context.Background(), db.Graph(), []trace.Seed{{Tx: hash(2)}}, trace.Options{Chain: chain.Ethereum, Model: c.model, Labels: exchanges})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Check(); err != nil {
			t.Fatalf("%s: %v", c.model, err)
		}
		got := want{endpoints: map[string]uint64{}, received: map[string]uint64{}, remaining: map[string]uint64{}}
		name := func(a string) string { return strings.TrimLeft(a[2:], "0") }
		amount := func(a chain.Amount) uint64 {
			if !a.Big().IsUint64() {
				t.Fatalf("%s: amount %s", c.model, a)
			}
			return a.Big().Uint64()
		}
		for _, e := range r.Endpoints {
			if e.Asset != chain.Native {
				t.Errorf("%s: endpoint %s in %q", c.model, e.Address, e.Asset)
			}
			got.endpoints[name(e.Address)] += amount(e.Amount)
		}
		for _, n := range r.Nodes {
			if n.Label != nil {
				continue // an endpoint
			}
			got.received[name(n.Address)] = amount(n.Received)
			if c.model != trace.Poison {
				got.remaining[name(n.Address)] = amount(n.Remaining)
			}
		}
		if c.model == trace.Poison {
			got.remaining = nil
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.model, got, c.want)
		}
	}
}
