package report_test

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/trace"
	"github.com/tracehound/tracehound/trace/report"
)

// A trace that crossed THORChain from Ethereum into Bitcoin and reached
// one exchange on both chains: one request, its deposits on each chain
// in that chain's coin, a total per chain, and the Bitcoin deposit's
// path going back across the swap to the seed on Ethereum.
func TestFreezeAcrossChains(t *testing.T) {
	const (
		router = "0xd37bbe5744d730a1d98d8dc97c42f0ca46ad7146"
		btcTo  = "bc1qp2t4hl4jr6wjfzv28tsdyjysw7p5armf7px55w"
		btcDep = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"
	)
	ex := trace.Label{Entity: "Binance", Category: "exchange"}
	bridge := trace.Label{Entity: "THORChain", Category: "bridge", Heuristic: trace.HeuristicBridgeEvent}
	a := func(s string) chain.Amount {
		v, err := chain.ParseAmount(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	r := &trace.Result{Chain: chain.Ethereum, Model: trace.Haircut, Seeds: []trace.Seed{{Address: addr("7")}}, Tainted: a("10" + eth), Through: 100,
		Nodes: []trace.Node{
			{Address: addr("7"), Hop: 0, Seed: true, Received: a("10" + eth), Sent: a("10" + eth)},
			{Address: addr("d1"), Hop: 1, Label: &ex, Received: a("6" + eth)},
			{Address: router, Hop: 1, Label: &bridge, Received: a("4" + eth)},
			{Address: btcTo, Chain: chain.Bitcoin, Hop: 2, Received: chain.NewAmount(13_000_000), Sent: chain.NewAmount(13_000_000)},
			{Address: btcDep, Chain: chain.Bitcoin, Hop: 3, Label: &ex, Received: chain.NewAmount(12_990_000)},
		},
		Edges: []trace.Edge{
			{Tx: txh(1), Block: 1, Time: t0, From: addr("7"), To: addr("d1"), Amount: a("6" + eth), Tainted: a("6" + eth), Hop: 1},
			{Tx: txh(2), Block: 2, Time: t0, From: addr("7"), To: router, Amount: a("4" + eth), Tainted: a("4" + eth), Hop: 1},
			{Tx: "ab", Kind: chain.KindOutput, Block: 9, Time: t0.Add(time.Hour), From: btcTo, To: btcDep, Amount: chain.NewAmount(12_990_000), Tainted: chain.NewAmount(12_990_000), Hop: 3, Chain: chain.Bitcoin},
		},
		Endpoints: []trace.Endpoint{
			{Address: addr("d1"), Label: ex, Amount: a("6" + eth), Hop: 1, Txs: []string{txh(1)}, First: t0, Last: t0},
			{Address: router, Label: bridge, Amount: a("4" + eth), Hop: 1, Txs: []string{txh(2)}, Continues: true, Crossings: []int{0}},
			{Address: btcDep, Chain: chain.Bitcoin, Label: ex, Amount: chain.NewAmount(12_990_000), Hop: 3, Txs: []string{"ab"}},
		},
		Crossings: []trace.Crossing{{Bridge: "thorchain", Via: "THORChain swap, memo =:b:" + btcTo, Status: trace.CrossFollowed, Hop: 1,
			FromChain: chain.Ethereum, Contract: router, From: addr("7"), DepositTx: txh(2), In: a("4" + eth), InTainted: a("4" + eth),
			ToChain: chain.Bitcoin, Out: []trace.CrossOut{{Tx: "cd", Kind: chain.KindOutput, To: btcTo, Amount: chain.NewAmount(13_000_000), Tainted: chain.NewAmount(13_000_000), Time: t0.Add(30 * time.Minute)}}}},
		Legs: []trace.Leg{{Chain: chain.Bitcoin, Hop: 2, Entered: chain.NewAmount(13_000_000), FeesTainted: chain.NewAmount(10_000)}},
	}
	if err := r.Check(); err != nil {
		t.Fatal(err)
	}
	reqs := report.FreezeRequests(r, "case-1", t0, nil, nil)
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	q := reqs[0]
	if len(q.Chains) != 2 || q.Chains[0] != chain.Ethereum || q.Chains[1] != chain.Bitcoin || len(q.Deposits) != 2 {
		t.Fatalf("%+v", q)
	}
	if len(q.Totals) != 2 || q.Totals[0].Text != "6 ETH" || q.Totals[0].Chain != chain.Ethereum || q.Totals[1].Text != "0.1299 BTC" || q.Totals[1].Chain != chain.Bitcoin {
		t.Fatalf("totals %+v", q.Totals)
	}
	d := q.Deposits[1]
	if d.Chain != chain.Bitcoin || d.Amount.Text != "0.1299 BTC" || len(d.Path) != 3 {
		t.Fatalf("bitcoin deposit %+v", d)
	}
	// Seed to router on Ethereum, the swap's payout, the payment in.
	if d.Path[0].Chain != chain.Ethereum || d.Path[0].To != router || d.Path[1].Via == "" || d.Path[1].Chain != chain.Bitcoin ||
		d.Path[1].Tx != "cd" || d.Path[1].Amount.Text != "0.13 BTC" || d.Path[2].Tx != "ab" {
		t.Fatalf("path %+v", d.Path)
	}
	var c, h bytes.Buffer
	if err := report.WriteCSV(&c, q); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&c).ReadAll()
	if err != nil || len(rows) != 3 || rows[1][3] != "eth" || rows[2][3] != "btc" || rows[2][6] != "BTC" {
		t.Fatalf("csv %v %v", rows, err)
	}
	if err := report.WriteHTML(&h, q); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(h.String(), "Across to btc: THORChain swap, memo =:b:") || !strings.Contains(h.String(), "Total on btc") {
		t.Fatal("the page does not show the crossing or the per-chain total")
	}
	// The edge export names each transfer's chain, the amounts in its units.
	var e bytes.Buffer
	if err := report.WriteEdgesCSV(&e, r); err != nil {
		t.Fatal(err)
	}
	edges, err := csv.NewReader(&e).ReadAll()
	if err != nil || len(edges) != 4 || edges[0][12] != "chain" || edges[1][12] != "eth" || edges[3][12] != "btc" || edges[3][9] != "12990000" {
		t.Fatalf("edges %v %v", edges, err)
	}
	var s bytes.Buffer
	if err := report.WriteSummary(&s, r, nil); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"across bridges into btc in BTC: 0.13 BTC", "THORChain swap, memo =:b:", "btc:" + btcTo, "0.13 BTC of 0.13 BTC"} {
		if !strings.Contains(s.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, s.String())
		}
	}
}

// A deposit into THORChain's router whose memo does not parse ends the
// branch there: the summary shows the router as an endpoint that ends,
// the memo as it was written and why it was not followed.
func TestSummaryUnreadableMemo(t *testing.T) {
	const router = "0xd37bbe5744d730a1d98d8dc97c42f0ca46ad7146"
	const memo = "BURN:BTC.BTC:bc1qp2t4hl4jr6wjfzv28tsdyjysw7p5armf7px55w"
	bridge := trace.Label{Entity: "THORChain", Category: "bridge", Heuristic: trace.HeuristicBridgeEvent}
	v, err := chain.ParseAmount("4" + eth)
	if err != nil {
		t.Fatal(err)
	}
	r := &trace.Result{Chain: chain.Ethereum, Model: trace.Haircut, Seeds: []trace.Seed{{Address: addr("7")}}, Tainted: v, Through: 100,
		Nodes: []trace.Node{
			{Address: addr("7"), Hop: 0, Seed: true, Received: v, Sent: v},
			{Address: router, Hop: 1, Label: &bridge, Received: v},
		},
		Edges:     []trace.Edge{{Tx: txh(2), Block: 2, Time: t0, From: addr("7"), To: router, Amount: v, Tainted: v, Hop: 1}},
		Endpoints: []trace.Endpoint{{Address: router, Label: bridge, Amount: v, Hop: 1, Txs: []string{txh(2)}, First: t0, Last: t0, Crossings: []int{0}}},
		Crossings: []trace.Crossing{{Bridge: "thorchain", Via: "THORChain swap, memo " + memo, Status: trace.CrossUnreadable, Reason: `unknown memo action "BURN"`,
			Hop: 1, FromChain: chain.Ethereum, Contract: router, From: addr("7"), DepositTx: txh(2), In: v, InTainted: v, Memo: memo}},
	}
	if err := r.Check(); err != nil {
		t.Fatal(err)
	}
	var s bytes.Buffer
	if err := report.WriteSummary(&s, r, nil); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{router, "bridge (bridge-event), ends", "THORChain swap, memo " + memo, `unreadable: unknown memo action "BURN"`} {
		if !strings.Contains(s.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, s.String())
		}
	}
}
