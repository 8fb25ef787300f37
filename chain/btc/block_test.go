package btc_test

import (
	"bytes"
	"compress/bzip2"
	"encoding/binary"
	"os"
	"testing"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/tracehound/tracehound/chain/btc"
	"github.com/tracehound/tracehound/chain/chaintest"
)

// The key in the genesis block's coinbase output.
const genesisKey = "04678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5f"

func TestScriptAddress(t *testing.T) {
	compressed := "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
	tests := []struct {
		name   string
		script string
		params *chaincfg.Params
		addr   string
		class  string
	}{
		{"p2pk uncompressed (genesis)", "41" + genesisKey + "ac", &chaincfg.MainNetParams, "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", btc.ClassP2PK},
		{"p2pkh of the same key", "76a91462e907b15cbf27d5425399ebf6f0fb50ebb88f1888ac", &chaincfg.MainNetParams, "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", btc.ClassP2PKH},
		// The generator point's compressed key: private key 1.
		{"p2pk compressed", "21" + compressed + "ac", &chaincfg.MainNetParams, "1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH", btc.ClassP2PK},
		{"p2pkh simnet", "76a91462e907b15cbf27d5425399ebf6f0fb50ebb88f1888ac", &chaincfg.SimNetParams, "SWJzQrRXomTrC1oftpSk1EDzzZ9Xz5mzbh", btc.ClassP2PKH},
		{"p2sh", "a914b472a266d0bd89c13706a4132ccfb16f7c3b9fcb87", &chaincfg.MainNetParams, "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", btc.ClassP2SH},
		{"p2wpkh", "0014751e76e8199196d454941c45d1b3a323f1433bd6", &chaincfg.MainNetParams, "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", btc.ClassP2WPKH},
		{"p2wsh", "00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262", &chaincfg.MainNetParams, "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3", btc.ClassP2WSH},
		{"p2tr", "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798", &chaincfg.MainNetParams, "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", btc.ClassP2TR},
		{"anchor", "51024e73", &chaincfg.MainNetParams, "", btc.ClassAnchor},
		{"witness v16", "6002751e", &chaincfg.MainNetParams, "", btc.ClassWitnessUnknown},
		{"bare multisig 1-of-2", "5121" + compressed + "21" + compressed + "52ae", &chaincfg.MainNetParams, "", btc.ClassMultisig},
		{"op_return", "6a04deadbeef", &chaincfg.MainNetParams, "", btc.ClassNullData},
		{"empty", "", &chaincfg.MainNetParams, "", btc.ClassNonStandard},
		{"op_true", "51", &chaincfg.MainNetParams, "", btc.ClassNonStandard},
		{"witness push too long", "5129" + compressed + "0000000000000000", &chaincfg.MainNetParams, "", btc.ClassNonStandard},
		{"truncated p2pkh", "76a91462e907b15cbf27d5425399ebf6f0fb50ebb88f1888", &chaincfg.MainNetParams, "", btc.ClassNonStandard},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr, class := btc.ScriptAddress(chaintest.MustHex(t, tc.script), tc.params)
			if addr != tc.addr || class != tc.class {
				t.Errorf("btc.ScriptAddress = %q, %q; want %q, %q", addr, class, tc.addr, tc.class)
			}
			if addr == "" {
				return
			}
			// Every address given must parse with the codec, in canonical form.
			a, err := (btc.Codec{}).Parse(addr)
			if err != nil {
				t.Fatalf("codec rejects %s: %v", addr, err)
			}
			if a.Value != addr {
				t.Errorf("canonical form %s, want %s", a.Value, addr)
			}
		})
	}
}

// TestScriptAddressRoundTrip pays each kind of address with btcutil's own
// script and expects that address back.
func TestScriptAddressRoundTrip(t *testing.T) {
	for _, s := range []string{
		"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
		"3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
		"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
		"bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3",
		"bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
	} {
		a, err := btcutil.DecodeAddress(s, &chaincfg.MainNetParams)
		if err != nil {
			t.Fatal(err)
		}
		script, err := txscript.PayToAddrScript(a)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := btc.ScriptAddress(script, &chaincfg.MainNetParams); got != s {
			t.Errorf("%s: got %q", s, got)
		}
	}
}

func TestDecodeGenesis(t *testing.T) {
	var buf bytes.Buffer
	if err := chaincfg.MainNetParams.GenesisBlock.Serialize(&buf); err != nil {
		t.Fatal(err)
	}
	b, err := btc.DecodeBlock(buf.Bytes(), 0, &chaincfg.MainNetParams)
	if err != nil {
		t.Fatal(err)
	}
	if b.Hash != "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f" {
		t.Errorf("hash %s", b.Hash)
	}
	if b.Parent != "0000000000000000000000000000000000000000000000000000000000000000" {
		t.Errorf("parent %s", b.Parent)
	}
	if got := b.Time.Format("2006-01-02T15:04:05Z07:00"); got != "2009-01-03T18:15:05Z" {
		t.Errorf("time %s", got)
	}
	if len(b.Txs) != 1 {
		t.Fatalf("%d txs", len(b.Txs))
	}
	tx := b.Txs[0]
	if tx.Hash != "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b" || !tx.Coinbase || tx.Inputs != nil {
		t.Errorf("coinbase %+v", tx)
	}
	if len(tx.Outputs) != 1 || tx.Outputs[0].Value != 5_000_000_000 || tx.Outputs[0].Address != "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa" || tx.Outputs[0].Script != btc.ClassP2PK {
		t.Errorf("outputs %+v", tx.Outputs)
	}
	// btc.FromWire over the decoded message gives the same block.
	fw := btc.FromWire(chaincfg.MainNetParams.GenesisBlock, 0, &chaincfg.MainNetParams)
	if fw.Hash != b.Hash || fw.Txs[0].Hash != tx.Hash || fw.Txs[0].Outputs[0] != tx.Outputs[0] {
		t.Errorf("btc.FromWire differs: %+v", fw)
	}
}

func TestDecodeBlockRejects(t *testing.T) {
	var buf bytes.Buffer
	if err := chaincfg.MainNetParams.GenesisBlock.Serialize(&buf); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	flip := func(i int) []byte {
		b := bytes.Clone(good)
		b[i] ^= 0x01
		return b
	}
	tests := []struct {
		name string
		raw  []byte
	}{
		{"empty", nil},
		{"header only", good[:80]},
		{"truncated", good[:len(good)-1]},
		{"trailing byte", append(bytes.Clone(good), 0)},
		{"flipped nonce", flip(79)},
		{"flipped output value", flip(len(good) - 80)},
		{"flipped lock time", flip(len(good) - 1)},
	}
	for _, tc := range tests {
		if _, err := btc.DecodeBlock(tc.raw, 0, &chaincfg.MainNetParams); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

// bip34Height reads the height a BIP 34 coinbase commits to.
func bip34Height(t *testing.T, coinbase *wire.MsgTx) uint64 {
	t.Helper()
	s := coinbase.TxIn[0].SignatureScript
	n := int(s[0])
	if n < 1 || n > 8 || len(s) < 1+n {
		t.Fatalf("coinbase script %x has no height push", s)
	}
	var le [8]byte
	copy(le[:], s[1:1+n])
	return binary.LittleEndian.Uint64(le[:])
}

// TestBlock277647 decodes a 2013 mainnet block of many transactions and
// checks every output against btcutil's own address encoding.
func TestBlock277647(t *testing.T) {
	f, err := os.Open(chaintest.SharedData(t, "btc", "277647.dat.bz2"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rr := btc.NewRecordReader(bzip2.NewReader(f), "277647.dat.bz2", wire.MainNet)
	raw, off, err := rr.Next()
	if err != nil || off != 0 {
		t.Fatalf("record at %d: %v", off, err)
	}
	var msg wire.MsgBlock
	if err := msg.Deserialize(bytes.NewReader(raw)); err != nil {
		t.Fatal(err)
	}
	if h := bip34Height(t, msg.Transactions[0]); h != 277647 {
		t.Fatalf("coinbase commits to height %d", h)
	}
	b, err := btc.DecodeBlock(raw, 277647, &chaincfg.MainNetParams)
	if err != nil {
		t.Fatal(err)
	}
	if b.Hash != msg.BlockHash().String() || b.Height != 277647 || len(b.Txs) != len(msg.Transactions) {
		t.Fatalf("block %s height %d with %d txs", b.Hash, b.Height, len(b.Txs))
	}
	if _, _, err := rr.Next(); err == nil {
		t.Error("a second record")
	}
	classes := map[string]int{}
	for i, tx := range b.Txs {
		mt := msg.Transactions[i]
		if tx.Hash != mt.TxHash().String() || tx.Index != i || tx.Coinbase != (i == 0) {
			t.Fatalf("tx %d: %s", i, tx.Hash)
		}
		if !tx.Coinbase {
			if len(tx.Inputs) != len(mt.TxIn) {
				t.Fatalf("tx %s: %d inputs", tx.Hash, len(tx.Inputs))
			}
			for j, in := range tx.Inputs {
				op := mt.TxIn[j].PreviousOutPoint
				if in.PrevTx != op.Hash.String() || in.PrevIndex != op.Index || in.Address != "" || in.Value != 0 {
					t.Fatalf("tx %s input %d: %+v", tx.Hash, j, in)
				}
			}
		}
		for j, o := range tx.Outputs {
			mo := mt.TxOut[j]
			if o.Index != uint32(j) || o.Value != uint64(mo.Value) {
				t.Fatalf("tx %s output %d: %+v", tx.Hash, j, o)
			}
			classes[o.Script]++
			sc, addrs, _, _ := txscript.ExtractPkScriptAddrs(mo.PkScript, &chaincfg.MainNetParams)
			want := ""
			switch sc {
			case txscript.PubKeyTy:
				want = addrs[0].(*btcutil.AddressPubKey).AddressPubKeyHash().EncodeAddress()
			case txscript.PubKeyHashTy, txscript.ScriptHashTy:
				want = addrs[0].EncodeAddress()
			}
			if o.Address != want {
				t.Fatalf("tx %s output %d: address %q, want %q", tx.Hash, j, o.Address, want)
			}
		}
	}
	if len(b.Txs) != 213 || len(classes) != 1 || classes[btc.ClassP2PKH] != 769 {
		t.Errorf("%d txs, output classes %v; want 213 txs paying 769 p2pkh outputs", len(b.Txs), classes)
	}
}

func BenchmarkDecodeBlock277647(b *testing.B) {
	f, err := os.Open(chaintest.SharedData(b, "btc", "277647.dat.bz2"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	raw, _, err := btc.NewRecordReader(bzip2.NewReader(f), "277647.dat.bz2", wire.MainNet).Next()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := btc.DecodeBlock(raw, 277647, &chaincfg.MainNetParams); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzScriptAddress checks btc.ScriptAddress against txscript's classification
// and btcutil's encoding of every script.
func FuzzScriptAddress(f *testing.F) {
	classes := map[txscript.ScriptClass]string{
		txscript.PubKeyHashTy:          btc.ClassP2PKH,
		txscript.ScriptHashTy:          btc.ClassP2SH,
		txscript.WitnessV0PubKeyHashTy: btc.ClassP2WPKH,
		txscript.WitnessV0ScriptHashTy: btc.ClassP2WSH,
		txscript.WitnessV1TaprootTy:    btc.ClassP2TR,
		txscript.PubKeyTy:              btc.ClassP2PK,
		txscript.MultiSigTy:            btc.ClassMultisig,
		txscript.NullDataTy:            btc.ClassNullData,
	}
	f.Fuzz(func(t *testing.T, script []byte) {
		params := &chaincfg.MainNetParams
		addr, class := btc.ScriptAddress(script, params)
		sc, addrs, _, err := txscript.ExtractPkScriptAddrs(script, params)
		if err != nil {
			t.Fatal(err)
		}
		want, ok := classes[sc]
		if !ok {
			if class != btc.ClassNonStandard && class != btc.ClassWitnessUnknown && class != btc.ClassAnchor || addr != "" {
				t.Fatalf("%x: %q %q for txscript class %v", script, addr, class, sc)
			}
			return
		}
		if class != want {
			t.Fatalf("%x: class %q, want %q", script, class, want)
		}
		switch sc {
		case txscript.PubKeyTy:
			// txscript drops keys off the curve; the address is of the bytes.
			if len(addrs) == 1 && addr != addrs[0].(*btcutil.AddressPubKey).AddressPubKeyHash().EncodeAddress() {
				t.Fatalf("%x: address %q", script, addr)
			}
			if addr == "" {
				t.Fatalf("%x: no address", script)
			}
		case txscript.MultiSigTy, txscript.NullDataTy:
			if addr != "" {
				t.Fatalf("%x: address %q", script, addr)
			}
		default:
			if len(addrs) != 1 || addr != addrs[0].EncodeAddress() {
				t.Fatalf("%x: address %q, txscript %v", script, addr, addrs)
			}
		}
		if addr != "" {
			if _, err := (btc.Codec{}).Parse(addr); err != nil {
				t.Fatalf("%x: codec rejects %s: %v", script, addr, err)
			}
		}
	})
}
