package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tracehound/tracehound/watch"
)

// TestWatchAlertsOnNewEndpoints saves a trace as a watch, ingests more
// blocks with --watch and checks that the funds' arrival at a second
// deposit address and at a mixer raise alerts: printed, audited and
// posted to the webhook.
func TestWatchAlertsOnNewEndpoints(t *testing.T) {
	a, first, second, pack := watchFixture(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "store")
	for _, args := range [][]string{{"ingest", "csv", first, "--no-progress"}, {"tags", "import", pack}} {
		if _, err := run(t, append([]string{"--data", data}, args...)...); err != nil {
			t.Fatal(err)
		}
	}
	out, err := run(t, "--data", data, "watch", "add", "bybit-like", "eth", a("7"))
	if err != nil || !strings.Contains(out, "1 endpoints now") || !strings.Contains(out, a("d1")) {
		t.Fatalf("watch add: %v\n%s", err, out)
	}

	// The same watch without clustering keeps that option on every check.
	if _, err := run(t, "--data", data, "watch", "add", "plain", "eth", a("7"), "--no-cluster", "--no-swaps"); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var posted []watch.Alert
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var al watch.Alert
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &al); err == nil {
			mu.Lock()
			posted = append(posted, al)
			mu.Unlock()
		}
	}))
	defer hook.Close()
	out, err = run(t, "--data", data, "ingest", "csv", second, "--no-progress", "--watch", "--alert-webhook", hook.URL)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ALERT bybit-like: Mixer mixer at " + a("f") + " now holds 250 (was 0)", "ALERT bybit-like: Exchange One exchange (deposit-address) at " + a("d2") + " now holds 150 (was 0)"} {
		if !strings.Contains(out, want) {
			t.Errorf("ingest output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, a("d1")+" now holds") {
		t.Errorf("an unchanged endpoint alerted again:\n%s", out)
	}
	if !strings.Contains(out, "ALERT plain: Mixer mixer at "+a("f")) || strings.Contains(out, "ALERT plain: Exchange One exchange (deposit-address)") {
		t.Errorf("the watch without clustering alerted as one with it:\n%s", out)
	}
	mu.Lock()
	if len(posted) < 3 {
		t.Errorf("webhook got %d alerts", len(posted))
	}
	mu.Unlock()
	out, _ = run(t, "--data", data, "intel", "audit", "show")
	if strings.Count(out, "watch:bybit-like\twatch.alert") != 2 || strings.Count(out, "watch:plain\twatch.alert") != 2 {
		t.Errorf("audit:\n%s", out)
	}
	out, err = run(t, "--data", data, "watch", "list")
	if err != nil || !strings.Contains(out, "bybit-like") {
		t.Errorf("watch list: %v %s", err, out)
	}
	// Checked again with nothing new: no alert.
	out, err = run(t, "--data", data, "watch", "check")
	if err != nil || strings.Contains(out, "ALERT") {
		t.Errorf("watch check: %v %s", err, out)
	}
	if _, err := run(t, "--data", data, "watch", "rm", "bybit-like"); err != nil {
		t.Error(err)
	}
	if _, err := run(t, "--data", data, "watch", "rm", "bybit-like"); err == nil {
		t.Error("removed twice")
	}
}

// watchFixture writes a theft as two blockchain-etl exports and a tag
// pack: the first part takes the funds to a deposit address at Exchange
// One; the second to another deposit address there and to a mixer. a
// names the fixture's addresses.
func watchFixture(t *testing.T) (a func(string) string, first, second, pack string) {
	t.Helper()
	a = func(n string) string { return fmt.Sprintf("0x%040s", n) }
	h := func(n int) string { return fmt.Sprintf("0x%064x", n) }
	pays := [][3]string{
		{"71c7", "7", "1000"}, {"7", "a", "600"}, {"7", "b", "400"}, {"a", "d1", "600"}, {"d1", "407", "600"},
		{"b", "d2", "150"}, {"d2", "407", "150"}, {"b", "f", "250"},
	}
	dir := t.TempDir()
	export := func(name string, from, to int) string {
		txs := "hash,nonce,block_hash,block_number,transaction_index,from_address,to_address,value,gas,gas_price,input,block_timestamp,receipt_gas_used,receipt_status\n"
		for i := from; i < to; i++ {
			p := pays[i]
			txs += fmt.Sprintf("%s,%d,%s,%d,0,%s,%s,%s,21000,1,0x,%d,21000,1\n", h(i+1), i, h(100+i), 20_000_000+i, a(p[0]), a(p[1]), p[2], 1_740_000_000+60*i)
		}
		path := filepath.Join(dir, name)
		must(t, os.WriteFile(path, []byte(txs), 0o644))
		return path
	}
	first, second = export("part1.csv", 0, 5), export("part2.csv", 5, len(pays))
	return a, first, second, servicesPack(t, dir, a)
}

// servicesPack writes a tag pack naming a("407") Exchange One and a("f")
// a mixer, and returns its path.
func servicesPack(t *testing.T, dir string, a func(string) string) string {
	t.Helper()
	pack := filepath.Join(dir, "services.yaml")
	must(t, os.WriteFile(pack, []byte(`title: Services
creator: test
lastmod: 2025-01-01
confidence: service_data
currency: ETH
tags:
- address: `+a("407")+`
  label: Exchange One
  category: exchange
- address: `+a("f")+`
  label: Mixer
  category: mixer
`), 0o644))
	return pack
}
