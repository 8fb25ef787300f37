package trace_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/bridge/cbridge"
	"github.com/tracehound/tracehound/bridge/thorchain"
	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/ingest"
	"github.com/tracehound/tracehound/store/pebble"
	"github.com/tracehound/tracehound/trace"
)

// A hand-made theft laundered across chains, every amount worked out
// below. On Ethereum the thief holds 10 ETH of its own when 10 stolen
// arrive (block 2), then pays THORChain's router:
//
//	A 4 ETH, memo =:BTC.BTC:<btc>:1e6/1/0 (a streaming swap), paid out in
//	  Bitcoin as 0.13 BTC with OUT:<A> in an OP_RETURN;
//	B 1 ETH from a second wallet w2, memo BURN:... (no such function);
//	C 2 ETH, memo =:TRON.USDT-...:<tron>, paid out as 5,000 USDT on Tron
//	  with OUT:<C>;
//	D 1 ETH, memo =:b:<btc2>, not paid out yet;
//
// and an exchange 1 ETH. Under haircut the thief's share is 10/20, so A
// carries 2 of its 4 ETH, and the payouts half their amounts: 6,500,000
// sat and 2,500 USDT. The Bitcoin recipient pays 0.05 BTC to an exchange
// and 0.0799 on (0.0001 fee); the Tron recipient pays all to an exchange.
const (
	btcRecipient  = "bc1qp2t4hl4jr6wjfzv28tsdyjysw7p5armf7px55w"
	btcRecipient2 = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
	btcVault      = "bc1q5ee9n2l8lpjsgzx7pr8mg8mrtc6tpqdsl0nqr4"
	btcExchange   = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"
	btcNext       = "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"
	tronRecipient = "TNPeeaaFB7K9cmo4uQpcU32zGK8G1NYqeL"
	tronVault     = "TYASr5UV6HEcXatwdFQfmLVUqQQQMUxHLS"
	tronExchange  = "TJCnKsPa7y5okkXvQAidZBzqx3QyQ6sxMW"
	tronUSDT      = chain.Asset("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t")
	routerAddr    = "0xd37bbe5744d730a1d98d8dc97c42f0ca46ad7146"
)

const oneETH = 1_000_000_000_000_000_000

func ethAmount(n, d uint64) chain.Amount {
	return chain.NewAmount(oneETH).MulDiv(chain.NewAmount(n), chain.NewAmount(d))
}

// crossWorld is the stores' blocks: Ethereum, Bitcoin and Tron.
type crossWorld struct {
	eth, btc, tron []*chain.Block
	deposit        map[string]string // name -> deposit tx
}

func bareHash(n int) string { return fmt.Sprintf("%064x", n) }

func newCrossWorld() *crossWorld {
	w := &crossWorld{deposit: map[string]string{}}
	vault := addr("ba17")
	ethBlock := func(h int, txs ...chain.Tx) *chain.Block {
		bt := t0.Add(time.Duration(h) * time.Minute)
		for i := range txs {
			txs[i].Index = i
			for j := range txs[i].Transfers {
				tr := &txs[i].Transfers[j]
				tr.Chain, tr.Tx, tr.Block, tr.Time = chain.Ethereum, txs[i].Hash, uint64(h), bt
			}
		}
		b := &chain.Block{Chain: chain.Ethereum, Height: uint64(h), Hash: hash(9000 + h), Parent: hash(9000 + h - 1), Time: bt, Txs: txs}
		w.eth = append(w.eth, b)
		return b
	}
	native := func(from, to string, v chain.Amount) chain.Transfer {
		return chain.Transfer{Kind: chain.KindNative, From: from, To: to, Amount: v}
	}
	thief, w2 := addr("7"), addr("72")
	ethBlock(1, chain.Tx{Hash: hash(1), From: addr("c1ea"), Transfers: []chain.Transfer{native(addr("c1ea"), thief, ethAmount(10, 1))}})
	ethBlock(2, chain.Tx{Hash: hash(2), From: addr("71c7"), Transfers: []chain.Transfer{native(addr("71c7"), thief, ethAmount(10, 1))}})
	// A deposit through the router: the coin to the router, which passes
	// it to the vault inside the call, and the router's event.
	deposit := func(h int, name, from string, v chain.Amount, memo string) {
		tx := hash(100 + h)
		b := ethBlock(h, chain.Tx{Hash: tx, From: from, Transfers: []chain.Transfer{
			native(from, routerAddr, v),
			{Kind: chain.KindInternal, Pos: 1, From: routerAddr, To: vault, Amount: v},
		}})
		d := chain.BridgeDeposit{Bridge: thorchain.BridgeName, Tx: tx, Log: 0, Contract: routerAddr, Amount: v, Memo: memo, Key: thorchain.PayoutKey(tx)}
		if m, err := thorchain.Parse(memo); err != nil {
			d.Err = err.Error()
		} else {
			d.DestChain, d.DestAsset = m.Asset.Chain, m.Asset.String()
			d.Recipient, _ = thorchain.Resolve(m.Asset.Chain, m.Dest)
		}
		b.Bridge = &chain.BridgeEvents{Deposits: []chain.BridgeDeposit{d}}
		w.deposit[name] = tx
	}
	deposit(3, "A", thief, ethAmount(4, 1), "=:BTC.BTC:"+btcRecipient+":1e6/1/0")
	ethBlock(4, chain.Tx{Hash: hash(4), From: thief, Transfers: []chain.Transfer{native(thief, w2, ethAmount(1, 1))}})
	deposit(5, "B", w2, ethAmount(1, 1), "BURN:BTC.BTC:"+btcRecipient)
	deposit(6, "C", thief, ethAmount(2, 1), "=:TRON.USDT-TR7NHQJEKQXGTCI8Q8ZY4PL8OTSZGJLJ6T:"+tronRecipient)
	deposit(7, "D", thief, ethAmount(1, 1), "=:b:"+btcRecipient2)
	ethBlock(8, chain.Tx{Hash: hash(8), From: thief, Transfers: []chain.Transfer{native(thief, addr("e"), ethAmount(1, 1))}})

	// Bitcoin: the vault's coin, THORChain's payout of A, and the
	// recipient's payment to an exchange.
	btcBlock := func(h int, txs ...chain.Tx) *chain.Block {
		for i := range txs {
			txs[i].Index = i
		}
		b := &chain.Block{Chain: chain.Bitcoin, Height: uint64(h), Hash: bareHash(7000 + h), Parent: bareHash(7000 + h - 1),
			Time: t0.Add(time.Duration(h) * 10 * time.Minute), Txs: txs}
		w.btc = append(w.btc, b)
		return b
	}
	btcBlock(1, chain.Tx{Hash: bareHash(11), Coinbase: true, Outputs: []chain.Output{{Index: 0, Address: btcVault, Value: 10_0000_0000, Script: "p2wpkh"}}})
	out := btcBlock(2, chain.Tx{Hash: bareHash(12), Inputs: []chain.Input{{PrevTx: bareHash(11), PrevIndex: 0}}, Outputs: []chain.Output{
		{Index: 0, Address: btcRecipient, Value: 13_000_000, Script: "p2wpkh"},
		{Index: 1, Address: btcVault, Value: 10_0000_0000 - 13_000_000 - 2_000, Script: "p2wpkh"},
		{Index: 2, Script: "nulldata"},
	}})
	memo := "OUT:" + strings.TrimPrefix(thorchain.PayoutKey(w.deposit["A"]), thorchain.BridgeName+"/")
	p, _ := thorchain.PayoutFromMemo(memo, bareHash(12), 2)
	out.Bridge = &chain.BridgeEvents{Payouts: []chain.BridgePayout{p.Record()}}
	btcBlock(3, chain.Tx{Hash: bareHash(13), Inputs: []chain.Input{{PrevTx: bareHash(12), PrevIndex: 0}}, Outputs: []chain.Output{
		{Index: 0, Address: btcExchange, Value: 5_000_000, Script: "p2pkh"},
		{Index: 1, Address: btcNext, Value: 7_990_000, Script: "p2sh"},
	}})

	// Tron: THORChain's payout of C in USDT, its memo OUT:<C>; the
	// recipient pays an exchange.
	tronBlock := func(h int, tx chain.Tx) *chain.Block {
		bt := t0.Add(time.Duration(h)*time.Minute + 30*time.Minute)
		for j := range tx.Transfers {
			tr := &tx.Transfers[j]
			tr.Chain, tr.Tx, tr.Block, tr.Time = chain.Tron, tx.Hash, uint64(h), bt
		}
		b := &chain.Block{Chain: chain.Tron, Height: uint64(h), Hash: bareHash(5000 + h), Parent: bareHash(5000 + h - 1), Time: bt, Txs: []chain.Tx{tx}}
		w.tron = append(w.tron, b)
		return b
	}
	pt := tronBlock(1, chain.Tx{Hash: bareHash(21), From: tronVault, Transfers: []chain.Transfer{{Kind: chain.KindToken, From: tronVault, To: tronRecipient, Asset: tronUSDT, Amount: chain.NewAmount(5_000_000_000)}}})
	memo = "OUT:" + strings.TrimPrefix(thorchain.PayoutKey(w.deposit["C"]), thorchain.BridgeName+"/")
	p, _ = thorchain.PayoutFromMemo(memo, bareHash(21), 0)
	p.To, p.Asset, p.Amount = tronRecipient, tronUSDT, chain.NewAmount(5_000_000_000)
	pt.Bridge = &chain.BridgeEvents{Payouts: []chain.BridgePayout{p.Record()}}
	tronBlock(2, chain.Tx{Hash: bareHash(22), From: tronRecipient, Transfers: []chain.Transfer{{Kind: chain.KindToken, From: tronRecipient, To: tronExchange, Asset: tronUSDT, Amount: chain.NewAmount(5_000_000_000)}}})
	return w
}

// write stores the world's chains; Bitcoin's inputs are resolved as
// ingest resolves them.
func (w *crossWorld) write(t *testing.T) *pebble.DB {
	t.Helper()
	ctx := context.Background()
	db, err := pebble.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	g := db.Graph()
	if err := ingest.ResolveInputs(ctx, g, chain.Bitcoin, w.btc); err != nil {
		t.Fatal(err)
	}
	for c, bs := range map[chain.Chain][]*chain.Block{chain.Ethereum: w.eth, chain.Bitcoin: w.btc, chain.Tron: w.tron} {
		if err := g.WriteBlocks(ctx, c, "test", bs); err != nil {
			t.Fatal(c, err)
		}
	}
	return db
}

var crossServices = labels{
	addr("e"):    {Entity: "Exchange One", Category: "exchange"},
	btcExchange:  {Entity: "Exchange Two", Category: "exchange"},
	tronExchange: {Entity: "Exchange Three", Category: "exchange"},
}

func TestCrossChain(t *testing.T) {
	w := newCrossWorld()
	db := w.write(t)
	ctx := context.Background()
	for _, c := range []struct {
		model                trace.Model
		ethEx, btcEx, tronEx chain.Amount
		btcIn, tronIn        chain.Amount
	}{
		// Haircut: the thief's share is half throughout; A carries 2 of
		// its 4 ETH, so 6,500,000 of the 13,000,000 sat paid out; the
		// recipient's coin pays the exchange 5,000,000 × 6.5/13.
		{trace.Haircut, ethAmount(1, 2), chain.NewAmount(2_500_000), chain.NewAmount(2_500_000_000), chain.NewAmount(6_500_000), chain.NewAmount(2_500_000_000)},
		{trace.Poison, ethAmount(1, 1), chain.NewAmount(5_000_000), chain.NewAmount(5_000_000_000), chain.NewAmount(13_000_000), chain.NewAmount(5_000_000_000)},
	} {
		r, err := trace.Run(ctx, db.Graph(), []trace.Seed{{Tx: hash(2)}}, trace.Options{Chain: chain.Ethereum, Model: c.model, Labels: crossServices})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Check(); err != nil {
			t.Fatalf("%s: %v", c.model, err)
		}
		if len(r.Crossings) != 4 {
			t.Fatalf("%s: crossings %+v", c.model, r.Crossings)
		}
		byTx := map[string]trace.Crossing{}
		for _, x := range r.Crossings {
			byTx[x.DepositTx] = x
		}
		a, b, cc, d := byTx[w.deposit["A"]], byTx[w.deposit["B"]], byTx[w.deposit["C"]], byTx[w.deposit["D"]]
		if a.Status != trace.CrossFollowed || a.ToChain != chain.Bitcoin || len(a.Out) != 1 || a.Out[0].To != btcRecipient ||
			a.Out[0].Amount != chain.NewAmount(13_000_000) || a.Out[0].Tainted != c.btcIn || a.In != ethAmount(4, 1) ||
			!strings.HasPrefix(a.Via, "THORChain swap, memo =:BTC.BTC:") || a.Hop != 1 {
			t.Errorf("%s: A %+v", c.model, a)
		}
		if b.Status != trace.CrossUnreadable || b.Memo != "BURN:BTC.BTC:"+btcRecipient || b.Reason == "" || len(b.Out) != 0 || b.ToChain != "" {
			t.Errorf("%s: B %+v", c.model, b)
		}
		if cc.Status != trace.CrossFollowed || cc.ToChain != chain.Tron || len(cc.Out) != 1 || cc.Out[0].Asset != tronUSDT || cc.Out[0].Tainted != c.tronIn {
			t.Errorf("%s: C %+v", c.model, cc)
		}
		if d.Status != trace.CrossNoPayout || d.ToChain != chain.Bitcoin || d.Recipient != btcRecipient2 {
			t.Errorf("%s: D %+v", c.model, d)
		}
		// The endpoints on each chain, each in its own asset.
		type key struct {
			c     chain.Chain
			addr  string
			asset chain.Asset
		}
		got := map[key]trace.Endpoint{}
		for _, e := range r.Endpoints {
			got[key{r.ChainOf(e.Chain), e.Address, e.Asset}] = e
		}
		for k, want := range map[key]chain.Amount{
			{chain.Ethereum, addr("e"), chain.Native}:  c.ethEx,
			{chain.Bitcoin, btcExchange, chain.Native}: c.btcEx,
			{chain.Tron, tronExchange, tronUSDT}:       c.tronEx,
		} {
			e, ok := got[k]
			if !ok || e.Amount != want {
				t.Errorf("%s: endpoint %v: %+v, want %s", c.model, k, e, want)
			}
		}
		rt := got[key{chain.Ethereum, routerAddr, chain.Native}]
		if rt.Label.Category != "bridge" || rt.Label.Heuristic != trace.HeuristicBridgeEvent || !rt.Continues || len(rt.Crossings) != 4 {
			t.Errorf("%s: router %+v", c.model, rt)
		}
		if e := got[key{chain.Bitcoin, btcExchange, chain.Native}]; e.Hop != 3 || e.Chain != chain.Bitcoin || len(e.Txs) != 1 || e.Txs[0] != bareHash(13) {
			t.Errorf("%s: bitcoin exchange %+v", c.model, e)
		}
		legs := map[chain.Chain]trace.Leg{}
		for _, l := range r.Legs {
			legs[l.Chain] = l
		}
		if l := legs[chain.Bitcoin]; l.Entered != c.btcIn || l.Hop != 2 || l.Through != 3 {
			t.Errorf("%s: bitcoin leg %+v", c.model, l)
		}
		if l := legs[chain.Tron]; l.Entered != c.tronIn || l.Asset != tronUSDT {
			t.Errorf("%s: tron leg %+v", c.model, l)
		}
		// The payout's recipient is no seed, and the legs' nodes say their chain.
		for _, n := range r.Nodes {
			if n.Address == btcRecipient && (n.Seed || n.Chain != chain.Bitcoin || n.Hop != 2 || n.Received != c.btcIn) {
				t.Errorf("%s: recipient %+v", c.model, n)
			}
		}
		// Without bridges the trace ends at the router, as before.
		r2, err := trace.Run(ctx, db.Graph(), []trace.Seed{{Tx: hash(2)}}, trace.Options{Chain: chain.Ethereum, Model: c.model, Labels: crossServices, NoBridges: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(r2.Crossings) != 0 || len(r2.Legs) != 0 || len(r2.Chains()) != 1 {
			t.Errorf("%s: no bridges: %+v %+v", c.model, r2.Crossings, r2.Legs)
		}
	}

	// A branch whose only deposit has a memo that does not parse ends at
	// the router, with the memo shown.
	r, err := trace.Run(ctx, db.Graph(), []trace.Seed{{Address: addr("72")}}, trace.Options{Chain: chain.Ethereum, Model: trace.Haircut, Labels: crossServices})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Endpoints) != 1 || r.Endpoints[0].Continues || r.Endpoints[0].Address != routerAddr || len(r.Endpoints[0].Crossings) != 1 || len(r.Legs) != 0 {
		t.Fatalf("malformed memo: %+v", r.Endpoints)
	}
	if x := r.Crossings[r.Endpoints[0].Crossings[0]]; x.Status != trace.CrossUnreadable || x.Memo != "BURN:BTC.BTC:"+btcRecipient ||
		!strings.Contains(x.Reason, "unknown function") || x.In != ethAmount(1, 1) {
		t.Fatalf("malformed memo: %+v", x)
	}

	// Past the hop limit the crossing is recorded, not followed.
	r, err = trace.Run(ctx, db.Graph(), []trace.Seed{{Tx: hash(2)}}, trace.Options{Chain: chain.Ethereum, Model: trace.Haircut, Labels: crossServices, MaxHops: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range r.Crossings {
		if x.DepositTx == w.deposit["A"] && x.Status != trace.CrossHopLimit {
			t.Errorf("hop limit: %+v", x)
		}
	}
	if len(r.Legs) != 0 {
		t.Errorf("hop limit: legs %+v", r.Legs)
	}
}

// A bridge whose payout names its recipient, asset and amount in an
// event (cBridge's Relay): a native deposit the event names as the
// wrapped coin, paid out unwrapped, followed on a chain the test maps
// the destination to.
func TestCrossEventPayout(t *testing.T) {
	const weth = chain.Asset("0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2")
	bridgeAddr, recipient, wallet := cbridge.EthereumBridge, addr("4ec1"), addr("7")
	bt := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Minute) }
	tr := func(h int, tx string, kind chain.TransferKind, pos uint32, from, to string, v chain.Amount) chain.Transfer {
		return chain.Transfer{Chain: chain.Ethereum, Tx: tx, Kind: kind, Pos: pos, Block: uint64(h), Time: bt(h), From: from, To: to, Amount: v}
	}
	blocks := []*chain.Block{
		{Height: 1, Txs: []chain.Tx{{Hash: hash(1), Transfers: []chain.Transfer{tr(1, hash(1), chain.KindNative, 0, addr("71c7"), wallet, ethAmount(3, 1))}}}},
		{Height: 2, Txs: []chain.Tx{{Hash: hash(2), Transfers: []chain.Transfer{tr(2, hash(2), chain.KindNative, 0, wallet, bridgeAddr, ethAmount(3, 1))}}},
			Bridge: &chain.BridgeEvents{Deposits: []chain.BridgeDeposit{{Bridge: cbridge.BridgeName, Tx: hash(2), Log: 5, Contract: bridgeAddr,
				Asset: weth, Amount: ethAmount(3, 1), DestChain: "eip155:56", Recipient: recipient, Key: "cbridge/0102"}}}},
		{Height: 3, Txs: []chain.Tx{{Hash: hash(3), Transfers: []chain.Transfer{tr(3, hash(3), chain.KindInternal, 1, bridgeAddr, recipient, ethAmount(299, 100))}}},
			Bridge: &chain.BridgeEvents{Payouts: []chain.BridgePayout{{Bridge: cbridge.BridgeName, Key: "cbridge/0102", Tx: hash(3), Log: 2,
				To: recipient, Asset: weth, Amount: ethAmount(299, 100)}}}},
		{Height: 4, Txs: []chain.Tx{{Hash: hash(4), Transfers: []chain.Transfer{tr(4, hash(4), chain.KindNative, 0, recipient, addr("e"), ethAmount(299, 100))}}}},
	}
	for _, b := range blocks {
		b.Chain, b.Hash, b.Parent, b.Time = chain.Ethereum, hash(9000+int(b.Height)), hash(8999+int(b.Height)), bt(int(b.Height))
	}
	ctx := context.Background()
	db, err := pebble.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Graph().WriteBlocks(ctx, chain.Ethereum, "test", blocks); err != nil {
		t.Fatal(err)
	}
	o := trace.Options{Chain: chain.Ethereum, Model: trace.Haircut, Labels: crossServices}
	// BSC is not the graph's Ethereum: the crossing says so.
	r, err := trace.Run(ctx, db.Graph(), []trace.Seed{{Tx: hash(1)}}, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Crossings) != 1 || r.Crossings[0].Status != trace.CrossNotHeld || r.Endpoints[0].Continues {
		t.Fatalf("not held: %+v %+v", r.Crossings, r.Endpoints)
	}
	o.Networks = func(dest string) (chain.Chain, bool) { return chain.Ethereum, dest == "eip155:56" }
	r, err = trace.Run(ctx, db.Graph(), []trace.Seed{{Tx: hash(1)}}, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Check(); err != nil {
		t.Fatal(err)
	}
	if len(r.Crossings) != 1 || r.Crossings[0].Status != trace.CrossFollowed || r.Crossings[0].Out[0].Kind != chain.KindInternal ||
		r.Crossings[0].Via != "cBridge transfer 0102" {
		t.Fatalf("%+v", r.Crossings)
	}
	var ex *trace.Endpoint
	for i := range r.Endpoints {
		if r.Endpoints[i].Address == addr("e") {
			ex = &r.Endpoints[i]
		}
	}
	// The same chain: nodes of the leg name none.
	if ex == nil || ex.Amount != ethAmount(299, 100) || ex.Chain != "" || ex.Hop != 3 {
		t.Fatalf("exchange %+v", ex)
	}
}
