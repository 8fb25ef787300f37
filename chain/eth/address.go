// Package eth holds the Ethereum (and EVM family) address codec with
// EIP-55 checksum validation.
package eth

import (
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/tracehound/tracehound/chain"
)

// Codec parses Ethereum addresses. The zero value is ready to use.
type Codec struct{}

// Chain is chain.Ethereum.
func (Codec) Chain() chain.Chain { return chain.Ethereum }

// Looks reports whether s starts with 0x and is about the right length.
func (Codec) Looks(s string) bool {
	return len(s) >= 40 && len(s) <= 44 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')
}

// Parse validates s and returns it in lower-case hex. A mixed-case address
// must carry a valid EIP-55 checksum; all-lower and all-upper forms carry
// none and are accepted.
func (Codec) Parse(s string) (chain.Address, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return chain.Address{}, addrErr(s, chain.ReasonEmpty, "")
	}
	if len(s) < 2 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') {
		return chain.Address{}, addrErr(s, chain.ReasonFormat, "missing 0x prefix")
	}
	h := s[2:]
	if len(h) != 2*common.AddressLength {
		return chain.Address{}, addrErr(s, chain.ReasonLength, "want 40 hex digits")
	}
	var buf [2 + 2*common.AddressLength]byte
	buf[0], buf[1] = '0', 'x'
	lowerHex := buf[2:]
	mixed, ok := lowerInto(lowerHex, h)
	if !ok {
		return chain.Address{}, addrErr(s, chain.ReasonFormat, "not hexadecimal")
	}
	if mixed && !checksumMatches(lowerHex, h) {
		return chain.Address{}, addrErr(s, chain.ReasonChecksum,
			"EIP-55 checksum mismatch; correctly checksummed: "+common.HexToAddress(string(buf[:])).Hex())
	}
	return chain.Address{Chain: chain.Ethereum, Network: chain.Mainnet, Kind: "account", Value: string(buf[:])}, nil
}

// lowerInto writes h in lower case into dst and reports whether h mixes
// upper- and lower-case letters; ok is false if h is not hexadecimal.
func lowerInto(dst []byte, h string) (mixed, ok bool) {
	var lower, upper bool
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c >= '0' && c <= '9':
		case c >= 'a' && c <= 'f':
			lower = true
		case c >= 'A' && c <= 'F':
			upper = true
			c += 'a' - 'A'
		default:
			return false, false
		}
		dst[i] = c
	}
	return lower && upper, true
}

// checksumMatches applies EIP-55: a letter is upper case exactly when the
// matching nibble of Keccak-256 of the lower-case hex is 8 or more.
func checksumMatches(lowerHex []byte, h string) bool {
	sum := crypto.Keccak256(lowerHex)
	for i := 0; i < len(h); i++ {
		c := lowerHex[i]
		if c < 'a' {
			continue
		}
		nibble := sum[i/2] >> 4
		if i%2 == 1 {
			nibble = sum[i/2] & 0x0f
		}
		if (nibble >= 8) != (h[i] < 'a') {
			return false
		}
	}
	return true
}

// Checksum returns the EIP-55 form of a canonical address.
func Checksum(a chain.Address) string { return common.HexToAddress(a.Value).Hex() }

func addrErr(s, reason, detail string) error {
	return &chain.AddressError{Input: s, Chain: chain.Ethereum, Reason: reason, Detail: detail}
}
