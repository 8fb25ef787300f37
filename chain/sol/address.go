// Package sol holds Solana's address codec: base58 (Bitcoin's alphabet)
// of a 32-byte public key, 32 to 44 characters.
//
// A Solana address has no checksum: any 32 bytes are an address (program
// derived addresses are not even points of the curve), so a mistyped
// character gives another valid address and cannot be caught. The codec
// checks the alphabet and the length and says so in the Kind,
// "pubkey-nochecksum"; screening should treat a Solana address typed by
// hand with that in mind.
//
// Canonical form: as written (base58 has one spelling per 32 bytes).
package sol

import (
	"fmt"
	"strings"

	"github.com/btcsuite/btcd/btcutil/base58"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/internal/charset"
)

// Kind is the Kind of every Solana address: a public key without checksum.
const Kind = "pubkey-nochecksum"

// Codec parses Solana addresses. The zero value is ready to use.
type Codec struct{}

// Chain is chain.Solana.
func (Codec) Chain() chain.Chain { return chain.Solana }

// Looks reports whether s is base58 of Solana's lengths.
func (Codec) Looks(s string) bool {
	if len(s) < 32 || len(s) > 44 {
		return false
	}
	return charset.NotBase58(s) < 0
}

// Parse checks that s is base58 of 32 bytes and returns it as written.
// There is no checksum to verify.
func (Codec) Parse(s string) (chain.Address, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return chain.Address{}, addrErr(s, chain.ReasonEmpty, "")
	}
	if len(s) > 64 {
		return chain.Address{}, addrErr(s, chain.ReasonLength, fmt.Sprintf("%d characters", len(s)))
	}
	if i := charset.NotBase58(s); i >= 0 {
		return chain.Address{}, addrErr(s, chain.ReasonFormat, fmt.Sprintf("%q at %d is not base58", s[i], i+1))
	}
	if n := len(base58.Decode(s)); n != 32 {
		return chain.Address{}, addrErr(s, chain.ReasonLength, fmt.Sprintf("%d bytes, want a 32-byte public key", n))
	}
	return chain.Address{Chain: chain.Solana, Kind: Kind, Value: s}, nil
}

func addrErr(s, reason, detail string) error {
	return &chain.AddressError{Input: s, Chain: chain.Solana, Reason: reason, Detail: detail}
}
