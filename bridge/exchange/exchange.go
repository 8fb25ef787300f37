// Package exchange matches deposits into instant exchanges (eXch,
// FixedFloat, SWFT ...) with the payouts those services make on another
// chain. Such a service leaves no on-chain link between the two legs, so
// a match is a heuristic: an amount that fits the deposit less a fee
// range, at a rate the caller gives, within a time window. It returns
// Candidates, a type of their own with a confidence, never a
// bridge.Continuation.
package exchange

import (
	"cmp"
	"errors"
	"math/big"
	"slices"
	"time"

	"github.com/tracehound/tracehound/chain"
)

// Params bound a match.
type Params struct {
	// Rate converts the deposited amount into the payout asset's base
	// units: payout = deposit × RateNum / RateDen (1/1 for the same asset
	// on two chains, e.g. USDT into USDT).
	RateNum, RateDen chain.Amount
	// MinFeeBps and MaxFeeBps bound the service's fee (and the rate's
	// drift), in basis points of the converted amount.
	MinFeeBps, MaxFeeBps uint64
	// MinDelay and MaxDelay bound the time from the deposit to the payout.
	MinDelay, MaxDelay time.Duration
}

// Candidate is a payout that may be the continuation of a deposit.
type Candidate struct {
	Payout chain.Transfer
	// FeeBps is the fee the match implies, in basis points of the
	// converted deposit.
	FeeBps float64
	Delay  time.Duration
	// Confidence in [0, 1]: how well amount and delay fit, shared among
	// the candidates that fit as well. A heuristic score, not a
	// probability that anyone calibrated.
	Confidence float64
}

// Match returns the payouts that fit deposit, best first.
func Match(deposit chain.Transfer, payouts []chain.Transfer, p Params) ([]Candidate, error) {
	if p.RateDen.IsZero() || p.RateNum.IsZero() {
		return nil, errors.New("exchange match: no rate")
	}
	if p.MinFeeBps > p.MaxFeeBps || p.MaxFeeBps >= 10000 || p.MinDelay > p.MaxDelay {
		return nil, errors.New("exchange match: fee or delay range is empty")
	}
	gross := deposit.Amount.MulDiv(p.RateNum, p.RateDen)
	if gross.IsZero() {
		return nil, nil
	}
	// The payout must lie in [gross × (1 - max), gross × (1 - min)].
	lo := gross.MulDiv(chain.NewAmount(10000-p.MaxFeeBps), chain.NewAmount(10000))
	hi := gross.MulDiv(chain.NewAmount(10000-p.MinFeeBps), chain.NewAmount(10000))
	g := float(gross)
	var out []Candidate
	for _, t := range payouts {
		d := t.Time.Sub(deposit.Time)
		if d < p.MinDelay || d > p.MaxDelay || t.Amount.Cmp(lo) < 0 || t.Amount.Cmp(hi) > 0 {
			continue
		}
		diff, _ := gross.Sub(t.Amount)
		fee := 10000 * float(diff) / g
		// Amount: 1 at the middle of the fee range, falling to 0.5 at its
		// ends. Delay: 1 at the shortest allowed, to 0.5 at the longest.
		mid := float64(p.MinFeeBps+p.MaxFeeBps) / 2
		half := max(float64(p.MaxFeeBps-p.MinFeeBps)/2, 1)
		amountFit := 1 - 0.5*min(abs(fee-mid)/half, 1)
		span := max((p.MaxDelay - p.MinDelay).Seconds(), 1)
		timeFit := 1 - 0.5*(d-p.MinDelay).Seconds()/span
		out = append(out, Candidate{Payout: t, FeeBps: fee, Delay: d, Confidence: amountFit * timeFit})
	}
	// Several payouts that fit share the belief: a unique fit is worth
	// more than one among many.
	var sum float64
	for _, c := range out {
		sum += c.Confidence
	}
	for i := range out {
		out[i].Confidence = out[i].Confidence * out[i].Confidence / max(sum, out[i].Confidence)
	}
	slices.SortStableFunc(out, func(a, b Candidate) int { return cmp.Compare(b.Confidence, a.Confidence) })
	return out, nil
}

// float approximates an amount for scoring; matching itself is exact.
func float(a chain.Amount) float64 {
	f, _ := new(big.Float).SetInt(a.Big()).Float64()
	return f
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
