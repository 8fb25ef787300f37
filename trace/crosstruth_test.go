package trace_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/cluster"
	"github.com/tracehound/tracehound/ingest"
	"github.com/tracehound/tracehound/sim"
	"github.com/tracehound/tracehound/store/pebble"
	"github.com/tracehound/tracehound/trace"
	"github.com/tracehound/tracehound/trace/report"
)

// storeCross writes a cross-chain scenario's chains into a new store and
// returns it with the scenario's attributions.
func storeCross(tb testing.TB, cfg sim.CrossConfig) (*pebble.DB, *sim.CrossScenario, labels) {
	tb.Helper()
	ctx := context.Background()
	sc, err := sim.GenerateCross(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	db, err := pebble.Open(ctx, tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	g := db.Graph()
	for _, c := range sc.Chains() {
		bs := sc.Blocks[c]
		for i := 0; i < len(bs); i += 500 {
			batch := bs[i:min(i+500, len(bs))]
			if c == chain.Bitcoin {
				if err := ingest.ResolveInputs(ctx, g, c, batch); err != nil {
					tb.Fatal(err)
				}
			}
			if err := g.WriteBlocks(ctx, c, "sim", batch); err != nil {
				tb.Fatal(c, err)
			}
		}
	}
	l := labels{}
	for _, tg := range sc.Truth.Tags() {
		l[tg.Address.Value] = trace.Label{Entity: tg.Entity, Category: tg.Category}
	}
	return db, sc, l
}

// TestCrossChainGroundTruth traces simulated cross-chain launderings
// (ETH split, swapped through THORChain into Bitcoin and USDT on Tron,
// peeled, deposited at exchanges on all three chains, other users'
// swaps through the same router and vault around them) from the theft
// transaction, and compares with what the simulator knows: every
// exchange deposit on every chain is found (recall 1.0), with the exact
// amount in its own chain's asset under both models; no exchange
// endpoint the simulator did not make; each of the thief's swaps linked
// to its own payout, the one with an unreadable memo ended at the router
// with the memo shown; the Bitcoin fees and what the launderers still
// hold exact; and the freeze requests total per exchange and chain what
// the simulator deposited.
func TestCrossChainGroundTruth(t *testing.T) {
	for _, seed := range []uint64{1, 2} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			cfg := sim.DefaultCrossConfig()
			cfg.Seed, cfg.Background = seed, 5_000
			db, sc, l := storeCross(t, cfg)
			truth := sc.Truth
			type key struct {
				c     chain.Chain
				addr  string
				asset chain.Asset
			}
			want := map[key]chain.Amount{}
			perExchange := map[string]map[key]chain.Amount{}
			for _, d := range truth.Deposits {
				want[key{d.Chain, d.Address, d.Asset}] = d.Amount
				if perExchange[d.Exchange] == nil {
					perExchange[d.Exchange] = map[key]chain.Amount{}
				}
				k := key{d.Chain, "", d.Asset}
				v, _ := perExchange[d.Exchange][k].Add(d.Amount)
				perExchange[d.Exchange][k] = v
			}
			chains := map[chain.Chain]bool{}
			for k := range want {
				chains[k.c] = true
			}
			if len(chains) != 3 {
				t.Fatalf("the scenario deposits on %d chains, want 3", len(chains))
			}
			for _, m := range []trace.Model{trace.Poison, trace.Haircut} {
				// With the deposit-address heuristic on, as a node traces:
				// no laundering hop may pass for an exchange's.
				r, err := trace.Run(context.Background(), db.Graph(), []trace.Seed{{Tx: truth.TheftTx}},
					trace.Options{Chain: chain.Ethereum, Model: m, MaxHops: 40, Labels: &cluster.Deposits{Graph: db.Graph(), Base: l}})
				if err != nil {
					t.Fatal(err)
				}
				if err := r.Check(); err != nil {
					t.Fatalf("%s: %v", m, err)
				}
				got := map[key]chain.Amount{}
				for _, e := range r.Endpoints {
					if e.Label.Category == "exchange" {
						got[key{r.ChainOf(e.Chain), e.Address, e.Asset}] = e.Amount
					}
				}
				found := 0
				for k, v := range want {
					g, ok := got[k]
					switch {
					case !ok:
						t.Errorf("%s: deposit %s %s of %s %q not found", m, k.c, k.addr, v, k.asset)
					case g.Cmp(v) != 0:
						t.Errorf("%s: deposit %s %s in %q: %s, simulator %s", m, k.c, k.addr, k.asset, g, v)
					default:
						found++
					}
				}
				for k, v := range got {
					if _, ok := want[k]; !ok {
						t.Errorf("%s: endpoint %s %s with %s %q, where the simulator deposited none", m, k.c, k.addr, v, k.asset)
					}
				}
				// Each swap linked to its own payout.
				byTx := map[string]trace.Crossing{}
				for _, x := range r.Crossings {
					byTx[x.DepositTx] = x
				}
				if len(r.Crossings) != len(truth.Swaps) {
					t.Errorf("%s: %d crossings, the thief made %d swaps", m, len(r.Crossings), len(truth.Swaps))
				}
				unreadable := 0
				for _, s := range truth.Swaps {
					x, ok := byTx[s.DepositTx]
					switch {
					case !ok:
						t.Errorf("%s: swap %s not reached", m, s.DepositTx)
					case s.Unreadable != "":
						unreadable++
						if x.Status != trace.CrossUnreadable || x.Memo != s.Memo || x.Reason == "" || len(x.Out) != 0 || x.In.Cmp(s.In) != 0 {
							t.Errorf("%s: unreadable memo %q: %+v", m, s.Memo, x)
						}
					case x.Status != trace.CrossFollowed || x.ToChain != s.ToChain || len(x.Out) != 1 || x.Out[0].Tx != s.PayoutTx ||
						x.Out[0].To != s.Recipient || x.Out[0].Amount.Cmp(s.Paid) != 0 || x.Out[0].Tainted.Cmp(s.Paid) != 0 || x.Memo != s.Memo:
						t.Errorf("%s: swap %s (memo %q): %+v", m, s.DepositTx, s.Memo, x)
					}
				}
				if cfg.Malformed && unreadable != 1 {
					t.Errorf("%s: %d unreadable memos, want 1", m, unreadable)
				}
				// Fees and what is still held, each on its chain.
				legs := map[chain.Chain]trace.Leg{}
				for _, lg := range r.Legs {
					legs[lg.Chain] = lg
				}
				// Poison taints every output in full and counts no fee.
				if f := legs[chain.Bitcoin].FeesTainted; m == trace.Haircut && f.Cmp(truth.Fees[chain.Bitcoin]) != 0 {
					t.Errorf("%s: bitcoin fees %s, simulator %s", m, f, truth.Fees[chain.Bitcoin])
				}
				// Each leg's first hop counts the payouts that entered it.
				for _, lg := range r.Legs {
					var in chain.Amount
					n := 0
					for _, h := range r.Hops {
						if h.Chain == lg.Chain && h.Asset == lg.Asset && h.Hop == lg.Hop {
							in, _ = in.Add(h.Tainted)
							n += h.Transfers
						}
					}
					if n == 0 || in.Cmp(lg.Entered) != 0 {
						t.Errorf("%s: hop %d on %s: %d transfers in, %s tainted; %s entered", m, lg.Hop, lg.Chain, n, in, lg.Entered)
					}
				}
				nodes := map[key]trace.Node{}
				for _, n := range r.Nodes {
					nodes[key{r.ChainOf(n.Chain), n.Address, n.Asset}] = n
				}
				for _, h := range truth.Held {
					n, ok := nodes[key{h.Chain, h.Address, h.Asset}]
					if held, _ := n.Received.Sub(n.Sent); !ok || held.Cmp(h.Amount) != 0 {
						t.Errorf("%s: %s %s holds %s, trace %+v", m, h.Chain, h.Address, h.Amount, n)
					}
				}
				// One freeze request per exchange, its totals per chain.
				reqs := report.FreezeRequests(r, "sim", t0, nil, nil)
				if len(reqs) != len(perExchange) {
					t.Errorf("%s: %d freeze requests, %d exchanges received funds", m, len(reqs), len(perExchange))
				}
				for _, q := range reqs {
					// Each deposit's evidence goes back to the theft, across
					// the swap where it crossed.
					for _, d := range q.Deposits {
						p := d.Path
						crossed := slices.ContainsFunc(p, func(s report.Step) bool { return s.Via != "" })
						if len(p) == 0 || p[0].Chain != chain.Ethereum || p[0].From != truth.Thief || p[len(p)-1].To != d.Address ||
							p[len(p)-1].Chain != d.Chain || crossed != (d.Chain != chain.Ethereum) {
							t.Errorf("%s: %s %s: path %+v", m, d.Chain, d.Address, p)
						}
					}
					wantTotals := perExchange[q.Exchange]
					if len(q.Totals) != len(wantTotals) {
						t.Errorf("%s: %s: totals %+v, want %v", m, q.Exchange, q.Totals, wantTotals)
					}
					for _, tot := range q.Totals {
						if v := wantTotals[key{tot.Chain, "", tot.Asset}]; v.Cmp(tot.Base) != 0 {
							t.Errorf("%s: %s on %s in %q: %s, simulator %s", m, q.Exchange, tot.Chain, tot.Asset, tot.Base, v)
						}
					}
				}
				t.Logf("%s: recall %d/%d exchange deposits on %d chains, %d crossings, %d addresses, %d transfers, %s",
					m, found, len(want), len(r.Chains()), len(r.Crossings), len(r.Nodes), len(r.Edges), r.Elapsed)
			}
		})
	}
}

// BenchmarkCrossChain times the trace of the cross-chain scenario from
// the theft, across THORChain into Bitcoin and Tron, against the same
// trace with the bridge hop removed: the Ethereum part with bridges off,
// and the Bitcoin and Tron parts seeded at the payouts themselves, as an
// investigator who already knew them would. Both walk the same
// transfers to the same endpoints (checked first); the difference is
// the crossing: reading the deposits and payouts, the payout
// transactions, and joining the legs. The two alternate within each
// iteration, so that the ratio is of one run on one machine state.
func BenchmarkCrossChain(b *testing.B) {
	cfg := sim.DefaultCrossConfig()
	db, sc, l := storeCross(b, cfg)
	ctx := context.Background()
	truth := sc.Truth
	var btcSeeds, tronSeeds []trace.Seed
	for _, s := range truth.Swaps {
		switch s.ToChain {
		case chain.Bitcoin:
			pos := s.PayoutPos
			btcSeeds = append(btcSeeds, trace.Seed{Tx: s.PayoutTx, Output: &pos, Amount: s.Paid})
		case chain.Tron:
			tronSeeds = append(tronSeeds, trace.Seed{Tx: s.PayoutTx, Address: s.Recipient, Amount: s.Paid})
		}
	}
	for _, name := range []string{"store", "cached"} {
		b.Run(name, func(b *testing.B) {
			var g trace.Graph = db.Graph()
			if name == "cached" {
				g = trace.NewCachedGraph(db.Graph(), 2_000_000)
			}
			o := trace.Options{Chain: chain.Ethereum, Model: trace.Haircut, MaxHops: 40, Labels: l}
			cross := func() (*trace.Result, error) {
				return trace.Run(ctx, g, []trace.Seed{{Tx: truth.TheftTx}}, o)
			}
			apart := func() ([]*trace.Result, error) {
				var out []*trace.Result
				for _, leg := range []struct {
					c     chain.Chain
					asset chain.Asset
					seeds []trace.Seed
				}{{chain.Ethereum, chain.Native, []trace.Seed{{Tx: truth.TheftTx}}}, {chain.Bitcoin, chain.Native, btcSeeds}, {chain.Tron, truth.USDT, tronSeeds}} {
					lo := o
					lo.Chain, lo.Asset, lo.NoBridges = leg.c, leg.asset, true
					r, err := trace.Run(ctx, g, leg.seeds, lo)
					if err != nil {
						return nil, err
					}
					out = append(out, r)
				}
				return out, nil
			}
			// The same endpoints, to the base unit, either way.
			r, err := cross()
			if err != nil {
				b.Fatal(err)
			}
			rs, err := apart()
			if err != nil {
				b.Fatal(err)
			}
			type key struct {
				c    chain.Chain
				addr string
			}
			got, want := map[key]chain.Amount{}, map[key]chain.Amount{}
			for _, e := range r.Endpoints {
				if e.Label.Category == "exchange" {
					got[key{r.ChainOf(e.Chain), e.Address}] = e.Amount
				}
			}
			for _, r := range rs {
				for _, e := range r.Endpoints {
					if e.Label.Category == "exchange" {
						want[key{r.Chain, e.Address}] = e.Amount
					}
				}
			}
			if len(got) != len(truth.Deposits) || !reflect.DeepEqual(got, want) {
				b.Fatalf("across: %d endpoints, apart: %d, the simulator: %d", len(got), len(want), len(truth.Deposits))
			}
			var tCross, tApart time.Duration
			b.ReportAllocs()
			b.ResetTimer()
			runCross := func() {
				start := time.Now()
				if _, err := cross(); err != nil {
					b.Fatal(err)
				}
				tCross += time.Since(start)
			}
			runApart := func() {
				start := time.Now()
				if _, err := apart(); err != nil {
					b.Fatal(err)
				}
				tApart += time.Since(start)
			}
			for i := range b.N {
				// Each goes first every other time: neither gains from
				// what the other left in the caches.
				if i%2 == 0 {
					runCross()
					runApart()
				} else {
					runApart()
					runCross()
				}
			}
			b.ReportMetric(float64(tCross.Nanoseconds())/float64(b.N), "cross-ns/op")
			b.ReportMetric(float64(tApart.Nanoseconds())/float64(b.N), "nobridge-ns/op")
			b.ReportMetric(float64(tCross)/float64(tApart), "ratio")
		})
	}
}
