package cluster_test

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

// TestDepositsSimulated asks the heuristic about every address of
// simulated thefts: each deposit address of the thief's is found at its
// exchange, with its sweeps; no laundering address is taken for one, not
// even when the thief's deposit addresses are tagged as the exchange
// (the end points of a laundering flow tagged as services, where a
// heuristic that only asks "does everything it sends go to a tagged
// exchange" names the hops before them); and the customers' deposit
// addresses, which sweep like the thief's, are found too.
func TestDepositsSimulated(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			ctx := context.Background()
			cfg := sim.DefaultConfig()
			cfg.Seed, cfg.Background, cfg.Addresses, cfg.DepositAddresses = seed, 30_000, 5_000, 200
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
			tagged := tags{}
			for _, tg := range truth.Tags() {
				tagged[tg.Address.Value] = trace.Label{Entity: tg.Entity, Category: tg.Category}
			}
			endpoints := tags{}
			for a, l := range tagged {
				endpoints[a] = l
			}
			for a, d := range truth.Deposits {
				endpoints[a] = trace.Label{Entity: d.Exchange, Category: "exchange"}
			}
			g := trace.NewCachedGraph(db.Graph(), 100_000)
			dep := &cluster.Deposits{Graph: g, Base: tagged}
			adversarial := &cluster.Deposits{Graph: g, Base: endpoints}
			naive := 0 // what the sole-payee rule alone names, under the adversarial tags

			for a, d := range truth.Deposits {
				l, ok, err := dep.Label(ctx, chain.Ethereum, a)
				if err != nil {
					t.Fatal(err)
				}
				if !ok || l.Entity != d.Exchange || l.Heuristic != cluster.HeuristicDeposit {
					t.Errorf("the thief's deposit address %s at %s: %+v %v", a, d.Exchange, l, ok)
					continue
				}
				if len(dep.Sweeps(chain.Ethereum, a)) == 0 {
					t.Errorf("deposit address %s labelled without sweeps", a)
				}
			}
			hops := 0
			for a, acc := range truth.Accounts {
				if acc.Role == sim.RoleDeposit {
					continue
				}
				hops++
				for name, d := range map[string]*cluster.Deposits{"tags": dep, "endpoints tagged": adversarial} {
					if l, ok, err := d.Label(ctx, chain.Ethereum, a); err != nil || ok && l.Heuristic != "" {
						t.Errorf("%s: laundering address %s (%s) labelled %+v %v", name, a, acc.Role, l, err)
					}
				}
				if soleTagged(ctx, t, g, endpoints, a) {
					naive++
				}
			}
			var customers, found int
			for name, ex := range truth.Services.Exchanges {
				for _, a := range ex.Deposits {
					if _, thief := truth.Deposits[a]; thief {
						continue
					}
					if !swept(ctx, t, g, a) {
						continue
					}
					customers++
					l, ok, err := dep.Label(ctx, chain.Ethereum, a)
					if err != nil {
						t.Fatal(err)
					}
					if ok && l.Entity == name {
						found++
					}
				}
			}
			if customers == 0 || found*100 < customers*99 {
				t.Errorf("customers' deposit addresses found: %d of %d", found, customers)
			}
			t.Logf("thief's deposit addresses %d, all found; laundering addresses %d, none labelled (sole payee a tagged end point: %d); customers' deposit addresses found %d of %d",
				len(truth.Deposits), hops, naive, found, customers)
		})
	}
}

// soleTagged is the old rule: everything the address sent went to one
// address tagged as an exchange.
func soleTagged(ctx context.Context, t *testing.T, g cluster.Graph, labels tags, addr string) bool {
	to, n, mixed := "", 0, false
	err := g.Postings(ctx, chain.Ethereum, addr, chain.PostingQuery{Outgoing: true}, func(p chain.Posting) bool {
		n++
		if to == "" {
			to = p.Counterparty
		} else if to != p.Counterparty {
			mixed = true
		}
		return !mixed
	})
	if err != nil {
		t.Fatal(err)
	}
	l, ok := labels[to]
	return n > 0 && !mixed && ok && l.Category.IsExchange()
}

// swept reports whether the address sent anything.
func swept(ctx context.Context, t *testing.T, g cluster.Graph, addr string) bool {
	n := 0
	if err := g.Postings(ctx, chain.Ethereum, addr, chain.PostingQuery{Outgoing: true, Limit: 1}, func(chain.Posting) bool { n++; return false }); err != nil {
		t.Fatal(err)
	}
	return n > 0
}
