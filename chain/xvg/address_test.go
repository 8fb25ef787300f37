package xvg_test

import (
	"testing"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/internal/codectest"
	"github.com/tracehound/tracehound/chain/xvg"
)

func TestOFACList(t *testing.T) {
	addrs := codectest.List(t, "XVG")
	for i, a := range codectest.MustParse(t, xvg.Codec{}, addrs) {
		if a.Value != addrs[i] || a.Network != chain.Mainnet || a.Kind != "p2pkh" {
			t.Errorf("%s: %+v", addrs[i], a)
		}
	}
}

func TestParse(t *testing.T) {
	p2sh := codectest.Base58Check([]byte{33}, make([]byte, 20))
	if a, err := (xvg.Codec{}).Parse(p2sh); err != nil || a.Kind != "p2sh" || p2sh[0] != 'E' {
		t.Errorf("%s: %+v %v", p2sh, a, err)
	}
	sw := codectest.GenSegwit(t, codectest.Rand(1), "vg", 1)[0]
	if a, err := (xvg.Codec{}).Parse(sw); err != nil || a.Kind != "p2wpkh" {
		t.Errorf("%s: %+v %v", sw, a, err)
	}
}

func TestParseInvalid(t *testing.T) {
	for _, tc := range []struct{ in, reason string }{
		{"", chain.ReasonEmpty},
		{"DFFJhnQNZf8rf67tYnesPu7MuGUpYtzv7a", chain.ReasonChecksum},
		{"XnPFsRWTaSgiVauosEwQ6dEitGYXgwznz2", chain.ReasonNetwork},
	} {
		if _, err := (xvg.Codec{}).Parse(tc.in); chain.ErrorReason(err) != tc.reason {
			t.Errorf("%q: %v, want %s", tc.in, err, tc.reason)
		}
	}
}

func TestSubstitutions(t *testing.T) {
	r := codectest.Rand(2)
	addrs := codectest.List(t, "XVG")
	addrs = append(addrs, codectest.GenBase58Check(r, 200-len(addrs), 20, []byte{30}, []byte{33})...)
	codectest.MustParse(t, xvg.Codec{}, addrs)
	codectest.RefuseSubstitutions(t, xvg.Codec{}, addrs, codectest.Base58Alphabet, 200)
	sw := codectest.GenSegwit(t, r, "vg", 60)
	codectest.MustParse(t, xvg.Codec{}, sw)
	codectest.RefuseSubstitutions(t, xvg.Codec{}, sw, codectest.Bech32Alphabet, 60)
}

func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) { codectest.CheckRoundTrip(t, xvg.Codec{}, s) })
}

func BenchmarkParse(b *testing.B) {
	codectest.BenchParse(b, xvg.Codec{}, codectest.List(b, "XVG"))
}
