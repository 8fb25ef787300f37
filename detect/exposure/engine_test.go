package exposure_test

import (
	"fmt"
	"testing"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/detect/exposure"
	"github.com/tracehound/tracehound/tags"
)

// sources is a fixed attribution of addresses to categories.
type sources map[string]tags.Category

func (s sources) Mask(_ chain.Chain, addr string) exposure.Mask { return exposure.Bit(s[addr]) }

func amt(n uint64) chain.Amount { return chain.NewAmount(n) }

// block is a block of one-transfer transactions [from, to, amount].
func block(h uint64, pays ...[3]any) *chain.Block {
	b := &chain.Block{Chain: chain.Ethereum, Height: h}
	for i, p := range pays {
		tx := fmt.Sprintf("tx%d.%d", h, i)
		b.Txs = append(b.Txs, chain.Tx{Hash: tx, Index: i, From: p[0].(string), Transfers: []chain.Transfer{{Tx: tx, From: p[0].(string), To: p[1].(string), Amount: amt(uint64(p[2].(int)))}}})
	}
	return b
}

func find(es []exposure.Entry, cat tags.Category, dir exposure.Direction) *exposure.Entry {
	for i := range es {
		if es[i].Category == cat && es[i].Direction == dir {
			return &es[i]
		}
	}
	return nil
}

// TestHaircut follows mixer money through an address that held clean
// funds, with amounts worked out by hand:
//
//	block 1: faucet pays A 300 (clean)
//	block 2: mixer M pays A 100          A holds 400, 100 of it mixer (hop 1)
//	block 3: A pays B 200                taint 100 * 200/400 = 50 to B (hop 2); A keeps 50
//	block 4: B pays X 80 and C 120       B holds 200, 50 tainted: X gets 20, C gets 30 (hop 3)
//	block 5: C pays exchange E 120       E gets 30 at hop 4; C's outgoing: 120 to exchanges
//	block 6: E pays F 10                 a service pays its own category only
//	block 7: X pays Y 80                 Y gets 20 at hop 4, the last followed
//	block 8: Y pays Z 80                 a fifth hop: beyond MaxHops 4
func TestHaircut(t *testing.T) {
	src := sources{"M": tags.Mixer, "E": tags.Exchange}
	e := exposure.NewEngine(chain.Ethereum, 4, src)
	for _, b := range []*chain.Block{
		block(1, [3]any{"faucet", "A", 300}),
		block(2, [3]any{"M", "A", 100}),
		block(3, [3]any{"A", "B", 200}),
		block(4, [3]any{"B", "X", 80}, [3]any{"B", "C", 120}),
		block(5, [3]any{"C", "E", 120}),
		block(6, [3]any{"E", "F", 10}),
		block(7, [3]any{"X", "Y", 80}),
		block(8, [3]any{"Y", "Z", 80}),
	} {
		e.Apply(b)
	}
	check := func(addr string, cat tags.Category, dir exposure.Direction, hops int, amount uint64, share float64) {
		t.Helper()
		x := find(e.Exposure(addr), cat, dir)
		if x == nil {
			t.Fatalf("%s: no %s %s exposure: %+v", addr, dir, cat, e.Exposure(addr))
		}
		if x.Hops != hops || x.Amount.Cmp(amt(amount)) != 0 || x.Share < share-1e-9 || x.Share > share+1e-9 {
			t.Errorf("%s %s %s: %d hops, %s, share %v; want %d hops, %d, share %v", addr, dir, cat, x.Hops, x.Amount, x.Share, hops, amount, share)
		}
	}
	check("A", tags.Mixer, exposure.Incoming, 1, 100, 0.25)
	check("B", tags.Mixer, exposure.Incoming, 2, 50, 0.25)
	check("X", tags.Mixer, exposure.Incoming, 3, 20, 0.25)
	check("C", tags.Mixer, exposure.Incoming, 3, 30, 0.25)
	check("C", tags.Exchange, exposure.Outgoing, 1, 120, 1)
	check("E", tags.Mixer, exposure.Incoming, 4, 30, 0.25)
	check("F", tags.Exchange, exposure.Incoming, 1, 10, 1)
	if x := find(e.Exposure("F"), tags.Mixer, exposure.Incoming); x != nil {
		t.Errorf("mixer taint passed through the exchange to F: %+v", x)
	}
	check("Y", tags.Mixer, exposure.Incoming, 4, 20, 0.25)
	if es := e.Exposure("Z"); len(es) != 0 {
		t.Errorf("taint beyond four hops: %+v", es)
	}
	// The path from the mixer to C, transaction by transaction.
	x := find(e.Exposure("C"), tags.Mixer, exposure.Incoming)
	want := []exposure.Step{{Tx: "tx2.0", From: "M", To: "A"}, {Tx: "tx3.0", From: "A", To: "B"}, {Tx: "tx4.1", From: "B", To: "C"}}
	if fmt.Sprint(x.Path) != fmt.Sprint(want) || x.Source != "M" {
		t.Errorf("path %+v from %s, want %+v from M", x.Path, x.Source, want)
	}
	if through, ok := e.Through(); !ok || through != 8 {
		t.Errorf("through %d %v", through, ok)
	}
}

// TestFeeAndFailure: a failed transaction moves nothing; a fee takes its
// share of the sender's taint with it.
func TestFeeAndFailure(t *testing.T) {
	e := exposure.NewEngine(chain.Ethereum, 4, sources{"S": tags.Sanctioned})
	e.Apply(block(1, [3]any{"S", "A", 100}, [3]any{"faucet", "A", 100}))
	// A pays a fee of 50 (a quarter of its 200, so 25 of its 100 taint),
	// and a failed transfer of 150.
	b := &chain.Block{Height: 2, Txs: []chain.Tx{{Hash: "fail", From: "A", Fee: amt(50), Failed: true,
		Transfers: []chain.Transfer{{Tx: "fail", From: "A", To: "B", Amount: amt(150)}}}}}
	e.Apply(b)
	// Then A pays B all it has, 150: the 75 of taint left.
	e.Apply(block(3, [3]any{"A", "B", 150}))
	x := find(e.Exposure("B"), tags.Sanctioned, exposure.Incoming)
	if x == nil || x.Amount.Cmp(amt(75)) != 0 || x.Hops != 2 {
		t.Errorf("B after a fee and a failed transaction: %+v", e.Exposure("B"))
	}
}

// TestBitcoinPool: a transaction's inputs pool their taint, and its
// outputs share the pool by value, the fee's share lost.
func TestBitcoinPool(t *testing.T) {
	e := exposure.NewEngine(chain.Bitcoin, 4, sources{"R": tags.Ransomware})
	pay := func(h uint64, hash string, ins [][2]any, outs [][2]any) *chain.Block {
		tx := chain.Tx{Hash: hash}
		for _, in := range ins {
			tx.Inputs = append(tx.Inputs, chain.Input{Address: in[0].(string), Value: uint64(in[1].(int))})
		}
		for i, o := range outs {
			tx.Outputs = append(tx.Outputs, chain.Output{Index: uint32(i), Address: o[0].(string), Value: uint64(o[1].(int))})
		}
		return &chain.Block{Chain: chain.Bitcoin, Height: h, Txs: []chain.Tx{tx}}
	}
	// R pays P 1,000; P and Q (1,000 clean of its own, from a coinbase)
	// spend together 2,000 into O1 1,500 and O2 400, fee 100.
	e.Apply(pay(1, "t1", [][2]any{{"R", 1000}}, [][2]any{{"P", 1000}}))
	e.Apply(pay(2, "t2", [][2]any{{"cb", 1000}}, [][2]any{{"Q", 1000}}))
	e.Apply(pay(3, "t3", [][2]any{{"P", 1000}, {"Q", 1000}}, [][2]any{{"O1", 1500}, {"O2", 400}}))
	for addr, want := range map[string]uint64{"O1": 750, "O2": 200} {
		x := find(e.Exposure(addr), tags.Ransomware, exposure.Incoming)
		if x == nil || x.Amount.Cmp(amt(want)) != 0 || x.Hops != 2 || x.Source != "R" {
			t.Errorf("%s: %+v, want %d at two hops from R", addr, e.Exposure(addr), want)
		}
	}
}
