package ltc_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/internal/codectest"
	"github.com/tracehound/tracehound/chain/ltc"
)

// A P2WPKH address and its key hash, from mrtnetwork/blockchain_utils's
// test vectors (test/address/p2wpkh/test_vector.dart).
const (
	segwit     = "ltc1qx88q7zjd74lxwgkjmmwlqv5pd3vujuehexfttt"
	segwitHash = "31ce0f0a4df57e6722d2deddf032816c59c97337"
)

func TestOFACList(t *testing.T) {
	addrs := codectest.List(t, "LTC")
	for i, a := range codectest.MustParse(t, ltc.Codec{}, addrs) {
		if a.Value != addrs[i] || a.Network != chain.Mainnet {
			t.Errorf("%s: %+v", addrs[i], a)
		}
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct{ in, canonical, kind string }{
		{"LNf2JDiuunBz7GMDKFYHN4rq5meXWxiwfb", "LNf2JDiuunBz7GMDKFYHN4rq5meXWxiwfb", "p2pkh"},
		{"M8yFL6SFC6TreATegTyuSYkDfDRbisdpT3", "M8yFL6SFC6TreATegTyuSYkDfDRbisdpT3", "p2sh"},
		// Litecoin's P2SH version before M... is Bitcoin's: this is
		// Bitcoin's BIP 13 example.
		{"3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "p2sh"},
		{segwit, segwit, "p2wpkh"},
		{strings.ToUpper(segwit), segwit, "p2wpkh"},
		{" " + segwit + "\n", segwit, "p2wpkh"},
	} {
		a, err := ltc.Codec{}.Parse(tc.in)
		if err != nil || a.Value != tc.canonical || a.Kind != tc.kind || a.Chain != chain.Litecoin || a.Network != chain.Mainnet {
			t.Errorf("%q: %+v %v", tc.in, a, err)
		}
	}
}

func TestParseInvalid(t *testing.T) {
	mixed := "ltc1qX88q7zjd74lxwgkjmmwlqv5pd3vujuehexfttt"
	for _, tc := range []struct{ in, reason, detail string }{
		{"", chain.ReasonEmpty, ""},
		{"LNf2JDiuunBz7GMDKFYHN4rq5meXWxiwfc", chain.ReasonChecksum, ""},
		{"LNf2JDiuunBz7GMDKFYHN4rq5meXWxiwf0", chain.ReasonFormat, "not base58"},
		{"ltc1qx88q7zjd74lxwgkjmmwlqv5pd3vujuehexfttq", chain.ReasonChecksum, ""},
		{mixed, chain.ReasonFormat, "valid in lower case: " + segwit},
		// Bitcoin's genesis address: valid base58check, Bitcoin's version.
		{"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", chain.ReasonNetwork, "Bitcoin"},
		{"DBZc6qeBuo7g8La7L3Lhaf39MsJSgbzpMX", chain.ReasonNetwork, "Dogecoin"},
	} {
		_, err := ltc.Codec{}.Parse(tc.in)
		if chain.ErrorReason(err) != tc.reason || !strings.Contains(errString(err), tc.detail) {
			t.Errorf("%q: %v, want %s with %q", tc.in, err, tc.reason, tc.detail)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestSegwitProgram(t *testing.T) {
	// The documented key hash is the program: decode it independently.
	a, err := ltc.Codec{}.Parse(segwit)
	if err != nil || a.Kind != "p2wpkh" {
		t.Fatal(a, err)
	}
	gen := codectest.GenSegwit(t, codectest.Rand(1), "ltc", 3)
	if !slices.ContainsFunc(gen, func(s string) bool { return strings.HasPrefix(s, "ltc1p") }) {
		t.Fatal("no taproot generated")
	}
	for _, s := range gen {
		if _, err := (ltc.Codec{}).Parse(s); err != nil {
			t.Error(err)
		}
	}
	if got := codectest.Bech32Program(t, segwit); got != segwitHash {
		t.Errorf("program %s, want %s", got, segwitHash)
	}
}

// TestSubstitutions refuses every single-character substitution of the
// listed addresses and of generated ones up to 200, and of 60 segwit
// addresses.
func TestSubstitutions(t *testing.T) {
	r := codectest.Rand(2)
	addrs := codectest.List(t, "LTC")
	addrs = append(addrs, codectest.GenBase58Check(r, 200-len(addrs), 20, []byte{48}, []byte{50}, []byte{5})...)
	codectest.MustParse(t, ltc.Codec{}, addrs)
	codectest.RefuseSubstitutions(t, ltc.Codec{}, addrs, codectest.Base58Alphabet, 200)
	sw := append([]string{segwit}, codectest.GenSegwit(t, r, "ltc", 59)...)
	codectest.MustParse(t, ltc.Codec{}, sw)
	codectest.RefuseSubstitutions(t, ltc.Codec{}, sw, codectest.Bech32Alphabet, 60)
}

func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) { codectest.CheckRoundTrip(t, ltc.Codec{}, s) })
}

func BenchmarkParse(b *testing.B) {
	codectest.BenchParse(b, ltc.Codec{}, append(codectest.List(b, "LTC"), segwit))
}
