package sim_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/tracehound/tracehound/bridge/thorchain"
	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/btc"
	"github.com/tracehound/tracehound/chain/eth"
	"github.com/tracehound/tracehound/chain/tron"
	"github.com/tracehound/tracehound/sim"
)

func smallCross(seed uint64) sim.CrossConfig {
	cfg := sim.DefaultCrossConfig()
	cfg.Seed, cfg.Background = seed, 2_000
	return cfg
}

// The same config gives the same chains, byte for byte; another seed
// gives others.
func TestCrossDeterministic(t *testing.T) {
	a, err := sim.GenerateCross(smallCross(7))
	if err != nil {
		t.Fatal(err)
	}
	b, err := sim.GenerateCross(smallCross(7))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same config gave two scenarios")
	}
	c, err := sim.GenerateCross(smallCross(8))
	if err != nil {
		t.Fatal(err)
	}
	if c.Truth.TheftTx == a.Truth.TheftTx {
		t.Fatal("two seeds gave the same theft")
	}
}

// Every chain's blocks follow on, every address is valid on its chain,
// every router deposit is read by the router's adapter from the event
// as written, and each of the thief's swaps has the payout the truth
// says, on the chain its memo names, naming the deposit.
func TestCrossChains(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		sc, err := sim.GenerateCross(smallCross(seed))
		if err != nil {
			t.Fatal(err)
		}
		codecs := map[chain.Chain]chain.Codec{chain.Ethereum: eth.Codec{}, chain.Bitcoin: btc.Codec{}, chain.Tron: tron.Codec{}}
		deposits := map[string]chain.BridgeDeposit{}
		payouts := map[string]chain.BridgePayout{}
		if got := sc.Chains(); len(got) != 3 {
			t.Fatalf("chains %v", got)
		}
		for _, c := range sc.Chains() {
			bs := sc.Blocks[c]
			valid := func(a string) {
				if a == "" {
					return
				}
				if p, err := codecs[c].Parse(a); err != nil || p.Value != a {
					t.Fatalf("%s: address %q: %v (%q)", c, a, err, p.Value)
				}
			}
			for i, b := range bs {
				if i > 0 && (b.Height != bs[i-1].Height+1 || b.Parent != bs[i-1].Hash || b.Time.Before(bs[i-1].Time)) {
					t.Fatalf("%s: block %d does not follow %d", c, b.Height, bs[i-1].Height)
				}
				for _, tx := range b.Txs {
					for _, tr := range tx.Transfers {
						valid(tr.From)
						valid(tr.To)
						if tr.Block != b.Height || !tr.Time.Equal(b.Time) || tr.Tx != tx.Hash {
							t.Fatalf("%s: transfer %+v not of its block", c, tr)
						}
					}
					for _, o := range tx.Outputs {
						valid(o.Address)
					}
				}
				if b.Bridge != nil {
					for _, d := range b.Bridge.Deposits {
						deposits[d.Tx] = d
					}
					for _, p := range b.Bridge.Payouts {
						payouts[p.Key] = p
					}
				}
			}
		}
		tr := sc.Truth
		if len(deposits) <= len(tr.Swaps) {
			t.Errorf("seed %d: %d router deposits, none but the thief's %d", seed, len(deposits), len(tr.Swaps))
		}
		unreadable := 0
		for _, s := range tr.Swaps {
			d, ok := deposits[s.DepositTx]
			if !ok || d.Memo != s.Memo || d.Amount.Cmp(s.In) != 0 || d.Contract != tr.Router {
				t.Fatalf("seed %d: swap %+v: deposit %+v", seed, s, d)
			}
			if s.Unreadable != "" {
				unreadable++
				if d.Err == "" || !strings.Contains(d.Err, "unknown function") {
					t.Errorf("seed %d: memo %q read: %+v", seed, s.Memo, d)
				}
				if _, ok := payouts[d.Key]; ok {
					t.Errorf("seed %d: an unreadable memo was paid out", seed)
				}
				continue
			}
			m, err := thorchain.Parse(s.Memo)
			if err != nil || d.Err != "" || d.Recipient != s.Recipient || d.Key != thorchain.PayoutKey(s.DepositTx) {
				t.Fatalf("seed %d: memo %q: %v, deposit %+v", seed, s.Memo, err, d)
			}
			if want := map[chain.Chain]string{chain.Bitcoin: "BTC", chain.Tron: "TRON"}[s.ToChain]; m.Asset.Chain != want {
				t.Errorf("seed %d: memo %q pays on %s, truth %s", seed, s.Memo, m.Asset.Chain, s.ToChain)
			}
			p, ok := payouts[d.Key]
			if !ok || p.Tx != s.PayoutTx || !strings.HasPrefix(p.Memo, "OUT:") || p.Refund {
				t.Errorf("seed %d: payout of %s: %+v", seed, s.DepositTx, p)
			}
		}
		if unreadable != 1 {
			t.Errorf("seed %d: %d unreadable memos, want 1", seed, unreadable)
		}
	}
}

// The truth adds up per chain and asset, and Check finds it when it
// does not.
func TestCrossTruthCheck(t *testing.T) {
	sc, err := sim.GenerateCross(smallCross(1))
	if err != nil {
		t.Fatal(err)
	}
	tr := sc.Truth
	if err := tr.Check(); err != nil {
		t.Fatal(err)
	}
	chains := map[chain.Chain]bool{}
	for _, d := range tr.Deposits {
		chains[d.Chain] = true
	}
	if len(chains) != 3 || tr.Fees[chain.Bitcoin].IsZero() {
		t.Fatalf("deposits on %v, bitcoin fees %s", chains, tr.Fees[chain.Bitcoin])
	}
	for i := range tr.Deposits {
		bad := tr
		bad.Deposits = append([]sim.Holding(nil), tr.Deposits...)
		bad.Deposits[i].Amount, _ = bad.Deposits[i].Amount.Add(chain.NewAmount(1))
		if err := bad.Check(); err == nil || !strings.Contains(err.Error(), string(tr.Deposits[i].Chain)) {
			t.Errorf("one more base unit at %s on %s: %v", tr.Deposits[i].Address, tr.Deposits[i].Chain, err)
		}
	}
}

func TestCrossConfigRefused(t *testing.T) {
	for name, edit := range map[string]func(*sim.CrossConfig){
		"no splits":   func(c *sim.CrossConfig) { c.Splits = 0 },
		"tiny theft":  func(c *sim.CrossConfig) { c.Theft = chain.NewAmount(1_000) },
		"no price":    func(c *sim.CrossConfig) { c.SatPerETH = 0 },
		"no peel":     func(c *sim.CrossConfig) { c.PeelHops = 0 },
		"one address": func(c *sim.CrossConfig) { c.Addresses = 1 },
		"cheap btc":   func(c *sim.CrossConfig) { c.SatPerETH = 10 },
		"cheap usdt":  func(c *sim.CrossConfig) { c.USDTPerETH = 1_000 },
	} {
		cfg := sim.DefaultCrossConfig()
		edit(&cfg)
		if _, err := sim.GenerateCross(cfg); err == nil || !strings.Contains(err.Error(), "invalid cross-chain config") {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Without Tron, Bitcoin only.
	cfg := smallCross(1)
	cfg.Tron = false
	sc, err := sim.GenerateCross(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(sc.Chains()) != 2 || len(sc.Blocks[chain.Tron]) != 0 {
		t.Fatalf("chains %v", sc.Chains())
	}
	for _, s := range sc.Truth.Swaps {
		if s.ToChain == chain.Tron {
			t.Fatalf("a swap to Tron: %+v", s)
		}
	}
}
