package node

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/chaintest"
	"github.com/tracehound/tracehound/detect/exposure"
	"github.com/tracehound/tracehound/ingest"
	"github.com/tracehound/tracehound/sanctions"
	"github.com/tracehound/tracehound/screen"
	"github.com/tracehound/tracehound/sim"
)

// logBuffer collects a node's log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// snapStore is a store with the real OFAC list (the legacy CSV), the
// real Etherscan labels, a simulated theft on Ethereum with its
// services tagged, and the addresses to screen on it.
type snapStore struct {
	dir     string
	queries []screen.Query
	truth   sim.Truth
}

func newSnapStore(t *testing.T) *snapStore {
	t.Helper()
	ctx := context.Background()
	s := &snapStore{dir: t.TempDir()}
	n := s.open(t, nil)
	defer n.Close()
	if _, err := n.ImportSanctions(ctx, SanctionsImport{Path: chaintest.SharedData(t, "ofac", "sdn-2024-05-03.csv")}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.ImportTagsPath(ctx, chaintest.SharedData(t, "tags", "etherscan-labels", "combinedAllLabels.json")); err != nil {
		t.Fatal(err)
	}
	truth, _, err := n.Simulate(ctx, Simulation{Seed: 7, Background: 3000})
	if err != nil {
		t.Fatal(err)
	}
	s.truth = *truth
	entries, err := sanctions.Current(ctx, n.db)
	if err != nil || len(entries) < 100 {
		t.Fatalf("%d sanctioned addresses: %v", len(entries), err)
	}
	for _, e := range entries {
		s.queries = append(s.queries, screen.Query{Address: e.Address})
	}
	ts, err := n.db.AllTags(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, tg := range ts {
		if i%37 == 0 {
			s.queries = append(s.queries, screen.Query{Address: tg.Address.Value, Chain: tg.Address.Chain})
		}
	}
	for addr := range truth.Accounts {
		s.queries = append(s.queries, screen.Query{Address: addr, Chain: chain.Ethereum})
	}
	slices.SortFunc(s.queries, func(a, b screen.Query) int { return strings.Compare(a.Address, b.Address) })
	for i := range 50 {
		s.queries = append(s.queries, screen.Query{Address: fmt.Sprintf("0x%040x", i+1)}, screen.Query{Address: fmt.Sprintf("not an address %d", i)})
	}
	return s
}

func (s *snapStore) open(t *testing.T, log *logBuffer) *Node {
	t.Helper()
	cfg := Config{DataDir: s.dir}
	if log != nil {
		cfg.Logger = slog.New(slog.NewTextHandler(log, nil))
	}
	n, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (s *snapStore) path() string { return filepath.Join(s.dir, SnapshotFile) }

// answers screens every query on n, exposure and score included.
func (s *snapStore) answers(t *testing.T, n *Node) []string {
	t.Helper()
	rs, err := n.Screen(context.Background(), s.queries)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(rs))
	for i, r := range rs {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = string(b)
	}
	return out
}

// fresh is what a node that builds everything from the store answers.
func (s *snapStore) fresh(t *testing.T) []string {
	t.Helper()
	saved, err := os.ReadFile(s.path())
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(s.path())
	n := s.open(t, nil)
	want := s.answers(t, n)
	n.snap.dirty.Store(false) // keep the file under test
	n.Close()
	if err := os.WriteFile(s.path(), saved, 0o600); err != nil {
		t.Fatal(err)
	}
	return want
}

func sameAnswers(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d answers, want %d", what, len(got), len(want))
	}
	bad := 0
	for i := range got {
		if got[i] != want[i] {
			if bad++; bad <= 3 {
				t.Errorf("%s: answer %d:\n got %s\nwant %s", what, i, got[i], want[i])
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%s: %d of %d answers differ", what, bad, len(got))
	}
}

// TestSnapshotRestart: a node saves the screening snapshot when it
// closes; the next start installs the layers and restores the exposure
// engines from it, and screens every listed address, a sample of tags and
// every address of a simulated theft exactly as the node that built them
// from the store did (risk, reasons, exposure to the wei, score).
func TestSnapshotRestart(t *testing.T) {
	s := newSnapStore(t)
	os.Remove(s.path())
	n := s.open(t, nil)
	built := s.answers(t, n)
	if n.snap.from != "store" {
		t.Errorf("first start read the index from %q", n.snap.from)
	}
	n.Close()
	if _, err := os.Stat(s.path()); err != nil {
		t.Fatalf("no snapshot after close: %v", err)
	}
	st0, _ := os.Stat(s.path())

	var log logBuffer
	n = s.open(t, &log)
	got := s.answers(t, n)
	if !strings.Contains(n.snap.from, "sanctions from") || !strings.Contains(n.snap.from, "tags from") {
		t.Errorf("restart read the index from %q", n.snap.from)
	}
	if !strings.Contains(log.String(), "exposure restored") {
		t.Errorf("exposure not restored:\n%s", log.String())
	}
	n.Close()
	sameAnswers(t, "restored", got, built)
	if st, _ := os.Stat(s.path()); !st.ModTime().Equal(st0.ModTime()) {
		t.Error("a start that changed nothing rewrote the snapshot")
	}
}

// TestSnapshotStale: after a source changes (a tag import, a new list
// version), the snapshot written before it is not used for what
// changed, even put back in place, and the answers are those of a node
// built from the store.
func TestSnapshotStale(t *testing.T) {
	ctx := context.Background()
	s := newSnapStore(t)
	n := s.open(t, nil)
	s.answers(t, n) // builds exposure, saved at close
	n.Close()
	old, err := os.ReadFile(s.path())
	if err != nil {
		t.Fatal(err)
	}

	// Tags: a real TagPack naming addresses the queries hold.
	n = s.open(t, nil)
	packs, _ := filepath.Glob(filepath.Join(chaintest.SharedData(t, "tags", "graphsense-tagpacks", "packs"), "*.yaml"))
	if len(packs) == 0 {
		t.Fatal("no GraphSense packs")
	}
	slices.Sort(packs)
	if _, err := n.ImportTagsPath(ctx, packs[0]); err != nil {
		t.Fatal(err)
	}
	n.Close()
	if err := os.WriteFile(s.path(), old, 0o600); err != nil {
		t.Fatal(err)
	}
	want := s.fresh(t)
	n = s.open(t, nil)
	got := s.answers(t, n)
	if strings.Contains(n.snap.from, "tags from") || !strings.Contains(n.snap.from, "sanctions from") {
		t.Errorf("after a tag import the index came from %q", n.snap.from)
	}
	n.Close()
	sameAnswers(t, "after a tag import", got, want)

	// Sanctions: a newer list version.
	old, _ = os.ReadFile(s.path())
	n = s.open(t, nil)
	if _, err := n.ImportSanctions(ctx, SanctionsImport{Path: chaintest.SharedData(t, "ofac", "sdn_advanced-2025-03-21.xml.bz2"), Force: true}); err != nil {
		t.Fatal(err)
	}
	n.Close()
	if err := os.WriteFile(s.path(), old, 0o600); err != nil {
		t.Fatal(err)
	}
	want = s.fresh(t)
	n = s.open(t, nil)
	got = s.answers(t, n)
	if strings.Contains(n.snap.from, "sanctions from") || !strings.Contains(n.snap.from, "tags from") {
		t.Errorf("after a list import the index came from %q", n.snap.from)
	}
	n.Close()
	sameAnswers(t, "after a list import", got, want)

}

// TestSnapshotResume: engines saved part-way through the chain resume
// from the block they are through (its hash checked) and catch up with
// the blocks stored since, answering as engines built from the store.
func TestSnapshotResume(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	sc := scenario(t)
	n, err := Open(ctx, Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Ingest(ctx, Ingest{Chain: chain.Ethereum, Stream: &firstBlocks{sc.Source(), 40}, Options: ingest.Options{From: sim.DefaultConfig().StartHeight}}); err != nil {
		t.Fatal(err)
	}
	if err := n.db.ReplacePack(ctx, "simulation", sc.Truth.Tags()); err != nil {
		t.Fatal(err)
	}
	if err := n.Exposure(ctx); err != nil {
		t.Fatal(err)
	}
	n.Close()
	s := &snapStore{dir: dir}
	for addr := range sc.Truth.Accounts {
		s.queries = append(s.queries, screen.Query{Address: addr, Chain: chain.Ethereum})
	}
	slices.SortFunc(s.queries, func(a, b screen.Query) int { return strings.Compare(a.Address, b.Address) })
	part, err := os.ReadFile(s.path())
	if err != nil {
		t.Fatal(err)
	}
	// The rest of the chain, written by a node that does not screen.
	n = s.open(t, nil)
	if _, err := n.Ingest(ctx, Ingest{Chain: chain.Ethereum, Stream: scenario(t).Source()}); err != nil {
		t.Fatal(err)
	}
	n.Close()
	if err := os.WriteFile(s.path(), part, 0o600); err != nil {
		t.Fatal(err)
	}
	want := s.fresh(t)
	var log logBuffer
	n = s.open(t, &log)
	got := s.answers(t, n)
	n.Close()
	if !strings.Contains(log.String(), "exposure restored") {
		t.Errorf("exposure not restored:\n%s", log.String())
	}
	sameAnswers(t, "resumed", got, want)
}

// TestSnapshotCorrupt: a truncated snapshot is refused at open with its
// name and rebuilt; one whose blocks are damaged is found when a look-up
// reads them, and the index and the engines are rebuilt from the store
// before the answer: every answer is the fresh node's.
func TestSnapshotCorrupt(t *testing.T) {
	s := newSnapStore(t)
	n := s.open(t, nil)
	s.answers(t, n)
	n.Close()
	good, err := os.ReadFile(s.path())
	if err != nil {
		t.Fatal(err)
	}
	want := s.fresh(t)

	// Truncated.
	if err := os.WriteFile(s.path(), good[:len(good)-100], 0o600); err != nil {
		t.Fatal(err)
	}
	var log logBuffer
	n = s.open(t, &log)
	got := s.answers(t, n)
	n.Close()
	sameAnswers(t, "truncated", got, want)
	if !strings.Contains(log.String(), "screening snapshot refused") || !strings.Contains(log.String(), s.path()) {
		t.Errorf("truncated file not refused by name:\n%s", log.String())
	}
	if _, err := screen.OpenSnapshot(s.path()); err != nil {
		t.Errorf("not rebuilt: %v", err)
	}

	// Damaged blocks, behind a good header.
	bad := slices.Clone(good)
	for off := 4096 + 100; off < len(bad)-len(bad)/4096*4-4096; off += 4096 {
		bad[off] ^= 0x40
	}
	if err := os.WriteFile(s.path(), bad, 0o600); err != nil {
		t.Fatal(err)
	}
	log = logBuffer{}
	n = s.open(t, &log)
	got = s.answers(t, n)
	n.Close()
	sameAnswers(t, "damaged", got, want)
	if !strings.Contains(log.String(), "corrupt") {
		t.Errorf("damage not reported:\n%s", log.String())
	}
	if _, err := screen.OpenSnapshot(s.path()); err != nil {
		t.Errorf("not rebuilt: %v", err)
	}
	n = s.open(t, nil)
	if _, err := n.Index(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(n.snap.from, "tags from") {
		t.Errorf("the rebuilt snapshot is not used: %q", n.snap.from)
	}
	n.Close()
}

// TestSnapshotResumeRefusesMovedChain: a saved engine whose last block
// the chain no longer holds with the same hash (a reorganisation, a
// store rewound) is not resumed.
func TestSnapshotResumeRefusesMovedChain(t *testing.T) {
	ctx := context.Background()
	sc := scenario(t)
	n, err := Open(ctx, Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if _, err := n.Ingest(ctx, Ingest{Chain: chain.Ethereum, Stream: &firstBlocks{sc.Source(), 10}, Options: ingest.Options{From: sim.DefaultConfig().StartHeight}}); err != nil {
		t.Fatal(err)
	}
	tip, ok, err := n.db.Graph().Tip(ctx, chain.Ethereum)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	for _, tc := range []struct {
		name    string
		through uint64
		hash    string
		want    bool
	}{
		{"same block", tip.Height, tip.Hash, true},
		{"other hash", tip.Height, "0x" + strings.Repeat("ab", 32), false},
		{"no hash", tip.Height, "", false},
		{"beyond the tip", tip.Height + 5, tip.Hash, false},
	} {
		e, err := exposure.Restore(exposure.State{Chain: chain.Ethereum, MaxHops: 4, Through: tc.through, Hash: tc.hash, Applied: true}, screen.MaskSources(nil), nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := n.exp.resume(ctx, e)
		if err != nil || got != tc.want {
			t.Errorf("%s: resumed %v (%v), want %v", tc.name, got, err, tc.want)
		}
	}
}

// TestSnapshotSkipsQuickEngines: engines a quick pass added sources to
// no longer follow their layers exactly, and are not saved; the layers
// are.
func TestSnapshotSkipsQuickEngines(t *testing.T) {
	ctx := context.Background()
	sc := scenario(t)
	dir := t.TempDir()
	n, err := Open(ctx, Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if _, err := n.Ingest(ctx, Ingest{Chain: chain.Ethereum, Stream: &firstBlocks{sc.Source(), 10}, Options: ingest.Options{From: sim.DefaultConfig().StartHeight}}); err != nil {
		t.Fatal(err)
	}
	if err := n.Exposure(ctx); err != nil {
		t.Fatal(err)
	}
	engines := func() int {
		t.Helper()
		if err := n.SaveSnapshot(ctx, true); err != nil {
			t.Fatal(err)
		}
		s, err := screen.OpenSnapshot(filepath.Join(dir, SnapshotFile))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		return len(s.Manifest().Engines)
	}
	if got := engines(); got != len(graphChains) {
		t.Fatalf("%d engines saved, want %d", got, len(graphChains))
	}
	n.exp.set.Load().quick.Store(true)
	if got := engines(); got != 0 {
		t.Fatalf("%d engines of a quick pass saved", got)
	}
}

// failingSaved is saved accounts whose every read fails its check.
type failingSaved struct{}

func (failingSaved) Record(string) ([]byte, bool, error) {
	return nil, false, fmt.Errorf("block 7: %w", screen.ErrCorrupt)
}

func (failingSaved) Each(func(string, []byte) error) error {
	return fmt.Errorf("block 7: %w", screen.ErrCorrupt)
}

// TestSnapshotEngineFault: an engine whose saved accounts fail a check is
// rebuilt from the store before the answer; where it cannot be at once
// (the engines' lock is held), the answer fails closed, never showing
// no exposure.
func TestSnapshotEngineFault(t *testing.T) {
	ctx := context.Background()
	sc := scenario(t)
	n, err := Open(ctx, Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if _, err := n.Ingest(ctx, Ingest{Chain: chain.Ethereum, Stream: sc.Source(), Options: ingest.Options{From: sim.DefaultConfig().StartHeight}}); err != nil {
		t.Fatal(err)
	}
	if err := n.db.ReplacePack(ctx, "simulation", sc.Truth.Tags()); err != nil {
		t.Fatal(err)
	}
	idx, err := n.Index(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Exposure(ctx); err != nil {
		t.Fatal(err)
	}
	var q screen.Query
	for addr, a := range sc.Truth.Accounts {
		if a.Role == sim.RoleMixerOut {
			q = screen.Query{Address: addr, Chain: chain.Ethereum}
			break
		}
	}
	want := idx.Screen(q)
	if len(want.Exposure) == 0 {
		t.Fatalf("%s has no exposure to test with", q.Address)
	}
	// The same engine, as if restored from a file whose blocks fail.
	good := n.exp.set.Load()
	st := good.byChain[chain.Ethereum].State()
	bad, err := exposure.Restore(st, good.layers.Sources(), failingSaved{})
	if err != nil {
		t.Fatal(err)
	}
	faulty := newEngineSet(good.layers)
	faulty.byChain = maps.Clone(good.byChain)
	faulty.byChain[chain.Ethereum] = bad
	n.exp.set.Store(faulty)

	n.exp.mu.Lock()
	r := idx.Screen(q)
	n.exp.mu.Unlock()
	if r.Risk != screen.Unknown || len(r.Reasons) != 1 || r.Reasons[0].Code != "index_fault" {
		t.Errorf("with the engines locked: %+v", r)
	}
	got := idx.Screen(q)
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(want)
	if string(gb) != string(wb) {
		t.Errorf("after the rebuild:\n got %s\nwant %s", gb, wb)
	}
	if e := n.exp.set.Load().byChain[chain.Ethereum]; e == bad || e.Err() != nil {
		t.Error("the faulty engine is still in place")
	}
}
