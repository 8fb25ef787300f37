package pebble

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/tracehound/tracehound/chain"
)

// The graph's binary encodings. Keys sort so that Pebble's ordered
// iteration answers the graph's questions with one range scan: an
// address's transfers by time, a block's height order, an outpoint's
// spender.

var errCorrupt = errors.New("corrupt graph record")

// enc appends to a byte slice.
type enc struct{ b []byte }

func (e *enc) u8(v byte)             { e.b = append(e.b, v) }
func (e *enc) u32(v uint32)          { e.b = binary.BigEndian.AppendUint32(e.b, v) }
func (e *enc) u64(v uint64)          { e.b = binary.BigEndian.AppendUint64(e.b, v) }
func (e *enc) uvar(v uint64)         { e.b = binary.AppendUvarint(e.b, v) }
func (e *enc) svar(v int64)          { e.b = binary.AppendVarint(e.b, v) }
func (e *enc) raw(p []byte)          { e.b = append(e.b, p...) }
func (e *enc) str(s string)          { e.uvar(uint64(len(s))); e.b = append(e.b, s...) }
func (e *enc) bytes(p []byte)        { e.uvar(uint64(len(p))); e.b = append(e.b, p...) }
func (e *enc) amount(a chain.Amount) { e.bytes(a.Bytes()) }

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
// Ethereum with 0x, Bitcoin without.
func hashBytes(s string) ([]byte, error) {
	h := strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != 32 {
		return nil, fmt.Errorf("invalid hash %q: want 32 bytes of hex", s)
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

func hashString(c chain.Chain, b []byte) string {
	if c == chain.Bitcoin {
		return hex.EncodeToString(b)
	}
	return "0x" + hex.EncodeToString(b)
}

// chainKey starts every graph key of one chain: prefix, chain, 0.
func chainKey(prefix string, c chain.Chain) []byte {
	k := make([]byte, 0, 96)
	k = append(k, prefix...)
	k = append(k, c...)
	return append(k, 0)
}

// addrKey is chainKey plus the length-prefixed address, so that one
// address's keys are one contiguous range.
func addrKey(prefix string, c chain.Chain, addr string) []byte {
	k := chainKey(prefix, c)
	k = append(k, byte(len(addr)))
	return append(k, addr...)
}
