package sanctions_test

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/chain/chaintest"
	"github.com/tracehound/tracehound/sanctions"
)

// dataDir is the shared data set beside the repository.
func dataDir(t testing.TB) string {
	t.Helper()
	dir := chaintest.SharedData(t)
	chaintest.SharedData(t, "ofac")
	return dir
}

func parse(t testing.TB, name string, o sanctions.ParseOptions) *sanctions.List {
	t.Helper()
	l, err := sanctions.ParseFile(context.Background(), filepath.Join(dataDir(t), "ofac", name), o)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestAdvancedXMLMatchesLists checks the parser against OFAC's own
// per-asset address lists of the same day.
func TestAdvancedXMLMatchesLists(t *testing.T) {
	l := parse(t, "sdn_advanced-2025-11-19.xml.bz2", sanctions.ParseOptions{})
	if !l.Date.Equal(time.Date(2025, 11, 19, 0, 0, 0, 0, time.UTC)) || l.Format != "sdn-advanced-xml" {
		t.Fatalf("date %s format %s", l.Date, l.Format)
	}
	got := map[string][]string{}
	for _, e := range l.Entries {
		got[e.Asset] = append(got[e.Asset], e.Address)
	}
	files, err := filepath.Glob(filepath.Join(dataDir(t), "ofac", "lists-2025-11-19", "sanctioned_addresses_*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no lists: %v", err)
	}
	want := map[string][]string{}
	for _, f := range files {
		asset := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "sanctioned_addresses_"), ".txt")
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			if s := strings.TrimSpace(sc.Text()); s != "" {
				want[asset] = append(want[asset], s)
			}
		}
		fh.Close()
	}
	for asset := range want {
		g, w := slices.Clone(got[asset]), slices.Clone(want[asset])
		slices.Sort(g)
		slices.Sort(w)
		g, w = slices.Compact(g), slices.Compact(w)
		if !slices.Equal(g, w) {
			t.Errorf("%s: parsed %d addresses, list has %d", asset, len(g), len(w))
		}
	}
	for asset := range got {
		if _, ok := want[asset]; !ok {
			t.Errorf("asset %s parsed but not in the lists", asset)
		}
	}
	var lazarus *sanctions.Entry
	for i, e := range l.Entries {
		if e.Address == "0x098B716B8Aaf21512996dC57EB0615e2383E2f96" {
			lazarus = &l.Entries[i]
		}
	}
	if lazarus == nil || lazarus.Party.Name != "LAZARUS GROUP" || lazarus.Party.FixedRef != "27307" ||
		!slices.Equal(lazarus.Party.Programs, []string{"DPRK3"}) || lazarus.Asset != "ETH" || lazarus.FeatureID != "50215" {
		t.Errorf("Lazarus entry: %+v", lazarus)
	}
}

func TestLegacyCSV(t *testing.T) {
	dir := dataDir(t)
	l := parse(t, "sdn-2024-05-03.csv", sanctions.ParseOptions{Comments: filepath.Join(dir, "ofac", "sdn_comments-watchman-testdata.csv")})
	if !l.Date.Equal(time.Date(2024, 5, 3, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("date %s", l.Date)
	}
	byAddr := map[string]sanctions.Entry{}
	for _, e := range l.Entries {
		byAddr[e.Address] = e
	}
	e, ok := byAddr["12QtD5BFwRsdNsAZY76UVE1xyCGNTojH9h"]
	if !ok || e.Asset != "XBT" || e.Party.FixedRef != "25308" || e.Party.Name != "YAN, Xiaobing" || !slices.Equal(e.Party.Programs, []string{"SDNTK"}) {
		t.Errorf("YAN Xiaobing: %+v", e)
	}
	// An address cut in SDN.CSV and continued in SDN_COMMENTS.CSV.
	if e, ok := byAddr["0x8576acc5c05d6ce88f4e49bf65bdf0c62f91353c"]; !ok || e.Asset != "ETH" || e.Party.FixedRef != "29703" {
		t.Errorf("continued remark: %+v %v", e, ok)
	}
	without := parse(t, "sdn-2024-05-03.csv", sanctions.ParseOptions{})
	if len(without.Entries) >= len(l.Entries) {
		t.Errorf("comments added nothing: %d vs %d", len(l.Entries), len(without.Entries))
	}
}
