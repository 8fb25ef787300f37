package cluster_test

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

func addr(name string) string { return fmt.Sprintf("0x%040s", name) }

type tags map[string]trace.Label

func (t tags) Label(_ context.Context, _ chain.Chain, a string) (trace.Label, bool, error) {
	l, ok := t[a]
	return l, ok, nil
}

func TestDeposits(t *testing.T) {
	ctx := context.Background()
	db, err := pebble.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// d1 sweeps twice to the hot wallet; d2 sends once to the hot wallet
	// and once elsewhere; d3 sweeps to an untagged address.
	pays := [][2]string{{"7", "d1"}, {"d1", "407"}, {"7", "d1"}, {"d1", "407"}, {"7", "d2"}, {"d2", "407"}, {"d2", "99"}, {"7", "d3"}, {"d3", "98"}}
	var blocks []*chain.Block
	for i, p := range pays {
		h := uint64(i + 1)
		bt := time.Unix(1_740_000_000+int64(h)*60, 0)
		th := fmt.Sprintf("0x%064x", h)
		blocks = append(blocks, &chain.Block{Chain: chain.Ethereum, Height: h, Hash: fmt.Sprintf("0x%064x", 1000+h), Time: bt,
			Txs: []chain.Tx{{Hash: th, From: addr(p[0]), Transfers: []chain.Transfer{{Chain: chain.Ethereum, Tx: th, Kind: chain.KindNative, Block: h, Time: bt,
				From: addr(p[0]), To: addr(p[1]), Amount: chain.NewAmount(5)}}}}})
	}
	if err := db.Graph().WriteBlocks(ctx, chain.Ethereum, "test", blocks); err != nil {
		t.Fatal(err)
	}
	// From the store, and from the trace cache, which answers without
	// postings.
	for _, g := range []cluster.Graph{db.Graph(), trace.NewCachedGraph(db.Graph(), 1000)} {
		d := &cluster.Deposits{Graph: g, Base: tags{addr("407"): {Entity: "Exchange One", Category: "exchange"}}}
		for a, want := range map[string]string{
			"d1":  "Exchange One deposit-address",
			"d2":  "",
			"d3":  "",
			"407": "Exchange One ",
			"7":   "",
		} {
			l, ok, err := d.Label(ctx, chain.Ethereum, addr(a))
			got := ""
			if ok {
				got = l.Entity + " " + l.Heuristic
			}
			if err != nil || got != want {
				t.Errorf("%T %s: %q %v, want %q", g, a, got, err, want)
			}
		}
		d.MaxSweeps = 1
		if _, ok, _ := d.Label(ctx, chain.Ethereum, addr("d1")); ok {
			t.Errorf("%T: an address sweeping more than MaxSweeps times is still a deposit address", g)
		}
		d.MaxSweeps = 2
		if _, ok, _ := d.Label(ctx, chain.Ethereum, addr("d1")); !ok {
			t.Errorf("%T: an address sweeping MaxSweeps times is not a deposit address", g)
		}
	}
}
