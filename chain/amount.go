package chain

import (
	"fmt"
	"math/big"
	"strings"

	"github.com/holiman/uint256"
)

// Amount is an exact, non-negative quantity in an asset's base units
// (satoshi, wei, token units). It is never a float. It holds any uint256,
// the range of ERC-20 balances and of wei, in a fixed 32 bytes, so that
// moving millions of transfers allocates nothing. The zero value is zero.
type Amount struct{ v uint256.Int }

// NewAmount returns an Amount of n base units.
func NewAmount(n uint64) Amount { var a Amount; a.v.SetUint64(n); return a }

// AmountFromBig converts b, which must be in [0, 2^256).
func AmountFromBig(b *big.Int) (Amount, error) {
	var a Amount
	if b.Sign() < 0 {
		return Amount{}, fmt.Errorf("negative amount %s", b)
	}
	if a.v.SetFromBig(b) {
		return Amount{}, fmt.Errorf("amount %s overflows 256 bits", b)
	}
	return a, nil
}

// AmountFromBytes reads a big-endian unsigned integer of at most 32 bytes,
// as ERC-20 log data and the store carry it.
func AmountFromBytes(b []byte) (Amount, error) {
	if len(b) > 32 {
		return Amount{}, fmt.Errorf("amount of %d bytes overflows 256 bits", len(b))
	}
	var a Amount
	a.v.SetBytes(b)
	return a, nil
}

// ParseAmount parses a base-10 integer of base units.
func ParseAmount(s string) (Amount, error) {
	var a Amount
	if err := a.v.SetFromDecimal(strings.TrimSpace(s)); err != nil {
		return Amount{}, fmt.Errorf("invalid amount %q: %w", s, err)
	}
	return a, nil
}

// Big returns the amount as a new *big.Int.
func (a Amount) Big() *big.Int { return a.v.ToBig() }

// Uint64 returns the amount and whether it fits in 64 bits.
func (a Amount) Uint64() (uint64, bool) { return a.v.Uint64(), a.v.IsUint64() }

// Bytes returns the minimal big-endian encoding (empty for zero).
func (a Amount) Bytes() []byte {
	if a.v.IsZero() {
		return nil
	}
	return a.v.Bytes()
}

// ByteLen is len(a.Bytes()).
func (a Amount) ByteLen() int { return (a.v.BitLen() + 7) / 8 }

// AppendBytes appends a.Bytes() to b without allocating.
func (a Amount) AppendBytes(b []byte) []byte {
	if a.v.IsZero() {
		return b
	}
	full := a.v.Bytes32()
	return append(b, full[32-a.ByteLen():]...)
}

// Add returns a+b and whether it overflowed 256 bits.
func (a Amount) Add(b Amount) (Amount, bool) {
	var r Amount
	_, overflow := r.v.AddOverflow(&a.v, &b.v)
	return r, overflow
}

// Sub returns a-b and false, or zero and true if b exceeds a.
func (a Amount) Sub(b Amount) (Amount, bool) {
	var r Amount
	if _, underflow := r.v.SubOverflow(&a.v, &b.v); underflow {
		return Amount{}, true
	}
	return r, false
}

// MulDiv returns a*num/den rounded down, exactly (512-bit intermediate), as
// a pro-rata share needs. den must not be zero.
func (a Amount) MulDiv(num, den Amount) Amount {
	var r Amount
	r.v.MulDivOverflow(&a.v, &num.v, &den.v)
	return r
}

// Cmp compares a and b.
func (a Amount) Cmp(b Amount) int { return a.v.Cmp(&b.v) }

// IsZero reports whether a is zero.
func (a Amount) IsZero() bool { return a.v.IsZero() }

func (a Amount) String() string { return a.v.Dec() }

// MarshalText writes the decimal integer; JSON carries it as a string so that
// no client rounds it through a float.
func (a Amount) MarshalText() ([]byte, error) { return []byte(a.v.Dec()), nil }

// UnmarshalText reads a decimal integer.
func (a *Amount) UnmarshalText(b []byte) error {
	v, err := ParseAmount(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}
