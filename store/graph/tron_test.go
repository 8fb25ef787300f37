package graph_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/store/graph"
)

// tronBlocks builds n Tron blocks as a node gives them: block and
// transaction hashes in bare lower-case hex (the block id starts with
// the height), base58 addresses, USDT by its contract's base58 address.
func tronBlocks(from, n int) []*chain.Block {
	const (
		alice = "TNPeeaaFB7K9cmo4uQpcU32zGK8G1NYqeL"
		bob   = "TYASr5UV6HEcXatwdFQfmLVUqQQQMUxHLS"
		usdt  = chain.Asset("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t")
	)
	id := func(h int) string { return fmt.Sprintf("%016x%048x", h, h*7919) }
	var out []*chain.Block
	for h := from; h < from+n; h++ {
		ts := time.Unix(1_662_014_442+int64(h)*3, 0).UTC()
		tx1, tx2 := fmt.Sprintf("%064x", h*10+1), fmt.Sprintf("%064x", h*10+2)
		out = append(out, &chain.Block{Chain: chain.Tron, Height: uint64(h), Hash: id(h), Parent: id(h - 1), Time: ts,
			Txs: []chain.Tx{
				{Hash: tx1, Index: 0, From: alice, Transfers: []chain.Transfer{{Chain: chain.Tron, Tx: tx1, Kind: chain.KindNative, Block: uint64(h), Time: ts, From: alice, To: bob, Amount: chain.NewAmount(1_000_000)}}},
				{Hash: tx2, Index: 1, From: bob, Fee: chain.NewAmount(6_000_000), Transfers: []chain.Transfer{{Chain: chain.Tron, Tx: tx2, Kind: chain.KindToken, Pos: 0, Block: uint64(h), Time: ts, From: bob, To: alice, Asset: usdt, Amount: chain.NewAmount(2_000_000_000)}}},
			}})
	}
	return out
}

// TestTronHashesBare checks that Tron hashes come back as the node
// gives them, through both write paths: the node source compares the
// stored block hash with each batch's parent, and a "0x" would read as a
// fork on every batch.
func TestTronHashesBare(t *testing.T) {
	ctx := context.Background()
	blocks := tronBlocks(43_811_920, 4)
	check := func(t *testing.T, db *graph.Store) {
		t.Helper()
		last := blocks[len(blocks)-1]
		tip, ok, err := db.Tip(ctx, chain.Tron)
		if err != nil || !ok || tip.Hash != last.Hash || tip.Height != last.Height {
			t.Fatalf("tip %+v %v %v, want %s", tip, ok, err, last.Hash)
		}
		for _, b := range blocks {
			h, ok, err := db.BlockHash(ctx, chain.Tron, b.Height)
			if err != nil || !ok || h != b.Hash {
				t.Fatalf("block %d: %q %v %v, want %q", b.Height, h, ok, err, b.Hash)
			}
		}
		tx := last.Txs[1]
		rec, ok, err := db.Tx(ctx, chain.Tron, tx.Hash)
		if err != nil || !ok || rec.Hash != tx.Hash || rec.From != tx.From || rec.Fee.String() != "6000000" {
			t.Fatalf("tx %s: %+v %v %v", tx.Hash, rec, ok, err)
		}
		var got []string
		err = db.Postings(ctx, chain.Tron, "TNPeeaaFB7K9cmo4uQpcU32zGK8G1NYqeL", chain.PostingQuery{Oldest: true}, func(p graph.Posting) bool {
			got = append(got, fmt.Sprintf("%s %v %s %s %s", p.Tx, p.Incoming, p.Counterparty, p.Asset, p.Amount))
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2*len(blocks) {
			t.Fatalf("%d postings: %v", len(got), got)
		}
		want := blocks[0].Txs[0].Hash + " false TYASr5UV6HEcXatwdFQfmLVUqQQQMUxHLS  1000000"
		if got[0] != want {
			t.Errorf("first posting %q, want %q", got[0], want)
		}
		err = db.PostingViews(ctx, chain.Tron, "TYASr5UV6HEcXatwdFQfmLVUqQQQMUxHLS", chain.PostingQuery{Limit: 1}, func(v *graph.PostingView) bool {
			if s := string(v.AppendTx(nil)); s != v.Tx() || strings.HasPrefix(s, "0x") || len(s) != 64 {
				t.Errorf("view tx %q, Tx() %q", s, v.Tx())
			}
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
		tot, ok, err := db.AddressTotals(ctx, chain.Tron, "TYASr5UV6HEcXatwdFQfmLVUqQQQMUxHLS")
		if err != nil || !ok {
			t.Fatal(ok, err)
		}
		for _, a := range tot.Assets {
			switch a.Asset {
			case chain.Native:
				if a.Received.String() != "4000000" {
					t.Errorf("bob received %s TRX sun", a.Received)
				}
			case "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t":
				if a.Sent.String() != "8000000000" {
					t.Errorf("bob sent %s USDT units", a.Sent)
				}
			default:
				t.Errorf("asset %q", a.Asset)
			}
		}
	}
	t.Run("WriteBlocks", func(t *testing.T) {
		db := open(t)
		if err := db.WriteBlocks(ctx, chain.Tron, "tron:test", blocks); err != nil {
			t.Fatal(err)
		}
		check(t, db)
	})
	t.Run("bulk", func(t *testing.T) {
		db := open(t)
		l, err := db.NewBulkLoader(ctx, chain.Tron, "tron:test", graph.BulkOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		if err := l.WriteBlocks(ctx, blocks); err != nil {
			t.Fatal(err)
		}
		if err := l.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		check(t, db)
	})
}
