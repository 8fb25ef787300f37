// Package ss58 holds the SS58 address codecs of Substrate chains:
// Polkadot (prefix 0), Kusama (2) and the generic Substrate prefix (42).
//
// An SS58 address is base58 (Bitcoin's alphabet) of a network prefix (one
// byte below 64, two bytes from 64 to 16383), a 32-byte account ID (an
// sr25519 or ed25519 public key) and the first two bytes of the
// BLAKE2b-512 of "SS58PRE", the prefix and the account ID. Only 32-byte
// account IDs are taken: the short account-index forms and 33-byte ECDSA
// keys are not addresses that hold funds on these relay chains.
//
// The checksum is two bytes: a random typo passes it once in 65,536
// tries, where base58check's four bytes make that once in four billion.
// One account ID is a different string under each prefix; each codec
// takes its own prefix and names the chain of any other.
//
// Canonical form: as written (base58 has one spelling per byte string).
package ss58

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/btcsuite/btcd/btcutil/base58"
	"golang.org/x/crypto/blake2b"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/internal/charset"
)

// Polkadot parses Polkadot addresses (SS58 prefix 0, 1...). The zero value
// is ready to use.
type Polkadot struct{}

// Chain is chain.Polkadot.
func (Polkadot) Chain() chain.Chain { return chain.Polkadot }

// Looks reports whether s has the shape of a Polkadot address.
func (Polkadot) Looks(s string) bool { return looks(s, polkadot) }

// Parse validates s and returns it as written.
func (Polkadot) Parse(s string) (chain.Address, error) { return parse(s, polkadot) }

// Kusama parses Kusama addresses (SS58 prefix 2, C... to J...). The zero
// value is ready to use.
type Kusama struct{}

// Chain is chain.Kusama.
func (Kusama) Chain() chain.Chain { return chain.Kusama }

// Looks reports whether s has the shape of a Kusama address.
func (Kusama) Looks(s string) bool { return looks(s, kusama) }

// Parse validates s and returns it as written.
func (Kusama) Parse(s string) (chain.Address, error) { return parse(s, kusama) }

// Substrate parses addresses under the generic Substrate prefix (42,
// 5...), which development chains and many parachains use. The zero value
// is ready to use.
type Substrate struct{}

// Chain is chain.Substrate.
func (Substrate) Chain() chain.Chain { return chain.Substrate }

// Looks reports whether s has the shape of a generic Substrate address.
func (Substrate) Looks(s string) bool { return looks(s, substrate) }

// Parse validates s and returns it as written.
func (Substrate) Parse(s string) (chain.Address, error) { return parse(s, substrate) }

type network struct {
	chain   chain.Chain
	prefix  uint16
	name    string
	leading string // the first characters its addresses can have
}

var (
	polkadot  = newNetwork(chain.Polkadot, 0, "Polkadot")
	kusama    = newNetwork(chain.Kusama, 2, "Kusama")
	substrate = newNetwork(chain.Substrate, 42, "generic Substrate")
)

// names are the prefixes whose owner an error names.
var names = map[uint16]string{0: "Polkadot", 2: "Kusama", 42: "generic Substrate"}

const (
	alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
	idLen    = 32
	sumLen   = 2
)

func newNetwork(c chain.Chain, prefix uint16, name string) network {
	n := network{chain: c, prefix: prefix, name: name}
	lo := append(prefixBytes(prefix), make([]byte, idLen+sumLen)...)
	hi := append(prefixBytes(prefix), bytes.Repeat([]byte{0xff}, idLen+sumLen)...)
	from := strings.IndexByte(alphabet, base58.Encode(lo)[0])
	to := strings.IndexByte(alphabet, base58.Encode(hi)[0])
	n.leading = alphabet[from : to+1]
	return n
}

// prefixBytes encodes a prefix as SS58 does.
func prefixBytes(p uint16) []byte {
	if p < 64 {
		return []byte{byte(p)}
	}
	return []byte{byte(p&0xfc>>2) | 0x40, byte(p>>8) | byte(p&3)<<6}
}

func looks(s string, n network) bool {
	if len(s) < 46 || len(s) > 49 || strings.IndexByte(n.leading, s[0]) < 0 {
		return false
	}
	return charset.NotBase58(s) < 0
}

func parse(s string, n network) (chain.Address, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return chain.Address{}, addrErr(s, n, chain.ReasonEmpty, "")
	}
	if len(s) > 64 {
		return chain.Address{}, addrErr(s, n, chain.ReasonLength, fmt.Sprintf("%d characters", len(s)))
	}
	if i := charset.NotBase58(s); i >= 0 {
		return chain.Address{}, addrErr(s, n, chain.ReasonFormat, fmt.Sprintf("%q at %d is not base58", s[i], i+1))
	}
	b := base58.Decode(s)
	if len(b) < 1 || b[0] >= 128 {
		return chain.Address{}, addrErr(s, n, chain.ReasonFormat, "reserved SS58 prefix")
	}
	plen, prefix := 1, uint16(b[0])
	if b[0] >= 64 {
		if len(b) < 2 {
			return chain.Address{}, addrErr(s, n, chain.ReasonLength, "")
		}
		plen = 2
		prefix = uint16(b[0]&0x3f)<<2 | uint16(b[1]>>6) | uint16(b[1]&0x3f)<<8
	}
	if len(b) != plen+idLen+sumLen {
		return chain.Address{}, addrErr(s, n, chain.ReasonLength, fmt.Sprintf("%d bytes after the prefix, want a 32-byte account ID and a 2-byte checksum", len(b)-plen))
	}
	var pre [7 + 2 + idLen]byte
	m := copy(pre[:], "SS58PRE")
	m += copy(pre[m:], b[:plen+idLen])
	sum := blake2b.Sum512(pre[:m])
	if !bytes.Equal(sum[:sumLen], b[plen+idLen:]) {
		return chain.Address{}, addrErr(s, n, chain.ReasonChecksum, "SS58 checksum mismatch")
	}
	if prefix != n.prefix {
		owner := names[prefix]
		if owner == "" {
			owner = "another chain"
		}
		return chain.Address{}, addrErr(s, n, chain.ReasonNetwork, fmt.Sprintf("SS58 prefix %d (%s), want %d (%s)", prefix, owner, n.prefix, n.name))
	}
	return chain.Address{Chain: n.chain, Kind: "account", Value: s}, nil
}

// AccountID returns the 32-byte account ID (public key) of a parsed SS58
// address: the identity one key has under every prefix.
func AccountID(a chain.Address) ([32]byte, bool) {
	var id [32]byte
	b := base58.Decode(a.Value)
	if len(b) < idLen+sumLen+1 {
		return id, false
	}
	copy(id[:], b[len(b)-sumLen-idLen:len(b)-sumLen])
	return id, true
}

func addrErr(s string, n network, reason, detail string) error {
	return &chain.AddressError{Input: s, Chain: n.chain, Reason: reason, Detail: detail}
}
