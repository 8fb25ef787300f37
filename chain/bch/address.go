// Package bch holds Bitcoin Cash's address codec: CashAddr (with or
// without its bitcoincash:, bchtest: or bchreg: prefix; P2PKH, P2SH,
// 32-byte P2SH and their CashTokens token-aware forms) and the legacy
// base58check form Bitcoin Cash inherited from Bitcoin.
//
// Canonical form: CashAddr in lower case, without the prefix on mainnet
// (bitcoincash:), with it on test networks (bchtest:..., bchreg:...). The
// chain already names the network on mainnet, and OFAC lists CashAddr
// without it; a testnet address without its prefix could not be checked
// by a reader who assumes mainnet. A legacy 1... or 3... address becomes
// the CashAddr of the same hash, and a token-aware address (z..., r...)
// the plain one of the same script, so that every spelling of one locking
// script is one key. The same legacy string is also a Bitcoin and a
// Bitcoin SV address (chain.Parser.ParseAll gives every reading).
package bch

import (
	"fmt"
	"strings"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/btcfamily"
)

// The CashAddr prefixes, mainnet first.
var prefixes = []struct {
	name string
	net  chain.Network
	// state is the checksum state after the prefix and separator.
	state uint64
}{
	{"bitcoincash", chain.Mainnet, prefixState("bitcoincash")},
	{"bchtest", chain.Testnet, prefixState("bchtest")},
	{"bchreg", chain.Regtest, prefixState("bchreg")},
}

var legacy = btcfamily.New(btcfamily.BitcoinCashLegacy())

// Codec parses Bitcoin Cash addresses. The zero value is ready to use.
type Codec struct{}

// Chain is chain.BitcoinCash.
func (Codec) Chain() chain.Chain { return chain.BitcoinCash }

// Looks reports whether s is a CashAddr (a known prefix, or 42 or 61
// characters of its alphabet starting q, p, z or r) or has the shape of a
// legacy address.
func (Codec) Looks(s string) bool {
	if _, _, ok := splitPrefix(s); ok {
		return true
	}
	if (len(s) == 42 || len(s) == 61) && strings.IndexByte("qpzrQPZR", s[0]) >= 0 {
		for i := 0; i < len(s); i++ {
			if values[s[i]] == 0xff {
				return false
			}
		}
		return true
	}
	return legacy.Looks(s)
}

// splitPrefix returns the prefix index and payload of s if s starts with
// a known prefix and ':' in either case.
func splitPrefix(s string) (int, string, bool) {
	i := strings.IndexByte(s, ':')
	if i < 0 {
		return 0, "", false
	}
	for n, p := range prefixes {
		if strings.EqualFold(s[:i], p.name) {
			return n, s[i+1:], true
		}
	}
	return 0, "", false
}

// Parse validates s and returns its canonical form.
func (Codec) Parse(s string) (chain.Address, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return chain.Address{}, addrErr(s, chain.ReasonEmpty, "")
	case strings.IndexByte(s, ':') >= 0:
		n, payload, ok := splitPrefix(s)
		if !ok {
			return chain.Address{}, addrErr(s, chain.ReasonFormat, "unknown prefix, want bitcoincash:, bchtest: or bchreg:")
		}
		if err := checkCase(s); err != nil {
			return chain.Address{}, err
		}
		return parseCashAddr(s, payload, []int{n})
	case strings.IndexByte("qpzrQPZR", s[0]) >= 0:
		if err := checkCase(s); err != nil {
			return chain.Address{}, err
		}
		return parseCashAddr(s, s, []int{0, 1, 2})
	}
	// Legacy base58check: Bitcoin's versions, turned into CashAddr.
	b, err := btcfamily.DecodeCheck(s)
	if err == nil && len(b) == 1+btcfamily.PayloadLen {
		for i, v := range [4]byte{0, 5, 111, 196} {
			if b[0] == v {
				n, kind := i/2, [2]string{"p2pkh", "p2sh"}[i%2]
				return chain.Address{Chain: chain.BitcoinCash, Network: prefixes[n].net, Kind: kind, Value: encode(n, byte(i%2)<<3, b[1:])}, nil
			}
		}
	}
	// Not ours: the legacy codec words the error.
	_, err = legacy.ParseBase58(s)
	return chain.Address{}, err
}

// checkCase refuses mixed case and names the lower-case form if it is
// valid.
func checkCase(s string) error {
	var hasLower, hasUpper bool
	for i := 0; i < len(s); i++ {
		hasLower = hasLower || s[i] >= 'a' && s[i] <= 'z'
		hasUpper = hasUpper || s[i] >= 'A' && s[i] <= 'Z'
	}
	if !hasLower || !hasUpper {
		return nil
	}
	detail := "mixed upper and lower case"
	if a, err := (Codec{}).Parse(strings.ToLower(s)); err == nil {
		detail += "; valid in lower case: " + a.Value
	}
	return addrErr(s, chain.ReasonFormat, detail)
}

// hashBytes are the hash sizes of the version byte's size bits.
var hashBytes = [8]int{20, 24, 28, 32, 40, 48, 56, 64}

// parseCashAddr checks payload (the part after any prefix) under each
// candidate prefix in turn.
func parseCashAddr(s, payload string, candidates []int) (chain.Address, error) {
	if len(payload) < 9 || len(payload) > 120 {
		return chain.Address{}, addrErr(s, chain.ReasonLength, fmt.Sprintf("%d characters after the prefix", len(payload)))
	}
	var vals [120]byte
	for i := 0; i < len(payload); i++ {
		v := values[payload[i]]
		if v == 0xff {
			return chain.Address{}, addrErr(s, chain.ReasonFormat, fmt.Sprintf("%q at %d is not in CashAddr's alphabet", payload[i], len(s)-len(payload)+i+1))
		}
		vals[i] = v
	}
	data := vals[:len(payload)]
	n := -1
	for _, c := range candidates {
		if polymod(prefixes[c].state, data) == 0 {
			n = c
			break
		}
	}
	if n < 0 {
		return chain.Address{}, addrErr(s, chain.ReasonChecksum, "CashAddr checksum mismatch")
	}
	var buf [72]byte
	b, ok := regroup(buf[:0], data[:len(data)-8])
	if !ok || len(b) < 1 {
		return chain.Address{}, addrErr(s, chain.ReasonFormat, "bad padding")
	}
	version, hash := b[0], b[1:]
	if version&0x80 != 0 {
		return chain.Address{}, addrErr(s, chain.ReasonFormat, "reserved version bit set")
	}
	typ, size := version>>3, version&7
	if len(hash) != hashBytes[size] {
		return chain.Address{}, addrErr(s, chain.ReasonLength, fmt.Sprintf("hash of %d bytes, version says %d", len(hash), hashBytes[size]))
	}
	var kind string
	switch {
	case typ&^2 == 0 && len(hash) == 20:
		kind = "p2pkh"
	case typ&^2 == 1 && len(hash) == 20:
		kind = "p2sh"
	case typ&^2 == 1 && len(hash) == 32:
		kind = "p2sh32"
	case typ > 3:
		return chain.Address{}, addrErr(s, chain.ReasonFormat, fmt.Sprintf("unknown address type %d", typ))
	default:
		return chain.Address{}, addrErr(s, chain.ReasonLength, fmt.Sprintf("no type %d script takes a %d-byte hash", typ, len(hash)))
	}
	a := chain.Address{Chain: chain.BitcoinCash, Network: prefixes[n].net, Kind: kind}
	if typ >= 2 {
		// Token-aware: the same locking script as the plain type.
		a.Value = encode(n, version&^0x10, hash)
		return a, nil
	}
	a.Value = strings.ToLower(payload)
	if n != 0 {
		a.Value = prefixes[n].name + ":" + a.Value
	}
	return a, nil
}

const charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

// values maps a character (either case) to its 5-bit value, or 0xff.
var values = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i := 0; i < len(charset); i++ {
		t[charset[i]] = byte(i)
		if c := charset[i]; c >= 'a' && c <= 'z' {
			t[c-'a'+'A'] = byte(i)
		}
	}
	return t
}()

// gen[b] is the XOR of the generator's terms for the five bits of b
// (the PolyMod of the CashAddr specification).
var gen = func() (t [32]uint64) {
	g := [5]uint64{0x98f2bc8e61, 0x79b76d99e2, 0xf33e5fb3c4, 0xae2eabe2a8, 0x1e4f43e470}
	for b := range t {
		for i, x := range g {
			if b>>i&1 == 1 {
				t[b] ^= x
			}
		}
	}
	return t
}()

func step(c uint64, d byte) uint64 {
	return (c&0x07ffffffff)<<5 ^ uint64(d) ^ gen[c>>35]
}

// prefixState runs the checksum over a prefix's low five bits and the
// separator's zero.
func prefixState(prefix string) uint64 {
	c := uint64(1)
	for i := 0; i < len(prefix); i++ {
		c = step(c, prefix[i]&31)
	}
	return step(c, 0)
}

// polymod continues state over data and returns the PolyMod: zero for a
// valid checksum.
func polymod(state uint64, data []byte) uint64 {
	for _, d := range data {
		state = step(state, d)
	}
	return state ^ 1
}

// regroup turns 5-bit values into bytes, refusing non-zero padding.
func regroup(dst, data []byte) ([]byte, bool) {
	var acc uint32
	var bits uint
	for _, x := range data {
		acc = acc<<5 | uint32(x)
		bits += 5
		if bits >= 8 {
			bits -= 8
			dst = append(dst, byte(acc>>bits))
		}
	}
	return dst, bits < 5 && acc&(1<<bits-1) == 0
}

// encode returns the canonical CashAddr of a version byte and hash under
// prefix n: lower case, the prefix written off mainnet only.
func encode(n int, version byte, hash []byte) string {
	var vals [120]byte
	data := vals[:0]
	var acc uint32
	var bits uint
	for _, b := range append([]byte{version}, hash...) {
		acc = acc<<8 | uint32(b)
		bits += 8
		for bits >= 5 {
			bits -= 5
			data = append(data, byte(acc>>bits)&31)
		}
	}
	if bits > 0 {
		data = append(data, byte(acc<<(5-bits))&31)
	}
	c := polymod(prefixes[n].state, append(data, 0, 0, 0, 0, 0, 0, 0, 0))
	var sb strings.Builder
	if n != 0 {
		sb.WriteString(prefixes[n].name)
		sb.WriteByte(':')
	}
	for _, d := range data {
		sb.WriteByte(charset[d])
	}
	for i := 7; i >= 0; i-- {
		sb.WriteByte(charset[c>>(5*i)&31])
	}
	return sb.String()
}

// Legacy returns the base58check form of a canonical P2PKH or P2SH
// address, for tools that still want it; ok is false for forms legacy
// cannot spell (32-byte P2SH, regtest).
func Legacy(a chain.Address) (string, bool) {
	if a.Chain != chain.BitcoinCash {
		return "", false
	}
	n, payload := 0, a.Value
	if i, p, ok := splitPrefix(a.Value); ok {
		n, payload = i, p
	}
	var vals [120]byte
	data := vals[:0]
	for i := 0; i < len(payload); i++ {
		data = append(data, values[payload[i]])
	}
	if len(data) < 9 || n == 2 {
		return "", false
	}
	var buf [72]byte
	b, ok := regroup(buf[:0], data[:len(data)-8])
	if !ok || len(b) != 21 {
		return "", false
	}
	versions := [2][2]byte{{0, 5}, {111, 196}}
	return btcfamily.EncodeCheck([]byte{versions[n][b[0]>>3&1]}, b[1:]), true
}

func addrErr(s, reason, detail string) error {
	return &chain.AddressError{Input: s, Chain: chain.BitcoinCash, Reason: reason, Detail: detail}
}
