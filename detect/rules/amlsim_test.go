package rules

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/detect/amlsim"
)

var amlsimDir = filepath.Join("..", "..", "..", "shared", "data", "detection", "amlsim")

func openAMLSim(t testing.TB, name string) *amlsim.Graph {
	t.Helper()
	file := filepath.Join(amlsimDir, name+".tgz")
	if _, err := os.Stat(file); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("data set missing under CI: %v", err)
		}
		t.Skipf("data set not present: %v", err)
	}
	g, err := amlsim.OpenTGZ(file)
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
	// A step is a day: a split payment is several transfers in one step.
	c.Structuring.SplitWindow = time.Minute
	c.Structuring.MinSplits = 2
	c.ScatterGather.Window, c.GatherScatter.Window, c.Stack.Window = run, run, run
	c.Peel.HopWindow = run
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

func TestAMLSimExplore(t *testing.T) {
	for _, name := range []string{"20K_cycle200", "20K_fanin200"} {
		g := openAMLSim(t, name)
		cfg := AMLSimConfig()
		cfg.Enabled = map[Typology]bool{Cycle: true, FanIn: true, Structuring: true}
		cfg.Cycle.Tolerance = 0.01
		cfg.FanIn.MinCounterparties = 3
		cfg.FanIn.Similar = 0.5
		tally, took := runAMLSim(t, g, cfg)
		t.Logf("%s: %d transfers in %v", name, len(g.Transfers), took)
		var typs []string
		for typ := range tally {
			typs = append(typs, string(typ))
		}
		sort.Strings(typs)
		var b strings.Builder
		for _, typ := range typs {
			r := tally[Typology(typ)]
			s := g.Evaluate(r.flagged)
			fmt.Fprintf(&b, "%-20s findings %6d flagged %6d precision %.3f recall %.3f recall-active %.3f\n", typ, r.count, s.Flagged, s.Precision, s.Recall, s.RecallActive)
		}
		t.Log("\n" + b.String())
	}
}
