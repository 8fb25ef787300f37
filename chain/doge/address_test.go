package doge_test

import (
	"encoding/hex"
	"testing"

	"github.com/btcsuite/btcd/btcutil"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/doge"
	"github.com/tracehound/tracehound/chain/internal/codectest"
	"github.com/tracehound/tracehound/chain/xvg"
)

// Addresses from Dogecoin Core's own guide, doc/getting-started.md
// (dogecoin/dogecoin): wallet addresses, the coinbase of block 69, and
// two testnet addresses of its transaction examples.
var (
	mainnet = []string{"DBZc6qeBuo7g8La7L3Lhaf39MsJSgbzpMX", "DC13A8qUgAu5rTWweb44TwXZNQbxDYhyo2", "D5TjotnkoXekNQBCn54CBWxjEzCJMMe7WS"}
	testnet = []string{"nWSYUqtimF7B6qW4GBdczaG6jvqKutS1Nh", "nnJDY1xCRgWQc7vBXHUPMPsEynuZW23Y3P"}
)

func TestDocumented(t *testing.T) {
	for _, a := range codectest.MustParse(t, doge.Codec{}, mainnet) {
		if a.Network != chain.Mainnet || a.Kind != "p2pkh" {
			t.Errorf("%+v", a)
		}
	}
	for _, a := range codectest.MustParse(t, doge.Codec{}, testnet) {
		if a.Network != chain.Testnet || a.Kind != "p2pkh" {
			t.Errorf("%+v", a)
		}
	}
}

// TestDerivation rebuilds two documented addresses from what the guide
// shows beside them: block 69's coinbase public key, and the key hash in
// the testnet output's scriptPubKey.
func TestDerivation(t *testing.T) {
	pub, _ := hex.DecodeString("0340a42a5ad6c4c0cd5ae539657032e0a359bd3e0f95771f34d71691b13460a624")
	if got := codectest.Base58Check([]byte{30}, btcutil.Hash160(pub)); got != mainnet[2] {
		t.Errorf("block 69 coinbase: %s, want %s", got, mainnet[2])
	}
	hash, _ := hex.DecodeString("c6977da37560e1432c2e14e16952981a4c272cac")
	if got := codectest.Base58Check([]byte{113}, hash); got != testnet[1] {
		t.Errorf("testnet output: %s, want %s", got, testnet[1])
	}
}

func TestParseInvalid(t *testing.T) {
	for _, tc := range []struct{ in, reason string }{
		{"", chain.ReasonEmpty},
		{"DBZc6qeBuo7g8La7L3Lhaf39MsJSgbzpMY", chain.ReasonChecksum},
		{"DBZc6qeBuo7g8La7L3Lhaf39MsJSgbzpM", chain.ReasonChecksum},
		{"DBZc6qeBuo7g8La7L3Lhaf39MsJSgbzpMl", chain.ReasonFormat},
		// Litecoin, Dash and Bitcoin addresses: other versions.
		{"LNf2JDiuunBz7GMDKFYHN4rq5meXWxiwfb", chain.ReasonNetwork},
		{"XnPFsRWTaSgiVauosEwQ6dEitGYXgwznz2", chain.ReasonNetwork},
		{"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", chain.ReasonNetwork},
		// Dogecoin has no segwit.
		{"doge1qx88q7zjd74lxwgkjmmwlqv5pd3vujuehexfttt", chain.ReasonFormat},
	} {
		if _, err := (doge.Codec{}).Parse(tc.in); chain.ErrorReason(err) != tc.reason {
			t.Errorf("%q: %v, want %s", tc.in, err, tc.reason)
		}
	}
}

// TestSharedWithVerge: Verge took Dogecoin's P2PKH version, so one D...
// string is an address on both chains; their P2SH versions differ.
func TestSharedWithVerge(t *testing.T) {
	for _, s := range mainnet {
		if _, err := (xvg.Codec{}).Parse(s); err != nil {
			t.Errorf("%s on Verge: %v", s, err)
		}
	}
	p2sh := codectest.Base58Check([]byte{22}, make([]byte, 20))
	if _, err := (xvg.Codec{}).Parse(p2sh); chain.ErrorReason(err) != chain.ReasonNetwork {
		t.Errorf("Dogecoin P2SH %s on Verge: %v", p2sh, err)
	}
}

func TestSubstitutions(t *testing.T) {
	addrs := append(append([]string{}, mainnet...), testnet...)
	addrs = append(addrs, codectest.GenBase58Check(codectest.Rand(2), 200-len(addrs), 20, []byte{30}, []byte{22})...)
	codectest.MustParse(t, doge.Codec{}, addrs)
	codectest.RefuseSubstitutions(t, doge.Codec{}, addrs, codectest.Base58Alphabet, 200)
}

func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) { codectest.CheckRoundTrip(t, doge.Codec{}, s) })
}

func BenchmarkParse(b *testing.B) {
	codectest.BenchParse(b, doge.Codec{}, append(append([]string{}, mainnet...), testnet...))
}
