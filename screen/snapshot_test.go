package screen_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/chaintest"
	"github.com/tracehound/tracehound/chain/registry"
	"github.com/tracehound/tracehound/detect/exposure"
	"github.com/tracehound/tracehound/sanctions"
	"github.com/tracehound/tracehound/screen"
	"github.com/tracehound/tracehound/tags"
)

// realData is the 2025-11-19 OFAC list's addresses (from the extracted
// per-asset lists), the Etherscan labels and a few GraphSense packs.
type realData struct {
	entries []sanctions.Entry
	tags    []tags.Tag
	// queries are every listed address as written, every tagged address
	// and some that nothing names.
	queries []screen.Query
}

func loadReal(t *testing.T) realData {
	t.Helper()
	p := registry.NewParser()
	var d realData
	dir := chaintest.SharedData(t, "ofac", "lists-2025-11-19")
	files, err := filepath.Glob(filepath.Join(dir, "sanctioned_addresses_*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no OFAC lists in %s: %v", dir, err)
	}
	listDate := time.Date(2025, 11, 19, 0, 0, 0, 0, time.UTC)
	for i, f := range files {
		asset := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "sanctioned_addresses_"), ".txt")
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			a := sc.Text()
			if strings.TrimSpace(a) == "" {
				continue
			}
			d.entries = append(d.entries, sanctions.Entry{Asset: asset, Address: a, Source: "OFAC SDN", ListDate: listDate,
				FeatureID: fmt.Sprint(len(d.entries)), Party: sanctions.Party{Name: "PARTY " + asset, FixedRef: fmt.Sprint(i), Programs: []string{"CYBER2", "DPRK3"}}})
			d.queries = append(d.queries, screen.Query{Address: a}, screen.Query{Address: a, Chain: chain.ParseChain(asset)})
		}
		fh.Close()
	}
	eth, err := os.ReadFile(chaintest.SharedData(t, "tags", "etherscan-labels", "combinedAllLabels.json"))
	if err != nil {
		t.Fatal(err)
	}
	ts, _, err := tags.ParseEtherscan(eth, "combinedAllLabels.json", p)
	if err != nil {
		t.Fatal(err)
	}
	d.tags = append(d.tags, ts...)
	packs, err := filepath.Glob(filepath.Join(chaintest.SharedData(t, "tags", "graphsense-tagpacks", "packs"), "*.yaml"))
	if err != nil || len(packs) == 0 {
		t.Fatalf("no GraphSense packs: %v", err)
	}
	slices.Sort(packs)
	for _, f := range packs[:min(len(packs), 12)] {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ts, _, err := tags.ParseTagPack(b, filepath.Base(f), p)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for i := range ts {
			ts[i].Pack = filepath.Base(f)
		}
		d.tags = append(d.tags, ts...)
	}
	for i, tg := range d.tags {
		if i%7 == 0 || tg.Address.Kind == chain.KindOpaque {
			d.queries = append(d.queries, screen.Query{Address: tg.Address.Value})
		}
	}
	for i := range 200 {
		d.queries = append(d.queries, screen.Query{Address: fmt.Sprintf("0x%040x", i+1)}, screen.Query{Address: fmt.Sprintf("not an address %d", i)})
	}
	return d
}

func answers(t *testing.T, x *screen.Index, qs []screen.Query) []string {
	t.Helper()
	out := make([]string, len(qs))
	for i, q := range qs {
		b, err := json.Marshal(x.Screen(q))
		if err != nil {
			t.Fatal(err)
		}
		out[i] = string(b)
	}
	return out
}

func writeAndOpen(t *testing.T, x *screen.Index, engines ...*exposure.Engine) *screen.Snapshot {
	t.Helper()
	path := filepath.Join(t.TempDir(), "screening.snap")
	l := x.Layers()
	sources := ""
	if len(engines) > 0 {
		var err error
		if sources, err = l.Digest(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := screen.WriteSnapshot(path, screen.Saving{Store: "store-1", Layers: l, Engines: engines, Sources: sources, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	s, err := screen.OpenSnapshot(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestSnapshotAnswers: every address of the OFAC list, as written and
// with its chain, and a sample of tags screen exactly the same (JSON byte
// for byte) from a snapshot as from the index built in memory, exposure
// included; and the snapshot's engines answer as the engines saved.
func TestSnapshotAnswers(t *testing.T) {
	d := loadReal(t)
	mem := screen.NewIndex(registry.NewParser(), nil)
	mem.SetSanctions(d.entries)
	mem.SetTags(d.tags)
	mem.SetIntel([]screen.IntelEntry{{Address: d.tags[3].Address, Flag: screen.IntelFlag{Partner: "p", Report: "r", Indicator: "indicator--1",
		Marking: "TLP:AMBER", Category: "intel", Risk: screen.High, Modified: time.Date(2025, 2, 21, 1, 2, 3, 4, time.UTC)}}})
	mem.SetVersion(screen.LayerSanctions, "v3")
	mem.SetVersion(screen.LayerTags, "seq:7")

	// An engine over real addresses: listed, tagged and plain ones pay
	// one another.
	var addrs []string
	for _, q := range d.queries {
		if a, err := registry.NewParser().Parse(q.Address, chain.Ethereum); err == nil && len(addrs) < 400 {
			addrs = append(addrs, a.Value)
		}
	}
	eng := exposure.NewEngine(chain.Ethereum, 4, mem.Layers().Sources())
	for h := range 300 {
		from, to := addrs[(h*7)%len(addrs)], addrs[(h*13+5)%len(addrs)]
		tx := fmt.Sprintf("0x%064x", h)
		eng.Apply(&chain.Block{Chain: chain.Ethereum, Height: uint64(h), Hash: fmt.Sprintf("0x%064x", h+1), Txs: []chain.Tx{{Hash: tx, From: from,
			Transfers: []chain.Transfer{{Tx: tx, From: from, To: to, Amount: chain.NewAmount(uint64(1000 + h))}}}}})
	}
	mem.SetExposure(graphExposure{chain.Ethereum: eng})

	s := writeAndOpen(t, mem, eng)
	m := s.Manifest()
	if m.Store != "store-1" || m.Versions.Sanctions != "v3" || m.Versions.Tags != "seq:7" || m.Versions.Intel != "" || len(m.Engines) != 1 ||
		m.Engines[0].Through != 299 || m.Engines[0].Hash != fmt.Sprintf("0x%064x", 300) || m.Model != exposure.ModelVersion {
		t.Fatalf("manifest %+v", m)
	}
	if want, _ := mem.Layers().Digest(); m.Sources != want {
		t.Errorf("sources %s, want %s", m.Sources, want)
	}

	file := screen.NewIndex(registry.NewParser(), nil)
	if err := s.Install(file); err != nil {
		t.Fatal(err)
	}
	if file.Stats() != mem.Stats() {
		t.Errorf("stats %+v, want %+v", file.Stats(), mem.Stats())
	}
	if got, want := file.Versions(), mem.Versions(); got != want {
		t.Errorf("versions %+v, want %+v", got, want)
	}
	if got, _ := file.Layers().Digest(); got != m.Sources {
		t.Errorf("installed layers' digest %s, want %s", got, m.Sources)
	}
	restored, ok, err := s.Engine(chain.Ethereum, file.Layers().Sources())
	if err != nil || !ok {
		t.Fatalf("engine: %v %v", ok, err)
	}
	file.SetExposure(graphExposure{chain.Ethereum: restored})

	want, got := answers(t, mem, d.queries), answers(t, file, d.queries)
	sanctioned, tagged, exposed := 0, 0, 0
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("%q: snapshot answers\n%s\nmemory answers\n%s", d.queries[i].Address, got[i], want[i])
		}
		sanctioned += strings.Count(want[i], `"sanctioned":true`)
		tagged += min(strings.Count(want[i], `"attributions"`), 1)
		exposed += min(strings.Count(want[i], `"exposure":[`), 1)
	}
	if sanctioned < 700 || tagged < 1000 || exposed < 50 {
		t.Fatalf("the sample is too thin: %d sanctioned, %d tagged, %d exposed answers", sanctioned, tagged, exposed)
	}
	for _, a := range addrs {
		if g, w := fmt.Sprint(restored.Exposure(a)), fmt.Sprint(eng.Exposure(a)); g != w {
			t.Fatalf("%s: restored exposure %s, want %s", a, g, w)
		}
	}
	if restored.Err() != nil || s.Err() != nil {
		t.Fatal(restored.Err(), s.Err())
	}
	// Sources read from the file name the same categories.
	for _, c := range []chain.Chain{chain.Ethereum, chain.Bitcoin, chain.Tron} {
		if g, w := file.SourceMasks(c), mem.SourceMasks(c); fmt.Sprint(g) != fmt.Sprint(w) || len(w) == 0 {
			t.Errorf("%s: %d sources from the file, %d in memory", c, len(g), len(w))
		}
	}
	if err := s.Verify(); err != nil {
		t.Fatal(err)
	}

	// A snapshot written from the file's layers copies them.
	again := writeAndOpen(t, file)
	third := screen.NewIndex(registry.NewParser(), nil)
	if err := again.Install(third); err != nil {
		t.Fatal(err)
	}
	third.SetExposure(graphExposure{chain.Ethereum: restored})
	if got := answers(t, third, d.queries); !slices.Equal(got, want) {
		t.Fatal("a snapshot of a snapshot answers differently")
	}
}

// TestSnapshotRefused: a truncated, extended, foreign-format or
// other-version file, or one whose header was altered, is refused at
// open, and the error names it.
func TestSnapshotRefused(t *testing.T) {
	x := testIndex(t)
	s := writeAndOpen(t, x)
	good, err := os.ReadFile(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, b := range map[string][]byte{
		"truncated":  good[:len(good)-1],
		"extended":   append(slices.Clone(good), 0),
		"header bit": flip(good, 100),
		"magic":      append([]byte("NOTASNAP"), good[8:]...),
		"version":    flip(good, 8),
		"empty":      nil,
		"sums":       flip(good, len(good)-2),
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := screen.OpenSnapshot(path)
		if err == nil || !errors.Is(err, screen.ErrCorrupt) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := screen.OpenSnapshot(filepath.Join(dir, "none")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func flip(b []byte, i int) []byte {
	c := slices.Clone(b)
	c[i] ^= 0x40
	return c
}

// TestSnapshotCrashWrite: a snapshot is written beside the file and
// renamed over it; a failed write leaves the old one.
func TestSnapshotCrashWrite(t *testing.T) {
	x := testIndex(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "screening.snap")
	if _, err := screen.WriteSnapshot(path, screen.Saving{Store: "a", Layers: x.Layers(), Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	// A directory where the temporary file should go makes the write fail.
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(dir, 0o700)
	if os.Geteuid() != 0 {
		if _, err := screen.WriteSnapshot(path, screen.Saving{Store: "b", Layers: x.Layers(), Now: time.Now()}); err == nil {
			t.Fatal("write into a read-only directory succeeded")
		}
		after, _ := os.ReadFile(path)
		if !slices.Equal(before, after) {
			t.Fatal("a failed write changed the file")
		}
	}
	os.Chmod(dir, 0o700)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}
