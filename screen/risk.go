package screen

import (
	"fmt"
	"strings"

	"github.com/tracehound/tracehound/tags"
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

// Policy maps attribution categories to risk levels. Categories it does not
// name are Low: an exchange or a DeFi protocol is a counterparty, not a risk
// by itself.
type Policy struct {
	Categories map[tags.Category]Risk
	// MinConfidence is the confidence (0-100) below which an attribution
	// raises the risk by no more than Medium: a heuristic guess must not
	// block a withdrawal on its own.
	MinConfidence int
}

// DefaultPolicy follows the common industry defaults: sanctions and
// terrorist financing are severe; stolen funds, ransomware, darknet markets,
// scams and mixers are high; gambling and unlicensed services medium.
func DefaultPolicy() Policy {
	return Policy{
		MinConfidence: 20,
		Categories: map[tags.Category]Risk{
			"sanctioned":         Severe,
			"terrorism":          Severe,
			"csam":               Severe,
			"hack":               High,
			"stolen_funds":       High,
			"ransomware":         High,
			"darknet":            High,
			"scam":               High,
			"sextortion":         High,
			"mixer":              High,
			"perpetrator":        High,
			"gambling":           Medium,
			"high_risk_exchange": Medium,
			"p2p_exchange":       Medium,
		},
	}
}

func (p Policy) categoryRisk(category tags.Category, confidence int) Risk {
	r, ok := p.Categories[tags.ParseCategory(string(category))]
	if !ok {
		return Low
	}
	if r > Medium && confidence < p.MinConfidence {
		r = Medium
	}
	return r
}
