//go:build integration

package main

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/store/graph"
	"github.com/tracehound/tracehound/store/pebble"
)

// buildBinary builds tracehound into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tracehound")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestIngestKilledResumes kills `ingest btc --blocks` with SIGKILL
// mid-run, several times, then lets it finish: the store must equal one
// filled in a single uninterrupted run, with nothing duplicated or lost.
func TestIngestKilledResumes(t *testing.T) {
	d := sharedData(t)
	file := filepath.Join(d, "btc", "blk_0_to_14131.dat")
	bin := buildBinary(t)
	killed := t.TempDir()
	args := []string{"--data", killed, "ingest", "btc", "--blocks", file, "--batch", "1", "--no-progress"}
	ctx := context.Background()
	var tips []uint64
	for _, after := range []time.Duration{400 * time.Millisecond, 800 * time.Millisecond, 1200 * time.Millisecond} {
		cmd := exec.Command(bin, args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(after)
		cmd.Process.Kill()
		err := cmd.Wait()
		if err == nil {
			t.Fatalf("the run finished within %s: nothing was interrupted", after)
		}
		db, err := pebble.Open(ctx, killed)
		if err != nil {
			t.Fatal(err)
		}
		tip, ok, err := db.Graph().Tip(ctx, chain.Bitcoin)
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			tips = append(tips, tip.Height)
		}
	}
	if len(tips) == 0 || tips[len(tips)-1] >= 14131 {
		t.Fatalf("tips after the kills: %v", tips)
	}
	t.Logf("killed at tips %v", tips)
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "tip 14131") {
		t.Fatalf("final run: %v\n%s", err, out)
	}

	fresh := t.TempDir()
	if _, err := run(t, "--data", fresh, "ingest", "btc", "--blocks", file, "--no-progress"); err != nil {
		t.Fatal(err)
	}
	a, err := pebble.Open(ctx, killed)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := pebble.Open(ctx, fresh)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	l := reckon(t, file)
	n := 0
	for addr := range l.received {
		ta, _, err1 := a.Graph().AddressTotals(ctx, chain.Bitcoin, addr)
		tb, _, err2 := b.Graph().AddressTotals(ctx, chain.Bitcoin, addr)
		if err1 != nil || err2 != nil || fmt.Sprint(ta) != fmt.Sprint(tb) {
			t.Errorf("%s: after kills %+v, fresh %+v (%v %v)", addr, ta, tb, err1, err2)
		}
		var pa, pb int
		a.Graph().Postings(ctx, chain.Bitcoin, addr, graph.PostingQuery{}, func(graph.Posting) bool { pa++; return true })
		b.Graph().Postings(ctx, chain.Bitcoin, addr, graph.PostingQuery{}, func(graph.Posting) bool { pb++; return true })
		if pa != pb {
			t.Errorf("%s: %d postings after kills, %d fresh", addr, pa, pb)
		}
		n++
	}
	t.Logf("%d addresses equal", n)
}
