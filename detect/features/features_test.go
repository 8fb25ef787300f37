package features

import (
	"math"
	"testing"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/detect/scorer"
)

var t0 = time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)

const usdt chain.Asset = "0xdac17f958d2ee523a2206206994597c13d831ec7"

func post(in bool, peer string, wei uint64, min int, tx string) chain.Posting {
	return chain.Posting{Chain: chain.Ethereum, Address: "0xacc", Incoming: in, Time: t0.Add(time.Duration(min) * time.Minute),
		Kind: chain.KindNative, Tx: tx, Counterparty: peer, Amount: chain.NewAmount(wei)}
}

type contracts map[string]bool

func (c contracts) IsContract(_ chain.Chain, a string) (bool, bool) { v, ok := c[a]; return v, ok }

type tokens map[chain.Asset]uint8

func (t tokens) Decimals(_ chain.Chain, a chain.Asset) (uint8, bool) { d, ok := t[a]; return d, ok }

func account() []chain.Posting {
	const eth = 1_000_000_000_000_000_000
	ps := []chain.Posting{
		post(true, "0xa", eth+eth/2, 0, "r1"),
		post(true, "0xb", eth/2, 60, "r2"),
		post(false, "0xc", eth, 120, "s1"),
		post(false, "0xa", eth/4, 240, "s2"),
	}
	tok := post(true, "0xd", 100_000_000, 10, "t1")
	tok.Asset, tok.Kind = usdt, chain.KindToken
	ps = append(ps, tok)
	tok = post(false, "0xe", 40_000_000, 30, "t2")
	tok.Asset, tok.Kind = usdt, chain.KindToken
	ps = append(ps, tok)
	// Value moved by a contract call is not a normal transaction.
	internal := post(true, "0xf", 2*eth, 50, "i1")
	internal.Kind = chain.KindInternal
	// Another address's posting is ignored.
	other := post(true, "0xa", 7, 5, "x")
	other.Address = "0xother"
	return append(ps, internal, other)
}

func TestCompute(t *testing.T) {
	v := Compute("0xacc", account(), Options{Contracts: contracts{"0xa": false, "0xb": false, "0xc": true, "0xe": false}, Tokens: tokens{usdt: 6}})
	want := map[string]float64{
		"Avg min between sent tnx": 120, "Avg min between received tnx": 60, "Time Diff between first and last (Mins)": 240,
		"Sent tnx": 2, "Received Tnx": 2, "Unique Received From Addresses": 2, "Unique Sent To Addresses": 2,
		"min value received": 0.5, "max value received": 1.5, "avg val received": 1,
		"min val sent": 0.25, "max val sent": 1, "avg val sent": 0.625,
		"min value sent to contract": 1, "max val sent to contract": 1, "avg value sent to contract": 1,
		"total transactions (including tnx to create contract": 4, "total Ether sent": 1.25, "total ether received": 2,
		"total ether sent contracts": 1, "total ether balance": 0.75,
		"Total ERC20 tnxs": 2, "ERC20 total Ether received": 100, "ERC20 total ether sent": 40,
		"ERC20 uniq sent addr": 1, "ERC20 uniq rec addr": 1, "ERC20 uniq rec contract addr": 1,
		"ERC20 min val rec": 100, "ERC20 max val rec": 100, "ERC20 avg val rec": 100,
		"ERC20 min val sent": 40, "ERC20 max val sent": 40, "ERC20 avg val sent": 40,
		"ERC20 total Ether sent contract": 0, "ERC20 uniq sent token name": 1, "ERC20 uniq rec token name": 1,
		InOutRatio: 0.625, Counterparties: 6, MedianHoldMinutes: 90,
	}
	for name, w := range want {
		if got, ok := v[name]; !ok || got != w {
			t.Errorf("%s = %v, want %v", name, got, w)
		}
	}
	for _, name := range []string{"Number of Created Contracts", "ERC20 uniq sent addr.1"} {
		if !math.IsNaN(v[name]) {
			t.Errorf("%s = %v, want missing", name, v[name])
		}
	}
}

func TestComputeMissingWithoutLookups(t *testing.T) {
	v := Compute("0xacc", account(), Options{})
	for _, name := range []string{"min value sent to contract", "total ether sent contracts", "ERC20 total Ether received", "ERC20 avg val sent"} {
		if x, ok := v[name]; ok && !math.IsNaN(x) {
			t.Errorf("%s = %v without the lookup it needs, want missing", name, x)
		}
	}
	if v["Total ERC20 tnxs"] != 2 {
		t.Errorf("token counts need no lookup: %v", v["Total ERC20 tnxs"])
	}
	// An account without token history has blank ERC-20 cells, as in the
	// data set.
	v = Compute("0xacc", account()[:4], Options{})
	if x, ok := v["Total ERC20 tnxs"]; ok && !math.IsNaN(x) {
		t.Errorf("Total ERC20 tnxs = %v for an account without tokens", x)
	}
}

// TestExactUnits: sums are exact in wei and rounded once; a float sum of
// 0.1 and 0.2 ether would give 0.30000000000000004.
func TestExactUnits(t *testing.T) {
	const tenth = 100_000_000_000_000_000
	ps := []chain.Posting{post(true, "0xa", tenth, 0, "a"), post(true, "0xb", 2*tenth, 1, "b")}
	v := Compute("0xacc", ps, Options{})
	if v["total ether received"] != 0.3 || v["avg val received"] != 0.15 {
		t.Fatalf("total %v avg %v", v["total ether received"], v["avg val received"])
	}
	// Beyond 64 bits of wei.
	big, _ := chain.ParseAmount("123456789012345678901234")
	p := post(true, "0xa", 0, 0, "c")
	p.Amount = big
	if got := Compute("0xacc", []chain.Posting{p}, Options{})["total ether received"]; got != 123456.789012345678901234 {
		t.Fatalf("got %v", got)
	}
}

// TestScoresWithModel: the embedded model's features are all named here,
// and an account computed from postings scores.
func TestScoresWithModel(t *testing.T) {
	m, err := scorer.Default()
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, n := range Names {
		known[n] = true
	}
	for _, f := range m.Features {
		if !known[f] {
			t.Errorf("model feature %q is not computed or listed", f)
		}
	}
	v := Compute("0xacc", account(), Options{Tokens: tokens{usdt: 6}})
	row := v.Row(m.Features)
	e := m.Explain(row, 5)
	if e.Score < 0 || e.Score > 1 || len(e.Top) == 0 {
		t.Fatalf("explanation %+v", e)
	}
	if !math.IsNaN(row[slicesIndex(m.Features, "Number of Created Contracts")]) {
		t.Fatal("a feature the graph lacks reached the model as a value")
	}
}

func slicesIndex(s []string, x string) int {
	for i, v := range s {
		if v == x {
			return i
		}
	}
	return -1
}
