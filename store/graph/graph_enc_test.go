package graph

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestAppendAddrW(t *testing.T) {
	for _, s := range []string{
		"", "0x", "bc1qxyz", "0x00112233445566778899aabbccddeeff00112233",
		"0x00112233445566778899aabbccddeeff0011223", "0x00112233445566778899aabbccddeeff001122334",
		"0x00112233445566778899AABBCCDDEEFF00112233", "0X00112233445566778899aabbccddeeff00112233",
		"0x00112233445566778899aabbccddeeff0011223g", "0xg0112233445566778899aabbccddeeff00112233",
		"1x00112233445566778899aabbccddeeff00112233", "0x0011223344556677889\x00aabbccddeeff00112233",
	} {
		if got, want := appendAddrW([]byte("k"), s), appendAddr([]byte("k"), s); !bytes.Equal(got, want) {
			t.Errorf("%q: %x, appendAddr %x", s, got, want)
		}
	}
}

func FuzzAppendAddrW(f *testing.F) {
	f.Add("0x00112233445566778899aabbccddeeff00112233")
	f.Add("0x00112233445566778899aabbccddeeff0011223G")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := appendAddrW(nil, s), appendAddr(nil, s); !bytes.Equal(got, want) {
			t.Errorf("%q: %x, appendAddr %x", s, got, want)
		}
	})
}

// FuzzAppendHashBytes: the write path's hash decoding agrees with
// hashBytes, on the value and on the error.
func FuzzAppendHashBytes(f *testing.F) {
	f.Add("0x" + strings.Repeat("0f", 32))
	f.Add(strings.Repeat("aB", 32))
	f.Add("0x" + strings.Repeat("0g", 32))
	f.Add("0X" + strings.Repeat("00", 32))
	f.Fuzz(func(t *testing.T, s string) {
		got, err := appendHashBytes([]byte("k"), s)
		want, werr := hashBytes(s)
		if (err == nil) != (werr == nil) || err == nil && !bytes.Equal(got, append([]byte("k"), want...)) {
			t.Errorf("%q: %x %v, hashBytes %x %v", s, got, err, want, werr)
		}
	})
}

// TestHexMemo: through the memo, every address encodes as appendAddr
// does, whatever came before it, and every address keeps its totals
// (sums, whose memo remembers them).
func TestHexMemo(t *testing.T) {
	addrs := []string{
		"0x00112233445566778899aabbccddeeff00112233", "0x00112233445566778899aabbccddeeff00112234",
		"0x00112233445566778899AABBCCDDEEFF00112233", "0x00112233445566778899aabbccddeeff0011223g",
		"0xffeeddccbbaa99887766554433221100ffeeddcc", "bc1qxyz", "",
		"0x1111111111111111111111111111111111111111", "0x2222222222222222222222222222222222222222",
		"0x3333333333333333333333333333333333333333",
	}
	r := rand.New(rand.NewPCG(1, 2))
	var w graphWriter
	var sm sums
	seen := map[string]*totals{}
	for range 5000 {
		s := addrs[r.IntN(len(addrs))]
		if got, want := w.addrs.appendAddr([]byte("k"), s), appendAddr([]byte("k"), s); !bytes.Equal(got, want) {
			t.Fatalf("%q: %x, appendAddr %x", s, got, want)
		}
		tot := sm.total(s)
		if seen[s] == nil {
			seen[s] = tot
		} else if seen[s] != tot {
			t.Fatalf("%q: totals moved", s)
		}
	}
	distinct := map[*totals]bool{}
	for _, tot := range seen {
		distinct[tot] = true
	}
	if len(distinct) != len(seen) {
		t.Fatalf("%d addresses share %d totals", len(seen), len(distinct))
	}
}
