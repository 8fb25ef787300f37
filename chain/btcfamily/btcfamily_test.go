package btcfamily_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/btcfamily"
	"github.com/tracehound/tracehound/chain/internal/codectest"
)

// TestLeading checks the first characters each coin's addresses can have,
// as its documentation gives them, against generated addresses and Looks.
func TestLeading(t *testing.T) {
	r := codectest.Rand(1)
	for _, tc := range []struct {
		p       btcfamily.Params
		leading string // mainnet P2PKH then P2SH
	}{
		{btcfamily.Litecoin(), "LM3"},
		{btcfamily.Dogecoin(), "D9A"},
		{btcfamily.Dash(), "X7"},
		{btcfamily.BitcoinGold(), "GA"},
		{btcfamily.BitcoinSV(), "13"},
		{btcfamily.BitcoinCashLegacy(), "13"},
		{btcfamily.Verge(), "DE"},
	} {
		c := btcfamily.New(tc.p)
		for _, v := range tc.p.Base58 {
			if v.Network != chain.Mainnet {
				continue
			}
			for _, s := range codectest.GenBase58Check(r, 50, btcfamily.PayloadLen, v.Prefix) {
				if !strings.ContainsRune(tc.leading, rune(s[0])) {
					t.Errorf("%s: %s starts outside %q", tc.p.Name, s, tc.leading)
				}
				a, err := c.Parse(s)
				if err != nil || a.Kind != v.Kind || a.Network != chain.Mainnet || !c.Looks(s) {
					t.Errorf("%s: %s: %+v %v", tc.p.Name, s, a, err)
				}
			}
		}
		for i := 0; i < len(tc.leading); i++ {
			if !c.Looks(tc.leading[i:i+1] + strings.Repeat("x", 33)) {
				t.Errorf("%s: Looks refuses %c...", tc.p.Name, tc.leading[i])
			}
		}
		if c.Looks("0x" + strings.Repeat("a", 40)) {
			t.Errorf("%s: Looks takes an Ethereum address", tc.p.Name)
		}
	}
}

func TestTwoByteVersions(t *testing.T) {
	c := btcfamily.New(btcfamily.ZcashTransparent())
	// Zcash's t1 and t3 prefixes.
	for _, tc := range []struct {
		version []byte
		lead    string
		kind    string
	}{{[]byte{0x1c, 0xb8}, "t1", "p2pkh"}, {[]byte{0x1c, 0xbd}, "t3", "p2sh"}} {
		for _, s := range codectest.GenBase58Check(codectest.Rand(3), 20, 20, tc.version) {
			a, err := c.Parse(s)
			if err != nil || !strings.HasPrefix(s, tc.lead) || a.Kind != tc.kind || len(s) != 35 {
				t.Errorf("%s: %+v %v", s, a, err)
			}
		}
	}
}

func TestCheck(t *testing.T) {
	payload := bytes.Repeat([]byte{7}, 20)
	s := btcfamily.EncodeCheck([]byte{0x1c, 0xb8}, payload)
	if s != codectest.Base58Check([]byte{0x1c, 0xb8}, payload) {
		t.Fatal("EncodeCheck differs from the reference encoding")
	}
	b, err := btcfamily.DecodeCheck(s)
	if err != nil || !bytes.Equal(b, append([]byte{0x1c, 0xb8}, payload...)) {
		t.Fatalf("%x %v", b, err)
	}
	for _, tc := range []struct{ in, reason string }{
		{"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb", chain.ReasonChecksum},
		{"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfN0", chain.ReasonFormat},
		{"1111", chain.ReasonLength},
		{strings.Repeat("2", 200), chain.ReasonLength},
	} {
		_, err := btcfamily.DecodeCheck(tc.in)
		if ce, ok := err.(*btcfamily.CheckError); !ok || ce.Reason != tc.reason {
			t.Errorf("%q: %v, want %s", tc.in, err, tc.reason)
		}
	}
}

func TestSegwitRules(t *testing.T) {
	c := btcfamily.New(btcfamily.Litecoin())
	prog := bytes.Repeat([]byte{9}, 32)
	for _, tc := range []struct {
		in     string
		reason string
	}{
		// A v0 program under bech32m, a v1 program under bech32.
		{segwitWith(t, 0, prog, true), chain.ReasonFormat},
		{segwitWith(t, 1, prog, false), chain.ReasonFormat},
		// A v0 program of 25 bytes.
		{segwitWith(t, 0, prog[:25], false), chain.ReasonLength},
		{segwitWith(t, 1, prog, true), ""},
		{segwitWith(t, 2, prog[:16], true), ""},
	} {
		a, err := c.Parse(tc.in)
		if chain.ErrorReason(err) != tc.reason {
			t.Errorf("%s: %+v %v, want %q", tc.in, a, err, tc.reason)
		}
	}
}

func segwitWith(t *testing.T, v byte, prog []byte, m bool) string {
	t.Helper()
	s := codectest.Bech32(t, "ltc", prog, m)
	// Insert the version before the program's data.
	i := strings.LastIndexByte(s, '1')
	data := s[i+1 : len(s)-6]
	return codectest.Bech32Data(t, "ltc", append([]byte{v}, codectest.Bech32Values(data)...), m)
}

// FuzzDecodeCheck: what decodes re-encodes to the same string, and what
// is refused carries a reason.
func FuzzDecodeCheck(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		b, err := btcfamily.DecodeCheck(s)
		if err != nil {
			if ce, ok := err.(*btcfamily.CheckError); !ok || ce.Reason == "" {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		if got := btcfamily.EncodeCheck(b[:1], b[1:]); got != s {
			t.Fatalf("%q decodes to %x, which encodes to %q", s, b, got)
		}
	})
}
