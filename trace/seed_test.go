package trace_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/trace"
)

// TestSeedNarrowing checks seeds with an amount, a start time, and a
// transaction narrowed to one recipient, on the theft of trace_test.go:
// the thief (7) held a clean 300 (block 1) when the 100 stolen arrived
// (block 2), then paid a 200 (block 3) and b 200 (block 4).
func TestSeedNarrowing(t *testing.T) {
	db := store(t, theft)
	ctx := context.Background()
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	for _, c := range []struct {
		name    string
		seed    trace.Seed
		tainted string
		err     string
	}{
		{"the theft, by its time", trace.Seed{Address: addr("7"), Since: at(2)}, "100", ""},
		{"part of it", trace.Seed{Address: addr("7"), Since: at(2), Amount: chain.NewAmount(40)}, "40", ""},
		// From the start, oldest first: the 300, then 50 of the 100.
		{"oldest first", trace.Seed{Address: addr("7"), Since: at(0), Amount: chain.NewAmount(350)}, "350", ""},
		{"more than arrived", trace.Seed{Address: addr("7"), Since: at(2), Amount: chain.NewAmount(101)}, "", "only 100 of the 101"},
		{"one recipient of a transaction", trace.Seed{Tx: hash(3), Address: addr("a")}, "200", ""},
		{"a recipient the transaction did not pay", trace.Seed{Tx: hash(3), Address: addr("b")}, "", "paid " + addr("b") + " no"},
		{"an output index on Ethereum", trace.Seed{Tx: hash(3), Output: new(uint32)}, "", "Bitcoin output"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := trace.Run(ctx, db.Graph(), []trace.Seed{c.seed}, trace.Options{Chain: chain.Ethereum, Model: trace.Haircut, Labels: services})
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Check(); err != nil {
				t.Fatal(err)
			}
			if r.Tainted.String() != c.tainted {
				t.Errorf("%s entered, want %s", r.Tainted, c.tainted)
			}
		})
	}
	// Of the thief's 400 only 40 is stolen: under haircut a tenth of each
	// payment out is tainted, 20 to a and 20 to b.
	r, err := trace.Run(ctx, db.Graph(), []trace.Seed{{Address: addr("7"), Since: at(2), Amount: chain.NewAmount(40)}}, trace.Options{Chain: chain.Ethereum, Model: trace.Haircut, Labels: services})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range r.Edges {
		if e.From == addr("7") && e.Tainted.String() != "20" {
			t.Errorf("%s -> %s carries %s", e.From, e.To, e.Tainted)
		}
	}
	if s := (trace.Seed{Address: addr("7"), Amount: chain.NewAmount(40), Since: at(2)}).String(); s != addr("7")+"=40@2025-02-19T21:22:00Z" {
		t.Errorf("seed string %q", s)
	}
}

// TestBitcoinOutputSeed seeds one output of block 170's transaction: the
// 10 BTC Satoshi paid Hal Finney, which Hal still holds.
func TestBitcoinOutputSeed(t *testing.T) {
	db := mainnet(t)
	const tx170 = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"
	hal := uint32(0)
	r, err := trace.Run(context.Background(), db.Graph(), []trace.Seed{{Tx: tx170, Output: &hal}}, trace.Options{Chain: chain.Bitcoin, Model: trace.Haircut, MaxHops: 6})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Check(); err != nil {
		t.Fatal(err)
	}
	if r.Tainted.String() != "1000000000" || len(r.Edges) != 0 {
		t.Errorf("%s entered, %d edges: Hal's coin should stay with him", r.Tainted, len(r.Edges))
	}
	out := uint32(7)
	if _, err := trace.Run(context.Background(), db.Graph(), []trace.Seed{{Tx: tx170, Output: &out}}, trace.Options{Chain: chain.Bitcoin, Model: trace.Haircut}); err == nil {
		t.Error("a seed naming an output the transaction lacks was accepted")
	}
}

// TestWindowPastIngested refuses a window that starts after the stored
// data and warns of one that ends after it.
func TestWindowPastIngested(t *testing.T) {
	db := store(t, theft) // blocks 1 to 6, a minute apart
	ctx := context.Background()
	last := t0.Add(6 * time.Minute)
	_, err := trace.Run(ctx, db.Graph(), []trace.Seed{{Address: addr("7")}}, trace.Options{Chain: chain.Ethereum, Since: last.Add(time.Hour)})
	if err == nil || !strings.Contains(err.Error(), "after the last eth block stored (6, 2025-02-19T21:26:00Z)") {
		t.Errorf("a window after the data: %v", err)
	}
	r, err := trace.Run(ctx, db.Graph(), []trace.Seed{{Address: addr("7")}}, trace.Options{Chain: chain.Ethereum, Since: t0, Until: last.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "only through block 6") {
		t.Errorf("warnings %q", r.Warnings)
	}
	r, err = trace.Run(ctx, db.Graph(), []trace.Seed{{Address: addr("7")}}, trace.Options{Chain: chain.Ethereum, Since: t0, Until: last})
	if err != nil || len(r.Warnings) != 0 {
		t.Errorf("a window within the data: %v %q", err, r.Warnings)
	}
}

// TestCapProjection: a trace stopped by the address cap says how it was
// growing and where that growth was heading.
func TestCapProjection(t *testing.T) {
	var pays []pay
	pays = append(pays, pay{"71c7", "7", 1_000_000})
	level := []string{"7"}
	for hop := 1; hop <= 3; hop++ {
		var next []string
		for _, from := range level {
			for i := range 3 {
				to := fmt.Sprintf("%s%d", from, i)
				pays = append(pays, pay{from, to, 1_000_000 / uint64(len(level)*3+1)})
				next = append(next, to)
			}
		}
		level = next
	}
	db := store(t, pays)
	_, err := trace.Run(context.Background(), db.Graph(), []trace.Seed{{Address: addr("7")}}, trace.Options{Chain: chain.Ethereum, Model: trace.Poison, MaxHops: 4, MaxAddresses: 20})
	if !errors.Is(err, trace.ErrTooLarge) || !strings.Contains(err.Error(), "addresses by hop: [1 3 9 7]") || !strings.Contains(err.Error(), "growing 3.0 times a hop: about 180 by hop 4") {
		t.Errorf("cap: %v", err)
	}
}
