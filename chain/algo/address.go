// Package algo holds Algorand's address codec: RFC 4648 base32 without
// padding of a 32-byte ed25519 public key and a 4-byte checksum, the last
// four bytes of its SHA-512/256, 58 characters.
//
// Canonical form: as written, upper case. Algorand's own decoder refuses
// a string that does not re-encode to itself, so a lower-case or
// non-canonical spelling is refused (the error names the valid form when
// one exists). The address carries no network.
package algo

import (
	"crypto/sha512"
	"encoding/base32"
	"fmt"
	"strings"

	"github.com/tracehound/tracehound/chain"
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

const addrLen = 58

// Codec parses Algorand addresses. The zero value is ready to use.
type Codec struct{}

// Chain is chain.Algorand.
func (Codec) Chain() chain.Chain { return chain.Algorand }

// Looks reports whether s has 58 characters of base32's alphabet.
func (Codec) Looks(s string) bool {
	if len(s) != addrLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i] &^ 0x20
		if !(c >= 'A' && c <= 'Z' || s[i] >= '2' && s[i] <= '7') {
			return false
		}
	}
	return true
}

// Parse validates s and returns it as written.
func (Codec) Parse(s string) (chain.Address, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return chain.Address{}, addrErr(s, chain.ReasonEmpty, "")
	}
	if up := strings.ToUpper(s); up != s {
		detail := "Algorand addresses are upper case"
		if a, err := (Codec{}).Parse(up); err == nil {
			detail += "; valid in upper case: " + a.Value
		}
		return chain.Address{}, addrErr(s, chain.ReasonFormat, detail)
	}
	if len(s) != addrLen {
		return chain.Address{}, addrErr(s, chain.ReasonLength, fmt.Sprintf("%d characters, want %d", len(s), addrLen))
	}
	var b [36]byte
	if n, err := b32.Decode(b[:], []byte(s)); err != nil || n != 36 {
		return chain.Address{}, addrErr(s, chain.ReasonFormat, "not base32")
	}
	sum := sha512.Sum512_256(b[:32])
	if string(sum[28:]) != string(b[32:]) {
		return chain.Address{}, addrErr(s, chain.ReasonChecksum, "SHA-512/256 checksum mismatch")
	}
	// 58 characters carry 290 bits for 288: the last character's two low
	// bits must be zero, or the string is not the encoding of its bytes.
	if value(s[addrLen-1])&3 != 0 {
		return chain.Address{}, addrErr(s, chain.ReasonFormat, "non-canonical encoding (unused bits set)")
	}
	return chain.Address{Chain: chain.Algorand, Kind: "account", Value: s}, nil
}

func addrErr(s, reason, detail string) error {
	return &chain.AddressError{Input: s, Chain: chain.Algorand, Reason: reason, Detail: detail}
}

// value is the 5-bit value of a base32 character.
func value(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c - 'A'
	}
	return c - '2' + 26
}
