package graph_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/store/graph"
	"github.com/tracehound/tracehound/store/pebble"
)

func open(t testing.TB) *graph.Store {
	t.Helper()
	db, err := pebble.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db.Graph()
}

func hash(prefix string, n int) string { return fmt.Sprintf("%s%064x", prefix, n) }

// ethBlocks builds n blocks in which alice pays bob, bob pays carol a
// token, and a failed transaction from carol pays only its fee.
func ethBlocks(from, n int) []*chain.Block {
	const alice, bob, carol, token = "0xa11ce", "0xb0b", "0xca401", "0x70ce4"
	var out []*chain.Block
	for h := from; h < from+n; h++ {
		ts := time.Unix(1_700_000_000+int64(h)*12, 0).UTC()
		tx1, tx2, tx3 := hash("0x", h*10+1), hash("0x", h*10+2), hash("0x", h*10+3)
		tr := func(tx string, kind chain.TransferKind, pos uint32, f, to string, asset chain.Asset, amt uint64) chain.Transfer {
			return chain.Transfer{Chain: chain.Ethereum, Tx: tx, Kind: kind, Pos: pos, Block: uint64(h), Time: ts, From: f, To: to, Asset: asset, Amount: chain.NewAmount(amt)}
		}
		out = append(out, &chain.Block{Chain: chain.Ethereum, Height: uint64(h), Hash: hash("0x", h), Parent: hash("0x", h-1), Time: ts,
			Txs: []chain.Tx{
				{Hash: tx1, Index: 0, From: alice, Fee: chain.NewAmount(21000), Transfers: []chain.Transfer{tr(tx1, chain.KindNative, 0, alice, bob, chain.Native, 1_000_000_000_000_000_000+uint64(h))}},
				{Hash: tx2, Index: 1, From: bob, Fee: chain.NewAmount(50000), Transfers: []chain.Transfer{tr(tx2, chain.KindToken, 7, bob, carol, token, 5)}},
				{Hash: tx3, Index: 2, From: carol, Fee: chain.NewAmount(30000), Failed: true},
			}})
	}
	return out
}

func TestGraphWriteRead(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	if err := db.WriteBlocks(ctx, chain.Ethereum, "test", ethBlocks(1, 10)); err != nil {
		t.Fatal(err)
	}
	if err := db.WriteBlocks(ctx, chain.Ethereum, "test", ethBlocks(5, 1)); err == nil {
		t.Fatal("rewriting block 5 accepted: totals would count it twice")
	}
	tip, ok, err := db.Tip(ctx, chain.Ethereum)
	if err != nil || !ok || tip.Height != 10 || tip.Hash != hash("0x", 10) {
		t.Fatalf("tip %+v %v %v", tip, ok, err)
	}
	tot, ok, err := db.AddressTotals(ctx, chain.Ethereum, "0xb0b")
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	// bob received 10 ETH plus 1+...+10 wei, and sent 10×5 token units.
	want := []graph.AssetTotals{
		{Asset: chain.Native, Received: chain.NewAmount(10_000_000_000_000_000_055), Sent: chain.NewAmount(0)},
		{Asset: "0x70ce4", Received: chain.NewAmount(0), Sent: chain.NewAmount(50)},
	}
	if !reflect.DeepEqual(amountsString(tot.Assets), amountsString(want)) || tot.Incoming != 10 || tot.Outgoing != 10 || tot.FeesPaid.String() != "500000" {
		t.Errorf("bob totals %+v", tot)
	}
	if tot.FirstSeen != time.Unix(1_700_000_012, 0).UTC() || tot.LastSeen != time.Unix(1_700_000_120, 0).UTC() {
		t.Errorf("bob seen %s..%s", tot.FirstSeen, tot.LastSeen)
	}
	carol, _, _ := db.AddressTotals(ctx, chain.Ethereum, "0xca401")
	if carol.FeesPaid.String() != "300000" || carol.Outgoing != 0 {
		t.Errorf("carol (failed txs pay fees, move nothing): %+v", carol)
	}
	// Newest first, interleaved in and out, limited.
	var got []string
	err = db.Postings(ctx, chain.Ethereum, "0xb0b", graph.PostingQuery{Limit: 3}, func(p graph.Posting) bool {
		got = append(got, fmt.Sprintf("%d %v %s %s", p.Block, p.Incoming, p.Counterparty, p.Amount))
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	wantP := []string{"10 false 0xca401 5", "10 true 0xa11ce 1000000000000000010", "9 false 0xca401 5"}
	if !reflect.DeepEqual(got, wantP) {
		t.Errorf("postings %q, want %q", got, wantP)
	}
	// A time window, oldest first, incoming only.
	got = got[:0]
	err = db.Postings(ctx, chain.Ethereum, "0xb0b", graph.PostingQuery{Incoming: true, Oldest: true,
		Since: time.Unix(1_700_000_036, 0), Until: time.Unix(1_700_000_060, 0)}, func(p graph.Posting) bool {
		got = append(got, fmt.Sprint(p.Block))
		return true
	})
	if err != nil || !reflect.DeepEqual(got, []string{"3", "4"}) {
		t.Errorf("window: %v %v", got, err)
	}
	r, ok, err := db.Tx(ctx, chain.Ethereum, hash("0x", 32))
	if err != nil || !ok || r.Block != 3 || r.Transfers[0].To != "0xca401" || r.Transfers[0].Kind != chain.KindToken || r.Transfers[0].Pos != 7 || r.Fee.String() != "50000" {
		t.Errorf("tx: %+v %v %v", r, ok, err)
	}
}

func amountsString(a []graph.AssetTotals) []string {
	var out []string
	for _, x := range a {
		out = append(out, fmt.Sprintf("%s %s %s", x.Asset, x.Received, x.Sent))
	}
	return out
}

// btcBlocks: block h's coinbase pays 50 BTC to miner; from block 2 on, the
// previous block's coinbase is spent: 30 BTC to payee, the rest less a fee
// back to the miner.
func btcBlocks(from, n int) []*chain.Block {
	var out []*chain.Block
	for h := from; h < from+n; h++ {
		cb := hash("", h*10)
		blk := &chain.Block{Chain: chain.Bitcoin, Height: uint64(h), Hash: hash("", h), Parent: hash("", h-1), Time: time.Unix(1_231_006_505+int64(h)*600, 0).UTC()}
		fee := uint64(0)
		var txs []chain.Tx
		if h > 1 {
			spend := hash("", h*10+1)
			fee = 1000
			prevFee := uint64(0)
			if h > 2 {
				prevFee = 1000
			}
			in := 5_000_000_000 + prevFee
			txs = append(txs, chain.Tx{Hash: spend, Index: 1, Fee: chain.NewAmount(fee),
				Inputs:  []chain.Input{{PrevTx: hash("", (h-1)*10), PrevIndex: 0, Address: "1miner", Value: in}},
				Outputs: []chain.Output{{Index: 0, Address: "1payee", Value: 3_000_000_000, Script: "p2pkh"}, {Index: 1, Address: "1miner", Value: in - 3_000_000_000 - fee, Script: "p2pkh"}},
				Transfers: []chain.Transfer{
					{Chain: chain.Bitcoin, Tx: spend, Kind: chain.KindOutput, Pos: 0, From: "1miner", To: "1payee", Amount: chain.NewAmount(3_000_000_000)},
					{Chain: chain.Bitcoin, Tx: spend, Kind: chain.KindOutput, Pos: 1, From: "1miner", To: "1miner", Amount: chain.NewAmount(in - 3_000_000_000 - fee)},
				}})
		}
		coinbase := chain.Tx{Hash: cb, Index: 0, Coinbase: true,
			Outputs:   []chain.Output{{Index: 0, Address: "1miner", Value: 5_000_000_000 + fee, Script: "p2pk"}},
			Transfers: []chain.Transfer{{Chain: chain.Bitcoin, Tx: cb, Kind: chain.KindOutput, Pos: 0, To: "1miner", Amount: chain.NewAmount(5_000_000_000 + fee)}}}
		blk.Txs = append([]chain.Tx{coinbase}, txs...)
		out = append(out, blk)
	}
	return out
}

func TestGraphUTXOAndRollback(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	if err := db.WriteBlocks(ctx, chain.Bitcoin, "test", btcBlocks(1, 6)); err != nil {
		t.Fatal(err)
	}
	refs := []chain.OutPoint{{Tx: hash("", 10), Index: 0}, {Tx: hash("", 60), Index: 0}, {Tx: hash("", 61), Index: 0}}
	un, err := db.Unspent(ctx, chain.Bitcoin, refs)
	if err != nil {
		t.Fatal(err)
	}
	// Block 1's coinbase was spent in block 2; block 6's is unspent.
	if _, ok := un[refs[0]]; ok {
		t.Error("spent output reported unspent")
	}
	if o := un[refs[1]]; o.Address != "1miner" || o.Value != 5_000_001_000 || o.Script != "p2pk" {
		t.Errorf("coinbase 6: %+v", o)
	}
	if o := un[refs[2]]; o.Address != "1payee" || o.Value != 3_000_000_000 {
		t.Errorf("payment 6: %+v", o)
	}

	// Roll back to 3 and compare with a store that only ever had 1..3.
	n, err := db.Rollback(ctx, chain.Bitcoin, 3)
	if err != nil || n != 3 {
		t.Fatalf("rollback: %d %v", n, err)
	}
	ref := open(t)
	if err := ref.WriteBlocks(ctx, chain.Bitcoin, "test", btcBlocks(1, 3)); err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{"1miner", "1payee"} {
		a, _, err1 := db.AddressTotals(ctx, chain.Bitcoin, addr)
		b, _, err2 := ref.AddressTotals(ctx, chain.Bitcoin, addr)
		if err1 != nil || err2 != nil || fmt.Sprint(a) != fmt.Sprint(b) {
			t.Errorf("%s after rollback: %+v, want %+v (%v %v)", addr, a, b, err1, err2)
		}
	}
	// Block 3's coinbase, spent in the orphaned block 4, is unspent again.
	un, err = db.Unspent(ctx, chain.Bitcoin, []chain.OutPoint{{Tx: hash("", 30), Index: 0}, {Tx: hash("", 41), Index: 0}})
	if err != nil || len(un) != 1 || un[chain.OutPoint{Tx: hash("", 30), Index: 0}].Value != 5_000_001_000 {
		t.Errorf("unspent after rollback: %+v %v", un, err)
	}
	if _, ok, _ := db.Tx(ctx, chain.Bitcoin, hash("", 41)); ok {
		t.Error("orphaned tx still stored")
	}
	// The chain continues from 3 with different blocks.
	if err := db.WriteBlocks(ctx, chain.Bitcoin, "test", btcBlocks(4, 2)); err != nil {
		t.Fatal(err)
	}
	if tip, _, _ := db.Tip(ctx, chain.Bitcoin); tip.Height != 5 {
		t.Errorf("tip %+v", tip)
	}
}

// TestPostingsDirections reads an address that pays itself: both of the
// transfer's postings, incoming before outgoing oldest first, and each
// direction alone.
func TestPostingsDirections(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	const dan, erin = "0xda0", "0xe1e"
	var blocks []*chain.Block
	for h := 1; h <= 3; h++ {
		ts := time.Unix(1_700_000_000+int64(h)*12, 0).UTC()
		tx := hash("0x", h)
		to := erin
		if h == 2 {
			to = dan
		}
		in := chain.Transfer{Chain: chain.Ethereum, Tx: tx, Kind: chain.KindNative, Block: uint64(h), Time: ts, From: erin, To: dan, Asset: chain.Native, Amount: chain.NewAmount(uint64(h))}
		out := chain.Transfer{Chain: chain.Ethereum, Tx: tx, Kind: chain.KindToken, Pos: 1, Block: uint64(h), Time: ts, From: dan, To: to, Asset: "0x70ce4", Amount: chain.NewAmount(uint64(10 * h))}
		blocks = append(blocks, &chain.Block{Chain: chain.Ethereum, Height: uint64(h), Hash: hash("0x", 100+h), Parent: hash("0x", 99+h), Time: ts,
			Txs: []chain.Tx{{Hash: tx, From: dan, Transfers: []chain.Transfer{in, out}}}})
	}
	if err := db.WriteBlocks(ctx, chain.Ethereum, "test", blocks); err != nil {
		t.Fatal(err)
	}
	read := func(q graph.PostingQuery) []string {
		var got []string
		err := db.Postings(ctx, chain.Ethereum, dan, q, func(p graph.Posting) bool {
			dir := "out"
			if p.Incoming {
				dir = "in"
			}
			got = append(got, fmt.Sprintf("%d %s %s %s", p.Block, dir, p.Counterparty, p.Amount))
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	for _, c := range []struct {
		name string
		q    graph.PostingQuery
		want []string
	}{
		{"newest first", graph.PostingQuery{Limit: 4}, []string{"3 out 0xe1e 30", "3 in 0xe1e 3", "2 out 0xda0 20", "2 in 0xda0 20"}},
		{"oldest first", graph.PostingQuery{Oldest: true, Since: time.Unix(1_700_000_024, 0)}, []string{"2 in 0xe1e 2", "2 in 0xda0 20", "2 out 0xda0 20", "3 in 0xe1e 3", "3 out 0xe1e 30"}},
		{"incoming", graph.PostingQuery{Incoming: true}, []string{"3 in 0xe1e 3", "2 in 0xda0 20", "2 in 0xe1e 2", "1 in 0xe1e 1"}},
		{"outgoing, limited", graph.PostingQuery{Outgoing: true, Oldest: true, Limit: 2}, []string{"1 out 0xe1e 10", "2 out 0xda0 20"}},
	} {
		if got := read(c.q); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
