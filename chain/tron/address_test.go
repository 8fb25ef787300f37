package tron_test

import (
	"testing"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/tron"
)

// Tether's USDT contract on Tron, and its hex form.
const (
	usdt    = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
	usdtHex = "41a614f803b6fd780986a42c78ec9c7f77e6ded13c"
)

func TestParse(t *testing.T) {
	for _, in := range []string{usdt, usdtHex, " " + usdt + " "} {
		a, err := tron.Codec{}.Parse(in)
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if a.Value != usdt || a.Chain != chain.Tron {
			t.Errorf("%q: got %+v", in, a)
		}
	}
}

func TestParseInvalid(t *testing.T) {
	for _, tc := range []struct{ in, reason string }{
		{"", chain.ReasonEmpty},
		{"TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6u", chain.ReasonChecksum},
		{"TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6", chain.ReasonLength},
		{"TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj60", chain.ReasonFormat},
		// A valid Bitcoin base58check address is not Tron.
		{"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", chain.ReasonFormat},
	} {
		_, err := tron.Codec{}.Parse(tc.in)
		if got := chain.ErrorReason(err); got != tc.reason {
			t.Errorf("%q: reason %q (%v), want %q", tc.in, got, err, tc.reason)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(usdt)
	f.Add(usdtHex)
	f.Add("T")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := tron.Codec{}.Parse(s)
		if err != nil {
			if chain.ErrorReason(err) == "" {
				t.Fatalf("error without reason: %v", err)
			}
			return
		}
		b, err := tron.Codec{}.Parse(a.Value)
		if err != nil || b != a {
			t.Fatalf("canonical %q reparsed as %+v, %v", a.Value, b, err)
		}
	})
}
