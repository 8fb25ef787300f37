package chain

import (
	"fmt"
	"math/big"
	"strings"
)

// Amount is an exact quantity in an asset's base units (satoshi, wei, token
// units). It is never a float. The zero value is zero.
type Amount struct{ i big.Int }

// NewAmount returns an Amount of n base units.
func NewAmount(n int64) Amount { var a Amount; a.i.SetInt64(n); return a }

// AmountFromBig copies b.
func AmountFromBig(b *big.Int) Amount { var a Amount; a.i.Set(b); return a }

// ParseAmount parses a base-10 integer of base units.
func ParseAmount(s string) (Amount, error) {
	var a Amount
	if _, ok := a.i.SetString(strings.TrimSpace(s), 10); !ok {
		return Amount{}, fmt.Errorf("invalid amount %q: not an integer of base units", s)
	}
	return a, nil
}

// Big returns a copy as *big.Int.
func (a Amount) Big() *big.Int { return new(big.Int).Set(&a.i) }

// Add returns a+b.
func (a Amount) Add(b Amount) Amount { var r Amount; r.i.Add(&a.i, &b.i); return r }

// Sub returns a-b.
func (a Amount) Sub(b Amount) Amount { var r Amount; r.i.Sub(&a.i, &b.i); return r }

// Cmp compares a and b.
func (a Amount) Cmp(b Amount) int { return a.i.Cmp(&b.i) }

// Sign returns -1, 0 or +1.
func (a Amount) Sign() int { return a.i.Sign() }

func (a Amount) String() string { return a.i.String() }

// MarshalText writes the decimal integer; JSON carries it as a string so that
// no client rounds it through a float.
func (a Amount) MarshalText() ([]byte, error) { return a.i.MarshalText() }

// UnmarshalText reads a decimal integer.
func (a *Amount) UnmarshalText(b []byte) error {
	if _, ok := a.i.SetString(string(b), 10); !ok {
		return fmt.Errorf("invalid amount %q", b)
	}
	return nil
}
