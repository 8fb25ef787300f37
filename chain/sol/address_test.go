package sol_test

import (
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcutil/base58"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/internal/codectest"
	"github.com/tracehound/tracehound/chain/sol"
)

// Programs Solana's documentation names: the System Program and the SPL
// Token Program (solana.com/docs, "Programs").
var documented = []string{"11111111111111111111111111111111", "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"}

func TestOFACList(t *testing.T) {
	addrs := codectest.List(t, "SOL")
	for i, a := range codectest.MustParse(t, sol.Codec{}, addrs) {
		if a.Value != addrs[i] || a.Kind != sol.Kind {
			t.Errorf("%s: %+v", addrs[i], a)
		}
	}
}

func TestDocumented(t *testing.T) {
	codectest.MustParse(t, sol.Codec{}, documented)
	if b := base58.Decode(documented[0]); len(b) != 32 || strings.Trim(string(b), "\x00") != "" {
		t.Errorf("System Program is not the zero key: %x", b)
	}
}

func TestParseInvalid(t *testing.T) {
	for _, tc := range []struct{ in, reason string }{
		{"", chain.ReasonEmpty},
		{"42RLPACwZPx3vYYmxSueqsogfynBDqXK298EDsNoyoH0", chain.ReasonFormat},
		// A Bitcoin address is base58 of 25 bytes.
		{"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", chain.ReasonLength},
		{"42RLPACwZPx3vYYmxSueqsogfynBDqXK298EDsNoyoHi2", chain.ReasonLength},
	} {
		if _, err := (sol.Codec{}).Parse(tc.in); chain.ErrorReason(err) != tc.reason {
			t.Errorf("%q: %v, want %s", tc.in, err, tc.reason)
		}
	}
}

// TestNoChecksum shows what the package says: a substitution that keeps
// the length is another valid address. Were a checksum ever checked here
// by mistake, most would be refused.
func TestNoChecksum(t *testing.T) {
	addrs := codectest.List(t, "SOL")
	tried, accepted := codectest.Substitutions(sol.Codec{}, addrs, codectest.Base58Alphabet)
	if len(accepted) < tried*9/10 {
		t.Errorf("%d of %d substitutions accepted; Solana has no checksum", len(accepted), tried)
	}
}

func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		codectest.CheckRoundTrip(t, sol.Codec{}, s)
		// Every accepted string is base58 of exactly 32 bytes, and its
		// encoding is itself.
		if a, err := (sol.Codec{}).Parse(s); err == nil {
			if b := base58.Decode(a.Value); len(b) != 32 || base58.Encode(b) != a.Value {
				t.Fatalf("%q: %x", s, b)
			}
		}
	})
}

func BenchmarkParse(b *testing.B) {
	codectest.BenchParse(b, sol.Codec{}, append(codectest.List(b, "SOL"), documented...))
}
