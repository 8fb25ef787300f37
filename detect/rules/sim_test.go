package rules

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/sim"
)

// simScenario generates a laundering scenario (a theft split over 40
// wallets, peel chains, a mixer, a bridge, a DEX swap and exchange
// deposits among ordinary traffic) with blocks of up to txs background
// transfers, and the labeler an investigator would start from: the
// scenario's service tags.
func simScenario(t testing.TB, background, txs int) (*sim.Scenario, []*chain.Block, LabelMap) {
	t.Helper()
	cfg := sim.DefaultConfig()
	cfg.Background, cfg.Addresses, cfg.DepositAddresses, cfg.TxsPerBlock = background, background/8, 2000, txs
	sc, err := sim.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var blocks []*chain.Block
	for {
		b, err := sc.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		blocks = append(blocks, b)
	}
	labels := LabelMap{}
	for _, tg := range sc.Truth.Tags() {
		labels[tg.Address.Key()] = string(tg.Category)
	}
	return sc, blocks, labels
}

// TestSimScenario runs every rule with the default configuration over a
// simulated theft and its laundering among 150,000 ordinary transfers,
// and checks the findings against the scenario's ground truth: every
// laundering address is known, and everything else is ordinary traffic or
// a service.
func TestSimScenario(t *testing.T) {
	sc, blocks, labels := simScenario(t, 150_000, 150)
	e, err := NewEngine(DefaultConfig(), WithLabeler(labels))
	if err != nil {
		t.Fatal(err)
	}
	truth := sc.Truth
	launder := map[string]bool{truth.Thief: true}
	for a := range truth.Accounts {
		launder[a] = true
	}
	bySubject := map[Typology]map[string]bool{}
	count := map[Typology]int{}
	for _, b := range blocks {
		for _, f := range e.Block(b) {
			checkFinding(t, f)
			if bySubject[f.Typology] == nil {
				bySubject[f.Typology] = map[string]bool{}
			}
			bySubject[f.Typology][f.Subject] = true
			count[f.Typology]++
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d blocks, %d laundering addresses (%d peel hops)\n| rule | findings | subjects | laundering subjects | precision |\n|---|---|---|---|---|\n",
		len(blocks), len(launder), roleCount(truth, sim.RolePeel))
	for _, typ := range Typologies {
		n, tp := len(bySubject[typ]), 0
		for a := range bySubject[typ] {
			if launder[a] {
				tp++
			}
		}
		prec := 0.0
		if n > 0 {
			prec = float64(tp) / float64(n)
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %.3f |\n", typ, count[typ], n, tp, prec)
	}
	t.Log("\n" + b.String())

	// The thief's split over 40 wallets is a fan-out.
	if !bySubject[FanOut][truth.Thief] {
		t.Errorf("the thief's split over %d wallets was not reported as a fan-out", len(truth.Splits))
	}
	// Peel chains: every chain's origin is a split wallet.
	peels := 0
	for a := range bySubject[PeelChain] {
		if !launder[a] {
			t.Errorf("peel chain reported from %s, an ordinary address", a)
		}
		peels++
	}
	if peels == 0 {
		t.Error("no peel chain found")
	}
	// No finding is about a service.
	for typ, subs := range bySubject {
		for a := range subs {
			if _, ok := labels[chain.Key{Chain: chain.Ethereum, Value: a}]; ok {
				t.Errorf("%s finding about the service %s", typ, a)
			}
		}
	}
}

func roleCount(t sim.Truth, r sim.Role) int {
	n := 0
	for _, a := range t.Accounts {
		if a.Role == r {
			n++
		}
	}
	return n
}
