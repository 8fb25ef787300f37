// Package detect is tracehound's automated detection of suspicious
// activity, as exchanges and supervisors run it on every block:
//
//   - rules: typology rules over transfer flows (fan-out, fan-in,
//     scatter-gather, gather-scatter, cycles, stacked layering, peel chains,
//     rapid pass-through, structuring, mixer and bridge hopping, fresh
//     high-value addresses, dormant addresses waking), run block by block
//     with bounded state or on demand over a range;
//   - scorer: a gradient-boosted tree ensemble, trained and run in Go, that
//     scores an account's behaviour as illicit or not and says which
//     features weighed most;
//   - features: the scorer's behavioural features computed from an
//     account's postings in the transfer graph;
//   - amlsim: IBM AMLSim graphs with their ground truth, for measuring
//     the rules.
//
// This package joins the features and the scorer for the common case of
// scoring one account of the graph.
package detect

import (
	"math"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/detect/features"
	"github.com/tracehound/tracehound/detect/scorer"
)

// AccountScore is the scorer's judgement of one account.
type AccountScore struct {
	Address string  `json:"address"`
	Score   float64 `json:"score"`
	// Illicit is Score >= scorer.Threshold.
	Illicit bool `json:"illicit"`
	// Top are the features that moved the score most, largest first.
	Top []scorer.Contribution `json:"top"`
	// Missing lists the model's features the postings could not supply;
	// the model routed them as missing, never as zero.
	Missing []string `json:"missing,omitempty"`
}

// ScoreAccount computes an account's features from its postings (all of
// them, both directions, every asset) and scores them with m, explaining
// the top contributing features. With m nil it uses the embedded model.
func ScoreAccount(m *scorer.Model, address string, ps []chain.Posting, opt features.Options, top int) (AccountScore, error) {
	if m == nil {
		var err error
		if m, err = scorer.Default(); err != nil {
			return AccountScore{}, err
		}
	}
	row := features.Compute(address, ps, opt).Row(m.Features)
	e := m.Explain(row, top)
	s := AccountScore{Address: address, Score: e.Score, Illicit: e.Score >= scorer.Threshold, Top: e.Top}
	for j, x := range row {
		if math.IsNaN(x) {
			s.Missing = append(s.Missing, m.Features[j])
		}
	}
	return s, nil
}
