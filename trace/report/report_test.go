package report_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/cluster"
	"github.com/tracehound/tracehound/store/pebble"
	"github.com/tracehound/tracehound/trace"
	"github.com/tracehound/tracehound/trace/report"
)

func addr(name string) string { return fmt.Sprintf("0x%040s", name) }
func txh(n int) string        { return fmt.Sprintf("0x%064x", n) }

type tags map[string]trace.Label

func (t tags) Label(_ context.Context, _ chain.Chain, a string) (trace.Label, bool, error) {
	l, ok := t[a]
	return l, ok, nil
}

const eth = "000000000000000000"

var t0 = time.Date(2025, 2, 21, 14, 0, 0, 0, time.UTC)

// theft stores a small theft and traces it. The thief (7) splits 20,000
// ETH: 10,000 to hop, which sends 2,500 to Huobi Global's hot wallet and
// keeps the rest; 6,000 to a, which pays deposit address d1 (swept to
// the hot wallet within the hour); 4,000 to b, which pays 1,500 into d2
// at HUOBI-global! (an exchange whose name folds to the same text) and
// 2,500 into d3 at 업비트.
func theft(t *testing.T) (*trace.Result, *cluster.Deposits) {
	t.Helper()
	ctx := context.Background()
	db, err := pebble.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	pays := []struct{ from, to, amount string }{
		{"71c7", "7", "20000" + eth},
		{"7", "hop", "10000" + eth}, {"7", "a", "6000" + eth}, {"7", "b", "4000" + eth},
		{"hop", "407", "2500" + eth},
		{"a", "d1", "6000" + eth}, {"b", "d2", "1500" + eth}, {"b", "d3", "2500" + eth},
		{"d1", "407", "6000" + eth}, {"d2", "408", "1500" + eth}, {"d3", "409", "2500" + eth},
		{"407", "w1", "1" + eth}, {"407", "w2", "1" + eth},
	}
	var blocks []*chain.Block
	for i, p := range pays {
		h := uint64(i + 1)
		bt := t0.Add(time.Duration(i) * 5 * time.Minute)
		amt, _ := chain.ParseAmount(p.amount)
		blocks = append(blocks, &chain.Block{Chain: chain.Ethereum, Height: h, Hash: txh(1000 + i), Time: bt,
			Txs: []chain.Tx{{Hash: txh(i + 1), From: addr(p.from), Transfers: []chain.Transfer{{Chain: chain.Ethereum, Tx: txh(i + 1), Kind: chain.KindNative, Block: h, Time: bt,
				From: addr(p.from), To: addr(p.to), Amount: amt}}}}})
	}
	if err := db.Graph().WriteBlocks(ctx, chain.Ethereum, "test", blocks); err != nil {
		t.Fatal(err)
	}
	base := tags{
		addr("407"): {Entity: "Huobi Global", Category: "exchange"},
		addr("408"): {Entity: "HUOBI-global!", Category: "exchange"},
		addr("409"): {Entity: "업비트", Category: "exchange"},
	}
	dep := &cluster.Deposits{Graph: db.Graph(), Base: base}
	r, err := trace.Run(ctx, db.Graph(), []trace.Seed{{Address: addr("7")}}, trace.Options{Chain: chain.Ethereum, Model: trace.Haircut, MaxHops: 10, Labels: dep})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Check(); err != nil {
		t.Fatal(err)
	}
	return r, dep
}

// TestFreezeRequests: one request per exchange, claiming what each
// received from the flow and no more: the hop that forwarded 2,500 ETH
// and kept 7,500 claims nothing itself; Huobi Global's claim is the
// 2,500 its hot wallet received and the 6,000 its deposit address swept
// to it, with the sweep as evidence.
func TestFreezeRequests(t *testing.T) {
	r, dep := theft(t)
	now := time.Date(2025, 2, 22, 9, 0, 0, 0, time.UTC)
	reqs := report.FreezeRequests(r, "CASE-1", now, nil, dep)
	if len(reqs) != 3 {
		t.Fatalf("%d requests: %+v", len(reqs), reqs)
	}
	byName := map[string]report.Request{}
	for _, q := range reqs {
		byName[q.Exchange] = q
	}
	hg := byName["Huobi Global"]
	var got []string
	for _, d := range hg.Deposits {
		got = append(got, fmt.Sprintf("%s %s %s", d.Address[38:], d.Amount.Text, d.IdentifiedBy))
		if d.Address == addr("hop") {
			t.Errorf("the hop is claimed as a deposit address: %+v", d)
		}
	}
	slices.Sort(got)
	if want := []string{"00d1 6,000 ETH deposit-address", "0407 2,500 ETH tag"}; !slices.Equal(got, want) {
		t.Errorf("Huobi Global deposits %q, want %q", got, want)
	}
	if len(hg.Totals) != 1 || hg.Totals[0].Text != "8,500 ETH" || hg.Totals[0].Base.String() != "8500"+eth || hg.Totals[0].BaseText != "8500"+eth+" wei" {
		t.Errorf("Huobi Global totals %+v", hg.Totals)
	}
	for _, d := range hg.Deposits {
		if d.Address != addr("d1") {
			continue
		}
		if len(d.Sweeps) != 1 || d.Sweeps[0].Tx != txh(9) || d.Sweeps[0].Amount.Text != "6,000 ETH" || d.Unswept {
			t.Errorf("d1's sweeps %+v (unswept %v)", d.Sweeps, d.Unswept)
		}
		if len(d.Path) != 2 || d.Path[0].From != addr("7") || d.Path[1].To != addr("d1") || d.Path[1].Tainted.Text != "6,000 ETH" {
			t.Errorf("d1's path %+v", d.Path)
		}
	}
	if q := byName["HUOBI-global!"]; q.Name == hg.Name || q.EntityID == hg.EntityID || len(q.Deposits) != 1 || q.Deposits[0].Amount.Text != "1,500 ETH" {
		t.Errorf("HUOBI-global! %+v, Huobi Global %s", q, hg.Name)
	}
	if q := byName["업비트"]; q.Name != "freeze-"+report.EntityID("업비트") || q.Case != "CASE-1" || !q.Generated.Equal(now) || q.Seeds[0] != addr("7") {
		t.Errorf("업비트 %+v", q)
	}
	// Without the evidence, the deposit address says so by having none.
	for _, q := range report.FreezeRequests(r, "CASE-1", now, nil, nil) {
		for _, d := range q.Deposits {
			if len(d.Sweeps) != 0 {
				t.Errorf("sweeps without evidence: %+v", d)
			}
		}
	}
	// Totals per asset, the traced asset's first.
	multi := &trace.Result{Chain: chain.Ethereum, Asset: "0xaa", Endpoints: []trace.Endpoint{
		{Address: addr("1"), Label: trace.Label{Entity: "X", Category: "exchange"}, Asset: "", Amount: chain.NewAmount(5)},
		{Address: addr("2"), Label: trace.Label{Entity: "X", Category: "exchange"}, Asset: "0xbb", Amount: chain.NewAmount(6)},
		{Address: addr("3"), Label: trace.Label{Entity: "X", Category: "exchange"}, Asset: "0xaa", Amount: chain.NewAmount(7)},
		{Address: addr("4"), Label: trace.Label{Entity: "X", Category: "exchange"}, Asset: "0xaa", Amount: chain.NewAmount(8)},
		{Address: addr("5"), Label: trace.Label{Entity: "M", Category: "mixer"}, Asset: "0xaa", Amount: chain.NewAmount(9)},
	}}
	mq := report.FreezeRequests(multi, "", now, report.Table{chain.Ethereum: {"0xaa": {Symbol: "AAA", Decimals: 0}}}, nil)
	var totals []string
	for _, tot := range mq[0].Totals {
		totals = append(totals, tot.Text)
	}
	if len(mq) != 1 || strings.Join(totals, "|") != "15 AAA|0.000000000000000005 ETH|6 base units of token 0xbb (decimals unknown)" {
		t.Errorf("totals %q of %d requests", totals, len(mq))
	}
	// Poison claims are marked as upper bounds.
	r.Model = trace.Poison
	if q := report.FreezeRequests(r, "CASE-1", now, nil, dep); !q[0].UpperBound {
		t.Error("a poison request is not marked an upper bound")
	}
	// The API serves them as JSON.
	js, err := json.Marshal(reqs)
	if err != nil || !strings.Contains(string(js), `"text":"6,000 ETH"`) || !strings.Contains(string(js), `"base_units":"6000`+eth+`"`) {
		t.Errorf("JSON: %v %s", err, js)
	}
}

// TestWriteDir: names that used to collide ("Huobi Global" and
// "HUOBI-global!" both freeze-huobi-global, every non-Latin name
// freeze-) are apart; the files written are exactly those returned; a
// second write into the directory fails, names the file, and changes
// nothing.
func TestWriteDir(t *testing.T) {
	r, dep := theft(t)
	reqs := report.FreezeRequests(r, "CASE-1", time.Date(2025, 2, 22, 9, 0, 0, 0, time.UTC), nil, dep)
	dir := filepath.Join(t.TempDir(), "freeze")
	files, err := report.WriteDir(dir, reqs)
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	var onDisk []string
	for _, e := range entries {
		onDisk = append(onDisk, filepath.Join(dir, e.Name()))
	}
	slices.Sort(onDisk)
	written := slices.Sorted(slices.Values(files))
	if len(files) != 6 || !slices.Equal(onDisk, written) {
		t.Fatalf("returned %q, on disk %q", written, onDisk)
	}
	hg := report.EntityID("Huobi Global")
	for _, want := range []string{"freeze-huobi-global-" + hg + ".csv", "freeze-huobi-global-" + report.EntityID("HUOBI-global!") + ".html", "freeze-" + report.EntityID("업비트") + ".csv"} {
		if !slices.Contains(written, filepath.Join(dir, want)) {
			t.Errorf("%s not written: %q", want, written)
		}
	}
	before := map[string][]byte{}
	for _, f := range files {
		before[f], _ = os.ReadFile(f)
	}
	// The CSV: human amounts with their unit, base units beside them.
	rows, err := csv.NewReader(bytes.NewReader(before[filepath.Join(dir, "freeze-huobi-global-"+hg+".csv")])).ReadAll()
	if err != nil || len(rows) != 3 {
		t.Fatalf("CSV %v: %q", err, rows)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, row := range rows[1:] {
		if row[col["deposit_address"]] == addr("d1") {
			if row[col["amount"]] != "6000" || row[col["unit"]] != "ETH" || row[col["amount_base_units"]] != "6000"+eth || row[col["sweep_transactions"]] != txh(9) || row[col["identified_by"]] != "deposit-address" {
				t.Errorf("d1's row %q", row)
			}
		}
	}
	page := string(before[filepath.Join(dir, "freeze-huobi-global-"+hg+".html")])
	for _, s := range []string{"Huobi Global", `title="6000` + eth + ` wei">6,000 ETH</span>`, "<small>8500" + eth + " wei</small>", "8,500 ETH", txh(9), "CASE-1"} {
		if !strings.Contains(page, s) {
			t.Errorf("the page lacks %q", s)
		}
	}
	if strings.Contains(page, "native") {
		t.Error("the page speaks of native units")
	}

	_, err = report.WriteDir(dir, reqs)
	if !errors.Is(err, report.ErrExists) || !strings.Contains(err.Error(), "freeze-huobi-global-"+hg) {
		t.Errorf("second write: %v", err)
	}
	// Only the third exchange's files taken: still nothing written.
	os.Remove(files[0])
	os.Remove(files[1])
	if _, err := report.WriteDir(dir, reqs); !errors.Is(err, report.ErrExists) {
		t.Errorf("partly taken: %v", err)
	}
	for _, f := range files[2:] {
		if b, _ := os.ReadFile(f); !bytes.Equal(b, before[f]) {
			t.Errorf("%s changed", f)
		}
	}
	if _, err := os.Stat(files[0]); err == nil {
		t.Errorf("%s was written though the set was refused", files[0])
	}
}

func TestFileNames(t *testing.T) {
	for entity, want := range map[string]string{
		"Huobi Global":   "freeze-huobi-global-",
		"HUOBI-global!":  "freeze-huobi-global-",
		"Bitsö":          "freeze-bitso-",
		"Łódź Exchange":  "freeze-lodz-exchange-",
		"Straße Börse":   "freeze-strasse-borse-",
		"업비트":            "freeze-",
		"Binance (币安)":   "freeze-binance-",
		"":               "freeze-",
		"OKX / OKEx ∞ 0": "freeze-okx-okex-0-",
		"A very long exchange name that goes on and on past forty": "freeze-a-very-long-exchange-name-that-goes-on-",
	} {
		q := report.FreezeRequests(&trace.Result{Chain: chain.Ethereum, Endpoints: []trace.Endpoint{{Address: addr("1"), Label: trace.Label{Entity: entity, Category: "exchange"}}}}, "", time.Time{}, nil, nil)
		if len(q) != 1 || q[0].Name != want+report.EntityID(entity) {
			t.Errorf("%q: %q, want %q", entity, q[0].Name, want+report.EntityID(entity))
		}
	}
}
