package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tracehound/tracehound/sim"
)

// TestRemoteCommands: while a server holds the store, a command that
// opens it says to use --server; through --server, a trace prints what
// the same trace printed locally, and watches, cases and tag imports
// change the running node.
func TestRemoteCommands(t *testing.T) {
	d := sharedData(t)
	n := newNode(t, "node")
	n.cli(t, "sanctions", "import", filepath.Join(d, "ofac", "sdn-2024-05-03.csv"))
	truthFile := filepath.Join(t.TempDir(), "truth.json")
	n.cli(t, "simulate", "--seed", "2", "--background", "2000", "--no-progress", "--truth", truthFile)
	b, err := os.ReadFile(truthFile)
	if err != nil {
		t.Fatal(err)
	}
	var truth sim.Truth
	if err := json.Unmarshal(b, &truth); err != nil {
		t.Fatal(err)
	}
	elapsed := regexp.MustCompile(`, [0-9.]+[µm]?s\)`)
	local := elapsed.ReplaceAllString(n.cli(t, "trace", "eth", truth.TheftTx, "--hops", "30"), ")")
	key := n.key(t, "analyst", "trace", "screen", "admin")
	ctx, cancel := context.WithCancel(context.Background())
	n.start(ctx, t)
	defer func() { cancel(); <-n.done }()
	t.Setenv(apiKeyEnv, key)

	if _, err := run(t, "--data", n.data, "watch", "add", "w", "eth", truth.Thief); err == nil || !strings.Contains(err.Error(), "--server") {
		t.Errorf("watch add on a store a server holds: %v, want a hint at --server", err)
	}

	remote := elapsed.ReplaceAllString(n.cli(t, "trace", "eth", truth.TheftTx, "--hops", "30", "--server", n.url), ")")
	if remote != local {
		t.Errorf("trace through the server printed\n%s\nlocally\n%s", remote, local)
	}
	if _, err := run(t, "--data", n.data, "trace", "eth", truth.TheftTx, "--server", n.url, "--max-addresses", "5"); err == nil {
		t.Error("a flag the API does not take was accepted with --server")
	}

	out := n.cli(t, "watch", "add", "theft", "eth", truth.Thief, "--hops", "30", "--server", n.url)
	if !strings.Contains(out, "watch theft saved") {
		t.Errorf("watch add: %s", out)
	}
	if out := n.cli(t, "watch", "list", "--server", n.url); !strings.Contains(out, "theft") {
		t.Errorf("watch list: %s", out)
	}
	n.cli(t, "watch", "remove", "theft", "--server", n.url)
	if _, err := run(t, "--data", n.data, "watch", "remove", "theft", "--server", n.url); err == nil {
		t.Error("removed a watch twice")
	}

	n.cli(t, "case", "open", "CASE-1", "--title", "theft", "--server", n.url)
	n.cli(t, "case", "seed", "CASE-1", "eth", truth.Thief, "--server", n.url)
	out = n.cli(t, "case", "freeze", "CASE-1", "exchange-01", "eth", truth.Thief, "1000", "--server", n.url)
	if !strings.Contains(out, "freeze request f1 to exchange-01 drafted") || !strings.Contains(out, "seed eth "+truth.Thief) {
		t.Errorf("case freeze: %s", out)
	}
	if _, err := run(t, "--data", n.data, "case", "list"); err == nil {
		t.Error("case list without --server ran")
	}

	// A tag file uploaded to the server attributes the thief at once.
	tagFile := filepath.Join(t.TempDir(), "labels.json")
	label := `{"` + truth.Thief + `":{"name":"Test Exploiter","labels":["heist"]}}`
	if err := os.WriteFile(tagFile, []byte(label), 0o600); err != nil {
		t.Fatal(err)
	}
	n.cli(t, "tags", "import", tagFile, "--server", n.url)
	if out := n.cli(t, "screen", "--server", n.url, truth.Thief); !strings.Contains(out, "Test Exploiter") {
		t.Errorf("screen after the tag upload: %s", out)
	}
}
