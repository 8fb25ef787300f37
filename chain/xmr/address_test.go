package xmr_test

import (
	"bytes"
	"math/big"
	"strings"
	"testing"

	"golang.org/x/crypto/sha3"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/internal/codectest"
	"github.com/tracehound/tracehound/chain/xmr"
)

// From the Monero documentation: the standard and integrated examples of
// docs.getmonero.org/public-address/ (one pair of keys, the second with a
// payment ID), and the General Fund's donation address on getmonero.org.
const (
	docStandard   = "4AdUndXHHZ6cfufTMvppY6JwXNouMBzSkbLYfpAV5Usx3skxNgYeYTRj5UzqtReoS44qo9mtmXCqY45DJ852K5Jv2684Rge"
	docIntegrated = "4LL9oSLmtpccfufTMvppY6JwXNouMBzSkbLYfpAV5Usx3skxNgYeYTRj5UzqtReoS44qo9mtmXCqY45DJ852K5Jv2bYXZKKQePHES9khPK"
	donation      = "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A"
)

// notAnAddress is an entry OFAC lists under XMR (Karasavidi, feature
// 36454): 64 hexadecimal digits, the size of a key or a transaction
// hash, not an address. No codec can validate it; screening keeps it as
// written.
const notAnAddress = "5be5543ff73456ab9f2d207887e2af87322c651ea1a873c5b25b7ffae456c320"

func TestOFACList(t *testing.T) {
	var addrs []string
	for _, s := range codectest.List(t, "XMR") {
		if s == notAnAddress {
			continue
		}
		addrs = append(addrs, s)
	}
	if len(addrs) != 7 {
		t.Fatalf("%d addresses besides the hex entry, want 7", len(addrs))
	}
	kinds := map[string]int{}
	for i, a := range codectest.MustParse(t, xmr.Codec{}, addrs) {
		if a.Value != addrs[i] || a.Network != chain.Mainnet {
			t.Errorf("%s: %+v", addrs[i], a)
		}
		kinds[a.Kind]++
	}
	if kinds["standard"] != 1 || kinds["subaddress"] != 6 {
		t.Errorf("kinds %v", kinds)
	}
	_, err := xmr.Codec{}.Parse(notAnAddress)
	if chain.ErrorReason(err) != chain.ReasonFormat || !strings.Contains(err.Error(), "not an address") {
		t.Errorf("hex entry: %v", err)
	}
}

func TestDocumented(t *testing.T) {
	want := map[string]string{docStandard: "standard", docIntegrated: "integrated", donation: "standard"}
	for s, kind := range want {
		a, err := xmr.Codec{}.Parse(s)
		if err != nil || a.Kind != kind || a.Network != chain.Mainnet || a.Value != s {
			t.Errorf("%s: %+v %v", s, a, err)
		}
	}
	// The integrated address carries the standard one's keys.
	std, integ := decode(docStandard), decode(docIntegrated)
	if !bytes.Equal(std[1:65], integ[1:65]) || std[0] != 18 || integ[0] != 19 || len(integ) != 77 {
		t.Errorf("keys differ: %x / %x", std, integ)
	}
}

func TestParseInvalid(t *testing.T) {
	for _, tc := range []struct{ in, reason string }{
		{"", chain.ReasonEmpty},
		{docStandard[:94] + "f", chain.ReasonChecksum},
		{docStandard[:94], chain.ReasonLength},
		{docStandard[:94] + "0", chain.ReasonFormat},
		// An 11-character block above 2^64.
		{strings.Repeat("z", 95), chain.ReasonFormat},
		// A valid encoding under a tag Monero does not use.
		{encode(withChecksum(append([]byte{99}, make([]byte, 64)...))), chain.ReasonNetwork},
		// A standard tag over an integrated length.
		{encode(withChecksum(append([]byte{18}, make([]byte, 72)...))), chain.ReasonLength},
	} {
		if _, err := (xmr.Codec{}).Parse(tc.in); chain.ErrorReason(err) != tc.reason {
			t.Errorf("%q: %v, want %s", tc.in, err, tc.reason)
		}
	}
}

func TestSubstitutions(t *testing.T) {
	r := codectest.Rand(2)
	var addrs []string
	for _, s := range codectest.List(t, "XMR") {
		if s != notAnAddress {
			addrs = append(addrs, s)
		}
	}
	addrs = append(addrs, docStandard, docIntegrated, donation)
	for i := 0; len(addrs) < 200; i++ {
		tag := []byte{18, 42, 19}[i%3]
		n := 64
		if tag == 19 {
			n = 72
		}
		addrs = append(addrs, encode(withChecksum(append([]byte{tag}, codectest.Bytes(r, n)...))))
	}
	codectest.MustParse(t, xmr.Codec{}, addrs)
	codectest.RefuseSubstitutions(t, xmr.Codec{}, addrs, codectest.Base58Alphabet, 200)
}

// The test's own Monero base58, over math/big, independent of the codec.

func withChecksum(b []byte) []byte {
	k := sha3.NewLegacyKeccak256()
	k.Write(b)
	return append(b, k.Sum(nil)[:4]...)
}

func encode(b []byte) string {
	sizes := []int{0, 2, 3, 5, 6, 7, 9, 10, 11}
	var out strings.Builder
	for i := 0; i < len(b); i += 8 {
		block := b[i:min(i+8, len(b))]
		v := new(big.Int).SetBytes(block)
		digits := ""
		for v.Sign() > 0 {
			m := new(big.Int)
			v.DivMod(v, big.NewInt(58), m)
			digits = string(codectest.Base58Alphabet[m.Int64()]) + digits
		}
		out.WriteString(strings.Repeat("1", sizes[len(block)]-len(digits)) + digits)
	}
	return out.String()
}

func decode(s string) []byte {
	sizes := map[int]int{0: 0, 2: 1, 3: 2, 5: 3, 6: 4, 7: 5, 9: 6, 10: 7, 11: 8}
	var out []byte
	for i := 0; i < len(s); i += 11 {
		block := s[i:min(i+11, len(s))]
		v := new(big.Int)
		for j := 0; j < len(block); j++ {
			v.Mul(v, big.NewInt(58))
			v.Add(v, big.NewInt(int64(strings.IndexByte(codectest.Base58Alphabet, block[j]))))
		}
		out = append(out, v.FillBytes(make([]byte, sizes[len(block)]))...)
	}
	return out
}

func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) { codectest.CheckRoundTrip(t, xmr.Codec{}, s) })
}

func BenchmarkParse(b *testing.B) {
	var addrs []string
	for _, s := range codectest.List(b, "XMR") {
		if s != notAnAddress {
			addrs = append(addrs, s)
		}
	}
	codectest.BenchParse(b, xmr.Codec{}, append(addrs, docIntegrated))
}
