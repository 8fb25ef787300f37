//go:build integration

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/trace"
)

// TestDemo runs the README's first command as a user would, on the real
// shared data, and uses what it prints: a sanctioned address screens as
// sanctioned, the simulated theft traces to exchange deposit addresses
// through the DEX swap, and Bitcoin block 170's payment traces.
func TestDemo(t *testing.T) {
	shared := sharedData(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr bytes.Buffer
	a := &app{dataDir: t.TempDir(), stdout: &stdout, stderr: &stderr, log: slog.New(slog.DiscardHandler)}
	type ready struct{ addr, key string }
	up := make(chan ready, 1)
	done := make(chan error, 1)
	go func() {
		done <- a.demo(ctx, demoOptions{shared: shared, serve: serveOptions{addr: "127.0.0.1:0"}}, func(addr, key string) { up <- ready{addr, key} })
	}()
	var r ready
	select {
	case r = <-up:
	case err := <-done:
		t.Fatalf("demo stopped: %v\n%s", err, stdout.String())
	case <-time.After(5 * time.Minute):
		t.Fatal("demo not serving after 5 minutes")
	}
	post := func(path, body string) []byte {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, "http://"+r.addr+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+r.key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %s %s", path, resp.Status, b)
		}
		return b
	}
	// Lazarus's address from the OFAC list.
	if b := post("/v1/screen", `{"addresses":["0x098B716B8Aaf21512996dC57EB0615e2383E2f96"]}`); !strings.Contains(string(b), `"sanctioned":true`) {
		t.Errorf("screen: %s", b)
	}
	out := stdout.String()
	i := strings.Index(out, `"chain":"eth","seeds":["`)
	if i < 0 {
		t.Fatalf("the demo printed no trace of the simulated theft:\n%s", out)
	}
	tx := out[i+len(`"chain":"eth","seeds":["`):]
	tx = tx[:strings.IndexByte(tx, '"')]
	var res trace.Result
	if err := json.Unmarshal(post("/v1/traces", `{"chain":"eth","seeds":["`+tx+`"],"hops":30}`), &res); err != nil {
		t.Fatal(err)
	}
	if err := res.Check(); err != nil {
		t.Fatal(err)
	}
	exchanges, tokens := 0, 0
	for _, e := range res.Endpoints {
		if e.Label.Category == "exchange" {
			exchanges++
			if e.Asset != "" {
				tokens++
			}
		}
	}
	if exchanges == 0 || tokens == 0 || len(res.Swaps) == 0 {
		t.Errorf("simulated theft: %d exchange endpoints, %d in the swapped token, %d swaps", exchanges, tokens, len(res.Swaps))
	}
	if b := post("/v1/traces", `{"chain":"btc","seeds":["f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"],"hops":3}`); !strings.Contains(string(b), "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3") {
		t.Errorf("block 170 trace lacks Hal Finney's address: %.300s", b)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("demo: %v", err)
	}
}
