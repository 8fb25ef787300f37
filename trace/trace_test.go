package trace_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/store/pebble"
	"github.com/tracehound/tracehound/trace"
)

// addr names a test address: "0x" and the name, padded.
func addr(name string) string { return fmt.Sprintf("0x%040s", name) }

func hash(n int) string { return fmt.Sprintf("0x%064x", n) }

var t0 = time.Unix(1_740_000_000, 0).UTC()

// pay is one payment of native coin in its own block.
type pay struct {
	from, to string
	amount   uint64
}

// store writes the payments, one block each in order, into a fresh store.
func store(t *testing.T, pays []pay) *pebble.DB {
	t.Helper()
	ctx := context.Background()
	db, err := pebble.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var blocks []*chain.Block
	for i, p := range pays {
		h := uint64(i + 1)
		bt := t0.Add(time.Duration(h) * time.Minute)
		tx := chain.Tx{Hash: hash(i + 1), From: addr(p.from), Transfers: []chain.Transfer{{
			Chain: chain.Ethereum, Tx: hash(i + 1), Kind: chain.KindNative, Block: h, Time: bt,
			From: addr(p.from), To: addr(p.to), Amount: chain.NewAmount(p.amount),
		}}}
		parent := hash(1000 + i)
		blocks = append(blocks, &chain.Block{Chain: chain.Ethereum, Height: h, Hash: hash(1001 + i), Parent: parent, Time: bt, Txs: []chain.Tx{tx}})
	}
	if err := db.Graph().WriteBlocks(ctx, chain.Ethereum, "test", blocks); err != nil {
		t.Fatal(err)
	}
	return db
}

type labels map[string]trace.Label

func (l labels) Label(_ context.Context, _ chain.Chain, a string) (trace.Label, bool, error) {
	x, ok := l[a]
	return x, ok, nil
}

// The theft: victim pays the thief 100 after a clean 300 arrived; the
// thief pays a and b 200 each; a pays an exchange 150, b pays a mixer 200.
var theft = []pay{
	{"c1ea", "7", 300},
	{"71c7", "7", 100}, // the theft, at block 2
	{"7", "a", 200},
	{"7", "b", 200},
	{"a", "e", 150},
	{"b", "f", 200},
}

var services = labels{
	addr("e"): {Entity: "Exchange One", Category: "exchange"},
	addr("f"): {Entity: "Mixer", Category: "mixer"},
}

func run(t *testing.T, db *pebble.DB, m trace.Model, mod func(*trace.Options)) *trace.Result {
	t.Helper()
	o := trace.Options{Chain: chain.Ethereum, Model: m, Labels: services, Since: t0.Add(2 * time.Minute)}
	if mod != nil {
		mod(&o)
	}
	r, err := trace.Run(context.Background(), db.Graph(), []trace.Seed{{Address: addr("7")}}, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Check(); err != nil {
		t.Fatalf("%s: %v", m, err)
	}
	return r
}

func summary(r *trace.Result) string {
	var b strings.Builder
	for _, n := range r.Nodes {
		fmt.Fprintf(&b, "%s@%d in %s out %s left %s;", strings.TrimLeft(n.Address[2:], "0"), n.Hop, n.Received, n.Sent, n.Remaining)
	}
	for _, e := range r.Endpoints {
		fmt.Fprintf(&b, " %s %s %s;", e.Label.Entity, e.Amount, strings.Join(e.Txs, ","))
	}
	return b.String()
}

func TestModels(t *testing.T) {
	db := store(t, theft)
	for _, c := range []struct {
		model trace.Model
		want  string
	}{
		// Haircut: a gets 200×100/400 = 50, b 200×50/200 = 50; a passes
		// on 150×50/200 = 37 (rounded down) and keeps 13.
		{trace.Haircut, "7@0 in 100 out 100 left 0;a@1 in 50 out 37 left 13;b@1 in 50 out 50 left 0;e@2 in 37 out 0 left 0;f@2 in 50 out 0 left 0; Mixer 50 " + hash(6) + "; Exchange One 37 " + hash(5) + ";"},
		// FIFO: the clean 300 leaves first: a's 200 is clean, b's 200 is
		// 100 clean then the stolen 100.
		{trace.FIFO, "7@0 in 100 out 100 left 0;b@1 in 100 out 100 left 0;f@2 in 100 out 0 left 0; Mixer 100 " + hash(6) + ";"},
		// Poison: everything the thief sent after the theft is tainted.
		{trace.Poison, "7@0 in 100 out 400 left 0;a@1 in 200 out 150 left 0;b@1 in 200 out 200 left 0;e@2 in 150 out 0 left 0;f@2 in 200 out 0 left 0; Mixer 200 " + hash(6) + "; Exchange One 150 " + hash(5) + ";"},
	} {
		r := run(t, db, c.model, nil)
		if got := summary(r); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.model, got, c.want)
		}
		if r.Tainted.String() != "100" || r.Through != 6 {
			t.Errorf("%s: tainted %s through %d", c.model, r.Tainted, r.Through)
		}
	}
	r := run(t, db, trace.Haircut, nil)
	if !r.Endpoints[0].Continues || r.Endpoints[1].Continues {
		t.Errorf("a mixer endpoint continues, an exchange does not: %+v", r.Endpoints)
	}
	if len(r.Hops) != 3 || r.Hops[1].Tainted.String() != "100" || r.Hops[2].Tainted.String() != "87" {
		t.Errorf("hops %+v", r.Hops)
	}
}

func TestControls(t *testing.T) {
	db := store(t, theft)
	r := run(t, db, trace.Haircut, func(o *trace.Options) { o.MaxHops = 1 })
	if got := summary(r); !strings.Contains(got, "a@1 in 50 out 0") || len(r.Endpoints) != 0 {
		t.Errorf("one hop: %s", got)
	}
	for _, n := range r.Nodes {
		if n.Hop == 1 && !n.Frontier {
			t.Errorf("%s at the hop limit is not frontier", n.Address)
		}
	}
	r = run(t, db, trace.Haircut, func(o *trace.Options) { o.MinAmount = chain.NewAmount(40) })
	if got := summary(r); strings.Contains(got, "Exchange") {
		t.Errorf("37 is dust under 40: %s", got)
	}
	_, err := trace.Run(context.Background(), db.Graph(), []trace.Seed{{Address: addr("7")}}, trace.Options{Chain: chain.Ethereum, MaxAddresses: 2})
	if !errors.Is(err, trace.ErrTooLarge) || !strings.Contains(err.Error(), "more than 2 addresses") || !strings.Contains(err.Error(), "addresses by hop: [1 1]") {
		t.Errorf("cap: %v", err)
	}
	_, err = trace.Run(context.Background(), db.Graph(), []trace.Seed{{Address: addr("99")}}, trace.Options{Chain: chain.Ethereum})
	if err == nil || !strings.Contains(err.Error(), "received no native coin") {
		t.Errorf("unknown seed: %v", err)
	}
	_, err = trace.Run(context.Background(), db.Graph(), []trace.Seed{{Address: addr("7")}}, trace.Options{Chain: chain.Ethereum, Model: "lifo"})
	if err == nil || !strings.Contains(err.Error(), "want poison, haircut or fifo") {
		t.Errorf("bad model: %v", err)
	}
	_, err = trace.Run(context.Background(), db.Graph(), []trace.Seed{{Address: addr("7")}}, trace.Options{Chain: chain.Bitcoin})
	if err == nil {
		t.Error("bitcoin traced")
	}
	// A window before the theft sees no stolen funds arrive.
	_, err = trace.Run(context.Background(), db.Graph(), []trace.Seed{{Address: addr("7")}}, trace.Options{Chain: chain.Ethereum, Since: t0.Add(time.Hour)})
	if err == nil {
		t.Error("a seed with nothing in the window traced")
	}
}

// TestCycle sends funds round in a loop: the trace settles, and taint is
// conserved.
func TestCycle(t *testing.T) {
	db := store(t, []pay{
		{"71c7", "7", 1000},
		{"7", "a", 600},
		{"a", "7", 300},
		{"7", "a", 500},
		{"a", "b", 800},
		{"b", "7", 100},
		{"7", "e", 200},
	})
	for _, m := range []trace.Model{trace.Haircut, trace.FIFO, trace.Poison} {
		r, err := trace.Run(context.Background(), db.Graph(), []trace.Seed{{Address: addr("7")}}, trace.Options{Chain: chain.Ethereum, Model: m, Labels: services, Since: t0})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Check(); err != nil {
			t.Errorf("%s: %v", m, err)
		}
		if len(r.Endpoints) != 1 || r.Endpoints[0].Amount.String() != "200" {
			t.Errorf("%s: %s", m, summary(r))
		}
	}
}
