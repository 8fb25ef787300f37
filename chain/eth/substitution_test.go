package eth_test

import (
	"math"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/eth"
	"github.com/tracehound/tracehound/chain/internal/codectest"
)

// listed returns the EVM addresses of the lists in their EIP-55 form.
func listed(t *testing.T) []string {
	var out []string
	seen := map[string]bool{}
	for _, asset := range []string{"ETH", "USDT", "USDC", "ETC", "ARB", "BSC"} {
		for _, s := range codectest.List(t, asset) {
			if strings.HasPrefix(s, "0x") && !seen[strings.ToLower(s)] {
				seen[strings.ToLower(s)] = true
				out = append(out, common.HexToAddress(s).Hex())
			}
		}
	}
	return out
}

func TestOFACLists(t *testing.T) {
	addrs := listed(t)
	codectest.MustParse(t, eth.Codec{}, addrs)
	// 81 distinct addresses across the six lists on 2025-11-19.
	if len(addrs) < 50 {
		t.Fatalf("%d addresses", len(addrs))
	}
}

// TestSubstitutions: EIP-55 checks case, and only where the address has
// letters. Flipping one letter's case is always caught. Changing a
// character's value changes the hash, and a wrong address passes when
// every letter's case happens to match: one chance in 2^letters. The test
// counts those, confirms each with go-ethereum's own EIP-55, and bounds
// them by their expectation.
func TestSubstitutions(t *testing.T) {
	addrs := listed(t)
	r := codectest.Rand(2)
	for len(addrs) < 200 {
		addrs = append(addrs, common.BytesToAddress(codectest.Bytes(r, 20)).Hex())
	}
	var tried, accepted int
	var expected float64
	for _, s := range addrs {
		b := []byte(s)
		for i := 2; i < len(b); i++ {
			orig := b[i]
			for _, c := range []byte("0123456789abcdefABCDEF") {
				if c == orig {
					continue
				}
				b[i] = c
				tried++
				sub := string(b)
				caseFlip := strings.EqualFold(sub, s)
				lower := strings.ToLower(sub)
				letters := strings.Count(lower, "a") + strings.Count(lower, "b") + strings.Count(lower, "c") +
					strings.Count(lower, "d") + strings.Count(lower, "e") + strings.Count(lower, "f")
				a, err := eth.Codec{}.Parse(sub)
				switch {
				case err == nil && caseFlip:
					t.Errorf("case flip accepted: %s", sub)
				case err == nil:
					accepted++
					if common.HexToAddress(sub).Hex() != sub || a.Value != lower {
						t.Errorf("accepted %s, which EIP-55 refuses", sub)
					}
				case chain.ErrorReason(err) != chain.ReasonChecksum:
					t.Errorf("%s: %v", sub, err)
				}
				// A lower- or upper-case result carries no checksum: the
				// codec accepts it as such, and it is not counted here.
				if !caseFlip && sub != lower && sub != "0x"+strings.ToUpper(sub[2:]) {
					expected += math.Pow(2, -float64(letters))
				}
			}
			b[i] = orig
		}
	}
	if float64(accepted) > 3*expected+10 {
		t.Errorf("%d of %d substitutions accepted, %.1f expected", accepted, tried, expected)
	}
	t.Logf("%d addresses, %d substitutions, %d pass EIP-55 (%.1f expected)", len(addrs), tried, accepted, expected)
}
