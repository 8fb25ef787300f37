package graph_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/tracehound/tracehound/chain"
)

// expected is a block as Blocks rebuilds it: every transfer carries its
// chain, transaction, block and time.
func expected(b *chain.Block) *chain.Block {
	out := *b
	// The store keeps "no parent" as the zero hash, which it reads back
	// as none.
	if strings.Trim(strings.TrimPrefix(out.Parent, "0x"), "0") == "" {
		out.Parent = ""
	}
	out.Txs = make([]chain.Tx, len(b.Txs))
	for i, tx := range b.Txs {
		tx.Transfers = append([]chain.Transfer(nil), tx.Transfers...)
		for j := range tx.Transfers {
			tr := &tx.Transfers[j]
			tr.Chain, tr.Tx, tr.Block, tr.Time = b.Chain, tx.Hash, b.Height, b.Time
		}
		out.Txs[i] = tx
	}
	return &out
}

// TestBlocks reads stored blocks back whole, in height order, within
// the bounds asked, on an account chain and a UTXO chain.
func TestBlocks(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	eth, btc := ethBlocks(1, 10), btcBlocks(1, 6)
	if err := db.WriteBlocks(ctx, chain.Ethereum, "test", eth); err != nil {
		t.Fatal(err)
	}
	if err := db.WriteBlocks(ctx, chain.Bitcoin, "test", btc); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		c        chain.Chain
		src      []*chain.Block
		from, to uint64
		want     []uint64
	}{
		{chain.Ethereum, eth, 3, 6, []uint64{3, 4, 5, 6}},
		{chain.Ethereum, eth, 0, ^uint64(0), []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{chain.Ethereum, eth, 11, 20, nil},
		{chain.Ethereum, eth, 6, 3, nil},
		{chain.Bitcoin, btc, 2, 4, []uint64{2, 3, 4}},
	} {
		var got []uint64
		err := db.Blocks(ctx, c.c, c.from, c.to, func(b *chain.Block) bool {
			got = append(got, b.Height)
			want := expected(c.src[b.Height-1])
			if !reflect.DeepEqual(b, want) {
				t.Errorf("%s block %d:\n got %+v\nwant %+v", c.c, b.Height, b, want)
			}
			return true
		})
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s %d-%d: %v %v, want %v", c.c, c.from, c.to, got, err, c.want)
		}
	}
	// Stopping early reads no further.
	n := 0
	if err := db.Blocks(ctx, chain.Ethereum, 1, 10, func(*chain.Block) bool { n++; return n < 2 }); err != nil || n != 2 {
		t.Errorf("stop: %d %v", n, err)
	}
	at, ok, err := db.BlockTime(ctx, chain.Ethereum, 4)
	if err != nil || !ok || !at.Equal(eth[3].Time) {
		t.Errorf("block time: %v %v %v", at, ok, err)
	}
	if _, ok, err := db.BlockTime(ctx, chain.Ethereum, 99); ok || err != nil {
		t.Errorf("block time past the tip: %v %v", ok, err)
	}
}
