//go:build integration

package btcrpc_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/btc"
	"github.com/tracehound/tracehound/ingest/btcrpc"
	"github.com/tracehound/tracehound/nodetest"
)

var simnet = &chaincfg.SimNetParams

// wallet is a key and the scripts and address that pay it.
type wallet struct {
	key    *btcec.PrivateKey
	addr   btcutil.Address
	script []byte
}

func newWallet(t testing.TB, kind string) *wallet {
	t.Helper()
	key, err := btcec.NewPrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	pub := key.PubKey().SerializeCompressed()
	var addr btcutil.Address
	switch kind {
	case "p2pkh":
		addr, err = btcutil.NewAddressPubKeyHash(btcutil.Hash160(pub), simnet)
	case "p2wpkh":
		addr, err = btcutil.NewAddressWitnessPubKeyHash(btcutil.Hash160(pub), simnet)
	case "p2tr":
		addr, err = btcutil.NewAddressTaproot(txscript.ComputeTaprootKeyNoScript(key.PubKey()).SerializeCompressed()[1:], simnet)
	}
	if err != nil {
		t.Fatal(err)
	}
	script, err := txscript.PayToAddrScript(addr)
	if err != nil {
		t.Fatal(err)
	}
	return &wallet{key, addr, script}
}

// coin is an output the test may spend.
type coin struct {
	op    wire.OutPoint
	value int64
	owner *wallet
}

// spend builds and signs a transaction spending coins to outs.
func spend(t *testing.T, coins []coin, outs []*wire.TxOut) *wire.MsgTx {
	t.Helper()
	tx := wire.NewMsgTx(2)
	prev := make(map[wire.OutPoint]*wire.TxOut)
	for _, c := range coins {
		tx.AddTxIn(wire.NewTxIn(&c.op, nil, nil))
		prev[c.op] = wire.NewTxOut(c.value, c.owner.script)
	}
	for _, o := range outs {
		tx.AddTxOut(o)
	}
	hashes := txscript.NewTxSigHashes(tx, txscript.NewMultiPrevOutFetcher(prev))
	for i, c := range coins {
		switch c.owner.addr.(type) {
		case *btcutil.AddressPubKeyHash:
			sig, err := txscript.SignatureScript(tx, i, c.owner.script, txscript.SigHashAll, c.owner.key, true)
			if err != nil {
				t.Fatal(err)
			}
			tx.TxIn[i].SignatureScript = sig
		case *btcutil.AddressWitnessPubKeyHash:
			wit, err := txscript.WitnessSignature(tx, hashes, i, c.value, c.owner.script, txscript.SigHashAll, c.owner.key, true)
			if err != nil {
				t.Fatal(err)
			}
			tx.TxIn[i].Witness = wit
		default:
			t.Fatalf("cannot sign for %T", c.owner.addr)
		}
	}
	return tx
}

// satoshi parses a decimal BTC amount exactly, without floating point.
func satoshi(t *testing.T, n json.Number) uint64 {
	t.Helper()
	s := n.String()
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) > 8 || strings.ContainsAny(s, "eE-") {
		t.Fatalf("amount %s is not a plain BTC decimal", s)
	}
	frac += strings.Repeat("0", 8-len(frac))
	w, err := strconv.ParseUint(whole, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	f, err := strconv.ParseUint(frac, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return w*100_000_000 + f
}

// nodeTx is getrawtransaction's verbose answer, amounts kept as decimals.
type nodeTx struct {
	Txid string `json:"txid"`
	Vin  []struct {
		Txid string `json:"txid"`
		Vout uint32 `json:"vout"`
	} `json:"vin"`
	Vout []struct {
		Value        json.Number `json:"value"`
		N            uint32      `json:"n"`
		ScriptPubKey struct {
			Type      string   `json:"type"`
			Address   string   `json:"address"`
			Addresses []string `json:"addresses"`
		} `json:"scriptPubKey"`
	} `json:"vout"`
	BlockHash string `json:"blockhash"`
}

func getTx(t *testing.T, ctx context.Context, node *nodetest.Btcd, id string) nodeTx {
	t.Helper()
	raw, err := node.Call(ctx, "getrawtransaction", id, 1)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	var tx nodeTx
	if err := dec.Decode(&tx); err != nil {
		t.Fatal(err)
	}
	return tx
}

// TestRPCSourceBtcd sends real transactions through a simnet btcd and
// reads them back through the RPC source.
func TestRPCSourceBtcd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	miner := newWallet(t, "p2pkh")
	alice := newWallet(t, "p2pkh")
	bob := newWallet(t, "p2wpkh")
	carol := newWallet(t, "p2tr")
	node := nodetest.StartBtcd(t, nodetest.BtcdOptions{MiningAddr: miner.addr.EncodeAddress()})

	// 300 blocks: block 1's coinbase matures, and segwit (voted on in
	// windows of 100 blocks on simnet) becomes active.
	if _, err := node.Generate(ctx, 300); err != nil {
		t.Fatal(err)
	}
	src, err := btcrpc.NewRPCSource(btcrpc.RPCConfig{URL: node.URL, User: node.User, Pass: node.Pass, Params: simnet,
		BatchSize: 16, Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	if src.ID() != "btc:simnet" {
		t.Errorf("ID %s", src.ID())
	}
	first, err := src.Blocks(ctx, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	cb := first[0].Txs[0]
	if !cb.Coinbase || len(cb.Outputs) != 1 || cb.Outputs[0].Address != miner.addr.EncodeAddress() || cb.Outputs[0].Value != 5_000_000_000 {
		t.Fatalf("block 1 coinbase %+v", cb)
	}
	cbHash, err := chainhash.NewHashFromStr(cb.Hash)
	if err != nil {
		t.Fatal(err)
	}

	// tx1: P2PKH spend paying Alice (P2PKH), Bob (P2WPKH), Carol (P2TR), a
	// data output, and change back to the miner.
	memo, err := txscript.NullDataScript([]byte("tracehound"))
	if err != nil {
		t.Fatal(err)
	}
	const fee1 = 12_345
	tx1 := spend(t, []coin{{wire.OutPoint{Hash: *cbHash, Index: 0}, 5_000_000_000, miner}}, []*wire.TxOut{
		wire.NewTxOut(1_234_567_890, alice.script),
		wire.NewTxOut(700_000_000, bob.script),
		wire.NewTxOut(100_000_001, carol.script),
		wire.NewTxOut(0, memo),
		wire.NewTxOut(5_000_000_000-1_234_567_890-700_000_000-100_000_001-fee1, miner.script),
	})
	id1, err := node.SendRawTransaction(ctx, tx1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := node.Generate(ctx, 1); err != nil {
		t.Fatal(err)
	}

	// tx2 spends Bob's P2WPKH coin and Alice's P2PKH coin together; tx3
	// spends tx2's change in the same block.
	const fee2, fee3 = 2_000, 1_500
	tx1h := tx1.TxHash()
	tx2 := spend(t, []coin{
		{wire.OutPoint{Hash: tx1h, Index: 1}, 700_000_000, bob},
		{wire.OutPoint{Hash: tx1h, Index: 0}, 1_234_567_890, alice},
	}, []*wire.TxOut{
		wire.NewTxOut(500_000_000, alice.script),
		wire.NewTxOut(700_000_000+1_234_567_890-500_000_000-fee2, bob.script),
	})
	id2, err := node.SendRawTransaction(ctx, tx2)
	if err != nil {
		t.Fatal(err)
	}
	tx3 := spend(t, []coin{{wire.OutPoint{Hash: tx2.TxHash(), Index: 1}, 700_000_000 + 1_234_567_890 - 500_000_000 - fee2, bob}},
		[]*wire.TxOut{wire.NewTxOut(700_000_000+1_234_567_890-500_000_000-fee2-fee3, miner.script)})
	id3, err := node.SendRawTransaction(ctx, tx3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := node.Generate(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if out, err := node.Ctl(ctx, "getblockcount"); err != nil || out != "304" {
		t.Fatalf("btcctl getblockcount: %q, %v", out, err)
	}

	head, err := src.Head(ctx)
	if err != nil || head != 304 {
		t.Fatalf("head %d, %v", head, err)
	}
	start := time.Now()
	blocks, err := src.Blocks(ctx, 0, head)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("read %d blocks over RPC in %s", len(blocks), time.Since(start))

	// Resolve every input from the outputs before it and check that each
	// coinbase pays exactly the subsidy and its block's fees.
	type utxo struct {
		addr  string
		value uint64
	}
	utxos := map[chain.OutPoint]utxo{}
	fees := map[string]uint64{}
	txs := map[string]*chain.Tx{}
	height := map[string]uint64{}
	for h, b := range blocks {
		if b.Height != uint64(h) || (h > 0 && b.Parent != blocks[h-1].Hash) {
			t.Fatalf("block %d: height %d parent %s", h, b.Height, b.Parent)
		}
		if hash, err := src.HashAt(ctx, uint64(h)); err != nil || hash != b.Hash {
			t.Fatalf("HashAt(%d) = %s, %v; block %s", h, hash, err, b.Hash)
		}
		var blockFees uint64
		for i := range b.Txs {
			tx := &b.Txs[i]
			txs[tx.Hash], height[tx.Hash] = tx, b.Height
			var in, out uint64
			for j := range tx.Inputs {
				ip := &tx.Inputs[j]
				u, ok := utxos[chain.OutPoint{Tx: ip.PrevTx, Index: ip.PrevIndex}]
				if !ok {
					t.Fatalf("block %d tx %s spends unknown %s:%d", h, tx.Hash, ip.PrevTx, ip.PrevIndex)
				}
				delete(utxos, chain.OutPoint{Tx: ip.PrevTx, Index: ip.PrevIndex})
				ip.Address, ip.Value = u.addr, u.value
				in += u.value
			}
			for _, o := range tx.Outputs {
				out += o.Value
				utxos[chain.OutPoint{Tx: tx.Hash, Index: o.Index}] = utxo{o.Address, o.Value}
			}
			if !tx.Coinbase {
				fees[tx.Hash] = in - out
				blockFees += in - out
			}
		}
		var paid uint64
		for _, o := range b.Txs[0].Outputs {
			paid += o.Value
		}
		if paid != 5_000_000_000+blockFees {
			t.Errorf("block %d coinbase pays %d, want 5000000000 + %d", h, paid, blockFees)
		}
	}

	for _, c := range []struct {
		id     string
		tx     *wire.MsgTx
		fee    uint64
		height uint64
		ins    []chain.Input
	}{
		{id1, tx1, fee1, 301, []chain.Input{{PrevTx: cb.Hash, PrevIndex: 0, Address: miner.addr.EncodeAddress(), Value: 5_000_000_000}}},
		{id2, tx2, fee2, 302, []chain.Input{
			{PrevTx: id1, PrevIndex: 1, Address: bob.addr.EncodeAddress(), Value: 700_000_000},
			{PrevTx: id1, PrevIndex: 0, Address: alice.addr.EncodeAddress(), Value: 1_234_567_890},
		}},
		{id3, tx3, fee3, 302, []chain.Input{{PrevTx: id2, PrevIndex: 1, Address: bob.addr.EncodeAddress(), Value: 700_000_000 + 1_234_567_890 - 500_000_000 - fee2}}},
	} {
		got, ok := txs[c.id]
		if !ok {
			t.Fatalf("tx %s not in the blocks", c.id)
		}
		if c.id != c.tx.TxHash().String() || height[c.id] != c.height || fees[c.id] != c.fee {
			t.Errorf("tx %s: height %d fee %d, want %d and %d", c.id, height[c.id], fees[c.id], c.height, c.fee)
		}
		if fmt.Sprint(got.Inputs) != fmt.Sprint(c.ins) {
			t.Errorf("tx %s inputs %+v, want %+v", c.id, got.Inputs, c.ins)
		}
		// Outputs against what the test built and what the node reports.
		ntx := getTx(t, ctx, node, c.id)
		if ntx.Txid != c.id || len(ntx.Vout) != len(got.Outputs) || len(c.tx.TxOut) != len(got.Outputs) ||
			ntx.BlockHash != blocks[c.height].Hash || len(ntx.Vin) != len(got.Inputs) {
			t.Fatalf("tx %s: node reports %+v", c.id, ntx)
		}
		for j, o := range got.Outputs {
			built := c.tx.TxOut[j]
			_, addrs, _, _ := txscript.ExtractPkScriptAddrs(built.PkScript, simnet)
			want := ""
			if len(addrs) == 1 {
				want = addrs[0].EncodeAddress()
			}
			nv := ntx.Vout[j]
			nodeAddr := nv.ScriptPubKey.Address
			if nodeAddr == "" && len(nv.ScriptPubKey.Addresses) == 1 {
				nodeAddr = nv.ScriptPubKey.Addresses[0]
			}
			if o.Index != uint32(j) || o.Value != uint64(built.Value) || o.Value != satoshi(t, nv.Value) || o.Address != want || o.Address != nodeAddr {
				t.Errorf("tx %s output %d: %+v; built %d to %q; node %s BTC to %q (%s)", c.id, j, o, built.Value, want, nv.Value, nodeAddr, nv.ScriptPubKey.Type)
			}
		}
		for j, in := range got.Inputs {
			if ntx.Vin[j].Txid != in.PrevTx || ntx.Vin[j].Vout != in.PrevIndex {
				t.Errorf("tx %s input %d: node spends %s:%d", c.id, j, ntx.Vin[j].Txid, ntx.Vin[j].Vout)
			}
		}
	}
	// Every kind of output paid, by class.
	classes := map[string]string{}
	for _, o := range txs[id1].Outputs {
		classes[o.Address] = o.Script
	}
	want := map[string]string{
		alice.addr.EncodeAddress(): btc.ClassP2PKH,
		bob.addr.EncodeAddress():   btc.ClassP2WPKH,
		carol.addr.EncodeAddress(): btc.ClassP2TR,
		"":                         btc.ClassNullData,
		miner.addr.EncodeAddress(): btc.ClassP2PKH,
	}
	if fmt.Sprint(classes) != fmt.Sprint(want) {
		t.Errorf("classes %v, want %v", classes, want)
	}
	for addr := range want {
		if addr == "" {
			continue
		}
		if a, err := (btc.Codec{}).Parse(addr); err != nil || a.Network != chain.Simnet {
			t.Errorf("codec: %s: %+v, %v", addr, a, err)
		}
	}
}

// TestRPCSourceNodeKilled: a node that goes away mid-run gives an error
// naming the height after the retries, never a short answer.
func TestRPCSourceNodeKilled(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	miner := newWallet(t, "p2pkh")
	node := nodetest.StartBtcd(t, nodetest.BtcdOptions{MiningAddr: miner.addr.EncodeAddress()})
	if _, err := node.Generate(ctx, 40); err != nil {
		t.Fatal(err)
	}
	src, err := btcrpc.NewRPCSource(btcrpc.RPCConfig{URL: node.URL, User: node.User, Pass: node.Pass, Params: simnet,
		Retries: 3, Backoff: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := src.Blocks(ctx, 0, 20)
	if err != nil || len(blocks) != 21 {
		t.Fatalf("%d blocks, %v", len(blocks), err)
	}
	node.Kill()
	start := time.Now()
	blocks, err = src.Blocks(ctx, 21, 40)
	if err == nil || blocks != nil {
		t.Fatalf("%d blocks from a dead node, error %v", len(blocks), err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "height 21") || !strings.Contains(msg, "after 4 attempts") || !strings.Contains(msg, "refused") {
		t.Errorf("error %q: want the height, the attempts and the cause", msg)
	}
	// 50 + 100 + 200 ms of backoff.
	if d := time.Since(start); d < 350*time.Millisecond || d > 30*time.Second {
		t.Errorf("gave up after %s", d)
	}
	t.Logf("dead node: %v", err)
	if _, err := src.Head(ctx); err == nil {
		t.Error("head from a dead node")
	}
}

func TestBtcdHarness(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	miner := newWallet(t, "p2pkh")
	node := nodetest.StartBtcd(t, nodetest.BtcdOptions{MiningAddr: miner.addr.EncodeAddress()})
	hashes, err := node.Generate(ctx, 2)
	if err != nil || len(hashes) != 2 {
		t.Fatalf("%v %v", hashes, err)
	}
	if out, err := node.Ctl(ctx, "getblockhash", "2"); err != nil || out != hashes[1] {
		t.Errorf("btcctl getblockhash 2: %q, %v", out, err)
	}
	// A node error comes back as an error.
	if _, err := node.Call(ctx, "getblockhash", 99); err == nil || !strings.Contains(err.Error(), "rpc error") {
		t.Errorf("getblockhash 99: %v", err)
	}
	bad := wire.NewMsgTx(2)
	if _, err := node.SendRawTransaction(ctx, bad); err == nil {
		t.Error("empty transaction accepted")
	}
}
