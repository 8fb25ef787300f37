package algo_test

import (
	"crypto/sha512"
	"encoding/base32"
	"strings"
	"testing"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/algo"
	"github.com/tracehound/tracehound/chain/internal/codectest"
)

// Addresses from Algorand's developer documentation: the account of its
// examples (developer.algorand.org, accounts pages; also in
// algorandfoundation/puya's examples) and the zero address, AlgoKit's
// ALGORAND_ZERO_ADDRESS_STRING (dev.algorand.co, "Address Basics").
const (
	example = "VCMJKWOY5P5P7SKMZFFOCEROPJCZOTIJMNIYNUCKH7LRO45JMJP6UYBIJA"
	zero    = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAY5HFKQ"
)

func TestDocumented(t *testing.T) {
	for _, a := range codectest.MustParse(t, algo.Codec{}, []string{example, zero}) {
		if a.Kind != "account" {
			t.Errorf("%+v", a)
		}
	}
	// The zero address is the all-zero key: derive it.
	if got := address(make([]byte, 32)); got != zero {
		t.Errorf("zero key: %s", got)
	}
}

func TestParseInvalid(t *testing.T) {
	for _, tc := range []struct{ in, reason, detail string }{
		{"", chain.ReasonEmpty, ""},
		{strings.ToLower(example), chain.ReasonFormat, "valid in upper case: " + example},
		{"W" + example[1:], chain.ReasonChecksum, ""},
		{example[:57], chain.ReasonLength, ""},
		{example[:57] + "1", chain.ReasonFormat, ""},
	} {
		_, err := algo.Codec{}.Parse(tc.in)
		if chain.ErrorReason(err) != tc.reason || err != nil && !strings.Contains(err.Error(), tc.detail) {
			t.Errorf("%q: %v, want %s with %q", tc.in, err, tc.reason, tc.detail)
		}
	}
	// The last character of the zero address is Q (10000): its low two
	// bits are unused; R (10001) decodes to the same bytes.
	if _, err := (algo.Codec{}).Parse(zero[:57] + "R"); chain.ErrorReason(err) != chain.ReasonFormat {
		t.Errorf("non-canonical spelling: %v", err)
	}
}

func TestSubstitutions(t *testing.T) {
	r := codectest.Rand(2)
	addrs := []string{example, zero}
	for len(addrs) < 200 {
		addrs = append(addrs, address(codectest.Bytes(r, 32)))
	}
	codectest.MustParse(t, algo.Codec{}, addrs)
	codectest.RefuseSubstitutions(t, algo.Codec{}, addrs, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567abcdefghijklmnopqrstuvwxyz", 200)
}

// address is the test's own encoder.
func address(key []byte) string {
	sum := sha512.Sum512_256(key)
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(append(append([]byte{}, key...), sum[28:]...))
}

func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		codectest.CheckRoundTrip(t, algo.Codec{}, s)
		// An accepted string is the encoding of the bytes it decodes to.
		if _, err := (algo.Codec{}).Parse(s); err == nil {
			enc := base32.StdEncoding.WithPadding(base32.NoPadding)
			if b, err := enc.DecodeString(s); err != nil || enc.EncodeToString(b) != s {
				t.Fatalf("%q is not canonical base32", s)
			}
		}
	})
}

func BenchmarkParse(b *testing.B) {
	codectest.BenchParse(b, algo.Codec{}, []string{example, zero})
}
