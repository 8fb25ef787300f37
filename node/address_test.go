package node_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/node"
)

// TestAddressAssetFilter reads an address's recent transfers of one asset
// out of a history that interleaves the coin and a token.
func TestAddressAssetFilter(t *testing.T) {
	ctx := context.Background()
	n := open(t, time.Now)
	db := n.Store()
	hub := "0x" + strings.Repeat("ab", 20)
	token := chain.Asset("0x" + strings.Repeat("7e", 20))
	var blocks []*chain.Block
	for h := 1; h <= 30; h++ {
		ts := time.Unix(1_700_000_000+int64(h)*12, 0).UTC()
		tx := fmt.Sprintf("0x%064x", h)
		tr := chain.Transfer{Chain: chain.Ethereum, Tx: tx, Kind: chain.KindNative, Block: uint64(h), Time: ts,
			From: fmt.Sprintf("0x%040x", h), To: hub, Amount: chain.NewAmount(uint64(h))}
		if h%3 == 0 {
			tr.Kind, tr.Pos, tr.Asset = chain.KindToken, 1, token
		}
		blocks = append(blocks, &chain.Block{Chain: chain.Ethereum, Height: uint64(h), Hash: fmt.Sprintf("0x%064x", 1000+h),
			Parent: fmt.Sprintf("0x%064x", 999+h), Time: ts, Txs: []chain.Tx{{Hash: tx, From: tr.From, Transfers: []chain.Transfer{tr}}}})
	}
	if err := db.Graph().WriteBlocks(ctx, chain.Ethereum, "test", blocks); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		asset chain.Asset
		want  []uint64
	}{
		{"", []uint64{30, 29, 28, 27}},
		{"native", []uint64{29, 28, 26, 25}},
		{token, []uint64{30, 27, 24, 21}},
		{chain.Asset("0x" + strings.Repeat("00", 20)), nil},
	} {
		rep, err := n.Address(ctx, node.AddressQuery{Chain: "eth", Address: hub, Asset: string(c.asset), Limit: 4})
		if err != nil {
			t.Fatal(err)
		}
		var got []uint64
		for _, p := range rep.Recent {
			if p.Address != hub || !p.Incoming || p.Tx != fmt.Sprintf("0x%064x", p.Block) || p.Counterparty != fmt.Sprintf("0x%040x", p.Block) {
				t.Errorf("asset %q: %+v", c.asset, p)
			}
			got = append(got, p.Block)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("asset %q: blocks %v, want %v", c.asset, got, c.want)
		}
	}
}
