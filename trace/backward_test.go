package trace_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/trace"
)

func TestBackward(t *testing.T) {
	db := store(t, theft)
	ctx := context.Background()
	src := labels{addr("c1ea"): {Entity: "Clean Exchange", Category: "exchange"}}
	sources := func(r *trace.BackResult) string {
		var b []string
		for _, s := range r.Sources {
			name := strings.TrimLeft(s.Address[2:], "0")
			if s.Label != nil {
				name += "(" + s.Label.Entity + ")"
			}
			if s.Origin {
				name += "*"
			}
			b = append(b, fmt.Sprintf("%s %s@%d", name, s.Amount, s.Hop))
		}
		return strings.Join(b, ", ")
	}
	// Where did the 150 the exchange received come from? a got 200 from
	// the thief, who then held 300 clean and 100 stolen: 112 and 37, with
	// 1 lost to rounding.
	r, err := trace.Back(ctx, db.Graph(), trace.Seed{Address: addr("e")}, trace.Options{Chain: chain.Ethereum, Model: trace.Haircut, Labels: src})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := sources(r), "c1ea(Clean Exchange) 112@3, 71c7* 37@3"; got != want || r.Amount.String() != "150" || r.Unattributed.String() != "1" {
		t.Errorf("haircut: %s (amount %s, unattributed %s), want %s", got, r.Amount, r.Unattributed, want)
	}
	// Two hops stop at the thief.
	r, err = trace.Back(ctx, db.Graph(), trace.Seed{Address: addr("e")}, trace.Options{Chain: chain.Ethereum, MaxHops: 2})
	if err != nil {
		t.Fatal(err)
	}
	if got := sources(r); got != "7 150@2" {
		t.Errorf("two hops: %s", got)
	}
	// Poison: exposure to every earlier inflow, in full.
	r, err = trace.Back(ctx, db.Graph(), trace.Seed{Address: addr("f")}, trace.Options{Chain: chain.Ethereum, Model: trace.Poison})
	if err != nil {
		t.Fatal(err)
	}
	if got := sources(r); got != "c1ea* 300@3, 71c7* 100@3" {
		t.Errorf("poison: %s", got)
	}
	if _, err := trace.Back(ctx, db.Graph(), trace.Seed{Address: addr("e")}, trace.Options{Chain: chain.Ethereum, Model: trace.FIFO}); err == nil {
		t.Error("backward FIFO accepted")
	}
}
