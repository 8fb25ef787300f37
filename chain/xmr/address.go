// Package xmr holds Monero's address codec: standard (4...), integrated
// (4..., with an 8-byte payment ID) and subaddresses (8...) on mainnet,
// and the same on testnet and stagenet.
//
// A Monero address is a varint network tag, the public spend and view
// keys (32 bytes each), the payment ID of an integrated address, and the
// first four bytes of the Keccak-256 (the original Keccak, not SHA-3) of
// all that, in Monero's base58: Bitcoin's alphabet over 8-byte blocks,
// each written in 11 characters (a last, shorter block in fewer), so
// that 69 bytes take 95 characters and 77 take 106.
//
// The keys are not checked to be points of the curve (Monero's wallet
// does): a string with a valid checksum and a key off the curve is
// accepted. Canonical form: as written (the encoding has one spelling per
// address).
package xmr

import (
	"fmt"
	"math/bits"
	"strings"

	"golang.org/x/crypto/sha3"

	"github.com/tracehound/tracehound/chain"
)

// Network tags, from Monero's cryptonote_config.h.
var tags = map[byte]struct {
	net  chain.Network
	kind string
}{
	18: {chain.Mainnet, "standard"}, 19: {chain.Mainnet, "integrated"}, 42: {chain.Mainnet, "subaddress"},
	53: {chain.Testnet, "standard"}, 54: {chain.Testnet, "integrated"}, 63: {chain.Testnet, "subaddress"},
	24: {chain.Stagenet, "standard"}, 25: {chain.Stagenet, "integrated"}, 36: {chain.Stagenet, "subaddress"},
}

const (
	standardLen   = 95  // characters: tag, two keys, checksum
	integratedLen = 106 // and a payment ID
)

// Codec parses Monero addresses. The zero value is ready to use.
type Codec struct{}

// Chain is chain.Monero.
func (Codec) Chain() chain.Chain { return chain.Monero }

// Looks reports whether s has the length of a Monero address and only
// base58 characters.
func (Codec) Looks(s string) bool {
	if len(s) != standardLen && len(s) != integratedLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if digits[s[i]] == 0xff {
			return false
		}
	}
	return true
}

// Parse validates s and returns it as written.
func (Codec) Parse(s string) (chain.Address, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return chain.Address{}, addrErr(s, chain.ReasonEmpty, "")
	case len(s) == 64 && isHex(s):
		return chain.Address{}, addrErr(s, chain.ReasonFormat, "64 hexadecimal digits: a key, payment ID or transaction hash, not an address")
	case len(s) != standardLen && len(s) != integratedLen:
		return chain.Address{}, addrErr(s, chain.ReasonLength, fmt.Sprintf("%d characters, want %d or %d", len(s), standardLen, integratedLen))
	}
	var buf [80]byte
	b, err := decode(buf[:0], s)
	if err != nil {
		return chain.Address{}, addrErr(s, chain.ReasonFormat, err.Error())
	}
	n := len(b) - 4
	k := sha3.NewLegacyKeccak256()
	k.Write(b[:n])
	var sum [32]byte
	if string(k.Sum(sum[:0])[:4]) != string(b[n:]) {
		return chain.Address{}, addrErr(s, chain.ReasonChecksum, "Keccak-256 checksum mismatch")
	}
	tag, ok := tags[b[0]]
	if !ok {
		return chain.Address{}, addrErr(s, chain.ReasonNetwork, fmt.Sprintf("network tag %d is not Monero's", b[0]))
	}
	if (tag.kind == "integrated") != (len(s) == integratedLen) {
		return chain.Address{}, addrErr(s, chain.ReasonLength, fmt.Sprintf("a %s address of %d characters", tag.kind, len(s)))
	}
	return chain.Address{Chain: chain.Monero, Network: tag.net, Kind: tag.kind, Value: s}, nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

const alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

var digits = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = byte(i)
	}
	return t
}()

// blockChars[n] is the length of the encoding of an n-byte block.
var blockChars = [9]int{0, 2, 3, 5, 6, 7, 9, 10, 11}

// decode appends the bytes of Monero's base58 s to dst.
func decode(dst []byte, s string) ([]byte, error) {
	last := len(s) % 11
	lastBytes := -1
	for n, c := range blockChars {
		if c == last {
			lastBytes = n
		}
	}
	if lastBytes < 0 {
		return nil, fmt.Errorf("a last block of %d characters", last)
	}
	for i := 0; i < len(s); i += 11 {
		size := 8
		if i+11 > len(s) {
			size = lastBytes
		}
		var err error
		if dst, err = decodeBlock(dst, s[i:min(i+11, len(s))], size, i); err != nil {
			return nil, err
		}
	}
	return dst, nil
}

// decodeBlock appends the size big-endian bytes one block encodes; the
// value must fit them.
func decodeBlock(dst []byte, block string, size, at int) ([]byte, error) {
	var v uint64
	for i := 0; i < len(block); i++ {
		d := digits[block[i]]
		if d == 0xff {
			return nil, fmt.Errorf("%q at %d is not base58", block[i], at+i+1)
		}
		hi, lo := bits.Mul64(v, 58)
		lo, carry := bits.Add64(lo, uint64(d), 0)
		if hi != 0 || carry != 0 {
			return nil, fmt.Errorf("block at %d overflows 8 bytes", at+1)
		}
		v = lo
	}
	if size < 8 && v>>(8*size) != 0 {
		return nil, fmt.Errorf("block at %d overflows %d bytes", at+1, size)
	}
	for i := size - 1; i >= 0; i-- {
		dst = append(dst, byte(v>>(8*i)))
	}
	return dst, nil
}

func addrErr(s, reason, detail string) error {
	return &chain.AddressError{Input: s, Chain: chain.Monero, Reason: reason, Detail: detail}
}
