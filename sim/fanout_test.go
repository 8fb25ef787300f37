package sim_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tracehound/tracehound/sim"
)

// TestFanOutMixed: the tree is FanOut's, every tree address holds clean
// funds from the background before its stolen ones arrive, the small
// spends go to the background, and each deposit sweeps exactly what it
// received, stolen and clean.
func TestFanOutMixed(t *testing.T) {
	name := func(kind byte, n uint64) string { return fmt.Sprintf("k%d-%d", kind, n) }
	hot := []string{"hot0", "hot1", "hot2", "hot3", "hot4"}
	m := sim.Mix{Clean: func(i uint64) string { return fmt.Sprintf("bg-%d", i) }, Sink: func(i uint64) string { return fmt.Sprintf("sink-%d", i) }, Spend: 7, Seed: 1}
	pays := sim.FanOutMixed(name(1, 0), hot, 18_000_000_000, name, m)
	plain := sim.FanOut(name(1, 0), hot, 18_000_000_000, name)
	tree := map[[2]string]uint64{}
	for _, p := range plain[:len(plain)-100] { // the sweeps carry clean funds now
		tree[[2]string{p.From, p.To}] = p.Amount
	}
	cleanBefore := map[string]bool{}
	received := map[string]uint64{}
	var spends int
	for _, p := range pays {
		received[p.To] += p.Amount
		switch {
		case strings.HasPrefix(p.From, "bg-"):
			cleanBefore[p.To] = true
		case strings.HasPrefix(p.To, "sink-"):
			spends++
			if p.Amount != 7 {
				t.Fatalf("spend of %d", p.Amount)
			}
		case strings.HasPrefix(p.To, "hot"):
			if p.Amount != received[p.From] {
				t.Fatalf("%s sweeps %d of %d received", p.From, p.Amount, received[p.From])
			}
		default:
			if a, ok := tree[[2]string{p.From, p.To}]; !ok || a != p.Amount {
				t.Fatalf("payment %+v is not the tree's", p)
			}
			delete(tree, [2]string{p.From, p.To})
			if p.From != name(3, 0) && !cleanBefore[p.To] {
				t.Fatalf("%s received stolen funds before any clean ones", p.To)
			}
		}
	}
	if len(tree) != 0 || spends != 9000 {
		t.Fatalf("%d tree payments missing, %d spends", len(tree), spends)
	}
}
