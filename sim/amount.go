package sim

import (
	"math"

	"github.com/tracehound/tracehound/chain"
)

// Helpers over chain.Amount. Every amount the generator moves is a part of
// the theft or a sampled payment far below 2^256, so sums cannot overflow
// and the planner never subtracts more than it holds; add and sub drop the
// flags for that reason, and the planner's ledger checks the one place
// where a bug could overdraw.

func add(a, b chain.Amount) chain.Amount { s, _ := a.Add(b); return s }

func sub(a, b chain.Amount) chain.Amount { d, _ := a.Sub(b); return d }

// mulDiv returns a*num/den rounded down.
func mulDiv(a chain.Amount, num, den uint64) chain.Amount {
	return a.MulDiv(chain.NewAmount(num), chain.NewAmount(den))
}

// ether returns n ETH in wei.
func ether(n uint64) chain.Amount { return mulDiv(chain.NewAmount(n), 1e18, 1) }

// scaled returns n*scale exactly, in 64 bits when it fits.
func scaled(n, scale uint64) chain.Amount {
	if scale == 0 || n <= math.MaxUint64/scale {
		return chain.NewAmount(n * scale)
	}
	return mulDiv(chain.NewAmount(n), scale, 1)
}

func pow10(k int) uint64 {
	p := uint64(1)
	for range k {
		p *= 10
	}
	return p
}

// roundDown keeps about digits significant decimal digits of a, as people
// choose amounts: it rounds down to the largest power of ten not above
// a/10^digits.
func roundDown(a chain.Amount, digits int) chain.Amount {
	limit := mulDiv(a, 1, pow10(digits))
	unit, ten, one := chain.NewAmount(1), chain.NewAmount(10), chain.NewAmount(1)
	for {
		next := unit.MulDiv(ten, one)
		if next.Cmp(limit) > 0 {
			break
		}
		unit = next
	}
	return a.MulDiv(one, unit).MulDiv(unit, one)
}
