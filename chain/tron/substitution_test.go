package tron_test

import (
	"testing"

	"github.com/tracehound/tracehound/chain/internal/codectest"
	"github.com/tracehound/tracehound/chain/tron"
)

// TestOFACList parses the TRX list and the Tron addresses of the USDT list.
func TestOFACList(t *testing.T) {
	codectest.MustParse(t, tron.Codec{}, listed(t))
}

func listed(t *testing.T) []string {
	addrs := codectest.List(t, "TRX")
	for _, s := range codectest.List(t, "USDT") {
		if s[0] == 'T' {
			addrs = append(addrs, s)
		}
	}
	return addrs
}

func TestSubstitutions(t *testing.T) {
	addrs := listed(t)
	addrs = append(addrs, codectest.GenBase58Check(codectest.Rand(2), max(0, 200-len(addrs)), 20, []byte{0x41})...)
	codectest.MustParse(t, tron.Codec{}, addrs)
	codectest.RefuseSubstitutions(t, tron.Codec{}, addrs, codectest.Base58Alphabet, 200)
}
