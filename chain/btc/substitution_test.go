package btc_test

import (
	"strings"
	"testing"

	"github.com/tracehound/tracehound/chain/btc"
	"github.com/tracehound/tracehound/chain/internal/codectest"
)

// TestOFACList parses every address OFAC lists under XBT but one: a Tron
// address filed there by mistake (feature 65924), refused here.
func TestOFACList(t *testing.T) {
	var addrs []string
	for _, s := range codectest.List(t, "XBT") {
		if s == "TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq" {
			if _, err := (btc.Codec{}).Parse(s); err == nil {
				t.Errorf("%s: a Tron address accepted as Bitcoin", s)
			}
			continue
		}
		addrs = append(addrs, s)
	}
	for i, a := range codectest.MustParse(t, btc.Codec{}, addrs) {
		if a.Value != strings.ToLower(addrs[i]) && a.Value != addrs[i] {
			t.Errorf("%s: %+v", addrs[i], a)
		}
	}
}

// TestSubstitutions refuses every single-character substitution of the
// first 200 listed base58 addresses and of the first 138 listed bech32 ones.
func TestSubstitutions(t *testing.T) {
	var b58, b32 []string
	for _, s := range codectest.List(t, "XBT") {
		switch {
		case strings.HasPrefix(s, "bc1"):
			b32 = append(b32, s)
		case s[0] == '1' || s[0] == '3':
			b58 = append(b58, s)
		}
	}
	codectest.RefuseSubstitutions(t, btc.Codec{}, b58[:200], codectest.Base58Alphabet, 200)
	codectest.RefuseSubstitutions(t, btc.Codec{}, b32, codectest.Bech32Alphabet, 100)
}
