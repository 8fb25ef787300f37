package graph_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/store/graph"
)

const router = "0xd37bbe5744d730a1d98d8dc97c42f0ca46ad7146"

// withBridge gives blocks from..from+n-1 of ethBlocks a THORChain deposit
// in the first transaction of each odd block, and a payout naming the
// deposit of the block before in each even one.
func withBridge(blocks []*chain.Block) []*chain.Block {
	for _, b := range blocks {
		tx := b.Txs[0].Hash
		if b.Height%2 == 1 {
			b.Bridge = &chain.BridgeEvents{Deposits: []chain.BridgeDeposit{
				{Bridge: "thorchain", Tx: tx, Log: 3, Contract: router, Depositor: "0xa11ce", Amount: chain.NewAmount(b.Height), Memo: "=:BTC.BTC:bc1q", DestChain: "BTC", DestAsset: "BTC.BTC", Recipient: "bc1q", MinOut: chain.NewAmount(7), Key: "thorchain/" + tx[2:]},
				{Bridge: "thorchain", Tx: tx, Log: 1, Contract: router, Amount: chain.NewAmount(1), Memo: "FOO", Key: "thorchain/" + tx[2:], Err: "unknown function"},
			}}
		} else {
			prev := hash("0x", int(b.Height-1)*10+1)
			b.Bridge = &chain.BridgeEvents{Payouts: []chain.BridgePayout{{Bridge: "thorchain", Key: "thorchain/" + prev[2:], Tx: tx, Log: 2, To: "0xb0b", Amount: chain.NewAmount(b.Height), Memo: "OUT:" + prev[2:], Refund: b.Height%4 == 0}}}
		}
	}
	return blocks
}

func bridgeState(t *testing.T, db *graph.Store, to int) map[string]any {
	t.Helper()
	ctx := context.Background()
	state := map[string]any{}
	for h := 1; h <= to; h++ {
		tx := hash("0x", h*10+1)
		deps, err := db.BridgeDeposits(ctx, chain.Ethereum, tx)
		if err != nil {
			t.Fatal(err)
		}
		pays, err := db.BridgePayouts(ctx, chain.Ethereum, "thorchain/"+tx[2:])
		if err != nil {
			t.Fatal(err)
		}
		if len(deps) > 0 {
			state["dep "+tx] = deps
		}
		if len(pays) > 0 {
			state["pay "+tx] = pays
		}
	}
	cs, err := db.BridgeContracts(ctx, chain.Ethereum)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) > 0 {
		state["contracts"] = cs
	}
	return state
}

// Bridge events are stored with their blocks, through both write paths
// alike, found by transaction and by key, and removed by a rollback of
// their blocks and only those.
func TestBridgeLinks(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	if err := db.WriteBlocks(ctx, chain.Ethereum, "test", withBridge(ethBlocks(1, 10))); err != nil {
		t.Fatal(err)
	}
	tx3 := hash("0x", 31)
	deps, err := db.BridgeDeposits(ctx, chain.Ethereum, tx3)
	if err != nil {
		t.Fatal(err)
	}
	want := withBridge(ethBlocks(3, 1))[0].Bridge.Deposits
	// In log order.
	if len(deps) != 2 || !reflect.DeepEqual(deps[0], want[1]) || !reflect.DeepEqual(deps[1], want[0]) {
		t.Fatalf("deposits %+v", deps)
	}
	pays, err := db.BridgePayouts(ctx, chain.Ethereum, "thorchain/"+tx3[2:])
	if err != nil || len(pays) != 1 || pays[0].Tx != hash("0x", 41) || pays[0].Amount != chain.NewAmount(4) || !pays[0].Refund || pays[0].To != "0xb0b" {
		t.Fatalf("payouts %+v %v", pays, err)
	}
	if cs, err := db.BridgeContracts(ctx, chain.Ethereum); err != nil || !reflect.DeepEqual(cs, map[string]string{router: "thorchain"}) {
		t.Fatalf("contracts %v %v", cs, err)
	}
	if cs, _ := db.BridgeContracts(ctx, chain.Bitcoin); len(cs) != 0 {
		t.Fatalf("bitcoin contracts %v", cs)
	}

	// The bulk load stores the same.
	bulk := open(t)
	load(t, bulk, chain.Ethereum, graph.BulkOptions{MaxBlocks: 3, BatchBytes: -1}, withBridge(ethBlocks(1, 10)), 4)
	if got, want := bridgeState(t, bulk, 10), bridgeState(t, db, 10); !reflect.DeepEqual(got, want) {
		t.Fatalf("bulk load:\n%v\nbatches:\n%v", got, want)
	}

	// Rolled back to block 4: what blocks 5 to 10 wrote is gone, the rest
	// is as a store that only ever held blocks 1 to 4.
	if _, err := db.Rollback(ctx, chain.Ethereum, 4); err != nil {
		t.Fatal(err)
	}
	four := open(t)
	if err := four.WriteBlocks(ctx, chain.Ethereum, "test", withBridge(ethBlocks(1, 4))); err != nil {
		t.Fatal(err)
	}
	if got, want := bridgeState(t, db, 10), bridgeState(t, four, 10); !reflect.DeepEqual(got, want) {
		t.Fatalf("after rollback:\n%v\nwant\n%v", got, want)
	}
	if got := bridgeState(t, db, 10); len(got) != 5 { // deposits of 1 and 3, payouts of 1 and 3 (in 2 and 4), contracts
		t.Fatalf("after rollback: %v", got)
	}
	// Rolled back below every deposit: no contract is left.
	plain := open(t)
	if err := plain.WriteBlocks(ctx, chain.Ethereum, "test", append(ethBlocks(1, 2), withBridge(ethBlocks(3, 4))...)); err != nil {
		t.Fatal(err)
	}
	if got := bridgeState(t, plain, 10); len(got) != 5 {
		t.Fatalf("before rollback: %v", got)
	}
	if _, err := plain.Rollback(ctx, chain.Ethereum, 2); err != nil {
		t.Fatal(err)
	}
	if got := bridgeState(t, plain, 10); len(got) != 0 {
		t.Fatalf("after rollback below the deposits: %v", got)
	}
	// A payout without a key, or a deposit without its contract, is
	// refused with its block.
	bad := withBridge(ethBlocks(11, 2))
	bad[1].Bridge.Payouts[0].Key = ""
	if err := four.WriteBlocks(ctx, chain.Ethereum, "test", append(withBridge(ethBlocks(5, 6)), bad...)); err == nil {
		t.Fatal("a payout without a key was stored")
	}
	bad = withBridge(ethBlocks(5, 1))
	bad[0].Bridge.Deposits[0].Contract = ""
	if err := four.WriteBlocks(ctx, chain.Ethereum, "test", bad); err == nil {
		t.Fatal("a deposit without a contract was stored")
	}
}

// Read many at once, deposits and payouts are what each read alone
// gives: every transaction and key asked for has an entry, in any order
// and twice over, and a key that is the start of another reads only its
// own.
func TestBridgeReadMany(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	if err := db.WriteBlocks(ctx, chain.Ethereum, "test", withBridge(ethBlocks(1, 10))); err != nil {
		t.Fatal(err)
	}
	var txs, keys []string
	for _, h := range []int{9, 1, 4, 3, 3, 12, 10} {
		tx := hash("0x", h*10+1)
		txs, keys = append(txs, tx), append(keys, "thorchain/"+tx[2:])
	}
	keys = append(keys, "thorchain/"+hash("0x", 31)[2:10])
	deps, err := db.BridgeDepositsOf(ctx, chain.Ethereum, txs)
	if err != nil {
		t.Fatal(err)
	}
	pays, err := db.BridgePayoutsOf(ctx, chain.Ethereum, keys)
	if err != nil {
		t.Fatal(err)
	}
	if len(deps) != 6 || len(pays) != 7 {
		t.Fatalf("%d deposit entries, %d payout entries", len(deps), len(pays))
	}
	found := 0
	for _, tx := range txs {
		one, err := db.BridgeDeposits(ctx, chain.Ethereum, tx)
		if d, ok := deps[tx]; err != nil || !ok || !reflect.DeepEqual(d, one) {
			t.Errorf("deposits of %s: %+v, alone %+v %v", tx, d, one, err)
		}
		found += len(one)
	}
	for _, k := range keys {
		one, err := db.BridgePayouts(ctx, chain.Ethereum, k)
		if p, ok := pays[k]; err != nil || !ok || !reflect.DeepEqual(p, one) {
			t.Errorf("payouts of %s: %+v, alone %+v %v", k, p, one, err)
		}
		found += len(one)
	}
	if found == 0 {
		t.Fatal("nothing was read")
	}
	if _, err := db.BridgePayoutsOf(ctx, chain.Ethereum, []string{""}); err == nil {
		t.Error("an empty key was read")
	}
}
