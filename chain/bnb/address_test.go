package bnb_test

import (
	"strings"
	"testing"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/bnb"
	"github.com/tracehound/tracehound/chain/internal/codectest"
)

// TestOFACList: OFAC's BNB list holds a BEP-2 bnb1 address, not an EVM
// one (BNB Smart Chain's are under BSC).
func TestOFACList(t *testing.T) {
	addrs := codectest.List(t, "BNB")
	for i, a := range codectest.MustParse(t, bnb.Codec{}, addrs) {
		if !strings.HasPrefix(addrs[i], "bnb1") || a.Value != addrs[i] || a.Network != chain.Mainnet || a.Kind != "account" {
			t.Errorf("%s: %+v", addrs[i], a)
		}
	}
}

func TestParseInvalid(t *testing.T) {
	listed := "bnb136ns6lfw4zs5hg4n85vdthaad7hq5m4gtkgf23"
	for _, tc := range []struct{ in, reason, detail string }{
		{"", chain.ReasonEmpty, ""},
		{listed[:len(listed)-1] + "4", chain.ReasonChecksum, ""},
		{"bnb136Ns6lfw4zs5hg4n85vdthaad7hq5m4gtkgf23", chain.ReasonFormat, "valid in lower case: " + listed},
		{"0x4f47bc496083c727c5fbe3ce9cdf2b0f6496270c", chain.ReasonFormat, "bsc"},
		{codectest.Bech32(t, "bnb", make([]byte, 32), false), chain.ReasonLength, ""},
		{codectest.Bech32(t, "bnb", make([]byte, 20), true), chain.ReasonChecksum, ""},
		{"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", chain.ReasonFormat, ""},
	} {
		_, err := bnb.Codec{}.Parse(tc.in)
		if chain.ErrorReason(err) != tc.reason || err != nil && !strings.Contains(err.Error(), tc.detail) {
			t.Errorf("%q: %v, want %s with %q", tc.in, err, tc.reason, tc.detail)
		}
	}
	if a, err := (bnb.Codec{}).Parse(strings.ToUpper(listed)); err != nil || a.Value != listed {
		t.Errorf("upper case: %+v %v", a, err)
	}
	tb := codectest.Bech32(t, "tbnb", make([]byte, 20), false)
	if a, err := (bnb.Codec{}).Parse(tb); err != nil || a.Network != chain.Testnet {
		t.Errorf("%s: %+v %v", tb, a, err)
	}
}

func TestSubstitutions(t *testing.T) {
	r := codectest.Rand(2)
	addrs := codectest.List(t, "BNB")
	for len(addrs) < 200 {
		addrs = append(addrs, codectest.Bech32(t, "bnb", codectest.Bytes(r, 20), false))
	}
	codectest.MustParse(t, bnb.Codec{}, addrs)
	codectest.RefuseSubstitutions(t, bnb.Codec{}, addrs, codectest.Bech32Alphabet, 200)
}

func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) { codectest.CheckRoundTrip(t, bnb.Codec{}, s) })
}

func BenchmarkParse(b *testing.B) {
	codectest.BenchParse(b, bnb.Codec{}, codectest.List(b, "BNB"))
}
