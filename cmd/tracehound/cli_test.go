package main

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tracehound/tracehound/chain/chaintest"
)

func sharedData(t *testing.T) string {
	t.Helper()
	d := chaintest.SharedData(t)
	chaintest.SharedData(t, "ofac")
	return d
}

// run executes the command line in-process and returns its output.
func run(t testing.TB, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRootCmd(&out, &errOut)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

func TestSanctionsAddressesAsWritten(t *testing.T) {
	d := sharedData(t)
	out, err := run(t, "--data", t.TempDir(), "sanctions", "addresses", filepath.Join(d, "ofac", "sdn_advanced-2025-11-19.xml.bz2"), "--asset", "ETH")
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Fields(out)
	f, err := os.Open(filepath.Join(d, "ofac", "lists-2025-11-19", "sanctioned_addresses_ETH.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var want []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			want = append(want, s)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(slices.Compact(got), slices.Compact(want)) {
		t.Errorf("ETH: %d addresses printed, list has %d", len(got), len(want))
	}
}

func TestImportAndScreen(t *testing.T) {
	d := sharedData(t)
	data := t.TempDir()
	if _, err := run(t, "--data", data, "sanctions", "import", filepath.Join(d, "ofac", "sdn_advanced-2025-11-19.xml.bz2")); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, "--data", data, "screen", "--json", "--no-progress",
		"0x098B716B8Aaf21512996dC57EB0615e2383E2f96", "0x098b716B8Aaf21512996dC57EB0615e2383E2f96")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `"party":"LAZARUS GROUP"`) && !strings.Contains(out, `"party": "LAZARUS GROUP"`) {
		t.Errorf("no LAZARUS GROUP in %s", out)
	}
	if !strings.Contains(out, "checksum") {
		t.Errorf("bad checksum not reported: %s", out)
	}
	if _, err := run(t, "--data", data, "screen", "--no-progress", "--fail-on", "high", "0x098B716B8Aaf21512996dC57EB0615e2383E2f96"); err == nil {
		t.Error("--fail-on high passed a sanctioned address")
	}
	// The list shared as intelligence.
	if _, err := run(t, "--data", data, "intel", "collection", "add", "ofac"); err != nil {
		t.Fatal(err)
	}
	out, err = run(t, "--data", data, "intel", "publish", "--from", "sanctions", "--collection", "ofac", "--name", "OFAC SDN digital currency addresses", "--creator", "Agency", "--tlp", "clear")
	if err != nil || !strings.Contains(out, "745 addresses") && !strings.Contains(out, "761 addresses") || !strings.Contains(out, " 0 failed") {
		t.Errorf("publish sanctions: %v %s", err, out)
	}
}

// TestParseSize: --memory-limit reads sizes as operators write them and
// refuses the rest.
func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"1GiB": 1 << 30, "800MB": 800e6, "512 MiB": 512 << 20, "4096": 4096, "2KB": 2000, "10B": 10} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "1.5GiB", "-1GiB", "0", "GiB", "1TB", "99999999999GiB"} {
		if got, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", in, got)
		}
	}
}
