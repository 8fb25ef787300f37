package ss58_test

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/btcsuite/btcd/btcutil/base58"
	"golang.org/x/crypto/blake2b"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/internal/codectest"
	"github.com/tracehound/tracehound/chain/ss58"
)

// Alice's development account, the example of Substrate's documentation
// ("Address formats": one public key under the Polkadot, Kusama and
// generic prefixes), also in polkadot-js's util-crypto tests.
const (
	aliceKey       = "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d"
	alicePolkadot  = "15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5"
	aliceKusama    = "HNZata7iMYWmk5RvZRTiAsSDhV8366zq2YGb3tLH5Upf74F"
	aliceSubstrate = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
)

func TestAlice(t *testing.T) {
	for _, tc := range []struct {
		c chain.Codec
		s string
	}{{ss58.Polkadot{}, alicePolkadot}, {ss58.Kusama{}, aliceKusama}, {ss58.Substrate{}, aliceSubstrate}} {
		a := codectest.MustParse(t, tc.c, []string{tc.s})
		if len(a) != 1 {
			continue
		}
		if id, ok := ss58.AccountID(a[0]); !ok || hex.EncodeToString(id[:]) != aliceKey {
			t.Errorf("%s: account ID %x", tc.s, id)
		}
		// The test's own encoder writes the same string.
		if got := encode(prefixOf(tc.c), mustHex(aliceKey)); got != tc.s {
			t.Errorf("encoded %s, want %s", got, tc.s)
		}
	}
}

func TestOtherPrefixes(t *testing.T) {
	for _, tc := range []struct {
		c chain.Codec
		s string
	}{
		{ss58.Polkadot{}, aliceKusama}, {ss58.Polkadot{}, aliceSubstrate},
		{ss58.Kusama{}, alicePolkadot}, {ss58.Substrate{}, alicePolkadot},
		// A two-byte prefix (2254, one parachain's).
		{ss58.Substrate{}, encode(2254, mustHex(aliceKey))},
	} {
		if _, err := tc.c.Parse(tc.s); chain.ErrorReason(err) != chain.ReasonNetwork {
			t.Errorf("%s on %s: %v", tc.s, tc.c.Chain(), err)
		}
	}
}

func TestParseInvalid(t *testing.T) {
	for _, tc := range []struct{ in, reason string }{
		{"", chain.ReasonEmpty},
		{alicePolkadot[:47] + "6", chain.ReasonChecksum},
		{alicePolkadot[:47] + "0", chain.ReasonFormat},
		{alicePolkadot[:40], chain.ReasonLength},
		// Bitcoin's genesis address: base58, not 35 bytes.
		{"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", chain.ReasonLength},
	} {
		if _, err := (ss58.Polkadot{}).Parse(tc.in); chain.ErrorReason(err) != tc.reason {
			t.Errorf("%q: %v, want %s", tc.in, err, tc.reason)
		}
	}
}

// TestSubstitutions: SS58's checksum is two bytes, so about one
// substitution in 65,536 that keeps the prefix and length passes it. The
// test counts them, checks each against an independent checksum (a true
// collision, not a codec fault) and bounds their number.
func TestSubstitutions(t *testing.T) {
	r := codectest.Rand(2)
	addrs := []string{alicePolkadot}
	for len(addrs) < 200 {
		addrs = append(addrs, encode(0, codectest.Bytes(r, 32)))
	}
	codectest.MustParse(t, ss58.Polkadot{}, addrs)
	tried, accepted := codectest.Substitutions(ss58.Polkadot{}, addrs, codectest.Base58Alphabet)
	for _, s := range accepted {
		b := base58.Decode(s)
		if len(b) != 35 || b[0] != 0 || encode(0, b[1:33]) != s {
			t.Errorf("accepted %s, which is not a valid SS58 string", s)
		}
	}
	// Expectation tried/65536 (about 8); Poisson tail far below 1e-9 at 40.
	if len(accepted) > 40 {
		t.Errorf("%d of %d substitutions accepted", len(accepted), tried)
	}
	t.Logf("%d substitutions of %d addresses, %d pass the two-byte checksum", tried, len(addrs), len(accepted))
}

func prefixOf(c chain.Codec) uint16 {
	switch c.Chain() {
	case chain.Kusama:
		return 2
	case chain.Substrate:
		return 42
	}
	return 0
}

// encode is the test's own SS58 encoder.
func encode(prefix uint16, id []byte) string {
	var p []byte
	if prefix < 64 {
		p = []byte{byte(prefix)}
	} else {
		p = []byte{byte((prefix&0xfc)>>2) | 0x40, byte(prefix>>8) | byte(prefix&3)<<6}
	}
	body := append(p, id...)
	sum := blake2b.Sum512(append([]byte("SS58PRE"), body...))
	return base58.Encode(append(bytes.Clone(body), sum[:2]...))
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		for _, c := range []chain.Codec{ss58.Polkadot{}, ss58.Kusama{}, ss58.Substrate{}} {
			codectest.CheckRoundTrip(t, c, s)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	codectest.BenchParse(b, ss58.Polkadot{}, []string{alicePolkadot, encode(0, bytes.Repeat([]byte{7}, 32)), encode(0, bytes.Repeat([]byte{0xee}, 32))})
}
