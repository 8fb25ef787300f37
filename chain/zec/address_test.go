package zec_test

import (
	"encoding/hex"
	"slices"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcutil/base58"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/internal/codectest"
	"github.com/tracehound/tracehound/chain/zec"
)

// From zcashd's own tests (zcash/zcash, src/wallet/test/rpc_wallet_tests.cpp,
// rpc_wallet_z_validateaddress), with the keys zcashd reports for them.
const (
	sprout          = "zcWsmqT4X2V4jgxbgiCzyrAfRT1vi1F4sn7M5Pkh66izzw8Uk7LBGAH3DtcSMJeUb2pi3W4SQF8LMKkU2cUuVP68yAGcomL"
	sproutPaying    = "f5bb3c888ccc9831e3f6ba06e7528e26a312eec3acc1823be8918b6a3a5e20ad"
	sproutTransmit  = "7a58c7132446564e6b810cf895c20537b3528357dc00150a8e201f491efa9c1a"
	sprout2         = "zcfA19SDAKRYHLoRDoShcoz4nPohqWxuHcqg8WAxsiB2jFrrs6k7oSvst3UZvMYqpMNSRBkxBsnyjjngX5L55FxMzLKach8"
	sproutTestnet   = "ztaaga95QAPyp1kSQ1hD2kguCpzyMHjxWZqaYDEkzbvo7uYQYAw2S8X4Kx98AvhhofMtQL8PAXKHuZsmhRcanavKRKmdCzk"
	sapling         = "zs1z7rejlpsa98s2rrrfkwmaxu53e4ue0ulcrw0h4x5g8jl04tak0d3mm47vdtahatqrlkngh9slya"
	saplingDiv      = "1787997c30e94f050c634d"
	saplingPkd      = "34ed1f60f5db5763beee1ddbb37dd5f7e541d4d4fbdcc09fbfcc6b8e949bbe9d"
	saplingTestnet  = "ztestsapling1knww2nyjc62njkard0jmx7hlsj6twxmxwprn7anvrv4dc2zxanl3nemc0qx2hvplxmd2uau8gyw"
	saplingTrimmed  = "zs1z7rejlpsa98s2rrrfkwmaxu53e4ue0ulcrw0h4x5g8jl04tak0d3mm47vdtahatqrlkngh9sly" // last character lost, as copied around the web
	unifiedTestVec1 = "u1l8xunezsvhq8fgzfl7404m450nwnd76zshscn6nfys7vyz2ywyh4cc5daaq0c7q2su5lqfh23sp7fkf3kt27ve5948mzpfdvckzaect2jtte308mkwlycj2u0eac077wu70vqcetkxf"
)

func TestOFACList(t *testing.T) {
	addrs := codectest.List(t, "ZEC")
	for i, a := range codectest.MustParse(t, zec.Codec{}, addrs) {
		if a.Value != addrs[i] || a.Network != chain.Mainnet || a.Kind != "p2pkh" {
			t.Errorf("%s: %+v", addrs[i], a)
		}
	}
}

func TestShielded(t *testing.T) {
	for _, tc := range []struct {
		in, kind string
		net      chain.Network
	}{
		{sprout, "sprout", chain.Mainnet},
		{sprout2, "sprout", chain.Mainnet},
		{sproutTestnet, "sprout", chain.Testnet},
		{sapling, "sapling", chain.Mainnet},
		{strings.ToUpper(sapling), "sapling", chain.Mainnet},
		{saplingTestnet, "sapling", chain.Testnet},
		// The first unified address of zcash-test-vectors
		// (zcash_test_vectors/unified_address.py), as librustzcash carries it.
		{unifiedTestVec1, "unified", chain.Mainnet},
	} {
		a, err := zec.Codec{}.Parse(tc.in)
		if err != nil || a.Kind != tc.kind || a.Network != tc.net || a.Value != tc.in && a.Value != strings.ToLower(tc.in) {
			t.Errorf("%s: %+v %v", tc.in, a, err)
		}
		if !(zec.Codec{}).Looks(tc.in) {
			t.Errorf("%s: Looks is false", tc.in)
		}
	}
}

// TestPayloads checks that the payloads are the keys zcashd reports;
// zcashd prints 32-byte keys as uint256, bytes reversed.
func TestPayloads(t *testing.T) {
	if got := hex.EncodeToString(base58.Decode(sprout)[2:66]); got != reversed(sproutPaying)+reversed(sproutTransmit) {
		t.Errorf("Sprout payload %s", got)
	}
	if got := codectest.Bech32Payload(t, sapling); got != saplingDiv+reversed(saplingPkd) {
		t.Errorf("Sapling payload %s", got)
	}
}

func reversed(h string) string {
	b, _ := hex.DecodeString(h)
	slices.Reverse(b)
	return hex.EncodeToString(b)
}

func TestTEX(t *testing.T) {
	// ZIP 320: the TEX address of a t1 key hash parses to that t1.
	t1 := codectest.List(t, "ZEC")[0]
	b := base58.Decode(t1)
	hash := b[2:22]
	tex := codectest.Bech32(t, "tex", hash, true)
	a, err := zec.Codec{}.Parse(tex)
	if err != nil || a.Value != t1 || a.Kind != "p2pkh" {
		t.Fatalf("%s: %+v %v, want %s", tex, a, err, t1)
	}
	// Under bech32 rather than bech32m it is refused.
	if _, err := (zec.Codec{}).Parse(codectest.Bech32(t, "tex", hash, false)); chain.ErrorReason(err) != chain.ReasonChecksum {
		t.Errorf("TEX under bech32: %v", err)
	}
}

func TestParseInvalid(t *testing.T) {
	mixed := "zs1Z7rejlpsa98s2rrrfkwmaxu53e4ue0ulcrw0h4x5g8jl04tak0d3mm47vdtahatqrlkngh9slya"
	for _, tc := range []struct{ in, reason, detail string }{
		{"", chain.ReasonEmpty, ""},
		{saplingTrimmed, chain.ReasonChecksum, ""},
		{mixed, chain.ReasonFormat, "valid in lower case: " + sapling},
		{"t1MMXtBrSp1XG38Lx9cePcNUCJj5vdWfUWM", chain.ReasonChecksum, ""},
		{sprout[:94] + "K", chain.ReasonChecksum, ""},
		// A Bitcoin address: valid base58check, not a Zcash version.
		{"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", chain.ReasonNetwork, ""},
		// A Sapling payload under bech32m, and a unified one too short.
		{codectest.Bech32(t, "zs", make([]byte, 43), true), chain.ReasonChecksum, ""},
		{codectest.Bech32(t, "u", make([]byte, 40), true), chain.ReasonLength, ""},
	} {
		_, err := zec.Codec{}.Parse(tc.in)
		if chain.ErrorReason(err) != tc.reason || err != nil && !strings.Contains(err.Error(), tc.detail) {
			t.Errorf("%q: %v, want %s with %q", tc.in, err, tc.reason, tc.detail)
		}
	}
}

func TestSubstitutions(t *testing.T) {
	r := codectest.Rand(2)
	addrs := codectest.List(t, "ZEC")
	addrs = append(addrs, codectest.GenBase58Check(r, 200-len(addrs), 20, []byte{0x1c, 0xb8}, []byte{0x1c, 0xbd})...)
	codectest.MustParse(t, zec.Codec{}, addrs)
	codectest.RefuseSubstitutions(t, zec.Codec{}, addrs, codectest.Base58Alphabet, 200)
	z := []string{sapling, saplingTestnet}
	for len(z) < 60 {
		z = append(z, codectest.Bech32(t, "zs", codectest.Bytes(r, 43), false))
	}
	codectest.MustParse(t, zec.Codec{}, z)
	codectest.RefuseSubstitutions(t, zec.Codec{}, z, codectest.Bech32Alphabet, 60)
	sp := []string{sprout, sprout2}
	sp = append(sp, codectest.GenBase58Check(r, 18, 64, []byte{0x16, 0x9a})...)
	codectest.MustParse(t, zec.Codec{}, sp)
	codectest.RefuseSubstitutions(t, zec.Codec{}, sp, codectest.Base58Alphabet, 20)
	codectest.RefuseSubstitutions(t, zec.Codec{}, []string{unifiedTestVec1}, codectest.Bech32Alphabet, 1)
}

func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) { codectest.CheckRoundTrip(t, zec.Codec{}, s) })
}

func BenchmarkParse(b *testing.B) {
	codectest.BenchParse(b, zec.Codec{}, append(codectest.List(b, "ZEC"), sapling, sprout, unifiedTestVec1))
}
