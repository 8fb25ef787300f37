// Package xlm holds Stellar's address codec: StrKey (SEP-23) account IDs
// (G..., an ed25519 public key), muxed accounts (M..., CAP-27: an account
// and a 64-bit ID) and contract addresses (C..., Soroban), each a version
// byte, a payload and a CRC16-XModem checksum (little-endian) in RFC 4648
// base32 without padding.
//
// Canonical form: as written, upper case; SEP-23 makes a StrKey valid
// only if it re-encodes to the same string, so a lower-case or
// non-canonical spelling is refused (the error names the valid form when
// one exists). A muxed account stays muxed, Kind "muxed": its ID names
// one customer of an exchange's shared account, and keying it by the
// account alone would flag every customer; Account gives the G... account
// for a look-up of the holder as well. Secret seeds (S...) are refused
// without being echoed.
package xlm

import (
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/tracehound/tracehound/chain"
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// The version bytes of SEP-23 that name addresses, and the seed's.
const (
	versionAccount  = 6 << 3
	versionMuxed    = 12 << 3
	versionContract = 2 << 3
	versionSeed     = 18 << 3
)

const (
	accountLen = 56 // characters of a G... or C... StrKey
	muxedLen   = 69
)

// Codec parses Stellar addresses. The zero value is ready to use.
type Codec struct{}

// Chain is chain.Stellar.
func (Codec) Chain() chain.Chain { return chain.Stellar }

// Looks reports whether s has the shape of a G..., C... or M... StrKey.
func (Codec) Looks(s string) bool {
	switch {
	case len(s) == accountLen && (s[0] == 'G' || s[0] == 'C' || s[0] == 'g' || s[0] == 'c'):
	case len(s) == muxedLen && (s[0] == 'M' || s[0] == 'm'):
	default:
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
		detail := "StrKey is upper case"
		if a, err := (Codec{}).Parse(up); err == nil {
			detail += "; valid in upper case: " + a.Value
		}
		return chain.Address{}, addrErr(s, chain.ReasonFormat, detail)
	}
	if len(s) != accountLen && len(s) != muxedLen {
		return chain.Address{}, addrErr(s, chain.ReasonLength, fmt.Sprintf("%d characters, want %d or %d", len(s), accountLen, muxedLen))
	}
	var buf [43]byte
	n, err := b32.Decode(buf[:], []byte(s))
	if err != nil {
		return chain.Address{}, addrErr(s, chain.ReasonFormat, "not base32")
	}
	b := buf[:n]
	if crc16(b[:n-2]) != binary.LittleEndian.Uint16(b[n-2:]) {
		return chain.Address{}, addrErr(s, chain.ReasonChecksum, "CRC16 checksum mismatch")
	}
	// 69 characters carry 345 bits for 344 (56 carry 280, all used): a
	// muxed StrKey's last bit must be zero, or it does not re-encode to
	// itself as SEP-23 requires.
	if len(s) == muxedLen && value(s[muxedLen-1])&1 != 0 {
		return chain.Address{}, addrErr(s, chain.ReasonFormat, "non-canonical encoding (unused bits set)")
	}
	kind := ""
	switch {
	case b[0] == versionAccount && n == 35:
		kind = "account"
	case b[0] == versionContract && n == 35:
		kind = "contract"
	case b[0] == versionMuxed && n == 43:
		kind = "muxed"
	case b[0] == versionSeed:
		return chain.Address{}, &chain.AddressError{Input: "(withheld)", Chain: chain.Stellar, Reason: chain.ReasonFormat,
			Detail: "a secret seed, not an address; it was not kept"}
	default:
		return chain.Address{}, addrErr(s, chain.ReasonFormat, fmt.Sprintf("version byte 0x%02x with %d bytes is not an account, muxed account or contract", b[0], n-3))
	}
	return chain.Address{Chain: chain.Stellar, Kind: kind, Value: s}, nil
}

// Account returns the G... account a muxed address belongs to, and its
// ID; an account or contract address returns itself. ok is false for
// what is not a parsed Stellar address.
func Account(a chain.Address) (account string, id uint64, muxed, ok bool) {
	if a.Chain != chain.Stellar {
		return "", 0, false, false
	}
	if a.Kind != "muxed" {
		return a.Value, 0, false, true
	}
	var buf [43]byte
	n, err := b32.Decode(buf[:], []byte(a.Value))
	if err != nil || n != 43 {
		return "", 0, false, false
	}
	return encode(versionAccount, buf[1:33]), binary.BigEndian.Uint64(buf[33:41]), true, true
}

// encode writes a StrKey.
func encode(version byte, payload []byte) string {
	b := append([]byte{version}, payload...)
	b = binary.LittleEndian.AppendUint16(b, crc16(b))
	return b32.EncodeToString(b)
}

// crcTable holds CRC-16/XMODEM (polynomial 0x1021) of each byte.
var crcTable = func() (t [256]uint16) {
	for i := range t {
		c := uint16(i) << 8
		for range 8 {
			if c&0x8000 != 0 {
				c = c<<1 ^ 0x1021
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}()

// crc16 is CRC-16/XMODEM: polynomial 0x1021, initial value 0.
func crc16(b []byte) uint16 {
	var crc uint16
	for _, x := range b {
		crc = crc<<8 ^ crcTable[byte(crc>>8)^x]
	}
	return crc
}

func addrErr(s, reason, detail string) error {
	return &chain.AddressError{Input: s, Chain: chain.Stellar, Reason: reason, Detail: detail}
}

// value is the 5-bit value of a base32 character.
func value(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c - 'A'
	}
	return c - '2' + 26
}
