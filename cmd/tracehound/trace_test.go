package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/sim"
	"github.com/tracehound/tracehound/trace"
	"github.com/tracehound/tracehound/trace/report"
)

// TestTraceToFreezeRequest loads a small theft from a CSV export, tags an
// exchange's hot wallet, traces from the thief and checks the endpoints,
// amounts and the freeze requests written.
func TestTraceToFreezeRequest(t *testing.T) {
	a := func(n string) string { return fmt.Sprintf("0x%040s", n) }
	h := func(n int) string { return fmt.Sprintf("0x%064x", n) }
	// The thief (7) receives 1,000 from the victim, sends 600 to a and 400
	// to b. a pays 600 into deposit address d1, which sweeps it to the
	// exchange's hot wallet; b pays 150 into d2 (swept likewise) and 250
	// into a mixer.
	pays := [][3]string{
		{"71c7", "7", "1000"}, {"7", "a", "600"}, {"7", "b", "400"}, {"a", "d1", "600"},
		{"b", "d2", "150"}, {"b", "f", "250"}, {"d1", "407", "600"}, {"d2", "407", "150"},
	}
	txs := "hash,nonce,block_hash,block_number,transaction_index,from_address,to_address,value,gas,gas_price,input,block_timestamp,receipt_gas_used,receipt_status\n"
	for i, p := range pays {
		txs += fmt.Sprintf("%s,%d,%s,%d,0,%s,%s,%s,21000,1,0x,%d,21000,1\n", h(i+1), i, h(100+i), 20_000_000+i, a(p[0]), a(p[1]), p[2], 1_740_000_000+60*i)
	}
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "transactions.csv")
	must(t, os.WriteFile(csvPath, []byte(txs), 0o644))
	pack := servicesPack(t, dir, a)
	data := filepath.Join(dir, "store")
	if _, err := run(t, "--data", data, "ingest", "csv", csvPath, "--no-progress"); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, "--data", data, "tags", "import", pack); err != nil {
		t.Fatal(err)
	}
	freeze := filepath.Join(dir, "freeze")
	out, err := run(t, "--data", data, "trace", "eth", a("7"), "--json", "--freeze", freeze, "--case", "CASE-2025-001")
	if err != nil {
		t.Fatal(err)
	}
	var res trace.Result
	must(t, json.Unmarshal([]byte(out), &res))
	// The trace's laundering addresses published as intelligence.
	traceJSON := filepath.Join(dir, "trace.json")
	must(t, os.WriteFile(traceJSON, []byte(out), 0o644))
	if _, err := run(t, "--data", data, "intel", "collection", "add", "case"); err != nil {
		t.Fatal(err)
	}
	pub, err := run(t, "--data", data, "intel", "publish", traceJSON, "--from", "trace", "--collection", "case", "--name", "case 1", "--creator", "Agency", "--tlp", "green")
	if err != nil || !strings.Contains(pub, "3 addresses") {
		t.Errorf("publish a trace: %v %s", err, pub)
	}
	var got []string
	for _, e := range res.Endpoints {
		got = append(got, fmt.Sprintf("%s %s %s %s", e.Address[38:], e.Label.Entity, e.Label.Heuristic, e.Amount))
	}
	want := []string{"00d1 Exchange One deposit-address 600", "000f Mixer  250", "00d2 Exchange One deposit-address 150"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("endpoints %q, want %q", got, want)
	}
	name := filepath.Join(freeze, "freeze-exchange-one-"+report.EntityID("Exchange One"))
	csvOut, err := os.ReadFile(name + ".csv")
	must(t, err)
	// Amounts in ETH, the exact wei beside them; the deposit addresses
	// identified by their sweeps.
	for _, s := range []string{"CASE-2025-001,Exchange One," + report.EntityID("Exchange One") + ",eth," + a("d1") + ",0.0000000000000006,ETH,600,,",
		a("d2") + ",0.00000000000000015,ETH,150,", "deposit-address," + h(4)} {
		if !strings.Contains(string(csvOut), s) {
			t.Errorf("freeze CSV lacks %q:\n%s", s, csvOut)
		}
	}
	html, err := os.ReadFile(name + ".html")
	must(t, err)
	// The evidence path to d1: thief -> a -> d1, with the transactions.
	for _, s := range []string{"CASE-2025-001", "Evidence for <code>" + a("d1"), h(2), h(4), "<b>haircut</b>"} {
		if !strings.Contains(string(html), s) {
			t.Errorf("freeze HTML lacks %q", s)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(freeze, "freeze-mixer*")); len(m) != 0 {
		t.Errorf("a freeze request was written for a mixer: %v", m)
	}

	out, err = run(t, "--data", data, "trace", "eth", a("7"), "--no-cluster", "--model", "poison")
	if err != nil || !strings.Contains(out, "Mixer") || strings.Contains(out, "deposit-address") {
		t.Errorf("without clustering: %v\n%s", err, out)
	}
	// Backwards from the exchange's deposit address d2: all 150 came from
	// the victim's theft through the thief and b.
	out, err = run(t, "--data", data, "trace", "eth", a("d2"), "--backward")
	if err != nil || !strings.Contains(out, a("71c7")) || !strings.Contains(out, "150") || !strings.Contains(out, "(0 base units) unattributed") {
		t.Errorf("backward: %v\n%s", err, out)
	}
	if _, err := run(t, "--data", data, "trace", "eth", a("7"), "--model", "lifo"); err == nil {
		t.Error("unknown model accepted")
	}
	// Narrowed seeds: part of what the thief received, and one recipient
	// of a transaction, at a start time.
	for spec, want := range map[string]string{
		a("7") + "=300": "300",
		h(2) + ":" + a("a") + "@2025-02-19T21:21:00Z": "600",
		h(2) + ":" + a("a") + "=50":                   "50",
	} {
		out, err := run(t, "--data", data, "trace", "eth", spec, "--json")
		if err != nil {
			t.Errorf("seed %s: %v", spec, err)
			continue
		}
		var r trace.Result
		must(t, json.Unmarshal([]byte(out), &r))
		if r.Tainted.String() != want || r.Check() != nil {
			t.Errorf("seed %s: %s entered, want %s (%v)", spec, r.Tainted, want, r.Check())
		}
	}
	for _, spec := range []string{a("7") + ":3", h(2) + ":3", a("7") + "=0", a("7") + "=-5", a("7") + "@yesterday", h(2) + ":" + a("b")} {
		if _, err := run(t, "--data", data, "trace", "eth", spec); err == nil {
			t.Errorf("seed %s accepted", spec)
		}
	}

	// The same trace over HTTP: a trace key may trace, a screening key may not.
	traceKey, err := run(t, "--data", data, "keys", "create", "investigator", "--role", "trace")
	must(t, err)
	screenKey, err := run(t, "--data", data, "keys", "create", "exchange", "--role", "screen")
	must(t, err)
	otherKey, err := run(t, "--data", data, "keys", "create", "other", "--role", "trace")
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr bytes.Buffer
	app := &app{dataDir: data, stdout: &stdout, stderr: &stderr, log: slog.New(slog.DiscardHandler)}
	addrCh := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- app.serve(ctx, serveOptions{addr: "127.0.0.1:0"}, func(addr string) { addrCh <- addr })
	}()
	var base string
	select {
	case base = <-addrCh:
	case err := <-done:
		t.Fatal(err)
	}
	post := func(key, body string) (int, string) {
		req, _ := http.NewRequest("POST", "http://"+base+"/v1/traces", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(key))
		resp, err := http.DefaultClient.Do(req)
		must(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := post(traceKey, `{"chain":"eth","seeds":["`+a("7")+`"],"model":"haircut"}`)
	if code != 200 || !strings.Contains(body, `"heuristic":"deposit-address"`) || !strings.Contains(body, `"amount":"600"`) {
		t.Errorf("trace over HTTP: %d %s", code, body)
	}
	// The trace's freeze requests, by its id: JSON, then one exchange's
	// CSV to send; another key's role and an unknown id are refused.
	var traced trace.Result
	must(t, json.Unmarshal([]byte(body), &traced))
	getAs := func(key, path string) (int, string) {
		req, _ := http.NewRequest("GET", "http://"+base+path, nil)
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(key))
		resp, err := http.DefaultClient.Do(req)
		must(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	entity := report.EntityID("Exchange One")
	if code, body := getAs(traceKey, "/v1/traces/"+traced.ID+"/freeze?case=CASE-9"); code != 200 || !strings.Contains(body, `"exchange":"Exchange One"`) ||
		!strings.Contains(body, `"case":"CASE-9"`) || !strings.Contains(body, `"entity_id":"`+entity+`"`) || !strings.Contains(body, a("d1")) {
		t.Errorf("freeze requests over HTTP: %d %s", code, body)
	}
	if code, body := getAs(traceKey, "/v1/traces/"+traced.ID+"/freeze?format=csv&exchange="+entity); code != 200 || !strings.Contains(body, a("d1")+",0.0000000000000006,ETH,600,") {
		t.Errorf("freeze CSV over HTTP: %d %s", code, body)
	}
	if code, _ := getAs(traceKey, "/v1/traces/0123/freeze"); code != 404 {
		t.Errorf("an unknown trace's freeze requests: %d", code)
	}
	if code, _ := getAs(screenKey, "/v1/traces/"+traced.ID+"/freeze"); code != 403 {
		t.Errorf("a screening key read freeze requests: %d", code)
	}
	if code, _ := post(screenKey, `{"chain":"eth","seeds":["`+a("7")+`"]}`); code != 403 {
		t.Errorf("screening key traced: %d", code)
	}
	if code, body := post(traceKey, `{"chain":"eth","seeds":["0x123"]}`); code != 400 || !strings.Contains(body, "seed") {
		t.Errorf("bad seed: %d %s", code, body)
	}
	// The same trace as a job: 202 at once, then the result by its id,
	// to the key that started it only.
	req, _ := http.NewRequest("POST", "http://"+base+"/v1/traces?async=true", strings.NewReader(`{"chain":"eth","seeds":["`+a("7")+`"]}`))
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(traceKey))
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	var started struct{ ID, State string }
	json.NewDecoder(resp.Body).Decode(&started)
	resp.Body.Close()
	if resp.StatusCode != 202 || started.ID == "" {
		t.Fatalf("async trace: %d %+v", resp.StatusCode, started)
	}
	get := func(key string) (int, string) {
		req, _ := http.NewRequest("GET", "http://"+base+"/v1/traces/jobs/"+started.ID, nil)
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(key))
		resp, err := http.DefaultClient.Do(req)
		must(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for i := 0; ; i++ {
		code, body := get(traceKey)
		if code == 200 && strings.Contains(body, `"state":"done"`) {
			if !strings.Contains(body, `"heuristic":"deposit-address"`) {
				t.Errorf("job result: %s", body)
			}
			break
		}
		if code != 200 || i > 100 {
			t.Fatalf("job: %d %s", code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, _ := get(otherKey); code != 404 {
		t.Errorf("another key read the job: %d", code)
	}
	cancel()
	<-done
	out, err = run(t, "--data", data, "intel", "audit", "verify")
	if err != nil || !strings.Contains(out, "intact") {
		t.Errorf("audit verify: %v %s", err, out)
	}
	// Two API traces ran; the malformed request was refused before it
	// was a trace, and the refused key never reached the tracer.
	out, _ = run(t, "--data", data, "intel", "audit", "show")
	if strings.Count(out, "investigator\ttrace.run") != 2 {
		t.Errorf("audit show: %s", out)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestTraceThroughSwap simulates a laundering scenario, traces it from
// the theft and checks that the funds swapped on the DEX are followed
// into the token, to the deposit addresses the simulator deposited them
// at, and that the freeze requests carry the token amounts with their
// evidence path through the swap.
func TestTraceThroughSwap(t *testing.T) {
	dir := t.TempDir()
	data, truthPath := filepath.Join(dir, "store"), filepath.Join(dir, "truth.json")
	if _, err := run(t, "--data", data, "simulate", "--background", "20000", "--truth", truthPath, "--no-progress"); err != nil {
		t.Fatal(err)
	}
	var truth sim.Truth
	b, err := os.ReadFile(truthPath)
	must(t, err)
	must(t, json.Unmarshal(b, &truth))
	freeze := filepath.Join(dir, "freeze")
	out, err := run(t, "--data", data, "trace", "eth", truth.TheftTx, "--hops", "30", "--json", "--freeze", freeze)
	if err != nil {
		t.Fatal(err)
	}
	var res trace.Result
	must(t, json.Unmarshal([]byte(out), &res))
	if err := res.Check(); err != nil {
		t.Fatal(err)
	}
	tok := truth.Services.Token
	tokens := map[string]string{}
	for _, e := range res.Endpoints {
		if e.Asset == tok && e.Label.Category == "exchange" {
			tokens[e.Address] = e.Amount.String()
		}
	}
	want := 0
	for addr, d := range truth.Deposits {
		if d.Tokens.IsZero() {
			continue
		}
		want++
		if tokens[addr] != d.Tokens.String() {
			t.Errorf("deposit %s: %q tokens traced, the simulator deposited %s", addr, tokens[addr], d.Tokens)
		}
	}
	if want == 0 || len(tokens) != want {
		t.Fatalf("%d token endpoints at exchanges, %d deposits of tokens", len(tokens), want)
	}
	if len(res.Swaps) == 0 || res.Swaps[0].Venue != truth.Services.Pool {
		t.Fatalf("swaps: %+v", res.Swaps)
	}
	// The freeze requests list the token deposits, and their evidence
	// paths go through the swap back to the theft.
	files, err := filepath.Glob(filepath.Join(freeze, "*.csv"))
	must(t, err)
	var all, html string
	for _, f := range files {
		b, err := os.ReadFile(f)
		must(t, err)
		all += string(b)
		h, err := os.ReadFile(strings.TrimSuffix(f, ".csv") + ".html")
		must(t, err)
		html += string(h)
	}
	for addr, amt := range tokens {
		found := false
		for _, line := range strings.Split(all, "\n") {
			// address, amount, unit, base units, asset: a token the node
			// has no decimals for is in base units of its contract.
			found = found || strings.Contains(line, ","+addr+",,base units (decimals unknown),"+amt+","+string(tok)+",")
		}
		if !found {
			t.Errorf("freeze CSVs lack %s's %s tokens:\n%s", addr, amt, all)
		}
	}
	if !strings.Contains(html, "(swap)") || !strings.Contains(html, truth.TheftTx) {
		t.Error("no evidence path in the freeze requests goes through the swap back to the theft")
	}
	// --no-swaps ends the trace at the pool.
	out, err = run(t, "--data", data, "trace", "eth", truth.TheftTx, "--hops", "30", "--json", "--no-swaps")
	must(t, err)
	var stop trace.Result
	must(t, json.Unmarshal([]byte(out), &stop))
	for _, e := range stop.Endpoints {
		if e.Asset != "" {
			t.Fatalf("--no-swaps reached %s in %s", e.Address, e.Asset)
		}
	}
}
