package ingest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/ingest"
	"github.com/tracehound/tracehound/store/pebble"
)

// memChain is a NodeSource over blocks held in memory, standing in for a
// node whose branch the test can switch to stage a reorganisation.
type memChain struct{ blocks []*chain.Block }

func (m *memChain) Chain() chain.Chain { return chain.Ethereum }
func (m *memChain) ID() string         { return "eth:mem" }
func (m *memChain) Head(context.Context) (uint64, error) {
	return m.blocks[len(m.blocks)-1].Height, nil
}
func (m *memChain) HashAt(_ context.Context, h uint64) (string, error) { return m.blocks[h].Hash, nil }
func (m *memChain) Blocks(_ context.Context, from, to uint64) ([]*chain.Block, error) {
	if to >= uint64(len(m.blocks)) {
		return nil, fmt.Errorf("block %d not found", to)
	}
	// Copies, as a node answers anew each time.
	var out []*chain.Block
	for _, b := range m.blocks[from : to+1] {
		c := *b
		c.Txs = append([]chain.Tx(nil), b.Txs...)
		out = append(out, &c)
	}
	return out, nil
}

// branch builds blocks 0..n; blocks above fork differ by tag, paying a
// different recipient.
func branch(n, fork int, tag string) *memChain {
	m := &memChain{}
	parent := fmt.Sprintf("0x%064x", 0)
	for h := 0; h <= n; h++ {
		t := ""
		if h > fork {
			t = tag
		}
		hash := fmt.Sprintf("0x%056x%08x", len(t), h)
		if t != "" {
			hash = fmt.Sprintf("0x%s%062x", "ff", h)
		}
		ts := time.Unix(1_600_000_000+int64(h)*12, 0).UTC()
		tx := fmt.Sprintf("0x%s%062x", "aa", h)
		to := "0xbbbb"
		if t != "" {
			tx = fmt.Sprintf("0x%s%062x", "cc", h)
			to = "0xdddd"
		}
		m.blocks = append(m.blocks, &chain.Block{Chain: chain.Ethereum, Height: uint64(h), Hash: hash, Parent: parent, Time: ts,
			Txs: []chain.Tx{{Hash: tx, From: "0xaaaa", Fee: chain.NewAmount(21000), Transfers: []chain.Transfer{{
				Chain: chain.Ethereum, Tx: tx, Kind: chain.KindNative, Block: uint64(h), Time: ts, From: "0xaaaa", To: to, Amount: chain.NewAmount(uint64(h) + 1)}}}}})
		parent = hash
	}
	return m
}

func openDB(t *testing.T) *pebble.DB {
	db, err := pebble.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func totals(t *testing.T, db *pebble.DB, addr string) string {
	tot, _, err := db.Graph().AddressTotals(context.Background(), chain.Ethereum, addr)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%+v", tot)
}

func TestRunNodeResumeAndReorg(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	a := branch(20, 20, "")
	ten := uint64(10)
	var reports int
	st, err := ingest.RunNode(ctx, db.Graph(), a, ingest.Options{To: &ten, Batch: 4, Progress: func(ingest.Progress) { reports++ }})
	if err != nil || st.Height != 10 || st.Blocks != 11 || reports != 3 {
		t.Fatalf("first run: %+v %v, %d reports", st, err, reports)
	}
	// Resume: nothing stored twice.
	st, err = ingest.RunNode(ctx, db.Graph(), a, ingest.Options{Batch: 4})
	if err != nil || st.Height != 20 || st.Blocks != 10 {
		t.Fatalf("resume: %+v %v", st, err)
	}
	// The node switches to a branch forking after block 15.
	b := branch(22, 15, "b")
	st, err = ingest.RunNode(ctx, db.Graph(), b, ingest.Options{Batch: 4})
	if err != nil || st.Height != 22 {
		t.Fatalf("after reorg: %+v %v", st, err)
	}
	ref := openDB(t)
	if _, err := ingest.RunNode(ctx, ref.Graph(), b, ingest.Options{Batch: 7}); err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{"0xaaaa", "0xbbbb", "0xdddd"} {
		if got, want := totals(t, db, addr), totals(t, ref, addr); got != want {
			t.Errorf("%s after reorg:\n got %s\nwant %s", addr, got, want)
		}
	}
	// With confirmations, the run stops short of the head.
	c := openDB(t)
	st, err = ingest.RunNode(ctx, c.Graph(), b, ingest.Options{Confirmations: 5})
	if err != nil || st.Height != 17 {
		t.Fatalf("confirmations: %+v %v", st, err)
	}
}
