package tracehound_test

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// layers are the floors of the tree, from the ground up: a package may
// import packages of its own floor or below, never above, so that a
// domain never depends on the HTTP layer, the node or the command line.
// docs/architecture.md explains the cut. The longest matching prefix
// places a package; every package must be placed.
var layers = []struct {
	name     string
	prefixes []string
}{
	{"chain: codecs and wire formats", []string{"chain", "bridge", "nodetest"}},
	{"sources and formats: ingest, lists, tags, STIX, audit log", []string{"ingest", "sanctions", "tags", "intel", "audit"}},
	{"graph", []string{"store/graph", "store/internal"}},
	{"domains: trace, screen, watch, detect, alerts, cases", []string{"trace", "cluster", "screen", "watch", "detect", "alert", "sim", "cases"}},
	{"auth", []string{"auth"}},
	{"protocols: api, taxii, web", []string{"api", "taxii", "web"}},
	{"store: the per-domain stores", []string{"store/pebble", "store/postgres", "store"}},
	{"node", []string{"node"}},
	{"commands", []string{"cmd", "bench", "detect/scorer/cmd"}},
}

const module = "github.com/tracehound/tracehound"

// floor returns the floor of a package path inside the module, or -1.
func floor(rel string) int {
	best, bestLen := -1, -1
	for i, l := range layers {
		for _, p := range l.prefixes {
			if (rel == p || strings.HasPrefix(rel, p+"/")) && len(p) > bestLen {
				best, bestLen = i, len(p)
			}
		}
	}
	return best
}

// TestLayering fails on a package that imports one on a floor above its
// own (test files aside).
func TestLayering(t *testing.T) {
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports", "./...").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := 0
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		rel, ok := strings.CutPrefix(p.ImportPath, module+"/")
		if !ok {
			continue // the module's root: this test
		}
		seen++
		f := floor(rel)
		if f < 0 {
			t.Errorf("%s is on no floor: add it to the layers of layering_test.go and docs/architecture.md", rel)
			continue
		}
		for _, imp := range p.Imports {
			irel, ok := strings.CutPrefix(imp, module+"/")
			if !ok {
				continue
			}
			if g := floor(irel); g > f {
				t.Errorf("%s (%s) imports %s (%s), a floor above it", rel, layers[f].name, irel, layers[g].name)
			}
		}
	}
	if seen < 20 {
		t.Fatalf("go list named %d packages of the module: run the test from the repository", seen)
	}
}

// TestFloor pins the placing rule: the longest prefix wins.
func TestFloor(t *testing.T) {
	for rel, want := range map[string]int{"store/graph": 2, "store/pebble": 6, "chain/btc": 0, "detect/rules": 3, "detect/scorer/cmd/trainscorer": 8, "cmd/tracehound": 8, "nowhere": -1} {
		if got := floor(rel); got != want {
			t.Errorf("floor(%s) = %d, want %d", rel, got, want)
		}
	}
}
