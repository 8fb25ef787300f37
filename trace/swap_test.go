package trace_test

import (
	"context"
	"testing"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/store/pebble"
	"github.com/tracehound/tracehound/trace"
)

// swapStore holds a theft swapped on a DEX: the thief (7) receives 100
// wei, then in one transaction the thief and a clean trader (c) pay the
// pool 100 and 300 wei and the pool pays tokens to both in proportion;
// the thief's tokens go to a second wallet (w) that deposits them at an
// exchange (e).
func swapStore(t *testing.T) (*pebble.DB, chain.Asset) {
	t.Helper()
	ctx := context.Background()
	db, err := pebble.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	tok := chain.Asset(addr("70c"))
	tr := func(tx string, kind chain.TransferKind, pos uint32, h uint64, from, to string, asset chain.Asset, amt uint64) chain.Transfer {
		return chain.Transfer{Chain: chain.Ethereum, Tx: tx, Kind: kind, Pos: pos, Block: h, Time: t0.Add(time.Duration(h) * time.Minute),
			From: addr(from), To: addr(to), Asset: asset, Amount: chain.NewAmount(amt)}
	}
	txs := [][]chain.Transfer{
		{tr(hash(1), chain.KindNative, 0, 1, "71c7", "7", "", 100)},
		{tr(hash(2), chain.KindNative, 0, 2, "c", "9001", "", 300)},
		{ // the swap: two intakes, two payouts
			tr(hash(3), chain.KindInternal, 1, 3, "7", "9001", "", 100),
			tr(hash(3), chain.KindInternal, 2, 3, "c", "9001", "", 300),
			tr(hash(3), chain.KindToken, 3, 3, "9001", "w", tok, 5_000),
			tr(hash(3), chain.KindToken, 4, 3, "9001", "c", tok, 15_000),
		},
		{tr(hash(4), chain.KindToken, 0, 4, "w", "e", tok, 4_000)},
	}
	var blocks []*chain.Block
	for i, trs := range txs {
		h := uint64(i + 1)
		blocks = append(blocks, &chain.Block{Chain: chain.Ethereum, Height: h, Hash: hash(1001 + i), Parent: hash(1000 + i), Time: t0.Add(time.Duration(h) * time.Minute),
			Txs: []chain.Tx{{Hash: trs[0].Tx, From: trs[0].From, Transfers: trs}}})
	}
	if err := db.Graph().WriteBlocks(ctx, chain.Ethereum, "test", blocks); err != nil {
		t.Fatal(err)
	}
	return db, tok
}

func TestSwapFollowed(t *testing.T) {
	db, tok := swapStore(t)
	lab := labels{
		addr("9001"): {Entity: "Uniswap", Category: "defi"},
		addr("e"):    {Entity: "Exchange One", Category: "exchange"},
	}
	for _, tc := range []struct {
		model           trace.Model
		payout, deposit string
	}{
		// A quarter of the pool's intake was stolen: a quarter of each
		// payout is tainted, and w's payout of 5,000 carries 1,250.
		{trace.Haircut, "1250", "1000"},
		{trace.FIFO, "1250", "1000"},
		// Poison taints both payouts in full.
		{trace.Poison, "5000", "4000"},
	} {
		t.Run(string(tc.model), func(t *testing.T) {
			r, err := trace.Run(context.Background(), db.Graph(), []trace.Seed{{Address: addr("7")}}, trace.Options{Chain: chain.Ethereum, Model: tc.model, Labels: lab})
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Check(); err != nil {
				t.Fatal(err)
			}
			if len(r.Swaps) != 2 {
				t.Fatalf("swaps: %+v", r.Swaps)
			}
			s := r.Swaps[1]
			if s.To != addr("w") || s.Asset != tok || s.Tainted.String() != tc.payout || len(s.In) != 1 || s.In[0].Amount.String() != "400" || s.In[0].Tainted.String() != "100" {
				t.Errorf("swap to w: %+v", s)
			}
			var ex *trace.Endpoint
			for i, e := range r.Endpoints {
				if e.Address == addr("e") {
					ex = &r.Endpoints[i]
				}
			}
			if ex == nil || ex.Asset != tok || ex.Amount.String() != tc.deposit {
				t.Fatalf("exchange endpoint: %+v", r.Endpoints)
			}
			if pool := r.Endpoints[0]; pool.Address != addr("9001") || pool.Asset != chain.Native || !pool.Continues {
				t.Errorf("the pool should come first, in ETH, continuing: %+v", pool)
			}
		})
	}
}

func TestSwapNotFollowed(t *testing.T) {
	db, _ := swapStore(t)
	lab := labels{addr("9001"): {Entity: "Uniswap", Category: "defi"}}
	r, err := trace.Run(context.Background(), db.Graph(), []trace.Seed{{Address: addr("7")}}, trace.Options{Chain: chain.Ethereum, Model: trace.Haircut, Labels: lab, NoSwaps: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Check(); err != nil {
		t.Fatal(err)
	}
	if len(r.Swaps) != 0 || len(r.Endpoints) != 1 || r.Endpoints[0].Continues || r.Endpoints[0].Amount.String() != "100" {
		t.Errorf("without swaps the pool ends the trace: %+v %+v", r.Swaps, r.Endpoints)
	}
}
