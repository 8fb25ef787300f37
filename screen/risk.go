package screen

import (
	"fmt"
	"strings"
)

// Risk is an address's screening risk, on the four-level scale exchanges
// know from Chainalysis' address screening.
type Risk uint8

// The levels. The zero Risk is "unrated": an input that is not a valid
// address has no risk level. Unknown is what screening answers where it
// would otherwise say Low without being able to check: no sanctions list
// is loaded, or the address's chain has no codec to validate it. It sorts
// above Severe, so that a threshold of any level (--fail-on, a policy)
// holds it back: screening fails closed.
const (
	Low Risk = iota + 1
	Medium
	High
	Severe
	Unknown
)

var riskNames = [...]string{"", "low", "medium", "high", "severe", "unknown"}

func (r Risk) String() string {
	if int(r) < len(riskNames) {
		return riskNames[r]
	}
	return fmt.Sprintf("risk(%d)", r)
}

// MarshalText writes the level's name.
func (r Risk) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText reads a level's name.
func (r *Risk) UnmarshalText(b []byte) error {
	v, err := ParseRisk(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// ParseRisk parses "low", "medium", "high", "severe" or "unknown".
func ParseRisk(s string) (Risk, error) {
	for i, n := range riskNames {
		if i > 0 && strings.EqualFold(s, n) {
			return Risk(i), nil
		}
	}
	return Low, fmt.Errorf("unknown risk level %q (want low, medium, high, severe or unknown)", s)
}
