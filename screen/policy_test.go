package screen_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/detect/exposure"
	"github.com/tracehound/tracehound/screen"
	"github.com/tracehound/tracehound/tags"
)

// TestDefaultPolicy: the embedded policy reads, and every exposure
// category it rates is one exposure measures.
func TestDefaultPolicy(t *testing.T) {
	p := screen.DefaultPolicy()
	if p.Name != "exchange-default" || p.MaxHops != exposure.DefaultMaxHops || p.MinConfidence != 20 || len(p.Rules) < 30 {
		t.Fatalf("default policy: %s hops %d confidence %d rules %d", p.Name, p.MaxHops, p.MinConfidence, len(p.Rules))
	}
	seen := map[string]bool{}
	for _, r := range p.Rules {
		seen[string(r.Category)+"/"+r.Direction] = true
		if r.Line == 0 {
			t.Errorf("rule %s has no line", r.ID)
		}
	}
	for _, want := range []string{"sanctioned/self", "sanctioned/incoming", "sanctioned/outgoing", "hack/incoming", "mixer/incoming", "darknet/incoming", "ransomware/incoming"} {
		if !seen[want] {
			t.Errorf("default policy does not rate %s", want)
		}
	}
}

const goodHead = "version: 1\nrules:\n  - {id: s, category: sanctioned, direction: self, severity: severe}\n"

// TestPolicyRefused: a policy's mistakes are refused with their line.
func TestPolicyRefused(t *testing.T) {
	for _, c := range []struct {
		name, body string
		line       int
		want       string
	}{
		{"unknown category", goodHead + "  - {id: x, category: mixxer, direction: incoming, severity: high}\n", 4, `unknown exposure category "mixxer"`},
		{"unknown self category", goodHead + "  - {id: x, category: smuggler, direction: self, severity: high}\n", 4, `unknown category "smuggler"`},
		{"overlap", goodHead +
			"  - {id: m1, category: mixer, direction: incoming, hops: direct, min_share: 0.1, severity: high}\n" +
			"  - {id: m2, category: mixer, direction: incoming, hops: any, min_share: 0.05, max_share: 0.2, severity: medium}\n", 5, "rule m2 overlaps rule m1 (line 4)"},
		{"overlap self", goodHead + "  - {id: s2, category: sanctioned, direction: self, severity: high}\n", 4, "rule s2 overlaps rule s"},
		{"overlap amount and none", goodHead +
			"  - {id: a1, category: hack, direction: incoming, chain: ethereum, min_amount: \"1000\", severity: high}\n" +
			"  - {id: a2, category: hack, direction: incoming, hops: direct, severity: severe}\n", 5, "rule a2 overlaps rule a1"},
		{"bad direction", goodHead + "  - {id: x, category: mixer, direction: inbound, severity: high}\n", 4, `direction "inbound"`},
		{"bad severity", goodHead + "  - {id: x, category: mixer, direction: incoming, severity: critical}\n", 4, `severity "critical"`},
		{"amount without chain", goodHead + "  - {id: x, category: mixer, direction: incoming, min_amount: \"5\", severity: high}\n", 4, "needs its chain"},
		{"amount not integer", goodHead + "  - {id: x, category: mixer, direction: incoming, chain: bitcoin, min_amount: \"0.5\", severity: high}\n", 4, "not an integer in base units"},
		{"share above one", goodHead + "  - {id: x, category: mixer, direction: incoming, min_share: 10, severity: high}\n", 4, "between 0 and 1"},
		{"self with share", goodHead + "  - {id: x, category: mixer, direction: self, min_share: 0.5, severity: high}\n", 4, "takes no hops"},
		{"duplicate id", goodHead + "  - {id: s, category: mixer, direction: self, severity: high}\n", 4, `"s" is already used on line 3`},
		{"no sanctions rule", "version: 1\nrules:\n  - {id: m, category: mixer, direction: self, severity: high}\n", 0, "must rate a sanctioned address severe"},
		{"sanctions not severe", "version: 1\nrules:\n  - {id: s, category: sanctioned, direction: self, severity: high}\n", 0, "must rate a sanctioned address severe"},
		{"unknown key", goodHead + "  - {id: x, category: mixer, direction: self, severity: high, weight: 3}\n", 0, "weight"},
		{"other version", "version: 2\n", 0, "reads policy version 1"},
		{"not yaml", "rules: [\n", 0, "not a policy"},
	} {
		_, err := screen.ParsePolicy([]byte(c.body), "p.yaml")
		var pe *screen.PolicyError
		if !errors.As(err, &pe) {
			t.Errorf("%s: err %v, want a PolicyError", c.name, err)
			continue
		}
		if !strings.Contains(err.Error(), c.want) || (c.line > 0 && pe.Line != c.line) {
			t.Errorf("%s: %v (line %d), want %q on line %d", c.name, err, pe.Line, c.want, c.line)
		}
	}
	// Disjoint tiers and hops are not overlaps.
	ok := goodHead +
		"  - {id: d, category: mixer, direction: incoming, hops: direct, severity: high}\n" +
		"  - {id: i1, category: mixer, direction: incoming, hops: indirect, min_share: 0.1, severity: medium}\n" +
		"  - {id: i2, category: mixer, direction: incoming, hops: indirect, max_share: 0.1, severity: low}\n" +
		"  - {id: b1, category: hack, direction: incoming, chain: bitcoin, max_amount: \"100000000\", severity: high}\n" +
		"  - {id: b2, category: hack, direction: incoming, chain: bitcoin, min_amount: \"100000000\", severity: severe}\n" +
		"  - {id: e1, category: hack, direction: incoming, chain: ethereum, min_amount: \"1\", severity: severe}\n"
	if _, err := screen.ParsePolicy([]byte(ok), "ok.yaml"); err != nil {
		t.Errorf("disjoint rules refused: %v", err)
	}
}

// graphExposure answers from real engines, one per chain, as the node
// does.
type graphExposure map[chain.Chain]*exposure.Engine

func (g graphExposure) Exposure(a chain.Address, paths bool) []exposure.Entry {
	if e := g[a.Chain]; e != nil && paths {
		return e.Exposure(a.Value)
	} else if e != nil {
		return e.Rated(a.Value)
	}
	return nil
}

type mask map[string]tags.Category

func (m mask) Mask(_ chain.Chain, a string) exposure.Mask { return exposure.Bit(m[a]) }

func ethAddr(i int) string { return fmt.Sprintf("0x%040x", i) }

// TestScreenExposure: an address funded by a mixer one hop back, and one
// funded by a sanctioned wallet two hops back, screen as the policy says,
// name the rule, and explain the path.
func TestScreenExposure(t *testing.T) {
	x := realIndex(t, listed("ETH", lazarusETH))
	lazarus := strings.ToLower(lazarusETH)
	mixer, a, b, c, clean := ethAddr(1), ethAddr(2), ethAddr(3), ethAddr(4), ethAddr(5)
	eng := exposure.NewEngine(chain.Ethereum, 0, mask{lazarus: tags.Sanctioned, mixer: tags.Mixer})
	pay := func(h uint64, from, to string, v uint64) {
		tx := fmt.Sprintf("0x%064x", h)
		eng.Apply(&chain.Block{Chain: chain.Ethereum, Height: h, Txs: []chain.Tx{{Hash: tx, From: from,
			Transfers: []chain.Transfer{{Tx: tx, Kind: chain.KindNative, From: from, To: to, Amount: chain.NewAmount(v)}}}}})
	}
	pay(1, mixer, a, 1_000)   // a: all from a mixer, directly
	pay(2, clean, b, 9_000)   // b: clean money first
	pay(3, lazarus, c, 5_000) // c: sanctioned, directly
	pay(4, c, b, 1_000)       // b: 1,000 of 10,000 sanctioned, two hops back
	x.SetExposure(graphExposure{chain.Ethereum: eng})

	ra := x.Screen(screen.Query{Address: a})
	if ra.Risk != screen.High || ra.RiskRule != "mixer-in-direct-high" || len(ra.Exposure) != 1 {
		t.Fatalf("mixer-funded: risk %s rule %s exposure %+v", ra.Risk, ra.RiskRule, ra.Exposure)
	}
	if e := ra.Exposure[0]; e.Category != tags.Mixer || e.Direction != exposure.Incoming || e.Hops != 1 || e.Amount.String() != "1000" || e.Share != 1 || e.Rule != "mixer-in-direct-high" || e.Source != mixer {
		t.Errorf("mixer entry: %+v", e)
	}
	if len(ra.Reasons) != 1 || ra.Reasons[0].Code != "exposure" || ra.Reasons[0].Rule != "mixer-in-direct-high" {
		t.Errorf("mixer reasons: %+v", ra.Reasons)
	}

	rb := x.Screen(screen.Query{Address: b})
	if rb.Risk != screen.High || rb.RiskRule != "sanctioned-in-indirect-high" {
		t.Fatalf("two hops from sanctions: risk %s rule %s exposure %+v", rb.Risk, rb.RiskRule, rb.Exposure)
	}
	e := rb.Exposure[0]
	if e.Hops != 2 || e.Indirect.String() != "1000" || !e.Direct.IsZero() || e.Share != 0.1 || e.Source != lazarus || len(e.Path) != 2 || e.Path[0].From != lazarus || e.Path[1].To != b {
		t.Errorf("indirect entry: %+v", e)
	}

	// The sender to a sanctioned address is rated by its outgoing rule;
	// the sanctioned address itself by its listing.
	rc := x.Screen(screen.Query{Address: c})
	if rc.Risk != screen.Severe || rc.RiskRule != "sanctioned-in-direct" {
		t.Errorf("direct from sanctions: %s %s", rc.Risk, rc.RiskRule)
	}
	rl := x.Screen(screen.Query{Address: lazarusETH})
	if rl.Risk != screen.Severe || rl.RiskRule != "sanctioned" {
		t.Errorf("listed: %s %s", rl.Risk, rl.RiskRule)
	}
	if r := x.Screen(screen.Query{Address: clean}); r.Risk != screen.Low || r.RiskRule != screen.RuleNone {
		t.Errorf("clean: %s %s %+v", r.Risk, r.RiskRule, r.Exposure)
	}

	// A stricter policy swapped in rates the same exposure higher.
	strict, err := screen.ParsePolicy([]byte(goodHead+"  - {id: any-sanctioned, category: sanctioned, direction: incoming, severity: severe}\n"), "strict.yaml")
	if err != nil {
		t.Fatal(err)
	}
	x.SetPolicy(strict)
	if r := x.Screen(screen.Query{Address: b}); r.Risk != screen.Severe || r.RiskRule != "any-sanctioned" {
		t.Errorf("strict: %s %s", r.Risk, r.RiskRule)
	}
}

// FuzzParsePolicy: no input panics, and a policy that reads rates a
// sanctioned address severe.
func FuzzParsePolicy(f *testing.F) {
	f.Add(string(screen.DefaultPolicyYAML()))
	f.Add(goodHead + "  - {id: x, category: mixer, direction: incoming, chain: bitcoin, min_amount: \"5\", severity: high}\n")
	f.Add("version: 1\nrules: {}\n")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := screen.ParsePolicy([]byte(s), "f.yaml")
		if err != nil {
			return
		}
		found := false
		for _, r := range p.Rules {
			if r.Direction == screen.DirSelf && r.Category == tags.Sanctioned && r.Severity == screen.Severe {
				found = true
			}
		}
		if !found {
			t.Fatal("a policy without a severe sanctions rule was accepted")
		}
	})
}
