package xrp_test

import (
	"strings"
	"testing"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/internal/codectest"
	"github.com/tracehound/tracehound/chain/xrp"
)

// Alphabet is the XRP Ledger's base58 alphabet.
const alphabet = "rpshnaf39wBUDNEGHJKLM4PQRST7VWXYZ2bcdeCg65jkm8oFqi1tuvAxyz"

// Accounts the XRP Ledger's documentation names (xrpl.org, "Accounts" and
// "Special addresses"): the genesis account, ACCOUNT_ZERO and ACCOUNT_ONE.
var documented = []string{"rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh", "rrrrrrrrrrrrrrrrrrrrrhoLvTp", "rrrrrrrrrrrrrrrrrrrrBZbvji"}

// X-address vectors of ripple-address-codec (XRPLF/xrpl.js,
// packages/ripple-address-codec tests).
const (
	xAccount      = "r9cZA1mLK5R5Am25ArfXFmqgNwjZgnfk59"
	xNoTag        = "X7AcgcsBL6XDcUb289X4mJ8djcdyKaB5hJDWMArnXr61cqZ"
	xTag1         = "X7AcgcsBL6XDcUb289X4mJ8djcdyKaGZMhc9YTE92ehJ2Fu"
	xTestnetNoTag = "T719a5UwUCnEs54UsxG9CJYYDhwmFCqkr7wxCcNcfZ6p5GZ"
	xTestnetTag1  = "T719a5UwUCnEs54UsxG9CJYYDhwmFCvbJNZbi37gBGkRkbE"
)

func TestOFACList(t *testing.T) {
	addrs := codectest.List(t, "XRP")
	for i, a := range codectest.MustParse(t, xrp.Codec{}, addrs) {
		if a.Value != addrs[i] || a.Kind != "account" {
			t.Errorf("%s: %+v", addrs[i], a)
		}
	}
}

func TestDocumented(t *testing.T) {
	codectest.MustParse(t, xrp.Codec{}, documented)
}

func TestXAddress(t *testing.T) {
	for _, tc := range []struct {
		in, value, kind string
		net             chain.Network
		tag             uint32
		hasTag          bool
	}{
		{xNoTag, xAccount, "account", "", 0, false},
		{xTag1, xTag1, "x-address", chain.Mainnet, 1, true},
		{xTestnetNoTag, xTestnetNoTag, "x-address", chain.Testnet, 0, false},
		{xTestnetTag1, xTestnetTag1, "x-address", chain.Testnet, 1, true},
	} {
		a, err := xrp.Codec{}.Parse(tc.in)
		if err != nil || a.Value != tc.value || a.Kind != tc.kind || a.Network != tc.net {
			t.Errorf("%s: %+v %v", tc.in, a, err)
			continue
		}
		account, tag, hasTag, ok := xrp.Account(a)
		if !ok || account != xAccount || tag != tc.tag || hasTag != tc.hasTag {
			t.Errorf("%s: Account %s %d %v %v", tc.in, account, tag, hasTag, ok)
		}
	}
}

func TestParseInvalid(t *testing.T) {
	for _, tc := range []struct{ in, reason string }{
		{"", chain.ReasonEmpty},
		{"rnXyVQzgxZe7TR1EPzTkGj2jxH4LMJYh67", chain.ReasonChecksum},
		{"rnXyVQzgxZe7TR1EPzTkGj2jxH4LMJYh60", chain.ReasonFormat},
		// A Bitcoin address is in another alphabet: its checksum fails.
		{"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", chain.ReasonChecksum},
		// A node public key (version 0x1c, n...): valid encoding, not an account.
		{toXRP(codectest.Base58Check([]byte{0x1c}, make([]byte, 33))), chain.ReasonFormat},
	} {
		if _, err := (xrp.Codec{}).Parse(tc.in); chain.ErrorReason(err) != tc.reason {
			t.Errorf("%q: %v, want %s", tc.in, err, tc.reason)
		}
	}
}

// TestSeedWithheld: a family seed is a secret; the error must not carry it.
func TestSeedWithheld(t *testing.T) {
	// The example seed of xrpl.org's wallet_propose documentation, and a
	// generated one.
	for _, seed := range []string{"sp5fghtJtpUorTwvof1NpDXAzNwf5", toXRP(codectest.Base58Check([]byte{0x21}, codectest.Bytes(codectest.Rand(5), 16)))} {
		if seed[0] != 's' {
			t.Fatalf("%s is not a seed", seed)
		}
		_, err := xrp.Codec{}.Parse(seed)
		if chain.ErrorReason(err) != chain.ReasonFormat || strings.Contains(err.Error(), seed) {
			t.Errorf("seed: %v", err)
		}
	}
}

func TestSubstitutions(t *testing.T) {
	r := codectest.Rand(2)
	addrs := append(append(codectest.List(t, "XRP"), documented...), xAccount, xTag1, xTestnetTag1)
	for len(addrs) < 200 {
		addrs = append(addrs, toXRP(codectest.Base58Check([]byte{0}, codectest.Bytes(r, 20))))
	}
	codectest.MustParse(t, xrp.Codec{}, addrs)
	codectest.RefuseSubstitutions(t, xrp.Codec{}, addrs, alphabet, 200)
}

// toXRP rewrites a Bitcoin-alphabet base58 string in the ledger's alphabet.
func toXRP(s string) string {
	b := []byte(s)
	for i, c := range b {
		b[i] = alphabet[strings.IndexByte(codectest.Base58Alphabet, c)]
	}
	return string(b)
}

func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) { codectest.CheckRoundTrip(t, xrp.Codec{}, s) })
}

func BenchmarkParse(b *testing.B) {
	codectest.BenchParse(b, xrp.Codec{}, append(append(codectest.List(b, "XRP"), documented...), xTag1))
}
