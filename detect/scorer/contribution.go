package scorer

import (
	"encoding/json"
	"math"
)

// UnmarshalJSON reads a contribution as MarshalJSON writes it: a null
// value is a missing one (NaN), never zero.
func (c *Contribution) UnmarshalJSON(b []byte) error {
	var p struct {
		Feature string   `json:"feature"`
		Value   *float64 `json:"value"`
		Margin  float64  `json:"margin"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	c.Feature, c.Margin, c.Value = p.Feature, p.Margin, math.NaN()
	if p.Value != nil {
		c.Value = *p.Value
	}
	return nil
}
