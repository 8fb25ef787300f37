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
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/tracehound/tracehound/node"
	"github.com/tracehound/tracehound/nodetest"
)

// pay sends wei from the dev account and waits for the receipt.
func pay(t *testing.T, g *nodetest.Geth, to common.Address, wei int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h, err := g.Pay(ctx, to, big.NewInt(wei))
	if err == nil {
		_, err = g.Mined(ctx, h)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func freshAddress(t *testing.T) common.Address {
	t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return crypto.PubkeyToAddress(k.PublicKey)
}

// received reads the native amount `address eth ADDR --json` reports.
func received(t *testing.T, data string, a common.Address) string {
	t.Helper()
	out, err := run(t, "--data", data, "address", "eth", a.Hex(), "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rep node.AddressReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Totals == nil {
		return "0"
	}
	for _, as := range rep.Totals.Assets {
		if as.Asset == "" {
			return as.Received.String()
		}
	}
	return "0"
}

// TestIngestEthFollow ingests a geth --dev chain through the command
// line, follows new blocks (watching the lag in the Prometheus metrics),
// and reports the node's death as an error once the retries are spent.
func TestIngestEthFollow(t *testing.T) {
	g := nodetest.StartGeth(t, nodetest.GethOptions{})
	ctx := context.Background()
	a, b := freshAddress(t), freshAddress(t)
	pay(t, g, a, 1_000_000_007)
	pay(t, g, b, 5)
	pay(t, g, a, 3)
	head, err := g.Client.BlockNumber(ctx)
	if err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	out, err := run(t, "--data", data, "ingest", "eth", "--rpc", g.URL, "--to", strconv.FormatUint(head, 10), "--no-progress")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, fmt.Sprintf("tip %d", head)) || !strings.Contains(out, "waited on RPC") {
		t.Errorf("summary: %s", out)
	}
	for _, c := range []struct {
		addr common.Address
		want string
	}{{a, "1000000010"}, {b, "5"}} {
		bal, _ := g.Client.BalanceAt(ctx, c.addr, nil)
		if got := received(t, data, c.addr); got != c.want || bal.String() != c.want {
			t.Errorf("%s: address says %s, node %s, want %s", c.addr.Hex(), got, bal, c.want)
		}
	}

	// Follow: a new payment shows up, then the node dies.
	port, err := nodetest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	metrics := "127.0.0.1:" + strconv.Itoa(port)
	var stdout, stderr bytes.Buffer
	root := newRootCmd(&stdout, &stderr)
	root.SetArgs([]string{"--data", data, "ingest", "eth", "--rpc", g.URL, "--follow", "--poll", "50ms", "--retries", "2", "--metrics-addr", metrics, "--no-progress"})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	pay(t, g, b, 11)
	want, _ := g.Client.BlockNumber(ctx)
	deadline := time.Now().Add(30 * time.Second)
	for {
		h, head := metric(metrics, "tracehound_ingest_height"), metric(metrics, "tracehound_ingest_head_height")
		if h >= float64(want) && head >= float64(want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("follow did not reach block %d: height %v head %v\n%s", want, h, head, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	g.Kill()
	select {
	case err = <-done:
	case <-time.After(time.Minute):
		t.Fatal("ingest kept running after the node died")
	}
	if err == nil || !strings.Contains(err.Error(), "gave up after 2 retries") {
		t.Errorf("node gone: %v", err)
	}
	if got := received(t, data, b); got != "16" {
		t.Errorf("after following, b received %s, want 16", got)
	}
}

// metric reads one unlabelled-by-value gauge from the metrics endpoint;
// -1 if absent.
func metric(addr, name string) float64 {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, name+"{") {
			f, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			if err == nil {
				return f
			}
		}
	}
	return -1
}
