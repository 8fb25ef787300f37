package bech32_test

import (
	"bytes"
	"testing"

	ref "github.com/btcsuite/btcd/btcutil/bech32"

	"github.com/tracehound/tracehound/chain/internal/bech32"
)

// The valid and invalid strings of BIP 173 and BIP 350, and addresses.
var vectors = []string{
	"A12UEL5L", "a12uel5l",
	"an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
	"abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
	"11qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqc8247j",
	"split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
	"?1ezyfcl",
	"A1LQFN3A", "a1lqfn3a",
	"abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx",
	"split1checkupstagehandshakeupstreamerranterredcaperredlc445v",
	"?1v759aa",
	"BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4",
	"bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
	"addr1qx2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzer3n0d3vllmyqwsx5wktcd8cc3sq835lu7drv2xwl2wywfgse35a3x",
	// Invalid.
	"\x201nwldj5", "\x7f1axkwrx", "pzry9x0s0muk", "1pzry9x0s0muk", "x1b4n0q5v", "li1dgmt3", "de1lg7wt\xff",
	"A1G7SGD8", "10a06t8", "1qzzfhee", "a1qqqq", "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxx",
	"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", "bc1qW508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "",
}

func TestAgreesWithBtcutil(t *testing.T) {
	for _, s := range vectors {
		check(t, s)
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range vectors {
		f.Add(s)
	}
	f.Fuzz(check)
}

// check compares Decode and Bytes with btcutil's DecodeNoLimitWithVersion
// and ConvertBits: the same verdict, part and values.
func check(t *testing.T, s string) {
	hrp, data, v, err := bech32.Decode(s, 0, nil)
	rhrp, rdata, rv, rerr := ref.DecodeNoLimitWithVersion(s)
	if (err == nil) != (rerr == nil) {
		t.Fatalf("%q: ours %v, btcutil %v", s, err, rerr)
	}
	if err != nil {
		return
	}
	if hrp != rhrp || !bytes.Equal(data, rdata) || (v == bech32.Bech32) != (rv == ref.Version0) {
		t.Fatalf("%q: ours %q %v %v, btcutil %q %v %v", s, hrp, data, v, rhrp, rdata, rv)
	}
	b, err := bech32.Bytes(nil, data)
	rb, rerr := ref.ConvertBits(rdata, 5, 8, false)
	if (err == nil) != (rerr == nil) || !bytes.Equal(b, rb) {
		t.Fatalf("%q: bytes ours %x %v, btcutil %x %v", s, b, err, rb, rerr)
	}
}

func TestLimitAndPrefix(t *testing.T) {
	long := vectors[2]
	if _, _, _, err := bech32.Decode(long, 90, nil); err != nil {
		t.Fatalf("90 characters: %v", err)
	}
	if _, _, _, err := bech32.Decode(vectors[14], 90, nil); err != bech32.ErrLength {
		t.Fatalf("103 characters under a limit of 90: %v", err)
	}
	if !bech32.HasPrefix("BC1QW508", "bc") || bech32.HasPrefix("bcd1q", "bc") || bech32.HasPrefix("bc", "bc") {
		t.Fatal("HasPrefix")
	}
	if got := testing.AllocsPerRun(100, func() { _, _, _, _ = bech32.Decode(vectors[14], 0, make([]byte, 0, 128)) }); got > 1 {
		t.Errorf("Decode allocates %v times", got)
	}
}

func BenchmarkDecode(b *testing.B) {
	buf := make([]byte, 0, 128)
	for b.Loop() {
		if _, _, _, err := bech32.Decode(vectors[14], 0, buf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeBtcutil(b *testing.B) {
	for b.Loop() {
		if _, _, _, err := ref.DecodeNoLimitWithVersion(vectors[14]); err != nil {
			b.Fatal(err)
		}
	}
}
