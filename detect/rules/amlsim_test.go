package rules

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/chaintest"
	"github.com/tracehound/tracehound/detect/amlsim"
)

func openAMLSim(t testing.TB, name string) *amlsim.Graph {
	t.Helper()
	g, err := amlsim.OpenTGZ(chaintest.SharedData(t, "detection", "amlsim", name+".tgz"))
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// AMLSimConfig is the rules' configuration for AMLSim graphs, whose clock
// is one step a day over 150 days and whose currency has no thresholds of
// its own. Every change from DefaultConfig is a matter of that clock and
// that currency, named below.
func AMLSimConfig() Config {
	c := DefaultConfig()
	run := 200 * 24 * time.Hour // a pattern's hops fall anywhere in the run
	c.Cycle.Window = run
	// AMLSim schedules each hop of a cycle at its own random step: the
	// hops are like in amount but not in time order.
	c.Cycle.Ordered = false
	c.FanIn.Window, c.FanOut.Window = run, run
	// AMLSim's fan-ins have three or four sources, paying like amounts.
	c.FanIn.MinCounterparties, c.FanIn.Similar = 3, 0.5
	// AMLSim's cycles pass one exact amount round.
	c.Cycle.Tolerance = 0.01
	// A step is a day: a split payment is several transfers in one step.
	c.Structuring.SplitWindow = time.Minute
	c.Structuring.MinSplits = 2
	c.ScatterGather.Window, c.GatherScatter.Window, c.Stack.Window = run, run, run
	c.Peel.HopWindow = run
	c.Smurfing.Window = run
	c.PassThrough.MaxDelay = time.Minute
	c.PassThrough.MinAmount = Amounts{{amlsim.Chain, chain.Native}: chain.NewAmount(1)}
	return c
}

type ruleTally struct {
	flagged map[string]bool
	count   int
}

func runAMLSim(t testing.TB, g *amlsim.Graph, cfg Config) (map[Typology]*ruleTally, time.Duration) {
	start := time.Now()
	fs, err := Scan(context.Background(), cfg, g.Transfers)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	out := map[Typology]*ruleTally{}
	for _, f := range fs {
		r := out[f.Typology]
		if r == nil {
			r = &ruleTally{flagged: map[string]bool{}}
			out[f.Typology] = r
		}
		r.count++
		for _, a := range f.Addresses {
			r.flagged[a] = true
		}
	}
	return out, took
}

// amlsimRow is one line of the evaluation table.
type amlsimRow struct {
	name     string
	findings int
	amlsim.Score
}

func amlsimTable(g *amlsim.Graph, tally map[Typology]*ruleTally) ([]amlsimRow, string) {
	var rows []amlsimRow
	for _, typ := range Typologies {
		r := tally[typ]
		if r == nil {
			r = &ruleTally{flagged: map[string]bool{}}
		}
		rows = append(rows, amlsimRow{string(typ), r.count, g.Evaluate(r.flagged)})
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d accounts, %d fraud, %d with a planted transfer, %d on closed planted cycles\n",
		g.Name, len(g.Accounts), len(g.Fraud()), len(g.Active()), len(g.ClosedCycles()))
	fmt.Fprintf(&b, "| rule | findings | accounts flagged | of them fraud | precision | recall (all fraud) | recall (fraud with a planted transfer) |\n|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %.3f | %.3f | %.3f |\n", r.name, r.findings, r.Flagged, r.TruePositive, r.Precision, r.Recall, r.RecallActive)
	}
	return rows, b.String()
}

func union(tally map[Typology]*ruleTally, typs ...Typology) map[string]bool {
	out := map[string]bool{}
	for _, t := range typs {
		if r := tally[t]; r != nil {
			for a := range r.flagged {
				out[a] = true
			}
		}
	}
	return out
}

// TestAMLSim measures the rules against the planted patterns of IBM
// AMLSim's two sample graphs: the rules that apply by default (cycle,
// fan-in and structuring, a few seconds), every rule with
// TRACEHOUND_AMLSIM_ALL=1:
//
//	TRACEHOUND_AMLSIM_ALL=1 go test ./detect/rules -run AMLSim -v
func TestAMLSim(t *testing.T) {
	all := os.Getenv("TRACEHOUND_AMLSIM_ALL") != ""
	for _, name := range []string{"20K_cycle200", "20K_fanin200"} {
		t.Run(name, func(t *testing.T) {
			g := openAMLSim(t, name)
			cfg := AMLSimConfig()
			if !all {
				cfg.Enabled = map[Typology]bool{Cycle: true, FanIn: true, Structuring: true, Smurfing: true}
			}
			tally, took := runAMLSim(t, g, cfg)
			rows, table := amlsimTable(g, tally)
			t.Logf("%d transfers scanned in %v\n%s", len(g.Transfers), took.Round(time.Millisecond), table)
			by := map[string]amlsimRow{}
			for _, r := range rows {
				by[r.name] = r
			}
			// Splits: every pattern in these graphs pays its hops in bursts
			// of transfers within one step.
			if s := by[string(Structuring)]; s.Precision < 0.95 || s.RecallActive < 0.85 {
				t.Errorf("structuring: precision %.3f, recall of active fraud %.3f", s.Precision, s.RecallActive)
			}
			switch name {
			case "20K_cycle200":
				c := by[string(Cycle)]
				closed := g.ClosedCycles()
				found := 0
				for a := range closed {
					if tally[Cycle] != nil && tally[Cycle].flagged[a] {
						found++
					}
				}
				rc := float64(found) / float64(len(closed))
				t.Logf("cycle: %d of %d accounts on closed planted cycles found (%.3f)", found, len(closed), rc)
				if c.Precision < 0.9 || rc < 0.95 {
					t.Errorf("cycle: precision %.3f, recall of closed cycles %.3f", c.Precision, rc)
				}
				u := g.Evaluate(union(tally, Cycle, Structuring))
				t.Logf("cycle ∪ structuring: flagged %d, precision %.3f, recall %.3f, recall of active fraud %.3f", u.Flagged, u.Precision, u.Recall, u.RecallActive)
				u = g.Evaluate(union(tally, Cycle, Structuring, Smurfing))
				t.Logf("cycle ∪ structuring ∪ smurfing: flagged %d, precision %.3f, recall %.3f, recall of active fraud %.3f", u.Flagged, u.Precision, u.Recall, u.RecallActive)
				if u.Precision < 0.9 {
					t.Errorf("cycle ∪ structuring precision %.3f", u.Precision)
				}
			case "20K_fanin200":
				f := by[string(FanIn)]
				if f.RecallActive < 0.9 {
					t.Errorf("fan-in: recall of active fraud %.3f", f.RecallActive)
				}
				u := g.Evaluate(union(tally, FanIn, Structuring))
				t.Logf("fan-in ∪ structuring: flagged %d, precision %.3f, recall %.3f, recall of active fraud %.3f", u.Flagged, u.Precision, u.Recall, u.RecallActive)
				u = g.Evaluate(union(tally, Structuring, Smurfing))
				t.Logf("structuring ∪ smurfing: flagged %d, precision %.3f, recall %.3f, recall of active fraud %.3f", u.Flagged, u.Precision, u.Recall, u.RecallActive)
			}
		})
	}
}
