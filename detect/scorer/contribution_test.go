package scorer

import (
	"encoding/json"
	"math"
	"testing"
)

// TestContributionJSON: a missing value writes as null and reads back
// missing, never zero; a present one round-trips exactly.
func TestContributionJSON(t *testing.T) {
	for _, c := range []Contribution{{Feature: "Sent tnx", Value: math.NaN(), Margin: -0.25}, {Feature: "Received Tnx", Value: 0.1 + 0.2, Margin: 1.5}} {
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		var back Contribution
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		same := back.Value == c.Value || math.IsNaN(back.Value) && math.IsNaN(c.Value)
		if back.Feature != c.Feature || back.Margin != c.Margin || !same {
			t.Errorf("%s: %+v", b, back)
		}
	}
}
