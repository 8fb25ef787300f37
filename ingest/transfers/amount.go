package transfers

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tracehound/tracehound/chain"
)

// baseUnits parses an exact integer amount of base units. BigQuery and
// Dune write NUMERIC columns with a ".0"; that, and only that, is
// accepted after the digits.
func baseUnits(s string) (chain.Amount, error) {
	s = strings.TrimSuffix(s, ".0")
	if s == "" {
		return chain.Amount{}, errors.New("empty amount")
	}
	if strings.ContainsAny(s, ".eE") {
		return chain.Amount{}, fmt.Errorf("%q is not an integer in base units (a decimal amount needs the token's decimals: a decimals setting or a token table)", s)
	}
	a, err := chain.ParseAmount(s)
	if err != nil {
		return chain.Amount{}, fmt.Errorf("%q is not an integer in base units", s)
	}
	return a, nil
}

// WholeUnits converts a decimal amount of whole units ("1.5" ETH) to base
// units exactly: the digits are shifted by the decimals, never rounded. An
// amount with more fractional digits than the decimals is refused, since
// it names a fraction of a base unit that no chain can move. Thousands
// separators (Etherscan writes "1,999,000") are accepted only in groups of
// three.
func WholeUnits(s string, decimals int) (chain.Amount, error) {
	if decimals < 0 || decimals > 77 {
		return chain.Amount{}, fmt.Errorf("decimals %d out of range", decimals)
	}
	orig := s
	if s == "" {
		return chain.Amount{}, errors.New("empty amount")
	}
	intPart, frac, dot := strings.Cut(s, ".")
	if dot && frac == "" {
		return chain.Amount{}, fmt.Errorf("%q: no digits after the decimal point", orig)
	}
	if strings.Contains(intPart, ",") {
		var err error
		if intPart, err = ungroup(intPart); err != nil {
			return chain.Amount{}, fmt.Errorf("%q: %v", orig, err)
		}
	}
	if intPart == "" {
		intPart = "0"
	}
	if !digits(intPart) || (dot && !digits(frac)) {
		return chain.Amount{}, fmt.Errorf("%q is not a decimal amount", orig)
	}
	// Trailing zeros of the fraction name nothing: "1.500000" of a
	// 2-decimal token is exact.
	frac = strings.TrimRight(frac, "0")
	if len(frac) > decimals {
		return chain.Amount{}, fmt.Errorf("%q has %d fractional digits but the asset has %d decimals: it is not a whole number of base units", orig, len(frac), decimals)
	}
	var b strings.Builder
	b.Grow(len(intPart) + decimals)
	b.WriteString(strings.TrimLeft(intPart, "0"))
	b.WriteString(frac)
	for range decimals - len(frac) {
		b.WriteByte('0')
	}
	v := strings.TrimLeft(b.String(), "0")
	if v == "" {
		return chain.Amount{}, nil
	}
	a, err := chain.ParseAmount(v)
	if err != nil {
		return chain.Amount{}, fmt.Errorf("%q overflows 256 bits in base units", orig)
	}
	return a, nil
}

// ungroup removes thousands separators from s, which must group its
// digits by three.
func ungroup(s string) (string, error) {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		if (i == 0 && (len(p) == 0 || len(p) > 3)) || (i > 0 && len(p) != 3) || !digits(p) {
			return "", errors.New("misplaced thousands separator")
		}
	}
	return strings.Join(parts, ""), nil
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// FormatUnits writes a base-unit amount in whole units with the given
// decimals, without trailing zeros: the inverse of the conversion the
// reader applies to decimal amounts.
func FormatUnits(a chain.Amount, decimals int) string {
	s := a.String()
	if decimals == 0 {
		return s
	}
	if len(s) <= decimals {
		s = strings.Repeat("0", decimals-len(s)+1) + s
	}
	i, f := s[:len(s)-decimals], strings.TrimRight(s[len(s)-decimals:], "0")
	if f == "" {
		return i
	}
	return i + "." + f
}
