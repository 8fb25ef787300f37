package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tracehound/tracehound/alert"
)

// runAll executes the command line in-process and returns its output
// and its error output.
func runAll(t testing.TB, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRootCmd(&out, &errOut)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

// TestTransfersRegister registers a file of deposits against a store
// that ingested their chain: an agreeing one, one whose amount
// disagrees, one for a transaction the graph lacks, one from a sanctioned
// address and a row that does not read, reported with its line while the
// others go in. A second run prints the stored decisions; show prints one.
func TestTransfersRegister(t *testing.T) {
	d := sharedData(t)
	a, first, _, _ := watchFixture(t)
	data := filepath.Join(t.TempDir(), "store")
	for _, args := range [][]string{{"ingest", "csv", first, "--no-progress"}, {"sanctions", "import", filepath.Join(d, "ofac", "sdn-2024-05-03.csv")}} {
		if _, err := run(t, append([]string{"--data", data}, args...)...); err != nil {
			t.Fatal(err)
		}
	}
	h := func(n int) string { return fmt.Sprintf("0x%064x", n) }
	file := filepath.Join(t.TempDir(), "deposits.csv")
	must(t, os.WriteFile(file, []byte(strings.Join([]string{
		"direction,amount,address,tx,chain,customer,id,index,asset",
		"deposit,600," + a("7") + "," + h(2) + ",eth,C-7,T-1,,",
		"deposit,599," + a("7") + "," + h(2) + ",eth,C-7,T-2,,ETH",
		"deposit,70," + a("7") + "," + h(99) + ",eth,C-7,T-3,,",
		"sideways,1," + a("7") + "," + h(2) + ",eth,C-7,T-4,,",
		"deposit,5,0x098B716B8Aaf21512996dC57EB0615e2383E2f96," + h(98) + ",eth,C-9,T-5,,",
	}, "\n")+"\n"), 0o644))
	out, errOut, err := runAll(t, "--data", data, "transfers", "register", file)
	if err == nil || !strings.Contains(err.Error(), "1 of 5 transfers not registered") {
		t.Errorf("register: %v", err)
	}
	if !strings.Contains(errOut, "deposits.csv:5: transfer T-4: direction \"sideways\"") {
		t.Errorf("the bad row is not reported with its line: %s", errOut)
	}
	for _, want := range []string{
		"T-1  C-7       deposit    accept  low     agrees",
		"T-2  C-7       deposit    review  low     disagrees",
		"amount_disagrees",
		"T-3  C-7       deposit    review  low     unknown_tx",
		"T-5  C-9       deposit    block   severe  unknown_tx   al-",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out, _, _ = runAll(t, "--data", data, "transfers", "register", file)
	if strings.Count(out, "registered before") != 4 {
		t.Errorf("second run:\n%s", out)
	}
	out, err = run(t, "--data", data, "transfers", "show", "T-2")
	if err != nil || !strings.Contains(out, "amount: registered 599 base units; the chain's transfer moved 600") || !strings.Contains(out, "disagrees") {
		t.Errorf("show: %v\n%s", err, out)
	}
	if _, err := run(t, "--data", data, "transfers", "show", "T-404"); err == nil {
		t.Error("showed an unknown transfer")
	}
	// A file without a required column registers nothing.
	bad := filepath.Join(t.TempDir(), "bad.csv")
	must(t, os.WriteFile(bad, []byte("id,chain,tx\nT-9,eth,"+h(2)+"\n"), 0o644))
	if _, err := run(t, "--data", data, "transfers", "register", bad); err == nil || !strings.Contains(err.Error(), `bad.csv:1: no "`) {
		t.Errorf("missing columns: %v", err)
	}
}

// TestTransfersRegisterServer registers through a running node's API and
// reads a transfer back through it.
func TestTransfersRegisterServer(t *testing.T) {
	d := sharedData(t)
	n := newNode(t, "exchange")
	n.cli(t, "sanctions", "import", filepath.Join(d, "ofac", "sdn-2024-05-03.csv"))
	key := n.key(t, "compliance", "screen")
	ctx, cancel := context.WithCancel(context.Background())
	n.start(ctx, t)
	defer func() { cancel(); <-n.done }()
	file := filepath.Join(t.TempDir(), "t.csv")
	must(t, os.WriteFile(file, []byte("id,customer,chain,tx,counterparty,amount,direction,time\nW-1,C-1,eth,0x"+strings.Repeat("ab", 32)+
		",0x098B716B8Aaf21512996dC57EB0615e2383E2f96,10,withdrawal,2025-03-01T10:00:00Z\n"), 0o644))
	t.Setenv("TRACEHOUND_API_KEY", key)
	out, err := run(t, "--data", n.data, "transfers", "register", file, "--server", n.url, "--json")
	var tr alert.Transfer
	if err != nil || json.Unmarshal([]byte(out), &tr) != nil || tr.Decision.Action != alert.Block || tr.Check.Status != alert.CheckNotIngested || tr.RegisteredBy != "compliance" {
		t.Fatalf("register via the server: %v %s", err, out)
	}
	out, err = run(t, "--data", n.data, "transfers", "show", "W-1", "--server", n.url)
	if err != nil || !strings.Contains(out, "block (risk severe)") || !strings.Contains(out, "LAZARUS GROUP") {
		t.Errorf("show via the server: %v\n%s", err, out)
	}
	if _, err := run(t, "--data", n.data, "transfers", "show", "W-2", "--server", n.url); err == nil {
		t.Error("showed an unknown transfer")
	}
}

// TestDetectScore scores the training file with the embedded model: one
// score a row, in [0, 1], and the model reproduces its labels.
func TestDetectScore(t *testing.T) {
	d := sharedData(t)
	train := filepath.Join(d, "detection", "eth-fraud", "train.csv")
	out, err := run(t, "--data", t.TempDir(), "detect", "score", "--features", train)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if lines[0] != "address,score" {
		t.Fatalf("header %q", lines[0])
	}
	f, err := os.Open(train)
	must(t, err)
	defer f.Close()
	r := csv.NewReader(f)
	rows, err := r.ReadAll()
	must(t, err)
	flag := -1
	for i, h := range rows[0] {
		if strings.TrimSpace(h) == "FLAG" {
			flag = i
		}
	}
	if len(lines)-1 != len(rows)-1 || flag < 0 {
		t.Fatalf("%d scores for %d rows", len(lines)-1, len(rows)-1)
	}
	agree := 0
	for i, l := range lines[1:] {
		_, s, _ := strings.Cut(l, ",")
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || v < 0 || v > 1 {
			t.Fatalf("line %d: %q", i+2, l)
		}
		if (v >= 0.5) == (strings.TrimSpace(rows[i+1][flag]) == "1") {
			agree++
		}
	}
	if acc := float64(agree) / float64(len(lines)-1); acc < 0.97 {
		t.Errorf("the model agrees with the training labels on %.3f of rows", acc)
	}
	// A row that does not read: nothing is written, the line is named.
	bad := filepath.Join(t.TempDir(), "bad.csv")
	row := append([]string(nil), rows[1]...)
	row[len(row)-5] = "many"
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	must(t, w.WriteAll([][]string{rows[0], rows[2], row}))
	must(t, os.WriteFile(bad, b.Bytes(), 0o644))
	if out, err := run(t, "--data", t.TempDir(), "detect", "score", "--features", bad); err == nil || out != "" || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("a bad file: %v %q", err, out)
	}
	header := filepath.Join(t.TempDir(), "header.csv")
	must(t, os.WriteFile(header, []byte("Address,Sent tnx\n0xabc,1\n"), 0o644))
	if _, err := run(t, "--data", t.TempDir(), "detect", "score", "--features", header); err == nil || !strings.Contains(err.Error(), "which the model needs") {
		t.Errorf("a file without the model's columns: %v", err)
	}
	if _, err := run(t, "--data", t.TempDir(), "detect", "score"); err == nil {
		t.Error("score without input")
	}
}

// TestDetectRun ingests a fan-out (one address paying twelve others
// like amounts within minutes) and finds it with the on-demand scan,
// printed and as JSON, then raises it into the inbox once.
func TestDetectRun(t *testing.T) {
	a := func(n string) string { return fmt.Sprintf("0x%040s", n) }
	h := func(n int) string { return fmt.Sprintf("0x%064x", n) }
	txs := "hash,nonce,block_hash,block_number,transaction_index,from_address,to_address,value,gas,gas_price,input,block_timestamp,receipt_gas_used,receipt_status\n"
	for i := range 12 {
		txs += fmt.Sprintf("%s,%d,%s,%d,0,%s,%s,%d,21000,1,0x,%d,21000,1\n", h(i+1), i, h(100+i), 20_000_000+i, a("f00"), a(fmt.Sprintf("b%02d", i)), 1_000_000_000_000_000_000+i, 1_740_000_000+60*i)
	}
	file := filepath.Join(t.TempDir(), "fan.csv")
	must(t, os.WriteFile(file, []byte(txs), 0o644))
	data := filepath.Join(t.TempDir(), "store")
	if _, err := run(t, "--data", data, "ingest", "csv", file, "--no-progress"); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, "--data", data, "detect", "run", "--chain", "eth")
	if err != nil || !strings.Contains(out, "rule medium fan-out") && !strings.Contains(out, "rule high fan-out") || !strings.Contains(out, "addresses: "+a("f00")) {
		t.Fatalf("detect run: %v\n%s", err, out)
	}
	out, err = run(t, "--data", data, "detect", "run", "--chain", "eth", "--json", "--since", "2025-02-19")
	if err != nil {
		t.Fatal(err)
	}
	var al alert.Alert
	if err := json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &al); err != nil || al.Typology != "fan-out" || len(al.Txs) < 10 || al.Score < 0.5 ||
		al.Explanation == "" || al.Addresses[0] != a("f00") || al.Model == nil {
		t.Errorf("json: %v %s", err, out)
	}
	if out, err := run(t, "--data", data, "detect", "run", "--chain", "eth", "--since", "2030-01-01"); err != nil || !strings.Contains(out, "0 findings") {
		t.Errorf("a window after the blocks: %v %s", err, out)
	}
	for range 2 {
		if _, err := run(t, "--data", data, "detect", "run", "--chain", "eth", "--raise"); err != nil {
			t.Fatal(err)
		}
	}
	audit, err := run(t, "--data", data, "intel", "audit", "show")
	if err != nil || strings.Count(audit, "alert.raise") != 1 {
		t.Errorf("raised twice, audited: %v\n%s", err, audit)
	}
	if _, err := run(t, "--data", data, "detect", "run", "--chain", "doge"); err == nil {
		t.Error("scanned dogecoin")
	}
}
