package node_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/chaintest"
	"github.com/tracehound/tracehound/intel"
	"github.com/tracehound/tracehound/node"
	"github.com/tracehound/tracehound/taxii"
)

// TestAddressTransfersPages: pages of an address's transfers, newest
// first, end on whole seconds, so that paging through them gives every
// transfer once, however many share a second.
func TestAddressTransfersPages(t *testing.T) {
	ctx := context.Background()
	n := open(t, time.Now)
	hub := chaintest.EthAddr("ab")
	var blocks []*chain.Block
	for h := 1; h <= 12; h++ {
		var pays [][3]string
		for i := range h%3 + 1 { // one to three transfers in each block's second
			pays = append(pays, [3]string{fmt.Sprintf("%x", 0x100+h*8+i), "ab", fmt.Sprint(h*10 + i)})
		}
		blocks = append(blocks, chaintest.PayBlock(h, pays...))
	}
	if err := n.Store().Graph().WriteBlocks(ctx, chain.Ethereum, "test", blocks); err != nil {
		t.Fatal(err)
	}
	var seen []string
	var before time.Time
	for pages := 0; ; pages++ {
		ps, next, err := n.AddressTransfers(ctx, "eth", hub, before, 4)
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range ps {
			if i > 0 && p.Time.After(ps[i-1].Time) {
				t.Fatalf("page %d not newest first", pages)
			}
			seen = append(seen, p.Tx+fmt.Sprint(p.Pos))
		}
		if next.IsZero() {
			break
		}
		if !next.Equal(ps[len(ps)-1].Time) || pages > 20 {
			t.Fatalf("next %v after %v", next, ps[len(ps)-1].Time)
		}
		before = next
	}
	want := 0
	for _, b := range blocks {
		want += len(b.Txs)
	}
	sorted := slices.Clone(seen)
	slices.Sort(sorted)
	if len(seen) != want || len(slices.Compact(sorted)) != want {
		t.Errorf("%d transfers seen (%d distinct) over the pages, want %d", len(seen), len(slices.Compact(sorted)), want)
	}
	if _, _, err := n.AddressTransfers(ctx, "xmr", hub, time.Time{}, 4); err == nil {
		t.Error("a chain the graph does not hold was read")
	}
}

// TestIntelFeed: the feed lists what this node shared, under its TLP, and
// leaves out what is above the reading key's clearance.
func TestIntelFeed(t *testing.T) {
	ctx := node.AsActor(context.Background(), "test")
	n := open(t, time.Now)
	if _, err := n.SetIdentity(ctx, "Agency"); err != nil {
		t.Fatal(err)
	}
	if err := n.PutCollection(ctx, taxii.Collection{ID: "feed"}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct {
		name string
		tlp  intel.TLP
	}{{"green report", intel.TLPGreen}, {"amber report", intel.TLPAmber}} {
		if st, err := n.Publish(ctx, node.Publication{Collection: "feed", Name: p.name, TLP: p.tlp,
			Addresses: []intel.Listed{{Chain: "eth", Address: chaintest.EthAddr(fmt.Sprint(p.tlp)), Role: intel.RoleThief}}}); err != nil || st.FailureCount > 0 {
			t.Fatalf("publish %s: %v %+v", p.name, err, st)
		}
	}
	names := func(ctx context.Context) []string {
		items, err := n.IntelFeed(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, it := range items {
			if it.Type == intel.TypeReport {
				out = append(out, it.Name+" "+it.TLP+" "+it.Partner)
			}
		}
		slices.Sort(out)
		return out
	}
	if got := names(ctx); !slices.Equal(got, []string{"amber report TLP:AMBER this node", "green report TLP:GREEN this node"}) {
		t.Errorf("the operator's feed: %q", got)
	}
	k, _, err := auth.NewKey("client", []auth.Role{auth.RoleScreen}, 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got := names(auth.WithKey(ctx, &k)); !slices.Equal(got, []string{"green report TLP:GREEN this node"}) {
		t.Errorf("a GREEN key's feed: %q", got)
	}
}
