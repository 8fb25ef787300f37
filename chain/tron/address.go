// Package tron holds the Tron address codec: base58check with the 0x41
// version byte, and its hex form.
package tron

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/btcsuite/btcd/btcutil/base58"

	"github.com/tracehound/tracehound/chain"
)

// version is the first byte of every Tron mainnet address.
const version = 0x41

// Codec parses Tron addresses. The zero value is ready to use.
type Codec struct{}

// Chain is chain.Tron.
func (Codec) Chain() chain.Chain { return chain.Tron }

// Looks reports whether s has the shape of a Tron address: base58 "T..."
// of 34 characters, or 42 hex digits starting with 41.
func (Codec) Looks(s string) bool {
	return (len(s) == 34 && s[0] == 'T') || (len(s) == 42 && s[:2] == "41")
}

// Parse validates s and returns the base58check form.
func (Codec) Parse(s string) (chain.Address, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return chain.Address{}, addrErr(s, chain.ReasonEmpty, "")
	}
	if len(s) == 42 && s[:2] == "41" {
		b, err := hex.DecodeString(s[2:])
		if err != nil {
			return chain.Address{}, addrErr(s, chain.ReasonFormat, "not hexadecimal")
		}
		return chain.Address{Chain: chain.Tron, Network: chain.Mainnet, Kind: "base58", Value: base58.CheckEncode(b, version)}, nil
	}
	if len(s) != 34 {
		return chain.Address{}, addrErr(s, chain.ReasonLength, "want 34 base58 characters")
	}
	payload, v, err := base58.CheckDecode(s)
	switch {
	case errors.Is(err, base58.ErrChecksum):
		return chain.Address{}, addrErr(s, chain.ReasonChecksum, "base58check checksum mismatch")
	case err != nil:
		return chain.Address{}, addrErr(s, chain.ReasonFormat, "not base58check")
	}
	if v != version || len(payload) != 20 {
		return chain.Address{}, addrErr(s, chain.ReasonFormat, fmt.Sprintf("version 0x%02x with %d bytes, want 0x41 with 20", v, len(payload)))
	}
	return chain.Address{Chain: chain.Tron, Network: chain.Mainnet, Kind: "base58", Value: s}, nil
}

func addrErr(s, reason, detail string) error {
	return &chain.AddressError{Input: s, Chain: chain.Tron, Reason: reason, Detail: detail}
}
