package btg_test

import (
	"strings"
	"testing"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/btg"
	"github.com/tracehound/tracehound/chain/internal/codectest"
)

func TestOFACList(t *testing.T) {
	addrs := codectest.List(t, "BTG")
	for i, a := range codectest.MustParse(t, btg.Codec{}, addrs) {
		if a.Value != addrs[i] || a.Network != chain.Mainnet || a.Kind != "p2pkh" {
			t.Errorf("%s: %+v", addrs[i], a)
		}
	}
}

func TestParse(t *testing.T) {
	sw := codectest.GenSegwit(t, codectest.Rand(1), "btg", 3)
	for i, kind := range []string{"p2wpkh", "p2wsh", "p2tr"} {
		for _, in := range []string{sw[i], strings.ToUpper(sw[i])} {
			a, err := btg.Codec{}.Parse(in)
			if err != nil || a.Kind != kind || a.Value != sw[i] || a.Network != chain.Mainnet {
				t.Errorf("%s: %+v %v", in, a, err)
			}
		}
	}
	p2sh := codectest.Base58Check([]byte{23}, make([]byte, 20))
	if a, err := (btg.Codec{}).Parse(p2sh); err != nil || a.Kind != "p2sh" || p2sh[0] != 'A' {
		t.Errorf("%s: %+v %v", p2sh, a, err)
	}
}

func TestParseInvalid(t *testing.T) {
	for _, tc := range []struct{ in, reason string }{
		{"", chain.ReasonEmpty},
		{"GPwg61XoHqQPNmAucFACuQ5H9sGCDv9TpT", chain.ReasonChecksum},
		{"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", chain.ReasonNetwork},
		{"btg1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", chain.ReasonChecksum},
	} {
		if _, err := (btg.Codec{}).Parse(tc.in); chain.ErrorReason(err) != tc.reason {
			t.Errorf("%q: %v, want %s", tc.in, err, tc.reason)
		}
	}
}

func TestSubstitutions(t *testing.T) {
	r := codectest.Rand(2)
	addrs := codectest.List(t, "BTG")
	addrs = append(addrs, codectest.GenBase58Check(r, 200-len(addrs), 20, []byte{38}, []byte{23})...)
	codectest.MustParse(t, btg.Codec{}, addrs)
	codectest.RefuseSubstitutions(t, btg.Codec{}, addrs, codectest.Base58Alphabet, 200)
	sw := codectest.GenSegwit(t, r, "btg", 60)
	codectest.MustParse(t, btg.Codec{}, sw)
	codectest.RefuseSubstitutions(t, btg.Codec{}, sw, codectest.Bech32Alphabet, 60)
}

func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) { codectest.CheckRoundTrip(t, btg.Codec{}, s) })
}

func BenchmarkParse(b *testing.B) {
	codectest.BenchParse(b, btg.Codec{}, codectest.List(b, "BTG"))
}
