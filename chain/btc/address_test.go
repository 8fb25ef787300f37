package btc_test

import (
	"strings"
	"testing"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/btc"
)

func TestParseValid(t *testing.T) {
	for _, tc := range []struct {
		in, canonical string
		net           chain.Network
		kind          string
	}{
		// The genesis coinbase address.
		{"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", chain.Mainnet, "p2pkh"},
		// Hal Finney, paid in block 170.
		{"1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3", "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3", chain.Mainnet, "p2pkh"},
		{"3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", chain.Mainnet, "p2sh"},
		// BIP 173 and BIP 350 test vectors.
		{"BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", chain.Mainnet, "p2wpkh"},
		{"bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3", "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3", chain.Mainnet, "p2wsh"},
		{"bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", chain.Mainnet, "p2tr"},
		{"tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7", "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7", chain.Testnet, "p2wsh"},
		{"mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn", "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn", chain.Testnet, "p2pkh"},
		{"2MzQwSSnBHWHqSAqtTVQ6v47XtaisrJa1Vc", "2MzQwSSnBHWHqSAqtTVQ6v47XtaisrJa1Vc", chain.Testnet, "p2sh"},
		{"  1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa\t", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", chain.Mainnet, "p2pkh"},
	} {
		a, err := btc.Codec{}.Parse(tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if a.Value != tc.canonical || a.Network != tc.net || a.Kind != tc.kind || a.Chain != chain.Bitcoin {
			t.Errorf("%s: got %+v, want %s %s %s", tc.in, a, tc.canonical, tc.net, tc.kind)
		}
	}
}

func TestParseInvalid(t *testing.T) {
	for _, tc := range []struct{ in, reason string }{
		{"", chain.ReasonEmpty},
		// Last character changed: base58check checksum fails.
		{"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb", chain.ReasonChecksum},
		{"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", chain.ReasonChecksum},
		// Mixed case bech32 (BIP 173 forbids it).
		{"bc1qW508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", chain.ReasonFormat},
		// A v1 program with a bech32 (not bech32m) checksum: BIP 350 invalid vector.
		{"bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4", chain.ReasonFormat},
		// Non-zero padding (BIP 173 invalid vector).
		{"bc1zw508d6qejxtdg4y5r3zarvaryvqyzf3du", chain.ReasonFormat},
		// Litecoin's L-address is not Bitcoin.
		{"LNf2JDiuunBz7GMDKFYHN4rq5meXWxiwfb", chain.ReasonNetwork},
		{"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfN0", chain.ReasonFormat},
	} {
		_, err := btc.Codec{}.Parse(tc.in)
		if err == nil {
			t.Errorf("%q: accepted", tc.in)
			continue
		}
		if got := chain.ErrorReason(err); got != tc.reason {
			t.Errorf("%q: reason %q (%v), want %q", tc.in, got, err, tc.reason)
		}
	}
	// Mixed case names the valid lower-case form.
	_, err := btc.Codec{}.Parse("bc1qW508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4")
	if err == nil || !strings.Contains(err.Error(), "valid in lower case: bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4") {
		t.Errorf("mixed case: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
		"bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", "2MzQwSSnBHWHqSAqtTVQ6v47XtaisrJa1Vc", "bc1", "1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := btc.Codec{}.Parse(s)
		if err != nil {
			if chain.ErrorReason(err) == "" {
				t.Fatalf("error without reason: %v", err)
			}
			return
		}
		// The canonical form parses to itself.
		b, err := btc.Codec{}.Parse(a.Value)
		if err != nil || b != a {
			t.Fatalf("canonical %q reparsed as %+v, %v", a.Value, b, err)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	in := []string{"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := (btc.Codec{}).Parse(in[i%len(in)]); err != nil {
			b.Fatal(err)
		}
	}
}

func TestLooks(t *testing.T) {
	for _, s := range []string{"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn"} {
		if !(btc.Codec{}).Looks(s) {
			t.Errorf("Looks(%s) = false", s)
		}
	}
	for _, s := range []string{"0x098B716B8Aaf21512996dC57EB0615e2383E2f96", "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", "LNf2JDiuunBz7GMDKFYHN4rq5meXWxiwfb"} {
		if (btc.Codec{}).Looks(s) {
			t.Errorf("Looks(%s) = true", s)
		}
	}
	// Detection without a chain hint, through a parser.
	p := chain.NewParser(btc.Codec{})
	if a, err := p.Parse("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", ""); err != nil || a.Chain != chain.Bitcoin {
		t.Errorf("detect: %+v %v", a, err)
	}
}
