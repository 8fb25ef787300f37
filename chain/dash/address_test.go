package dash_test

import (
	"testing"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/dash"
	"github.com/tracehound/tracehound/chain/internal/codectest"
)

func TestOFACList(t *testing.T) {
	addrs := codectest.List(t, "DASH")
	for i, a := range codectest.MustParse(t, dash.Codec{}, addrs) {
		if a.Value != addrs[i] || a.Network != chain.Mainnet || a.Kind != "p2pkh" {
			t.Errorf("%s: %+v", addrs[i], a)
		}
	}
}

func TestParseInvalid(t *testing.T) {
	for _, tc := range []struct{ in, reason string }{
		{"", chain.ReasonEmpty},
		{"XnPFsRWTaSgiVauosEwQ6dEitGYXgwznz3", chain.ReasonChecksum},
		{"XnPFsRWTaSgiVauosEwQ6dEitGYXgwznzI", chain.ReasonFormat},
		{"DBZc6qeBuo7g8La7L3Lhaf39MsJSgbzpMX", chain.ReasonNetwork},
		{"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", chain.ReasonNetwork},
	} {
		if _, err := (dash.Codec{}).Parse(tc.in); chain.ErrorReason(err) != tc.reason {
			t.Errorf("%q: %v, want %s", tc.in, err, tc.reason)
		}
	}
	// A P2SH address (version 16, 7...) and a testnet one (140, y...).
	for _, tc := range []struct {
		version byte
		lead    byte
		net     chain.Network
		kind    string
	}{{16, '7', chain.Mainnet, "p2sh"}, {140, 'y', chain.Testnet, "p2pkh"}} {
		s := codectest.Base58Check([]byte{tc.version}, make([]byte, 20))
		a, err := dash.Codec{}.Parse(s)
		if err != nil || s[0] != tc.lead || a.Network != tc.net || a.Kind != tc.kind {
			t.Errorf("%s: %+v %v", s, a, err)
		}
	}
}

func TestSubstitutions(t *testing.T) {
	addrs := codectest.List(t, "DASH")
	addrs = append(addrs, codectest.GenBase58Check(codectest.Rand(2), 200-len(addrs), 20, []byte{76}, []byte{16})...)
	codectest.MustParse(t, dash.Codec{}, addrs)
	codectest.RefuseSubstitutions(t, dash.Codec{}, addrs, codectest.Base58Alphabet, 200)
}

func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) { codectest.CheckRoundTrip(t, dash.Codec{}, s) })
}

func BenchmarkParse(b *testing.B) {
	codectest.BenchParse(b, dash.Codec{}, codectest.List(b, "DASH"))
}
