package pebble

import (
	"bytes"
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
