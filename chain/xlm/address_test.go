package xlm_test

import (
	"encoding/base32"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/internal/codectest"
	"github.com/tracehound/tracehound/chain/xlm"
)

// SEP-23's test cases (stellar/stellar-protocol, ecosystem/sep-0023.md):
// one account under three forms.
const (
	account  = "GA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVSGZ"
	muxed0   = "MA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJUAAAAAAAAAAAACJUQ"
	muxedBig = "MA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVAAAAAAAAAAAAAJLK" // ID 9223372036854775808
	contract = "CA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJUWDA"
)

// SEP-23's invalid cases that concern the forms this codec takes.
var sepInvalid = []string{
	"GAAAAAAAACGC6",
	"MA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJUAAAAAAAAAAAACJUR",
	"GA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVSGZA",
	"GA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJUACUSI",
	"G47QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVP2I",
	"MA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVAAAAAAAAAAAAAJLKA",
	"MA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVAAAAAAAAAAAAAAV75I",
	"M47QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJUAAAAAAAAAAAACJUQ",
	"MA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJUAAAAAAAAAAAACJUK===",
	"MA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJUAAAAAAAAAAAACJUO",
	// SEP-23's valid liquidity pool and claimable balance: not addresses
	// that receive payments.
	"LA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJUPJN",
	"BAAD6DBUX6J22DMZOHIEZTEQ64CVCHEDRKWZONFEUL5Q26QD7R76RGR4TU",
}

func TestSEP23(t *testing.T) {
	for _, tc := range []struct {
		in, kind string
		id       uint64
	}{{account, "account", 0}, {muxed0, "muxed", 0}, {muxedBig, "muxed", 1 << 63}, {contract, "contract", 0}} {
		a, err := xlm.Codec{}.Parse(tc.in)
		if err != nil || a.Kind != tc.kind || a.Value != tc.in {
			t.Errorf("%s: %+v %v", tc.in, a, err)
			continue
		}
		acc, id, isMuxed, ok := xlm.Account(a)
		if !ok || id != tc.id || isMuxed != (tc.kind == "muxed") || tc.kind != "contract" && acc != account {
			t.Errorf("%s: Account %s %d %v %v", tc.in, acc, id, isMuxed, ok)
		}
	}
	for _, s := range sepInvalid {
		if a, err := (xlm.Codec{}).Parse(s); err == nil || chain.ErrorReason(err) == "" {
			t.Errorf("%s: accepted as %+v", s, a)
		}
	}
}

func TestParseInvalid(t *testing.T) {
	for _, tc := range []struct{ in, reason, detail string }{
		{"", chain.ReasonEmpty, ""},
		{strings.ToLower(account), chain.ReasonFormat, "valid in upper case: " + account},
		{account[:55] + "A", chain.ReasonChecksum, ""},
		{account[:55], chain.ReasonLength, ""},
	} {
		_, err := xlm.Codec{}.Parse(tc.in)
		if chain.ErrorReason(err) != tc.reason || err != nil && !strings.Contains(err.Error(), tc.detail) {
			t.Errorf("%q: %v, want %s with %q", tc.in, err, tc.reason, tc.detail)
		}
	}
}

func TestSeedWithheld(t *testing.T) {
	seed := strKey(18<<3, make([]byte, 32))
	_, err := xlm.Codec{}.Parse(seed)
	if seed[0] != 'S' || chain.ErrorReason(err) != chain.ReasonFormat || strings.Contains(err.Error(), seed) {
		t.Errorf("%s: %v", seed, err)
	}
}

func TestSubstitutions(t *testing.T) {
	r := codectest.Rand(2)
	addrs := []string{account, muxed0, muxedBig, contract}
	for i := 0; len(addrs) < 200; i++ {
		switch i % 3 {
		case 0:
			addrs = append(addrs, strKey(6<<3, codectest.Bytes(r, 32)))
		case 1:
			addrs = append(addrs, strKey(12<<3, codectest.Bytes(r, 40)))
		default:
			addrs = append(addrs, strKey(2<<3, codectest.Bytes(r, 32)))
		}
	}
	codectest.MustParse(t, xlm.Codec{}, addrs)
	// Base32's alphabet in both cases: a lower-case letter is refused.
	codectest.RefuseSubstitutions(t, xlm.Codec{}, addrs, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567abcdefghijklmnopqrstuvwxyz", 200)
}

// strKey is the test's own StrKey encoder: version, payload, CRC-16/XMODEM
// computed bit by bit, little-endian.
func strKey(version byte, payload []byte) string {
	b := append([]byte{version}, payload...)
	var crc uint16
	for _, x := range b {
		crc ^= uint16(x) << 8
		for range 8 {
			crc = crc<<1 ^ 0x1021*(crc>>15)
		}
	}
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(binary.LittleEndian.AppendUint16(b, crc))
}

func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		codectest.CheckRoundTrip(t, xlm.Codec{}, s)
		// An accepted string is the encoding of the bytes it decodes to.
		if _, err := (xlm.Codec{}).Parse(s); err == nil {
			enc := base32.StdEncoding.WithPadding(base32.NoPadding)
			if b, err := enc.DecodeString(s); err != nil || enc.EncodeToString(b) != s {
				t.Fatalf("%q is not canonical base32", s)
			}
		}
	})
}

func BenchmarkParse(b *testing.B) {
	codectest.BenchParse(b, xlm.Codec{}, []string{account, muxed0, muxedBig, contract})
}
