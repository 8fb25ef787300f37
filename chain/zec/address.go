// Package zec holds Zcash's address codec:
//
//   - transparent t1... (P2PKH) and t3... (P2SH), base58check with
//     two-byte versions (testnet tm..., t2...), over chain/btcfamily;
//   - TEX addresses (ZIP 320, tex1..., bech32m), a P2PKH key hash whose
//     owner asks for transparent funds only;
//   - Sprout z-addresses (zc..., base58check over a 64-byte payload);
//   - Sapling z-addresses (zs1..., bech32 over a 43-byte payload);
//   - unified addresses (ZIP 316, u1..., bech32m).
//
// Every format carries a checksum (base58check's double SHA-256, or
// bech32/bech32m) and it is verified. A unified address's receivers sit
// behind the F4Jumble permutation, which needs BLAKE2b with a
// personalisation string that golang.org/x/crypto does not expose; its
// checksum and length bounds are checked, its receivers are not opened.
//
// Canonical form: base58check as written, bech32 in lower case. A TEX
// address becomes the t1... address of its key hash: the same funds, and
// the key screening lists carry.
package zec

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/btcfamily"
	"github.com/tracehound/tracehound/chain/internal/bech32"
)

var transparent = btcfamily.New(btcfamily.ZcashTransparent())

// Sprout's two-byte versions.
var (
	sproutMain = []byte{0x16, 0x9a} // zc
	sproutTest = []byte{0x16, 0xb6} // zt
)

// The bech32 formats: human-readable part, network, checksum, payload
// length in bytes (0: a unified address's variable length).
var shielded = []struct {
	hrp     string
	net     chain.Network
	kind    string
	variant bech32.Variant
	size    int
}{
	{"zs", chain.Mainnet, "sapling", bech32.Bech32, 43},
	{"ztestsapling", chain.Testnet, "sapling", bech32.Bech32, 43},
	{"u", chain.Mainnet, "unified", bech32.Bech32m, 0},
	{"utest", chain.Testnet, "unified", bech32.Bech32m, 0},
	{"tex", chain.Mainnet, "p2pkh", bech32.Bech32m, 20},
	{"textest", chain.Testnet, "p2pkh", bech32.Bech32m, 20},
}

// Unified addresses: ZIP 316 requires at least 48 bytes (F4Jumble's
// minimum); the cap keeps a pasted blob from being taken for one.
const (
	unifiedMin      = 48
	unifiedMaxChars = 4096
)

// Codec parses Zcash addresses. The zero value is ready to use.
type Codec struct{}

// Chain is chain.Zcash.
func (Codec) Chain() chain.Chain { return chain.Zcash }

// Looks reports whether s starts like a Zcash address.
func (Codec) Looks(s string) bool {
	if len(s) < 3 {
		return false
	}
	switch {
	case (s[0] == 't') && (s[1] == '1' || s[1] == '3' || s[1] == 'm' || s[1] == '2') && len(s) == 35:
		return true
	case s[0] == 'z' && (s[1] == 'c' || s[1] == 't') && len(s) == 95:
		return true
	}
	for _, f := range shielded {
		if bech32.HasPrefix(s, f.hrp) {
			return true
		}
	}
	return false
}

// Parse validates s and returns its canonical form.
func (Codec) Parse(s string) (chain.Address, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return chain.Address{}, addrErr(s, chain.ReasonEmpty, "")
	}
	for _, f := range shielded {
		if bech32.HasPrefix(s, f.hrp) {
			return parseBech32(s)
		}
	}
	if len(s) > 40 {
		return parseSprout(s)
	}
	return transparent.ParseBase58(s)
}

func parseSprout(s string) (chain.Address, error) {
	b, err := btcfamily.DecodeCheck(s)
	if err != nil {
		ce := err.(*btcfamily.CheckError)
		return chain.Address{}, addrErr(s, ce.Reason, ce.Detail)
	}
	net := chain.Mainnet
	switch {
	case bytes.HasPrefix(b, sproutMain):
	case bytes.HasPrefix(b, sproutTest):
		net = chain.Testnet
	default:
		return chain.Address{}, addrErr(s, chain.ReasonNetwork, fmt.Sprintf("version 0x%x is not a Zcash one", b[:min(2, len(b))]))
	}
	if len(b) != 2+64 {
		return chain.Address{}, addrErr(s, chain.ReasonLength, fmt.Sprintf("Sprout payload of %d bytes, want 64", len(b)-2))
	}
	return chain.Address{Chain: chain.Zcash, Network: net, Kind: "sprout", Value: s}, nil
}

func parseBech32(s string) (chain.Address, error) {
	if len(s) > unifiedMaxChars {
		return chain.Address{}, addrErr(s, chain.ReasonLength, fmt.Sprintf("%d characters", len(s)))
	}
	var buf [128]byte
	hrp, data, variant, err := bech32.Decode(s, 0, buf[:0])
	if err == bech32.ErrMixedCase {
		detail := err.Error()
		if a, e := parseBech32(strings.ToLower(s)); e == nil {
			detail += "; valid in lower case: " + a.Value
		}
		return chain.Address{}, addrErr(s, chain.ReasonFormat, detail)
	}
	if err != nil {
		return chain.Address{}, addrErr(s, btcfamily.Bech32Reason(err), err.Error())
	}
	for _, f := range shielded {
		if hrp != f.hrp {
			continue
		}
		if variant != f.variant {
			return chain.Address{}, addrErr(s, chain.ReasonChecksum, fmt.Sprintf("%s1 needs a %s checksum, has %s", f.hrp, f.variant, variant))
		}
		var pbuf [128]byte
		payload, err := bech32.Bytes(pbuf[:0], data)
		if err != nil {
			return chain.Address{}, addrErr(s, chain.ReasonFormat, err.Error())
		}
		if f.size != 0 && len(payload) != f.size || f.size == 0 && len(payload) < unifiedMin {
			return chain.Address{}, addrErr(s, chain.ReasonLength, fmt.Sprintf("%s payload of %d bytes", f.kind, len(payload)))
		}
		if f.kind == "p2pkh" {
			// TEX: the transparent address of the same key hash.
			version := []byte{0x1c, 0xb8}
			if f.net == chain.Testnet {
				version = []byte{0x1d, 0x25}
			}
			return chain.Address{Chain: chain.Zcash, Network: f.net, Kind: "p2pkh", Value: btcfamily.EncodeCheck(version, payload)}, nil
		}
		return chain.Address{Chain: chain.Zcash, Network: f.net, Kind: f.kind, Value: strings.ToLower(s)}, nil
	}
	return chain.Address{}, addrErr(s, chain.ReasonFormat, "unknown human-readable part "+hrp)
}

func addrErr(s, reason, detail string) error {
	return &chain.AddressError{Input: s, Chain: chain.Zcash, Reason: reason, Detail: detail}
}
