package eth_test

import (
	"strings"
	"testing"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/eth"
)

// Lazarus Group's address as OFAC lists it, EIP-55 checksummed.
const lazarus = "0x098B716B8Aaf21512996dC57EB0615e2383E2f96"

func TestParseForms(t *testing.T) {
	want := strings.ToLower(lazarus)
	for _, in := range []string{lazarus, want, "0x" + strings.ToUpper(lazarus[2:]), "0X" + strings.ToUpper(lazarus[2:]), " " + lazarus + "\n"} {
		a, err := eth.Codec{}.Parse(in)
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if a.Value != want || a.Chain != chain.Ethereum {
			t.Errorf("%q: got %+v", in, a)
		}
		if got := eth.Checksum(a); got != lazarus {
			t.Errorf("Checksum = %s, want %s", got, lazarus)
		}
	}
	// EIP-55's own examples.
	for _, in := range []string{"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
		"0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"} {
		if _, err := (eth.Codec{}).Parse(in); err != nil {
			t.Errorf("EIP-55 example %s: %v", in, err)
		}
	}
}

func TestParseInvalid(t *testing.T) {
	for _, tc := range []struct{ in, reason string }{
		{"", chain.ReasonEmpty},
		// One letter's case flipped.
		{"0x098b716B8Aaf21512996dC57EB0615e2383E2f96", chain.ReasonChecksum},
		{"0x098B716B8Aaf21512996dC57EB0615e2383E2f9", chain.ReasonLength},
		{"0x098B716B8Aaf21512996dC57EB0615e2383E2f9g", chain.ReasonFormat},
		{"098B716B8Aaf21512996dC57EB0615e2383E2f96", chain.ReasonFormat},
	} {
		_, err := eth.Codec{}.Parse(tc.in)
		if got := chain.ErrorReason(err); got != tc.reason {
			t.Errorf("%q: reason %q (%v), want %q", tc.in, got, err, tc.reason)
		}
	}
	_, err := eth.Codec{}.Parse("0x098b716B8Aaf21512996dC57EB0615e2383E2f96")
	if err == nil || !strings.Contains(err.Error(), lazarus) {
		t.Errorf("checksum error should name the correct form: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{lazarus, strings.ToLower(lazarus), "0x", "0X" + strings.Repeat("F", 40)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := eth.Codec{}.Parse(s)
		if err != nil {
			if chain.ErrorReason(err) == "" {
				t.Fatalf("error without reason: %v", err)
			}
			return
		}
		if a.Value != strings.ToLower(a.Value) || len(a.Value) != 42 {
			t.Fatalf("canonical form %q", a.Value)
		}
		// The checksummed form parses back to the same address.
		b, err := eth.Codec{}.Parse(eth.Checksum(a))
		if err != nil || b != a {
			t.Fatalf("checksum form of %q: %+v, %v", a.Value, b, err)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := (eth.Codec{}).Parse(lazarus); err != nil {
			b.Fatal(err)
		}
	}
}
