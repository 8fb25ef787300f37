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

// pay is one transfer of a hand-made history.
type pay struct {
	from, to string
	asset    chain.Asset
	amount   string // base units
	at       time.Duration
}

var t0 = time.Date(2025, 2, 21, 14, 0, 0, 0, time.UTC)

// writeHistory stores one block per transfer, in order, and a last empty
// block at end, which is where the graph ends.
func writeHistory(t *testing.T, db *pebble.DB, pays []pay, end time.Duration) {
	t.Helper()
	var blocks []*chain.Block
	for i, p := range pays {
		h := uint64(i + 1)
		bt := t0.Add(p.at)
		th := fmt.Sprintf("0x%064x", h)
		amt, err := chain.ParseAmount(p.amount)
		if err != nil {
			t.Fatal(err)
		}
		kind := chain.KindNative
		if p.asset != chain.Native {
			kind = chain.KindToken
		}
		blocks = append(blocks, &chain.Block{Chain: chain.Ethereum, Height: h, Hash: fmt.Sprintf("0x%064x", 1000+h), Time: bt,
			Txs: []chain.Tx{{Hash: th, From: addr(p.from), Transfers: []chain.Transfer{{Chain: chain.Ethereum, Tx: th, Kind: kind, Block: h, Time: bt,
				From: addr(p.from), To: addr(p.to), Asset: p.asset, Amount: amt}}}}})
	}
	h := uint64(len(pays) + 1)
	blocks = append(blocks, &chain.Block{Chain: chain.Ethereum, Height: h, Hash: fmt.Sprintf("0x%064x", 1000+h), Time: t0.Add(end)})
	if err := db.Graph().WriteBlocks(context.Background(), chain.Ethereum, "test", blocks); err != nil {
		t.Fatal(err)
	}
}

const (
	eth    = "000000000000000000" // 18 zeros: append to whole ether
	fee    = "420000000000000"    // 21,000 gas at 20 gwei
	minute = time.Minute
	hour   = time.Hour
	day    = 24 * time.Hour
)

// TestDepositShape: an address is a deposit address only if it sweeps
// like one. The laundering hop that sent a quarter of its 10,000 ETH to
// an exchange and kept the rest is the case that put 10,000 ETH on a
// freeze request.
func TestDepositShape(t *testing.T) {
	ctx := context.Background()
	db, err := pebble.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	usdt := chain.Asset(addr("70cc"))
	sub := func(a, b string) string {
		x, _ := chain.ParseAmount(a)
		y, _ := chain.ParseAmount(b)
		d, _ := x.Sub(y)
		return d.String()
	}
	pays := []pay{
		// dep: a customer's deposit address. Two ether deposits, each
		// swept less the fee within the hour; a token deposit, swept
		// exactly after the hot wallet topped up its gas.
		{"u1", "dep", "", "15" + eth[1:], 0},
		{"dep", "407", "", sub("15"+eth[1:], fee), 10 * minute},
		{"u2", "dep", "", "2" + eth, day},
		{"u3", "dep", usdt, "100000000", day + minute},
		{"dep", "407", "", sub("2"+eth, fee), day + 20*minute},
		{"407", "dep", "", "3" + fee, day + 21*minute},
		{"dep", "407", usdt, "100000000", day + 30*minute},
		// Gas from a funding wallet of the exchange's, burnt in fees.
		{"gasfund", "dep", "", "2000000000000000", 2 * day},
		// Spam the exchange never sweeps: a fake token, a zero transfer.
		{"poisoner", "dep", chain.Asset(addr("fa4e")), "5000000000", 2 * day},
		{"poisoner", "dep", usdt, "0", 2 * day},

		// tiny: a deposit of 0.002 ETH, swept less the fee.
		{"u10", "tiny", "", "2000000000000000", hour},
		{"tiny", "407", "", sub("2000000000000000", fee), 2 * hour},

		// hop: a laundering hop; a quarter to the exchange, the rest kept.
		{"thief", "hop", "", "10000" + eth, 2 * hour},
		{"hop", "407", "", "2500" + eth, 3 * hour},

		// inst: the whole 10,000 to the exchange, but in parts.
		{"thief", "inst", "", "10000" + eth, 2 * hour},
		{"inst", "407", "", "2500" + eth, 3 * hour},
		{"inst", "407", "", "2500" + eth, 4 * hour},
		{"inst", "407", "", "2500" + eth, 5 * hour},
		{"inst", "407", "", "2500" + eth, 6 * hour},

		// untagged: swept whole, to a wallet no tag names.
		{"u4", "untagged", "", "5" + eth, hour},
		{"untagged", "98", "", "5" + eth, 2 * hour},

		// late: swept whole to the exchange, ten days on.
		{"u5", "late", "", "5" + eth, hour},
		{"late", "407", "", "5" + eth, 10 * day},

		// kept: swept once, then a deposit that stays for weeks.
		{"u6", "kept", "", "5" + eth, hour},
		{"kept", "407", "", "5" + eth, 2 * hour},
		{"u6", "kept", "", "7" + eth, 2 * day},

		// fresh: swept once, then a deposit an hour before the graph ends.
		{"u7", "fresh", "", "5" + eth, hour},
		{"fresh", "407", "", "5" + eth, 2 * hour},
		{"u7", "fresh", "", "7" + eth, 30*day - hour},

		// cust: a customer's wallet that sends all it gets, at once, to
		// its deposit address, which a tag names: tagdep pays only the
		// hot wallet, so it is no hot wallet itself.
		{"u9", "cust", "", "4" + eth, hour},
		{"cust", "tagdep", "", "4" + eth, 2 * hour},
		{"tagdep", "407", "", "4" + eth, 3 * hour},

		// The hot wallet pays withdrawals.
		{"407", "w1", "", "1" + eth, 4 * hour},
		{"407", "w2", "", "1" + eth, 5 * hour},

		// more: sends more than it ever received.
		{"u8", "more", "", "1" + eth, hour},
		{"more", "407", "", "3" + eth, 2 * hour},
	}
	writeHistory(t, db, pays, 30*day)
	base := tags{addr("407"): {Entity: "Exchange One", Category: "exchange"}, addr("tagdep"): {Entity: "Exchange One", Category: "exchange"}}
	for _, g := range []cluster.Graph{db.Graph(), trace.NewCachedGraph(db.Graph(), 1000)} {
		d := &cluster.Deposits{Graph: g, Base: base}
		for name, want := range map[string]bool{
			"dep": true, "fresh": true, "tiny": true,
			"hop": false, "inst": false, "untagged": false, "late": false, "kept": false, "more": false, "cust": false,
		} {
			l, ok, err := d.Label(ctx, chain.Ethereum, addr(name))
			if err != nil {
				t.Fatal(err)
			}
			if ok != want {
				t.Errorf("%T %s: labelled %v (%+v), want %v", g, name, ok, l, want)
				continue
			}
			sweeps := d.Sweeps(chain.Ethereum, addr(name))
			if ok != (len(sweeps) > 0) {
				t.Errorf("%T %s: labelled %v with %d sweeps as evidence", g, name, ok, len(sweeps))
			}
			if ok && (l.Entity != "Exchange One" || l.Heuristic != cluster.HeuristicDeposit) {
				t.Errorf("%T %s: %+v", g, name, l)
			}
		}
		sw := d.Sweeps(chain.Ethereum, addr("dep"))
		if len(sw) != 3 || sw[0].Tx != fmt.Sprintf("0x%064x", 2) || sw[2].Asset != usdt || sw[2].Amount.String() != "100000000" || sw[1].Deposits != 1 || sw[1].To != addr("407") {
			t.Errorf("%T: evidence of dep: %+v", g, sw)
		}
		// A narrower window drops the deposit address whose sweep took
		// twenty minutes.
		narrow := &cluster.Deposits{Graph: g, Base: base, Window: 15 * minute}
		if _, ok, _ := narrow.Label(ctx, chain.Ethereum, addr("dep")); ok {
			t.Errorf("%T: a 15-minute window took a sweep after 20 minutes", g)
		}
		// Without the fee allowance, the ether sweeps fall short.
		exact := &cluster.Deposits{Graph: g, Base: base, Dust: chain.NewAmount(1)}
		if _, ok, _ := exact.Label(ctx, chain.Ethereum, addr("dep")); ok {
			t.Errorf("%T: sweeps short by the fee passed with a dust of 1 wei", g)
		}
	}
}
