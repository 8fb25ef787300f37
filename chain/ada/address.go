// Package ada holds Cardano's address codec (CIP-19):
//
//   - Shelley addresses, bech32 under addr (addr_test): a header byte
//     (type, network) and a payment credential with a stake credential
//     (base), a chain pointer (pointer) or nothing (enterprise);
//   - stake (reward) addresses, bech32 under stake (stake_test);
//   - Byron addresses, base58 of CBOR [#6.24(payload), crc32(payload)],
//     the payload [root, attributes, type]; a network magic among the
//     attributes marks a test network.
//
// Cardano puts no length limit on bech32; the checksum (bech32, not
// bech32m) and the header are verified, the header's network against the
// human-readable part. For Byron, the CRC32 is verified and the CBOR must
// be the minimal encoding of the structure above, with nothing after it.
//
// Canonical form: bech32 in lower case; Byron base58 as written.
package ada

import (
	"fmt"
	"hash/crc32"
	"strings"

	"github.com/btcsuite/btcd/btcutil/base58"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/btcfamily"
	"github.com/tracehound/tracehound/chain/internal/bech32"
	"github.com/tracehound/tracehound/chain/internal/charset"
)

// The human-readable parts and what they may carry.
var parts = []struct {
	hrp   string
	net   chain.Network
	tag   byte // the header's network nibble
	stake bool // reward addresses, else payment addresses
}{
	{"addr", chain.Mainnet, 1, false},
	{"addr_test", chain.Testnet, 0, false},
	{"stake", chain.Mainnet, 1, true},
	{"stake_test", chain.Testnet, 0, true},
}

const hashLen = 28 // blake2b-224 of a key or a script

// Codec parses Cardano addresses. The zero value is ready to use.
type Codec struct{}

// Chain is chain.Cardano.
func (Codec) Chain() chain.Chain { return chain.Cardano }

// Looks reports whether s starts with one of Cardano's bech32 parts, or
// is base58 of a Byron address's length.
func (Codec) Looks(s string) bool {
	for _, p := range parts {
		if bech32.HasPrefix(s, p.hrp) {
			return true
		}
	}
	if len(s) < 50 || len(s) > 140 {
		return false
	}
	return charset.NotBase58(s) < 0
}

// Parse validates s and returns its canonical form.
func (Codec) Parse(s string) (chain.Address, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return chain.Address{}, addrErr(s, chain.ReasonEmpty, "")
	}
	for _, p := range parts {
		if bech32.HasPrefix(s, p.hrp) {
			return parseShelley(s)
		}
	}
	return parseByron(s)
}

// maxShelley bounds a bech32 address: a pointer address with three
// ten-byte varints is about 130 characters.
const maxShelley = 200

func parseShelley(s string) (chain.Address, error) {
	var buf [maxShelley]byte
	hrp, data, variant, err := bech32.Decode(s, maxShelley, buf[:0])
	if err == bech32.ErrMixedCase {
		detail := err.Error()
		if a, e := parseShelley(strings.ToLower(s)); e == nil {
			detail += "; valid in lower case: " + a.Value
		}
		return chain.Address{}, addrErr(s, chain.ReasonFormat, detail)
	}
	if err != nil {
		return chain.Address{}, addrErr(s, btcfamily.Bech32Reason(err), err.Error())
	}
	if variant != bech32.Bech32 {
		return chain.Address{}, addrErr(s, chain.ReasonChecksum, "bech32m checksum; Cardano uses bech32")
	}
	var pbuf [128]byte
	b, err := bech32.Bytes(pbuf[:0], data)
	if err != nil || len(b) < 1 {
		return chain.Address{}, addrErr(s, chain.ReasonFormat, "bad padding")
	}
	var part = -1
	for i, p := range parts {
		if p.hrp == hrp {
			part = i
		}
	}
	if part < 0 {
		return chain.Address{}, addrErr(s, chain.ReasonFormat, "unknown human-readable part "+hrp)
	}
	p := parts[part]
	typ, tag := b[0]>>4, b[0]&0x0f
	if tag != p.tag {
		return chain.Address{}, addrErr(s, chain.ReasonNetwork, fmt.Sprintf("network tag %d under %s, want %d", tag, hrp, p.tag))
	}
	var kind string
	var want int // payload length after the header; -1 for a pointer
	switch {
	case p.stake && (typ == 14 || typ == 15):
		kind, want = "reward", hashLen
	case p.stake:
		return chain.Address{}, addrErr(s, chain.ReasonFormat, fmt.Sprintf("header type %d under %s", typ, hrp))
	case typ <= 3:
		kind, want = "base", 2*hashLen
	case typ <= 5:
		kind, want = "pointer", -1
	case typ <= 7:
		kind, want = "enterprise", hashLen
	default:
		return chain.Address{}, addrErr(s, chain.ReasonFormat, fmt.Sprintf("header type %d under %s", typ, hrp))
	}
	body := b[1:]
	switch {
	case want >= 0 && len(body) != want:
		return chain.Address{}, addrErr(s, chain.ReasonLength, fmt.Sprintf("%s address of %d bytes after the header, want %d", kind, len(body), want))
	case want < 0:
		if len(body) < hashLen {
			return chain.Address{}, addrErr(s, chain.ReasonLength, "pointer address shorter than its payment credential")
		}
		if err := checkPointer(body[hashLen:]); err != "" {
			return chain.Address{}, addrErr(s, chain.ReasonFormat, err)
		}
	}
	return chain.Address{Chain: chain.Cardano, Network: p.net, Kind: kind, Value: strings.ToLower(s)}, nil
}

// checkPointer checks that b is exactly three variable-length naturals
// (slot, transaction index, certificate index): seven bits a byte, most
// significant group first, the top bit set on all but the last byte.
func checkPointer(b []byte) string {
	for range 3 {
		n := 0
		for n < len(b) && n < 10 && b[n]&0x80 != 0 {
			n++
		}
		if n >= len(b) || n >= 10 {
			return "bad chain pointer"
		}
		b = b[n+1:]
	}
	if len(b) != 0 {
		return "bytes after the chain pointer"
	}
	return ""
}

func parseByron(s string) (chain.Address, error) {
	if len(s) > 256 {
		return chain.Address{}, addrErr(s, chain.ReasonLength, fmt.Sprintf("%d characters", len(s)))
	}
	if i := charset.NotBase58(s); i >= 0 {
		return chain.Address{}, addrErr(s, chain.ReasonFormat, fmt.Sprintf("%q at %d is neither bech32 under addr or stake nor base58", s[i], i+1))
	}
	b := base58.Decode(s)
	r := cbor{b: b}
	if r.head(4) != 2 || !r.tag24() {
		return chain.Address{}, addrErr(s, chain.ReasonFormat, "not a Byron address (CBOR [#6.24(bytes), crc32])")
	}
	payload, ok := r.bytes()
	sum, okSum := r.uint()
	if !ok || !okSum || r.err || len(r.b) != 0 {
		return chain.Address{}, addrErr(s, chain.ReasonFormat, "not a Byron address (CBOR [#6.24(bytes), crc32])")
	}
	if uint64(crc32.ChecksumIEEE(payload)) != sum {
		return chain.Address{}, addrErr(s, chain.ReasonChecksum, "CRC32 mismatch")
	}
	// The payload: [root (28 bytes), {attributes}, type].
	p := cbor{b: payload}
	if p.head(4) != 3 {
		return chain.Address{}, addrErr(s, chain.ReasonFormat, "Byron payload is not [root, attributes, type]")
	}
	root, ok := p.bytes()
	if !ok || len(root) != hashLen {
		return chain.Address{}, addrErr(s, chain.ReasonLength, "Byron root is not 28 bytes")
	}
	net := chain.Mainnet
	attrs := p.head(5)
	for range attrs {
		k, okK := p.uint()
		_, okV := p.bytes()
		if !okK || !okV {
			return chain.Address{}, addrErr(s, chain.ReasonFormat, "Byron attributes are not {uint: bytes}")
		}
		if k == 2 { // the network magic, present on test networks only
			net = chain.Testnet
		}
	}
	typ, ok := p.uint()
	if !ok || p.err || len(p.b) != 0 || (typ != 0 && typ != 2) {
		return chain.Address{}, addrErr(s, chain.ReasonFormat, "Byron payload is not [root, attributes, type 0 or 2]")
	}
	return chain.Address{Chain: chain.Cardano, Network: net, Kind: "byron", Value: s}, nil
}

// cbor reads the few shapes of minimal CBOR a Byron address holds.
type cbor struct {
	b   []byte
	err bool
}

// arg reads a head's argument for additional information ai and checks
// it is written in the fewest bytes.
func (c *cbor) arg(ai byte) uint64 {
	if ai < 24 {
		return uint64(ai)
	}
	var n int
	var least uint64
	switch ai {
	case 24:
		n, least = 1, 24
	case 25:
		n, least = 2, 1<<8
	case 26:
		n, least = 4, 1<<16
	case 27:
		n, least = 8, 1<<32
	default:
		c.err = true
		return 0
	}
	if len(c.b) < n {
		c.err = true
		return 0
	}
	var v uint64
	for _, x := range c.b[:n] {
		v = v<<8 | uint64(x)
	}
	c.b = c.b[n:]
	if v < least {
		c.err = true
	}
	return v
}

// head reads a head of major type mt and returns its argument; -1 if the
// next item is not of that type.
func (c *cbor) head(mt byte) int {
	if c.err || len(c.b) == 0 || c.b[0]>>5 != mt {
		c.err = true
		return -1
	}
	ai := c.b[0] & 31
	c.b = c.b[1:]
	v := c.arg(ai)
	if v > 1<<16 {
		c.err = true
		return -1
	}
	return int(v)
}

func (c *cbor) tag24() bool { return c.head(6) == 24 && !c.err }

func (c *cbor) bytes() ([]byte, bool) {
	n := c.head(2)
	if c.err || n < 0 || n > len(c.b) {
		c.err = true
		return nil, false
	}
	v := c.b[:n]
	c.b = c.b[n:]
	return v, true
}

func (c *cbor) uint() (uint64, bool) {
	if c.err || len(c.b) == 0 || c.b[0]>>5 != 0 {
		c.err = true
		return 0, false
	}
	ai := c.b[0] & 31
	c.b = c.b[1:]
	v := c.arg(ai)
	return v, !c.err
}

func addrErr(s, reason, detail string) error {
	return &chain.AddressError{Input: s, Chain: chain.Cardano, Reason: reason, Detail: detail}
}
