package bsv_test

import (
	"testing"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/bsv"
	"github.com/tracehound/tracehound/chain/internal/codectest"
)

func TestOFACList(t *testing.T) {
	addrs := codectest.List(t, "BSV")
	for i, a := range codectest.MustParse(t, bsv.Codec{}, addrs) {
		if a.Value != addrs[i] || a.Network != chain.Mainnet || a.Kind != "p2pkh" {
			t.Errorf("%s: %+v", addrs[i], a)
		}
	}
}

func TestParseInvalid(t *testing.T) {
	for _, tc := range []struct{ in, reason string }{
		{"", chain.ReasonEmpty},
		{"12sjrrhoFEsedNRhtgwvvRqjFTh8fZTDX8", chain.ReasonChecksum},
		{"LNf2JDiuunBz7GMDKFYHN4rq5meXWxiwfb", chain.ReasonNetwork},
		// Bitcoin SV has neither segwit nor CashAddr.
		{"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", chain.ReasonFormat},
		{"qpf2cphc5dkuclkqur7lhj2yuqq9pk3hmukle77vhq", chain.ReasonFormat},
	} {
		if _, err := (bsv.Codec{}).Parse(tc.in); chain.ErrorReason(err) != tc.reason {
			t.Errorf("%q: %v, want %s", tc.in, err, tc.reason)
		}
	}
	for _, s := range []string{"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn"} {
		if _, err := (bsv.Codec{}).Parse(s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
}

func TestSubstitutions(t *testing.T) {
	addrs := codectest.List(t, "BSV")
	addrs = append(addrs, codectest.GenBase58Check(codectest.Rand(2), 200-len(addrs), 20, []byte{0}, []byte{5})...)
	codectest.MustParse(t, bsv.Codec{}, addrs)
	codectest.RefuseSubstitutions(t, bsv.Codec{}, addrs, codectest.Base58Alphabet, 200)
}

func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) { codectest.CheckRoundTrip(t, bsv.Codec{}, s) })
}

func BenchmarkParse(b *testing.B) {
	codectest.BenchParse(b, bsv.Codec{}, append(codectest.List(b, "BSV"), "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"))
}
