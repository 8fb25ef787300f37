package thorchain

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/tracehound/tracehound/bridge"
	"github.com/tracehound/tracehound/chain"
)

// Memos from THORChain's memo documentation (docs/concepts/memos.md), all
// real-world examples.
func TestParseDocumented(t *testing.T) {
	for _, c := range []struct {
		memo  string
		check func(Memo) bool
	}{
		{"SWAP:ETH.ETH:0xe6a30f4f3bad978910e2cbb4d97581f5b5a0ade0", func(m Memo) bool {
			return m.Kind == Swap && m.Asset.Chain == "ETH" && m.Asset.Symbol == "ETH" && m.Dest == "0xe6a30f4f3bad978910e2cbb4d97581f5b5a0ade0" && !m.HasLimit
		}},
		{"SWAP:ETH.ETH:0xe6a30f4f3bad978910e2cbb4d97581f5b5a0ade0:10000000/3/0:t:10", func(m Memo) bool {
			return m.Limit == chain.NewAmount(10000000) && m.Streaming && m.Interval == 3 && m.Quantity == 0 && m.Affiliates[0] == "t" && m.AffiliateBps[0] == 10
		}},
		{"s:ETH.ETH:0xe6a30f4f3bad978910e2cbb4d97581f5b5a0ade0:1e6/3/0:t:10", func(m Memo) bool {
			return m.Kind == Swap && m.Limit == chain.NewAmount(1000000)
		}},
		{"=:r:thor1el4ufmhll3yw7zxzszvfakrk66j7fx0tvcslym:19779138111", func(m Memo) bool {
			return m.Asset.Chain == "THOR" && m.Asset.Symbol == "RUNE" && m.Limit == chain.NewAmount(19779138111)
		}},
		{"=:ETH/USDC-0XA0B86991C6218B36C1D19D4A2E9EB0CE3606EB48:thor15s4apx9ap7lazpsct42nmvf0t6am4r3w0r64f2:628197586176", func(m Memo) bool {
			return m.Asset.Kind == Synth && m.Asset.Symbol == "USDC" && m.Asset.Contract == "0XA0B86991C6218B36C1D19D4A2E9EB0CE3606EB48"
		}},
		{"=:BSC.BNB:0xe6a30f4f3bad978910e2cbb4d97581f5b5a0ade0:544e6/2/6", func(m Memo) bool {
			return m.Limit == chain.NewAmount(544000000) && m.Interval == 2 && m.Quantity == 6
		}},
		{"=:BTC~BTC:thor1g6pnmnyeg48yc3lg796plt0uw50qpp7humfggz:1e6/1/0:dx:10", func(m Memo) bool {
			return m.Asset.Kind == Trade && m.Affiliates[0] == "dx"
		}},
		{"+:BTC/BTC::t:10", func(m Memo) bool {
			return m.Kind == AddLiquidity && m.Asset.Kind == Synth && m.Dest == "" && m.Affiliates[0] == "t"
		}},
		{"wd:BTC/BTC:1000", func(m Memo) bool { return m.Kind == WithdrawLiquidity && m.BasisPoints == 1000 }},
		{"$+:ETH.USDC-0XA0B86991C6218B36C1D19D4A2E9EB0CE3606EB48:0x1c7b17362c84287bd1184447e6dfeaf920c31bbe:10400000000", func(m Memo) bool {
			return m.Kind == LoanOpen && m.Limit == chain.NewAmount(10400000000)
		}},
		{"LOAN-:BTC.BTC:bc1qp2t4hl4jr6wjfzv28tsdyjysw7p5armf7px55w", func(m Memo) bool { return m.Kind == LoanRepay }},
		{"TRADE+:thor1x2whgc2nt665y0kc44uywhynazvp0l8tp0vtu6", func(m Memo) bool { return m.Kind == TradeAdd }},
		{"MIGRATE:3494355", func(m Memo) bool { return m.Kind == Migrate && m.Height == 3494355 }},
		{"UNBOND:thor1x2whgc2nt665y0kc44uywhynazvp0l8tp0vtu6:750000000000", func(m Memo) bool { return m.Kind == Unbond && len(m.Args) == 2 }},
		{"OUT:8330CAC064370F86352D247DE3046C9AA8C3E53C78760E5D35CFC7CAA3068DC6", func(m Memo) bool {
			return m.Kind == Out && m.TxID == "8330CAC064370F86352D247DE3046C9AA8C3E53C78760E5D35CFC7CAA3068DC6"
		}},
		{"refund:8330cac064370f86352d247de3046c9aa8c3e53c78760e5d35cfc7caa3068dc6", func(m Memo) bool { return m.Kind == Refund }},
		{"=:b:bc1qp2t4hl4jr6wjfzv28tsdyjysw7p5armf7px55w/bc1qp2t4hl4jr6wjfzv28tsdyjysw7p5armf7px55w:0/1/0:t/dx:10/20", func(m Memo) bool {
			return m.Refund != "" && len(m.Affiliates) == 2 && m.AffiliateBps[1] == 20
		}},
		{"=:tr:TJRabPrwbZy45sbavfcjinPJC18kjpRTv8:0", func(m Memo) bool { return m.Asset.Chain == "TRON" && m.Asset.Symbol == "TRX" }},
	} {
		m, err := Parse(c.memo)
		if err != nil {
			t.Errorf("%s: %v", c.memo, err)
			continue
		}
		if !c.check(m) {
			t.Errorf("%s: %+v", c.memo, m)
		}
		if again, err := Parse(m.String()); err != nil || again.String() != m.String() {
			t.Errorf("%s: written as %q, which reads back as %+v (%v)", c.memo, m.String(), again, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for memo, want := range map[string]string{
		"":                               "empty",
		"SWAPP:ETH.ETH:0xabc":            "unknown function",
		"=":                              "needs an asset",
		"=:ETHETH:0xabc":                 "want CHAIN.SYMBOL",
		"=:ETH.ETH:0xabc:1.5":            "not an integer",
		"=:ETH.ETH:0xabc:1e-3":           "exponent",
		"=:ETH.ETH:0xabc:1.25e1":         "whole number",
		"=:ETH.ETH:0xabc:100/3":          "LIM/INTERVAL/QUANTITY",
		"=:ETH.ETH:0xabc:100/x/0":        "interval",
		"=:ETH.ETH:0xabc::t:1001":        "over 1000",
		"=:ETH.ETH:0xabc:::10":           "without an affiliate",
		"=:ETH.ETH:0xabc::a/b:1/2/3":     "2 affiliates but 3 fees",
		"OUT:1234":                       "64 hex digits",
		"OUT:" + strings.Repeat("g", 64): "not hexadecimal",
		"wd:BTC.BTC:10001":               "over 10000",
		"MIGRATE:abc":                    "not a number",
		"BOND":                           "node address",
		"=:ETH.ETH-:0xabc":               "empty contract",
		"=:ETH.E.TH:0xabc":               "more than one chain separator",
		strings.Repeat("=", 251):         "limit of 250",
	} {
		_, err := Parse(memo)
		if err == nil || !errors.Is(err, ErrMemo) || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error saying %q", memo, err, want)
		}
	}
}

// FuzzMemo parses arbitrary memos: one that parses is written back in
// canonical notation, which parses to the same memo.
func FuzzMemo(f *testing.F) {
	for _, s := range []string{
		"SWAP:ETH.ETH:0xe6a30f4f3bad978910e2cbb4d97581f5b5a0ade0:10000000/3/0:t:10",
		"=:b:bc1qp2t4hl4jr6wjfzv28tsdyjysw7p5armf7px55w:1e6/1/0:dx/t:10/5",
		"+:BTC/BTC::t:10", "wd:POOL.X:5000:BTC.BTC", "OUT:8330CAC064370F86352D247DE3046C9AA8C3E53C78760E5D35CFC7CAA3068DC6",
		"$+:ETH.USDC-0XA0B8:0x1c7b:104e8", "POOL-:100:t:5", "=:ETH.ETH:0xabc:0:t:0:0xagg:0xtok:1e3",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrMemo) {
				t.Fatalf("%q: error %v is not ErrMemo", s, err)
			}
			return
		}
		w := m.String()
		again, err := Parse(w)
		if err != nil {
			t.Fatalf("%q parses, but its canonical form %q does not: %v", s, w, err)
		}
		if again.String() != w || again.Kind != m.Kind || again.Limit != m.Limit || again.Dest != m.Dest || again.Asset != m.Asset {
			t.Fatalf("%q: %+v, written %q, reads back as %+v", s, m, w, again)
		}
	})
}

// A Deposit event emitted by the V4 router on THORChain's own test chain,
// recorded in thornode's bifrost Ethereum client tests (block 0x22, tx
// 0xa132791c...): 5 ETH deposited with the memo
// ADD:ETH.ETH:tthor16xxn0cadruuw6a2qwpv35av0mehryvdzzjz3af.
var recorded = bridge.Log{
	Chain:   chain.Ethereum,
	Address: "0xe65e9d372f8cacc7b6dfcd4af6507851ed31bb44",
	Topics: []string{
		"0xef519b7eb82aaf6ac376a6df2d793843ebfd593de5f1a0601d3cc6ab49ebb395",
		"0x00000000000000000000000058e99c9c4a20f5f054c737389fdd51d7ed9c7d2a",
		"0x0000000000000000000000000000000000000000000000000000000000000000",
	},
	Data: mustHex("0000000000000000000000000000000000000000000000004563918244f40000000000000000000000000000000000000000000000000000000000000000004000000000000000000000000000000000000000000000000000000000000000384144443a4554482e4554483a7474686f72313678786e30636164727575773661327177707633356176306d6568727976647a7a6a7a3361660000000000000000"),
	Tx:   "0xa132791c8f868ac84bcffc0c2c8076f35c0b8fa1f7358428917892f0edddc550",
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestDecodeDeposit(t *testing.T) {
	d, err := DecodeDeposit(recorded.Topics, recorded.Data)
	if err != nil {
		t.Fatal(err)
	}
	if d.Vault != "0x58e99c9c4a20f5f054c737389fdd51d7ed9c7d2a" || d.Asset != chain.Native || d.Amount != chain.NewAmount(5e18) || d.Memo != "ADD:ETH.ETH:tthor16xxn0cadruuw6a2qwpv35av0mehryvdzzjz3af" {
		t.Fatalf("%+v", d)
	}
	// Adding liquidity keeps the funds in THORChain: a deposit whose
	// destination is THORChain itself, with no recipient to pay.
	r := Router{Routers: map[string]bool{recorded.Address: true}}
	if c, ok, err := r.Link(recorded); !ok || err != nil || c.DestChain != "THOR" || c.Recipient != "" || c.Memo != d.Memo || c.Amount != d.Amount {
		t.Fatalf("ADD: %+v %v %v", c, ok, err)
	}
	// Another contract emitting the same topic (Maya, forks) is ignored.
	if _, ok, _ := (Router{Routers: EthereumRouters}).Link(recorded); ok {
		t.Fatal("a log of an untrusted router linked")
	}
	bad := recorded
	bad.Data = bad.Data[:40]
	if c, ok, err := r.Link(bad); err == nil || !ok || c.SourceTx != recorded.Tx || c.Memo != "" {
		t.Fatalf("truncated data: %+v %v %v", c, ok, err)
	}
}

// A swap of ETH into Bitcoin through the Ethereum V4.1 router, encoded
// with the router's ABI: the continuation names Bitcoin, the checked
// recipient and the key of the payout.
func TestLinkSwap(t *testing.T) {
	memo := "=:b:bc1qp2t4hl4jr6wjfzv28tsdyjysw7p5armf7px55w:1e6/1/0:t:10"
	data, err := depositEvent.Inputs.NonIndexed().Pack(chain.NewAmount(3e18).Big(), memo)
	if err != nil {
		t.Fatal(err)
	}
	l := recorded
	l.Address, l.Data = "0xd37bbe5744d730a1d98d8dc97c42f0ca46ad7146", data
	c, ok, err := Router{Routers: EthereumRouters}.Link(l)
	if !ok || err != nil {
		t.Fatal(ok, err)
	}
	if c.DestChain != "BTC" || c.Recipient != "bc1qp2t4hl4jr6wjfzv28tsdyjysw7p5armf7px55w" || !c.Resolved || c.Amount != chain.NewAmount(3e18) ||
		c.MinOut != chain.NewAmount(1e6) || c.Key != "thorchain/A132791C8F868AC84BCFFC0C2C8076F35C0B8FA1F7358428917892F0EDDDC550" ||
		c.Memo != memo || c.Contract != l.Address {
		t.Fatalf("%+v", c)
	}
	// A THORName destination is not an address: the caller resolves it.
	data, _ = depositEvent.Inputs.NonIndexed().Pack(chain.NewAmount(1).Big(), "=:b:lazarus")
	l.Data = data
	if c, _, _ = (Router{Routers: EthereumRouters}).Link(l); c.Resolved || c.Recipient != "lazarus" {
		t.Fatalf("THORName %+v", c)
	}
}
