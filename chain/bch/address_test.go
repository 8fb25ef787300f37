package bch_test

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/bch"
	"github.com/tracehound/tracehound/chain/internal/codectest"
)

func TestOFACList(t *testing.T) {
	addrs := codectest.List(t, "BCH")
	for i, a := range codectest.MustParse(t, bch.Codec{}, addrs) {
		if a.Network != chain.Mainnet || a.Kind != "p2pkh" || strings.HasPrefix(a.Value, "bitcoincash:") {
			t.Errorf("%s: %+v", addrs[i], a)
		}
		// Listed CashAddr is already canonical; the listed legacy one
		// becomes the CashAddr of its hash.
		if addrs[i][0] == 'q' && a.Value != addrs[i] {
			t.Errorf("%s: canonical %s", addrs[i], a.Value)
		}
		if l, ok := bch.Legacy(a); !ok || (addrs[i][0] == '1' && l != addrs[i]) {
			t.Errorf("%s: legacy %s %v", addrs[i], l, ok)
		}
	}
}

// The CashAddr specification's translations (bitcoincashorg/bitcoincash.org,
// spec/cashaddr.md, "Examples of address translation").
var translations = [][2]string{
	{"1BpEi6DfDAUFd7GtittLSdBeYJvcoaVggu", "bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a"},
	{"1KXrWXciRDZUpQwQmuM1DbwsKDLYAYsVLR", "bitcoincash:qr95sy3j9xwd2ap32xkykttr4cvcu7as4y0qverfuy"},
	{"16w1D5WRVKJuZUsSRzdLp9w3YGcgoxDXb", "bitcoincash:qqq3728yw0y47sqn6l2na30mcw6zm78dzqre909m2r"},
	{"3CWFddi6m4ndiGyKqzYvsFYagqDLPVMTzC", "bitcoincash:ppm2qsznhks23z7629mms6s4cwef74vcwvn0h829pq"},
	{"3LDsS579y7sruadqu11beEJoTjdFiFCdX4", "bitcoincash:pr95sy3j9xwd2ap32xkykttr4cvcu7as4yc93ky28e"},
	{"31nwvkZwyPdgzjBJZXfDmSWsC4ZLKpYyUw", "bitcoincash:pqq3728yw0y47sqn6l2na30mcw6zm78dzq5ucqzc37"},
}

func TestTranslations(t *testing.T) {
	for _, tr := range translations {
		want := strings.TrimPrefix(tr[1], "bitcoincash:")
		for _, in := range []string{tr[0], tr[1], want, strings.ToUpper(tr[1]), strings.ToUpper(want)} {
			a, err := bch.Codec{}.Parse(in)
			if err != nil || a.Value != want || a.Network != chain.Mainnet {
				t.Errorf("%s: %+v %v, want %s", in, a, err, want)
			}
		}
		a, _ := bch.Codec{}.Parse(tr[1])
		if l, ok := bch.Legacy(a); !ok || l != tr[0] {
			t.Errorf("%s: legacy %s, want %s", tr[1], l, tr[0])
		}
	}
}

// TestSpecVectors takes the specification's larger vectors: the 20- and
// 32-byte hashes that scripts use parse to their hash; the sizes no
// script uses are refused for their length.
func TestSpecVectors(t *testing.T) {
	for _, tc := range []struct {
		in, hash, kind string
		net            chain.Network
	}{
		{"bitcoincash:qr6m7j9njldwwzlg9v7v53unlr4jkmx6eylep8ekg2", "F5BF48B397DAE70BE82B3CCA4793F8EB2B6CDAC9", "p2pkh", chain.Mainnet},
		{"bchtest:pr6m7j9njldwwzlg9v7v53unlr4jkmx6eyvwc0uz5t", "F5BF48B397DAE70BE82B3CCA4793F8EB2B6CDAC9", "p2sh", chain.Testnet},
		{"bchtest:pvch8mmxy0rtfrlarg7ucrxxfzds5pamg73h7370aa87d80gyhqxq7fqng6m6", "3173EF6623C6B48FFD1A3DCC0CC6489B0A07BB47A37F47CFEF4FE69DE825C060", "p2sh32", chain.Testnet},
	} {
		a, err := bch.Codec{}.Parse(tc.in)
		if err != nil || a.Kind != tc.kind || a.Network != tc.net || a.Value != tc.in && a.Value != strings.TrimPrefix(tc.in, "bitcoincash:") {
			t.Errorf("%s: %+v %v", tc.in, a, err)
			continue
		}
		if got := hashOf(t, a.Value); !strings.EqualFold(got, tc.hash) {
			t.Errorf("%s: hash %s, want %s", tc.in, got, tc.hash)
		}
	}
	for _, tc := range []struct{ in, reason string }{
		{"bitcoincash:q9adhakpwzztepkpwp5z0dq62m6u5v5xtyj7j3h2ws4mr9g0", chain.ReasonLength},
		{"bitcoincash:qvch8mmxy0rtfrlarg7ucrxxfzds5pamg73h7370aa87d80gyhqxq5nlegake", chain.ReasonLength},
		// Another prefix than ours: the checksum covers it.
		{"pref:pr6m7j9njldwwzlg9v7v53unlr4jkmx6ey65nvtks5", chain.ReasonFormat},
		// Valid checksums over payloads that are not addresses.
		{"bitcoincash:qpzry9x8gf2tvdw0s3jn54khce6mua7lcw20ayyn", chain.ReasonLength},
		{"bchreg:555555555555555555555555555555555555555555555udxmlmrz", chain.ReasonFormat},
	} {
		if _, err := (bch.Codec{}).Parse(tc.in); chain.ErrorReason(err) != tc.reason {
			t.Errorf("%s: %v, want %s", tc.in, err, tc.reason)
		}
	}
}

// hashOf decodes a canonical CashAddr's hash with the reference encoder's
// alphabet.
func hashOf(t *testing.T, s string) string {
	t.Helper()
	if i := strings.IndexByte(s, ':'); i >= 0 {
		s = s[i+1:]
	}
	vals := codectest.Bech32Values(s[:len(s)-8])
	var out []byte
	var acc, bits uint
	for _, v := range vals {
		acc = acc<<5 | uint(v)
		bits += 5
		if bits >= 8 {
			bits -= 8
			out = append(out, byte(acc>>bits))
		}
	}
	return hex.EncodeToString(out[1:])
}

func TestTokenAware(t *testing.T) {
	hash := make([]byte, 20)
	hash[0] = 0xab
	plain := cashAddr("bitcoincash", 0, hash)
	for _, in := range []string{cashAddr("bitcoincash", 2<<3, hash), plain} {
		a, err := bch.Codec{}.Parse(in)
		if err != nil || a.Value != strings.TrimPrefix(plain, "bitcoincash:") || a.Kind != "p2pkh" {
			t.Errorf("%s: %+v %v", in, a, err)
		}
	}
	if in := cashAddr("bitcoincash", 4<<3, hash); chain.ErrorReason(parseErr(in)) != chain.ReasonFormat {
		t.Errorf("%s: unknown type accepted: %v", in, parseErr(in))
	}
}

func parseErr(s string) error { _, err := bch.Codec{}.Parse(s); return err }

func TestParseInvalid(t *testing.T) {
	for _, tc := range []struct{ in, reason, detail string }{
		{"", chain.ReasonEmpty, ""},
		{"qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6q", chain.ReasonChecksum, ""},
		{"bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6A", chain.ReasonFormat, "valid in lower case: qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a"},
		{"bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6b", chain.ReasonFormat, "alphabet"},
		{"bitcoin:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a", chain.ReasonFormat, "prefix"},
		// A mainnet payload under the testnet prefix.
		{"bchtest:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a", chain.ReasonChecksum, ""},
		{"LNf2JDiuunBz7GMDKFYHN4rq5meXWxiwfb", chain.ReasonNetwork, "Litecoin"},
		{"1BpEi6DfDAUFd7GtittLSdBeYJvcoaVggv", chain.ReasonChecksum, ""},
	} {
		err := parseErr(tc.in)
		if chain.ErrorReason(err) != tc.reason || err == nil && tc.detail != "" || err != nil && !strings.Contains(err.Error(), tc.detail) {
			t.Errorf("%q: %v, want %s with %q", tc.in, err, tc.reason, tc.detail)
		}
	}
}

// TestSubstitutions covers the listed addresses and CashAddr strings
// written by the reference encoder below, 200 in all, and the legacy
// translations.
func TestSubstitutions(t *testing.T) {
	r := codectest.Rand(2)
	addrs := codectest.List(t, "BCH")[1:] // the first is legacy
	for len(addrs) < 200 {
		typ := byte(len(addrs) % 2 << 3)
		addrs = append(addrs, strings.TrimPrefix(cashAddr("bitcoincash", typ, codectest.Bytes(r, 20)), "bitcoincash:"))
	}
	codectest.MustParse(t, bch.Codec{}, addrs)
	// CashAddr's alphabet in both cases: a substituted upper-case letter
	// makes mixed case.
	codectest.RefuseSubstitutions(t, bch.Codec{}, addrs, codectest.Bech32Alphabet, 200)
	var legacy []string
	for _, tr := range translations {
		legacy = append(legacy, tr[0])
	}
	legacy = append(legacy, codectest.GenBase58Check(r, 194, 20, []byte{0}, []byte{5})...)
	codectest.RefuseSubstitutions(t, bch.Codec{}, legacy, codectest.Base58Alphabet, 200)
}

// cashAddr is a reference CashAddr encoder, written from the
// specification's PolyMod pseudo-code independently of the codec.
func cashAddr(prefix string, version byte, hash []byte) string {
	const charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
	payload := append([]byte{version}, hash...)
	var data []byte
	acc, bits := 0, 0
	for _, b := range payload {
		acc = acc<<8 | int(b)
		bits += 8
		for bits >= 5 {
			bits -= 5
			data = append(data, byte(acc>>bits&31))
		}
	}
	if bits > 0 {
		data = append(data, byte(acc<<(5-bits)&31))
	}
	var in []byte
	for i := 0; i < len(prefix); i++ {
		in = append(in, prefix[i]&31)
	}
	in = append(append(append(in, 0), data...), 0, 0, 0, 0, 0, 0, 0, 0)
	c := uint64(1)
	for _, d := range in {
		c0 := c >> 35
		c = (c&0x07ffffffff)<<5 ^ uint64(d)
		for i, g := range []uint64{0x98f2bc8e61, 0x79b76d99e2, 0xf33e5fb3c4, 0xae2eabe2a8, 0x1e4f43e470} {
			if c0>>i&1 == 1 {
				c ^= g
			}
		}
	}
	c ^= 1
	out := prefix + ":"
	for _, d := range data {
		out += string(charset[d])
	}
	for i := 7; i >= 0; i-- {
		out += string(charset[c>>(5*i)&31])
	}
	return out
}

func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		codectest.CheckRoundTrip(t, bch.Codec{}, s)
		// A canonical P2PKH or P2SH has a legacy form that parses back to it.
		if a, err := (bch.Codec{}).Parse(s); err == nil {
			if l, ok := bch.Legacy(a); ok {
				if b, err := (bch.Codec{}).Parse(l); err != nil || b != a {
					t.Fatalf("%q: legacy %s parses as %+v, %v", s, l, b, err)
				}
			}
		}
	})
}

func BenchmarkParse(b *testing.B) {
	codectest.BenchParse(b, bch.Codec{}, codectest.List(b, "BCH"))
}
