//go:build integration

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/tracehound/tracehound/nodetest"
	"github.com/tracehound/tracehound/watch"
)

// lockedBuffer collects a server's output while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// apiClient calls a server with a key.
type apiClient struct {
	t         *testing.T
	base, key string
}

func (c apiClient) do(method, path string, body any) (int, []byte) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		must(c.t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	must(c.t, err)
	req.Header.Set("Authorization", "Bearer "+c.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// gauge reads a gauge of the server's /metrics; -1 if absent.
func (c apiClient) gauge(name string) float64 {
	code, body := c.do("GET", "/metrics", nil)
	if code != http.StatusOK {
		return -1
	}
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, name+"{") {
			if f, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64); err == nil {
				return f
			}
		}
	}
	return -1
}

// TestServeFollowWatchAlert: a server follows geth; an investigator
// saves a watch on a victim's address through the API; a real
// transaction moves the victim's funds to an exchange, and the alert is
// in GET /v1/alerts within seconds. Stopping the server leaves a
// checkpoint the next ingest resumes from without gaps or duplicates.
func TestServeFollowWatchAlert(t *testing.T) {
	g := nodetest.StartGeth(t, nodetest.GethOptions{})
	victimKey, err := crypto.GenerateKey()
	must(t, err)
	victim, exchange := crypto.PubkeyToAddress(victimKey.PublicKey), freshAddress(t)
	ex := strings.ToLower(exchange.Hex())
	pay(t, g, victim, 1_000_000_000_000_000_000)

	data := t.TempDir()
	pack := filepath.Join(t.TempDir(), "exchanges.yaml")
	must(t, os.WriteFile(pack, []byte(`title: Exchanges
creator: test
lastmod: 2025-01-01
confidence: service_data
currency: ETH
tags:
- address: `+exchange.Hex()+`
  label: Exchange One
  category: exchange
`), 0o644))
	if out, err := run(t, "--data", data, "tags", "import", pack); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	secret, err := run(t, "--data", data, "keys", "create", "analyst", "--role", "trace,metrics")
	must(t, err)
	port, err := nodetest.FreePort()
	must(t, err)
	api := apiClient{t: t, base: "http://127.0.0.1:" + strconv.Itoa(port), key: strings.TrimSpace(secret)}

	var stdout, stderr lockedBuffer
	root := newRootCmd(&stdout, &stderr)
	root.SetArgs([]string{"--data", data, "serve", "--addr", strings.TrimPrefix(api.base, "http://"),
		"--follow-eth", g.URL, "--follow-poll", "50ms"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", stderr.String())
		}
	})

	// Caught up with the victim's funding before the watch is saved.
	funded, err := g.Client.BlockNumber(ctx)
	must(t, err)
	waitFor(t, "the server ingests the victim's funding", 30*time.Second, func() bool {
		return api.gauge("tracehound_ingest_height") >= float64(funded)
	})
	code, body := api.do("POST", "/v1/watches", map[string]any{"name": "theft", "chain": "eth", "seeds": []string{victim.Hex()}})
	if code != http.StatusCreated {
		t.Fatalf("create watch: %d %s", code, body)
	}
	before := time.Now().Add(-time.Second).UTC()

	tctx, tcancel := context.WithTimeout(ctx, time.Minute)
	defer tcancel()
	h, err := g.PayFrom(tctx, victimKey, exchange, big.NewInt(400_000_000_000_000_000))
	must(t, err)
	if _, err := g.Mined(tctx, h); err != nil {
		t.Fatal(err)
	}
	var alert watch.Alert
	took := waitFor(t, "the alert in GET /v1/alerts", 10*time.Second, func() bool {
		code, body := api.do("GET", "/v1/alerts?since="+url.QueryEscape(before.Format(time.RFC3339Nano)), nil)
		var page struct{ Alerts []watch.Alert }
		if code != http.StatusOK || json.Unmarshal(body, &page) != nil {
			return false
		}
		for _, al := range page.Alerts {
			if al.Address == ex {
				alert = al
				return true
			}
		}
		return false
	})
	t.Logf("alert %s after the transaction was mined", took.Round(time.Millisecond))
	if alert.Watch != "theft" || alert.Label.Entity != "Exchange One" || alert.Amount.String() != "400000000000000000" ||
		alert.Previous.String() != "0" || len(alert.Txs) != 1 || alert.Txs[0] != strings.ToLower(h.Hex()) {
		t.Errorf("alert: %+v", alert)
	}
	code, body = api.do("GET", "/v1/watches/theft", nil)
	var w struct {
		watch.Watch
		Alerts []watch.Alert
	}
	if code != http.StatusOK || json.Unmarshal(body, &w) != nil || len(w.Alerts) != 1 || w.Endpoints[ex].String() != "400000000000000000" {
		t.Errorf("watch: %d %s", code, body)
	}
	if head := api.gauge("tracehound_ingest_head_height"); head < float64(alert.Through) {
		t.Errorf("metrics: head %v, alert through block %d", head, alert.Through)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not stop")
	}
	if out := stdout.String(); !strings.Contains(out, "ALERT theft: Exchange One exchange at "+ex) {
		t.Errorf("server output lacks the alert:\n%s", out)
	}
	out, err := run(t, "--data", data, "intel", "audit", "show")
	if err != nil || !strings.Contains(out, "watch.create") || !strings.Contains(out, "watch.alert") {
		t.Errorf("audit: %v\n%s", err, out)
	}
	// The checkpoint holds: a later ingest resumes right after the blocks
	// the server stored, and every amount is counted once.
	stopped := alert.Through
	pay(t, g, freshAddress(t), 5)
	// The node may report its head a moment after the payment's block.
	var head uint64
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		h, err := g.Client.BlockNumber(context.Background())
		must(t, err)
		if head = h; head > stopped || time.Now().After(deadline) {
			break
		}
	}
	if out, err := run(t, "--data", data, "ingest", "eth", "--rpc", g.URL, "--to", strconv.FormatUint(head, 10), "--no-progress"); err != nil ||
		!strings.Contains(out, fmt.Sprintf(": %d blocks", head-stopped)) || !strings.Contains(out, fmt.Sprintf("tip %d", head)) {
		t.Errorf("ingest after the server stopped at block %d: %v\n%s", stopped, err, out)
	}
	if got := received(t, data, exchange); got != "400000000000000000" {
		t.Errorf("the exchange received %s", got)
	}
}
