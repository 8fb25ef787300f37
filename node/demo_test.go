package node

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/screen"
	"github.com/tracehound/tracehound/tags"
)

// incidentFile is the Bybit incident's address file in the shared data.
func incidentFile(t *testing.T) string {
	t.Helper()
	shared, err := FindSharedData()
	if err == nil {
		p := filepath.Join(shared, "incidents", "bybit-2025-addresses.csv")
		if _, err = os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("incident file: %v", err)
	}
	t.Skipf("incident file: %v", err)
	return ""
}

// TestDemoIncident: the demo's theft leaves the incident's victim for its
// direct-theft address, every attacker row of the file is a hack source
// and no victim row is, and the split wallets the simulated thief pays
// show, exactly, what they received from it as direct hack exposure.
func TestDemoIncident(t *testing.T) {
	path := incidentFile(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n, err := Open(ctx, Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()

	rows, err := readIncident(path)
	if err != nil {
		t.Fatal(err)
	}
	victim, thief, err := incidentParties(path, rows)
	if err != nil {
		t.Fatal(err)
	}
	truth, _, err := n.Simulate(ctx, Simulation{Seed: 3, Background: 2000, Victim: victim, Thief: thief})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.EqualFold(truth.Thief, thief) || !strings.EqualFold(truth.Victim, victim) {
		t.Fatalf("simulated theft from %s to %s, want %s to %s", truth.Victim, truth.Thief, victim, thief)
	}
	if err := n.demoIncidentTags(ctx, path, rows, io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := n.Exposure(ctx); err != nil {
		t.Fatal(err)
	}

	attackers := 0
	for _, r := range rows {
		ts, err := n.Tags(ctx, r.addr, "eth")
		if err != nil {
			t.Fatal(err)
		}
		hack := len(ts) == 1 && ts[0].Category == tags.Hack
		switch attacker := strings.HasPrefix(r.role, "attacker"); {
		case attacker && !hack:
			t.Errorf("line %d %s (%s): tags %+v, want one hack tag", r.line, r.addr, r.role, ts)
		case !attacker && len(ts) > 0:
			t.Errorf("line %d %s (%s): tagged %+v", r.line, r.addr, r.role, ts)
		case attacker:
			attackers++
		}
	}
	if attackers == 0 {
		t.Fatal("no attacker rows in the incident file")
	}

	// The thief pays each split wallet once: that is its whole direct
	// hack exposure.
	for _, split := range truth.Splits {
		rs, err := n.Screen(ctx, []screen.Query{{Address: split, Chain: chain.Ethereum}})
		if err != nil {
			t.Fatal(err)
		}
		e := find(rs[0].Exposure, tags.Hack)
		received := truth.Accounts[split].Received
		if e == nil || e.Hops != 1 || e.Direct.Cmp(received) != 0 || !strings.EqualFold(e.Source, thief) {
			t.Errorf("split %s received %s from the thief; hack exposure %+v", split, received, e)
		}
		if r := rs[0].Risk; r != screen.High && r != screen.Severe {
			t.Errorf("split %s: risk %s, want high or severe", split, r)
		}
	}
}

// TestReadIncidentBadInput: a row short of the header's columns is an
// error naming the file and line.
func TestReadIncidentBadInput(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(p, []byte("incident,chain,address,role\nx,ETH,0x47666fab8bd0ac7003bce3f5c3585383f09486e2,attacker wallet\nx,ETH\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := readIncident(p)
	if err == nil || !strings.Contains(err.Error(), "bad.csv:3") {
		t.Fatalf("err = %v, want one naming bad.csv:3", err)
	}
	if err := os.WriteFile(p, []byte("chain,address\nETH,0x47666fab8bd0ac7003bce3f5c3585383f09486e2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := readIncident(p); err == nil {
		t.Fatal("a file without incident and role columns read")
	}
}

// TestDemoTagsOnOlderStore: a store that holds tags but not the
// incident's gets them on the next demo start, once.
func TestDemoTagsOnOlderStore(t *testing.T) {
	path := incidentFile(t)
	shared := filepath.Dir(filepath.Dir(path))
	ctx := context.Background()
	n, err := Open(ctx, Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if _, err := n.Index(ctx); err != nil {
		t.Fatal(err)
	}
	other, err := n.parser.Parse("0x28c6c06298d514db089934071355e5743bf21d60", chain.Ethereum)
	if err != nil {
		t.Fatal(err)
	}
	n.mu.Lock()
	err = n.db.ReplacePack(ctx, "older", []tags.Tag{{Address: other, Entity: "binance", Category: tags.Exchange, Source: "test"}})
	if err == nil {
		err = n.reloadTags(ctx)
	}
	n.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := n.demoTags(ctx, shared, false, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "attacker addresses tagged as hack") {
		t.Fatalf("the incident's tags were not added to an older store:\n%s", out.String())
	}
	out.Reset()
	if err := n.demoTags(ctx, shared, false, &out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "attacker addresses") {
		t.Errorf("the incident's tags were imported again:\n%s", out.String())
	}
}
