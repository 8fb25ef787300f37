package thorchain

import (
	"encoding/hex"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/tracehound/tracehound/bridge"
	"github.com/tracehound/tracehound/chain"
)

const router = "0xd37bbe5744d730a1d98d8dc97c42f0ca46ad7146"

// depositLog encodes a router Deposit of amount wei with memo.
func depositLog(t *testing.T, amount uint64, memo string) bridge.Log {
	t.Helper()
	data, err := depositEvent.Inputs.NonIndexed().Pack(new(big.Int).SetUint64(amount), memo)
	if err != nil {
		t.Fatal(err)
	}
	l := recorded
	l.Address, l.Data, l.Index = router, data, 7
	return l
}

// Every documented form of a swap memo that leaves THORChain names the
// destination chain, the checked recipient and the least output;
// streaming parameters do not change where the funds go.
func TestLinkMemoForms(t *testing.T) {
	const btc = "bc1qp2t4hl4jr6wjfzv28tsdyjysw7p5armf7px55w"
	const eth = "0xe6a30f4f3bad978910e2cbb4d97581f5b5a0ade0"
	const trx = "TNPeeaaFB7K9cmo4uQpcU32zGK8G1NYqeL"
	for _, c := range []struct {
		memo, chain, recipient string
		min                    uint64
	}{
		{"SWAP:BTC.BTC:" + btc, "BTC", btc, 0},
		{"=:BTC.BTC:" + btc + ":1000000", "BTC", btc, 1_000_000},
		{"s:b:" + btc + ":1e6/1/0:t:10", "BTC", btc, 1_000_000},
		{"=:b:" + btc + ":0/3/12", "BTC", btc, 0},
		{"=:BTC.BTC:" + btc + "/" + eth + ":2.5e6/1/0:t/dx:10/5", "BTC", btc, 2_500_000},
		{"=<:BTC.BTC:" + btc + ":15e5", "BTC", btc, 1_500_000},
		{"=:ETH.ETH:" + strings.ToUpper(eth[2:]), "ETH", "", 0}, // no 0x: not an address as written
		{"=:TRON.USDT-TR7NHQJEKQXGTCI8Q8ZY4PL8OTSZGJLJ6T:" + trx + ":0", "TRON", trx, 0},
		{"LOAN+:BTC.BTC:" + btc + ":5e5", "BTC", btc, 500_000},
		{"=:ETH/ETH:thor1g6pnmnyeg48yc3lg796plt0uw50qpp7humfggz", "THOR", "", 0}, // a synth stays
	} {
		got, ok, err := Router{Routers: EthereumRouters}.Link(depositLog(t, 3e18, c.memo))
		if !ok || err != nil {
			t.Fatalf("%s: %v %v", c.memo, ok, err)
		}
		if got.DestChain != c.chain || got.Memo != c.memo || got.MinOut != chain.NewAmount(c.min) || got.Key != PayoutKey(recorded.Tx) {
			t.Errorf("%s: %+v", c.memo, got)
		}
		if c.recipient != "" && (got.Recipient != c.recipient || !got.Resolved) {
			t.Errorf("%s: recipient %q resolved %v", c.memo, got.Recipient, got.Resolved)
		}
		if c.recipient == "" && got.Resolved {
			t.Errorf("%s: resolved %q", c.memo, got.Recipient)
		}
	}
}

// A memo that does not parse, or names no function THORChain knows, is
// a deposit that cannot be followed: Link says so, with the memo and
// what else was read, and guesses no destination.
func TestLinkMalformedMemo(t *testing.T) {
	for _, memo := range []string{
		"",
		"SWAP",
		"=:BTC.BTC.BTC:bc1q",
		"=:BTC.BTC:bc1q:lots",
		"=:BTC.BTC:bc1q:1e6/3",
		"BURN:BTC.BTC:bc1qp2t4hl4jr6wjfzv28tsdyjysw7p5armf7px55w",
		"=:BTC.BTC:bc1q:1.5e-3",
		strings.Repeat("=", 300),
	} {
		c, ok, err := Router{Routers: EthereumRouters}.Link(depositLog(t, 1e18, memo))
		if !ok || err == nil {
			t.Errorf("%q: ok %v err %v", memo, ok, err)
			continue
		}
		if c.Memo != memo || c.DestChain != "" || c.Recipient != "" || c.Amount != chain.NewAmount(1e18) || c.SourceTx != recorded.Tx || c.Contract != router {
			t.Errorf("%q: %+v", memo, c)
		}
		var ev chain.BridgeEvents
		if err := (bridge.Set{Router{Routers: EthereumRouters}}).Read(depositLog(t, 1e18, memo), &ev); err != nil || len(ev.Deposits) != 1 ||
			ev.Deposits[0].Err == "" || ev.Deposits[0].Memo != memo || ev.Deposits[0].DestChain != "" {
			t.Errorf("%q: read %+v %v", memo, ev, err)
		}
	}
}

// A TransferOut of the router pays the recipient and names the inbound
// deposit in its memo; its key is the deposit's.
func TestPayout(t *testing.T) {
	const inbound = "0xa132791c8f868ac84bcffc0c2c8076f35c0b8fa1f7358428917892f0edddc550"
	to := common.HexToAddress("0x47666fab8bd0ac7003bce3f5c3585383f09486e2")
	usdt := common.HexToAddress("0xdac17f958d2ee523a2206206994597c13d831ec7")
	for _, c := range []struct {
		memo   string
		refund bool
		ok     bool
	}{
		{"OUT:" + strings.ToUpper(inbound[2:]), false, true},
		{"out:" + inbound[2:], false, true},
		{"REFUND:" + strings.ToUpper(inbound[2:]), true, true},
		{"MIGRATE:1234", false, false},
		{"OUT:1234", false, false},
	} {
		data, err := transferOutEvent.Inputs.NonIndexed().Pack(usdt, big.NewInt(5_000_000), c.memo)
		if err != nil {
			t.Fatal(err)
		}
		l := bridge.Log{Chain: chain.Ethereum, Address: router, Tx: "0xfeed", Index: 3, Data: data,
			Topics: []string{TransferOutTopic, common.BytesToHash(common.HexToAddress("0x58e99c9c4a20f5f054c737389fdd51d7ed9c7d2a").Bytes()).Hex(), common.BytesToHash(to.Bytes()).Hex()}}
		p, ok, err := Router{Routers: EthereumRouters}.Payout(l)
		if err != nil || ok != c.ok {
			t.Fatalf("%s: %v %v", c.memo, ok, err)
		}
		if !ok {
			continue
		}
		if p.Key != PayoutKey(inbound) || p.Refund != c.refund || p.To != strings.ToLower(to.Hex()) || p.Amount != chain.NewAmount(5_000_000) ||
			p.Asset != chain.Asset(strings.ToLower(usdt.Hex())) || p.Tx != "0xfeed" || p.Log != 3 || p.Memo != c.memo {
			t.Errorf("%s: %+v", c.memo, p)
		}
		// Not the router's: no payout.
		l.Address = "0x0000000000000000000000000000000000000001"
		if _, ok, _ := (Router{Routers: EthereumRouters}).Payout(l); ok {
			t.Errorf("%s: an untrusted contract paid out", c.memo)
		}
	}
}

// THORChain's Bitcoin payouts carry their memo in an OP_RETURN output.
func TestScriptMemo(t *testing.T) {
	memo := "OUT:A132791C8F868AC84BCFFC0C2C8076F35C0B8FA1F7358428917892F0EDDDC550"
	script := append([]byte{0x6a, byte(len(memo))}, memo...)
	got, ok := ScriptMemo(script)
	if !ok || got != memo {
		t.Fatalf("%q %v", got, ok)
	}
	long := strings.Repeat("x", 80)
	if got, ok := ScriptMemo(append([]byte{0x6a, 0x4c, 80}, long...)); !ok || got != long {
		t.Fatalf("PUSHDATA1: %q %v", got, ok)
	}
	for _, bad := range []string{"", "6a", "76a914", "6a05616263", "6a4c0561", "6a02ffff"} {
		b, _ := hex.DecodeString(bad)
		if m, ok := ScriptMemo(b); ok {
			t.Errorf("%s read as %q", bad, m)
		}
	}
	p, ok := PayoutFromMemo(memo, "ab", 2)
	if !ok || p.Key != PayoutKey("0xa132791c8f868ac84bcffc0c2c8076f35c0b8fa1f7358428917892f0edddc550") || p.To != "" {
		t.Fatalf("%+v %v", p, ok)
	}
}

// FuzzScriptMemo checks that a memo read from a script is the script's
// one push after OP_RETURN, whole: written back in the shortest push it
// gives the script read, or one that reads the same.
func FuzzScriptMemo(f *testing.F) {
	for _, s := range []string{"6a4a4f55543a41313332", "6a4c054f55543a31", "6a00", "76a914", "6a4d05004f55543a31"} {
		b, _ := hex.DecodeString(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, script []byte) {
		memo, ok := ScriptMemo(script)
		if !ok {
			return
		}
		if !strings.HasSuffix(string(script), memo) || script[0] != 0x6a {
			t.Fatalf("%x: memo %q is not the script's tail", script, memo)
		}
		var again []byte
		switch n := len(memo); {
		case n <= 75:
			again = append([]byte{0x6a, byte(n)}, memo...)
		case n <= 255:
			again = append([]byte{0x6a, 0x4c, byte(n)}, memo...)
		default:
			again = append([]byte{0x6a, 0x4d, byte(n), byte(n >> 8)}, memo...)
		}
		if m, ok := ScriptMemo(again); !ok || m != memo {
			t.Fatalf("%x: %q written back reads %q %v", script, memo, m, ok)
		}
	})
}
