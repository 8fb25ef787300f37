package graph

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unsafe"

	"github.com/tracehound/tracehound/chain"
)

// The graph's binary encodings. Keys sort so that Pebble's ordered
// iteration answers the graph's questions with one range scan: an
// address's transfers by time, a block's height order, an outpoint's
// spender.

var errCorrupt = errors.New("corrupt graph record")

// enc appends to a byte slice.
type enc struct{ b []byte }

func (e *enc) u8(v byte)     { e.b = append(e.b, v) }
func (e *enc) u32(v uint32)  { e.b = binary.BigEndian.AppendUint32(e.b, v) }
func (e *enc) u64(v uint64)  { e.b = binary.BigEndian.AppendUint64(e.b, v) }
func (e *enc) uvar(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *enc) svar(v int64)  { e.b = binary.AppendVarint(e.b, v) }
func (e *enc) raw(p []byte)  { e.b = append(e.b, p...) }
func (e *enc) str(s string)  { e.uvar(uint64(len(s))); e.b = append(e.b, s...) }
func (e *enc) amount(a chain.Amount) {
	e.uvar(uint64(a.ByteLen()))
	e.b = a.AppendBytes(e.b)
}

// dec reads what enc wrote; the first error sticks.
type dec struct {
	b   []byte
	err error
}

func (d *dec) fail() {
	if d.err == nil {
		d.err = errCorrupt
	}
	d.b = nil
}

func (d *dec) u8() byte {
	if len(d.b) < 1 {
		d.fail()
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *dec) u32() uint32 {
	if len(d.b) < 4 {
		d.fail()
		return 0
	}
	v := binary.BigEndian.Uint32(d.b)
	d.b = d.b[4:]
	return v
}

func (d *dec) u64() uint64 {
	if len(d.b) < 8 {
		d.fail()
		return 0
	}
	v := binary.BigEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *dec) uvar() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) svar() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) raw(n int) []byte {
	if len(d.b) < n {
		d.fail()
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *dec) bytes() []byte {
	n := d.uvar()
	if n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	return d.raw(int(n))
}

func (d *dec) str() string { return string(d.bytes()) }

func (d *dec) amount() chain.Amount {
	a, err := chain.AmountFromBytes(d.bytes())
	if err != nil {
		d.fail()
	}
	return a
}

// Hashes are stored as raw bytes and shown as each chain shows them:
// Ethereum with 0x, Bitcoin and Tron without.
func hashBytes(s string) ([]byte, error) {
	h := strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != 32 {
		return nil, fmt.Errorf("invalid hash %q: want 32 bytes of hex", s)
	}
	return b, nil
}

// appendHashBytes appends the 32 bytes of hash s to b, as hashBytes
// decodes them, without allocating for a lowercase hash.
func appendHashBytes(b []byte, s string) ([]byte, error) {
	h := strings.TrimPrefix(s, "0x")
	if len(h) != 64 {
		v, err := hashBytes(s)
		return append(b, v...), err
	}
	n := len(b)
	b = append(b, make([]byte, 32)...)
	if !decodeHexLower(b[n:], h) {
		v, err := hashBytes(s)
		return append(b[:n], v...), err
	}
	return b, nil
}

// blockHashBytes is hashBytes, but a block whose hash the input does not
// give (CSV exports omit blocks without transactions) is stored with 32
// zero bytes and read back as "".
func blockHashBytes(s string) ([]byte, error) {
	if s == "" {
		return make([]byte, 32), nil
	}
	return hashBytes(s)
}

// bareHashes reports whether chain c shows its hashes as bare hex, as
// Bitcoin's and Tron's nodes and explorers do. A Tron block hash must read
// back exactly as the node gives it, or every batch would look like a
// fork of the stored chain.
func bareHashes(c chain.Chain) bool { return c == chain.Bitcoin || c == chain.Tron }

// hashPrefix is what comes before a hash's hex digits on chain c.
func hashPrefix(c chain.Chain) string {
	if bareHashes(c) {
		return ""
	}
	return "0x"
}

func hashString(c chain.Chain, b []byte) string {
	if bareHashes(c) {
		return hex.EncodeToString(b)
	}
	if len(b) != 32 {
		return "0x" + hex.EncodeToString(b)
	}
	// One allocation: postings are read by the thousand.
	var buf [66]byte
	buf[0], buf[1] = '0', 'x'
	hex.Encode(buf[2:], b)
	return string(buf[:])
}

// Addresses (and token assets, which are contract addresses) are stored
// compactly. An Ethereum-style address, "0x" and 40 lowercase hex digits,
// is the tag addrHex20 and its 20 bytes: half the size of the string. Any
// other string (Bitcoin addresses, test names, mixed case) is the tag
// addrString, its length as a uvarint, and its bytes, so every string
// round-trips exactly. The encoding is prefix-free: an address followed by
// more key bytes never reads as another address, so one address's keys
// are one contiguous range.
const (
	addrString = 0
	addrHex20  = 1
)

// maxAddrLen bounds addresses in keys; no chain's addresses come near it.
const maxAddrLen = 255

func appendAddr(b []byte, s string) []byte {
	if isHex20(s) {
		b = append(b, addrHex20)
		for i := 2; i < 42; i += 2 {
			b = append(b, unhex(s[i])<<4|unhex(s[i+1]))
		}
		return b
	}
	b = append(b, addrString)
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// isHex20 reports whether s is "0x" and 40 lowercase hex digits, the one
// form that decodes back to itself.
func isHex20(s string) bool {
	if len(s) != 42 || s[0] != '0' || s[1] != 'x' {
		return false
	}
	for i := 2; i < 42; i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// appendHash stores a transaction hash as the tag hashRaw and its 32
// bytes when the chain shows those bytes as exactly s; any other string
// as addrString, so that it round-trips.
func appendHash(b []byte, c chain.Chain, s string) []byte {
	if h, err := hashBytes(s); err == nil && hashString(c, h) == s {
		b = append(b, hashRaw)
		return append(b, h...)
	}
	b = append(b, addrString)
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

const hashRaw = 2

func (d *dec) hash(c chain.Chain) string {
	switch d.u8() {
	case hashRaw:
		return hashString(c, d.raw(32))
	case addrString:
		return d.str()
	}
	d.fail()
	return ""
}

// unhex is the value of a lowercase hex digit isHex20 accepted.
func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'a' + 10
}

// addrRaw reads an address as its encoded bytes: the tag and the 20 bytes
// or the tag and the string. It does not allocate.
func (d *dec) addrRaw() (tag byte, p []byte) {
	tag = d.u8()
	switch {
	case d.err != nil:
		return 0, nil
	case tag == addrHex20:
		return tag, d.raw(20)
	case tag == addrString:
		return tag, d.bytes()
	}
	d.fail()
	return 0, nil
}

func (d *dec) addr() string {
	tag, p := d.addrRaw()
	return addrText(tag, p)
}

func addrText(tag byte, p []byte) string {
	if tag != addrHex20 {
		return string(p)
	}
	var buf [42]byte
	buf[0], buf[1] = '0', 'x'
	hex.Encode(buf[2:], p)
	return string(buf[:])
}

// chainKey starts every graph key of one chain: prefix, chain, 0.
func chainKey(prefix string, c chain.Chain) []byte {
	return appendChainKey(make([]byte, 0, 96), prefix, c)
}

// appendChainKey appends chainKey(prefix, c) to b, for the write path,
// which makes its keys in buffers it keeps.
func appendChainKey(b []byte, prefix string, c chain.Chain) []byte {
	b = append(b, prefix...)
	b = append(b, c...)
	return append(b, 0)
}

// addrKey is chainKey plus the encoded address, so that one address's
// keys are one contiguous range.
func addrKey(prefix string, c chain.Chain, addr string) []byte {
	return appendAddr(chainKey(prefix, c), addr)
}

// strArena hands out strings carved from shared chunks. A read of a
// thousand postings then allocates a few chunks instead of two thousand
// strings, which keeps garbage collection out of the read's tail. The
// strings are never written after they are handed out; a chunk lives as
// long as any of its strings.
// Chunks start small and double, up to strChunk: most reads (a trace's
// look at one address, a deposit check) format a handful of postings,
// and a 16 KiB chunk for each of them was most of what a trace on the
// bare store allocated.
type strArena struct {
	buf  []byte
	next int // the next chunk's size
}

const (
	strFirst = 512
	strChunk = 16 << 10
)

func (a *strArena) room(n int) int {
	if cap(a.buf)-len(a.buf) < n {
		size := max(a.next, strFirst)
		a.next = min(2*size, strChunk)
		a.buf = make([]byte, 0, max(size, n))
	}
	return len(a.buf)
}

// hex returns prefix followed by p in lowercase hex.
func (a *strArena) hex(prefix string, p []byte) string {
	n := len(prefix) + 2*len(p)
	off := a.room(n)
	a.buf = append(a.buf, prefix...)
	a.buf = hex.AppendEncode(a.buf, p)
	return unsafe.String(&a.buf[off], n)
}

// str returns p as a string.
func (a *strArena) str(p []byte) string {
	if len(p) == 0 {
		return ""
	}
	off := a.room(len(p))
	a.buf = append(a.buf, p...)
	return unsafe.String(&a.buf[off], len(p))
}
