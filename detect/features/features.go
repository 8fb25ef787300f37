// Package features computes an account's behavioural features from its
// postings in the transfer graph: the features of the Ethereum fraud data
// set (Farrugia et al. 2020) that the learned scorer was trained on, under
// the same names, plus a few graph features.
//
// Amounts are summed exactly in base units and converted once, exactly
// rounded, to the unit the data set uses (ether for ETH; token units,
// decimals applied, for ERC-20). Times are in minutes.
//
// Some features cannot be computed from transfers alone; they are left
// missing (NaN), never zero, and the scorer routes them by its learned
// default:
//
//   - "Number of Created Contracts": a contract creation moves no value and
//     is not a transfer.
//   - "min value sent to contract", "max val sent to contract", "avg value
//     sent to contract", "total ether sent contracts", "ERC20 total Ether
//     sent contract" and the "ERC20 ... sent contract" values: need to know
//     which counterparties are contracts; computed when Options.Contracts
//     is given.
//   - ERC-20 value features ("ERC20 total Ether received", "ERC20 min val
//     rec", ...): need each token's decimals; computed for tokens that
//     Options.Tokens knows, missing when any token of the account is
//     unknown.
//   - "ERC20 uniq sent addr.1": a duplicated column of the published data
//     set whose definition is not documented; always missing.
//
// Zero-value transactions (plain contract calls) are not transfers, so
// the counts are of value-carrying transactions only.
package features

import (
	"math"
	"math/big"
	"slices"
	"sort"
	"time"

	"github.com/tracehound/tracehound/chain"
)

// Contracts tells whether an address is a contract.
type Contracts interface {
	IsContract(c chain.Chain, address string) (contract, known bool)
}

// Tokens tells an ERC-20 token's decimals.
type Tokens interface {
	Decimals(c chain.Chain, token chain.Asset) (decimals uint8, ok bool)
}

// Options supply what the postings do not carry.
type Options struct {
	Contracts Contracts
	Tokens    Tokens
	// NativeDecimals is the native coin's decimals (default 18, ether).
	NativeDecimals uint8
}

// Names of the features, in the data set's order (header names trimmed).
var Names = []string{
	"Avg min between sent tnx", "Avg min between received tnx", "Time Diff between first and last (Mins)",
	"Sent tnx", "Received Tnx", "Number of Created Contracts", "Unique Received From Addresses", "Unique Sent To Addresses",
	"min value received", "max value received", "avg val received", "min val sent", "max val sent", "avg val sent",
	"min value sent to contract", "max val sent to contract", "avg value sent to contract",
	"total transactions (including tnx to create contract", "total Ether sent", "total ether received",
	"total ether sent contracts", "total ether balance", "Total ERC20 tnxs", "ERC20 total Ether received",
	"ERC20 total ether sent", "ERC20 total Ether sent contract", "ERC20 uniq sent addr", "ERC20 uniq rec addr",
	"ERC20 uniq sent addr.1", "ERC20 uniq rec contract addr", "ERC20 avg time between sent tnx",
	"ERC20 avg time between rec tnx", "ERC20 avg time between rec 2 tnx", "ERC20 avg time between contract tnx",
	"ERC20 min val rec", "ERC20 max val rec", "ERC20 avg val rec", "ERC20 min val sent", "ERC20 max val sent",
	"ERC20 avg val sent", "ERC20 min val sent contract", "ERC20 max val sent contract", "ERC20 avg val sent contract",
	"ERC20 uniq sent token name", "ERC20 uniq rec token name",
}

// Graph features, beyond the data set's.
const (
	// InOutRatio is what the account sent over what it received, natively.
	InOutRatio = "graph: sent over received"
	// MedianHoldMinutes is the median time between a receipt and the next
	// send.
	MedianHoldMinutes = "graph: median minutes from receipt to next send"
	// Counterparties is the number of distinct counterparties, any asset.
	Counterparties = "graph: distinct counterparties"
)

// Vector is an account's features by name; a missing feature is NaN or
// absent.
type Vector map[string]float64

// Row returns the values in the given order, NaN for those absent.
func (v Vector) Row(names []string) []float64 {
	out := make([]float64, len(names))
	for i, n := range names {
		x, ok := v[n]
		if !ok {
			x = math.NaN()
		}
		out[i] = x
	}
	return out
}

// stats accumulates exact amounts.
type stats struct {
	n             int
	sum, min, max *big.Int
}

func (s *stats) add(a chain.Amount) {
	b := a.Big()
	if s.n == 0 {
		s.sum, s.min, s.max = new(big.Int), new(big.Int).Set(b), new(big.Int).Set(b)
	}
	s.n++
	s.sum.Add(s.sum, b)
	if b.Cmp(s.min) < 0 {
		s.min.Set(b)
	}
	if b.Cmp(s.max) > 0 {
		s.max.Set(b)
	}
}

// toUnit converts base units to the unit with the given decimals, exactly
// rounded to the nearest float64.
func toUnit(b *big.Int, decimals uint8) float64 {
	if b == nil {
		return 0
	}
	den := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(decimals)), nil)
	f, _ := new(big.Rat).SetFrac(b, den).Float64()
	return f
}

func avgUnit(s *stats, decimals uint8) float64 {
	if s.n == 0 {
		return 0
	}
	den := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(decimals)), nil)
	den.Mul(den, big.NewInt(int64(s.n)))
	f, _ := new(big.Rat).SetFrac(s.sum, den).Float64()
	return f
}

// put sets min, max and avg (0 for none, as the data set has them).
func (v Vector) put(min, max, avg string, s *stats, decimals uint8) {
	if s.n == 0 {
		v[min], v[max], v[avg] = 0, 0, 0
		return
	}
	v[min], v[max], v[avg] = toUnit(s.min, decimals), toUnit(s.max, decimals), avgUnit(s, decimals)
}

// avgGapMinutes is the mean time between consecutive times in minutes:
// the span over the number of gaps, 0 for fewer than two.
func avgGapMinutes(ts []time.Time) float64 {
	if len(ts) < 2 {
		return 0
	}
	lo, hi := ts[0], ts[0]
	for _, t := range ts {
		if t.Before(lo) {
			lo = t
		}
		if t.After(hi) {
			hi = t
		}
	}
	return hi.Sub(lo).Minutes() / float64(len(ts)-1)
}

// Compute returns the features of the account whose postings are given
// (one chain, any order). Postings of other addresses are ignored.
func Compute(address string, ps []chain.Posting, opt Options) Vector {
	dec := opt.NativeDecimals
	if dec == 0 {
		dec = 18
	}
	v := Vector{}
	var sentT, recvT, allT []time.Time
	var tokSentT, tokRecvT, tokContractT []time.Time
	var sent, recv, sentContract stats
	sentTo, recvFrom := map[string]bool{}, map[string]bool{}
	tokSentTo, tokRecvFrom, tokRecvContract := map[string]bool{}, map[string]bool{}, map[string]bool{}
	tokSentNames, tokRecvNames := map[chain.Asset]bool{}, map[chain.Asset]bool{}
	counterparties := map[string]bool{}
	sentTxs, recvTxs, tokTxs := map[string]bool{}, map[string]bool{}, map[string]bool{}
	contractsKnown, tokensKnown := opt.Contracts != nil, true
	// Token amounts of different tokens are only summed after scaling to
	// token units, so the sums are kept as exact rationals.
	tokUnits := func(p chain.Posting) (*big.Rat, bool) {
		if opt.Tokens == nil {
			return nil, false
		}
		d, ok := opt.Tokens.Decimals(p.Chain, p.Asset)
		if !ok {
			return nil, false
		}
		den := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d)), nil)
		return new(big.Rat).SetFrac(p.Amount.Big(), den), true
	}
	var tokRecvR, tokSentR, tokSentContractR ratStats
	var outs, ins []chain.Posting
	for _, p := range ps {
		if p.Address != address {
			continue
		}
		counterparties[p.Counterparty] = true
		switch {
		case p.Asset == chain.Native && p.Kind == chain.KindNative:
			allT = append(allT, p.Time)
			if p.Incoming {
				recvT = append(recvT, p.Time)
				recv.add(p.Amount)
				recvFrom[p.Counterparty] = true
				recvTxs[p.Tx] = true
				ins = append(ins, p)
			} else {
				sentT = append(sentT, p.Time)
				sent.add(p.Amount)
				sentTo[p.Counterparty] = true
				sentTxs[p.Tx] = true
				outs = append(outs, p)
				if opt.Contracts != nil {
					isC, known := opt.Contracts.IsContract(p.Chain, p.Counterparty)
					if !known {
						contractsKnown = false
					} else if isC {
						sentContract.add(p.Amount)
					}
				}
			}
		case p.Asset != chain.Native:
			tokTxs[p.Tx] = true
			r, ok := tokUnits(p)
			if !ok {
				tokensKnown = false
			}
			if p.Incoming {
				tokRecvT = append(tokRecvT, p.Time)
				tokRecvFrom[p.Counterparty] = true
				tokRecvContract[string(p.Asset)] = true
				tokRecvNames[p.Asset] = true
				if ok {
					tokRecvR.add(r)
				}
			} else {
				tokSentT = append(tokSentT, p.Time)
				tokSentTo[p.Counterparty] = true
				tokSentNames[p.Asset] = true
				if ok {
					tokSentR.add(r)
				}
				if opt.Contracts != nil {
					if isC, known := opt.Contracts.IsContract(p.Chain, p.Counterparty); known && isC {
						tokContractT = append(tokContractT, p.Time)
						if ok {
							tokSentContractR.add(r)
						}
					}
				}
			}
		}
	}
	v["Avg min between sent tnx"] = avgGapMinutes(sentT)
	v["Avg min between received tnx"] = avgGapMinutes(recvT)
	span := 0.0
	if len(allT) > 1 {
		span = avgGapMinutes(allT) * float64(len(allT)-1)
	}
	v["Time Diff between first and last (Mins)"] = span
	v["Sent tnx"] = float64(len(sentTxs))
	v["Received Tnx"] = float64(len(recvTxs))
	v["Number of Created Contracts"] = math.NaN()
	v["Unique Received From Addresses"] = float64(len(recvFrom))
	v["Unique Sent To Addresses"] = float64(len(sentTo))
	v.put("min value received", "max value received", "avg val received", &recv, dec)
	v.put("min val sent", "max val sent", "avg val sent", &sent, dec)
	v["total transactions (including tnx to create contract"] = float64(len(sentTxs) + len(recvTxs))
	v["total Ether sent"] = toUnit(sent.sum, dec)
	v["total ether received"] = toUnit(recv.sum, dec)
	bal := new(big.Int)
	if recv.sum != nil {
		bal.Add(bal, recv.sum)
	}
	if sent.sum != nil {
		bal.Sub(bal, sent.sum)
	}
	v["total ether balance"] = toUnit(bal, dec)
	if contractsKnown {
		v.put("min value sent to contract", "max val sent to contract", "avg value sent to contract", &sentContract, dec)
		v["total ether sent contracts"] = toUnit(sentContract.sum, dec)
	} else {
		for _, n := range []string{"min value sent to contract", "max val sent to contract", "avg value sent to contract", "total ether sent contracts"} {
			v[n] = math.NaN()
		}
	}
	// ERC-20: the data set leaves every ERC-20 cell blank for an account
	// without token history, so do we.
	if len(tokTxs) > 0 {
		v["Total ERC20 tnxs"] = float64(len(tokTxs))
		v["ERC20 uniq sent addr"] = float64(len(tokSentTo))
		v["ERC20 uniq rec addr"] = float64(len(tokRecvFrom))
		v["ERC20 uniq rec contract addr"] = float64(len(tokRecvContract))
		v["ERC20 avg time between sent tnx"] = avgGapMinutes(tokSentT)
		v["ERC20 avg time between rec tnx"] = avgGapMinutes(tokRecvT)
		v["ERC20 avg time between rec 2 tnx"] = avgGapMinutes(tokRecvT)
		v["ERC20 avg time between contract tnx"] = avgGapMinutes(tokContractT)
		v["ERC20 uniq sent token name"] = float64(len(tokSentNames))
		v["ERC20 uniq rec token name"] = float64(len(tokRecvNames))
		if tokensKnown {
			v["ERC20 total Ether received"] = tokRecvR.total()
			v["ERC20 total ether sent"] = tokSentR.total()
			tokRecvR.put(v, "ERC20 min val rec", "ERC20 max val rec", "ERC20 avg val rec")
			tokSentR.put(v, "ERC20 min val sent", "ERC20 max val sent", "ERC20 avg val sent")
			if opt.Contracts != nil {
				v["ERC20 total Ether sent contract"] = tokSentContractR.total()
				tokSentContractR.put(v, "ERC20 min val sent contract", "ERC20 max val sent contract", "ERC20 avg val sent contract")
			}
		}
	}
	v["ERC20 uniq sent addr.1"] = math.NaN()

	// Graph features.
	if recv.sum != nil && recv.sum.Sign() > 0 {
		s := new(big.Rat).SetFrac(orZero(sent.sum), recv.sum)
		v[InOutRatio], _ = s.Float64()
	}
	v[Counterparties] = float64(len(counterparties))
	if hold, ok := medianHold(ins, outs); ok {
		v[MedianHoldMinutes] = hold
	}
	return v
}

func orZero(b *big.Int) *big.Int {
	if b == nil {
		return new(big.Int)
	}
	return b
}

// medianHold is the median, over receipts followed by a send, of the
// minutes until the next send.
func medianHold(ins, outs []chain.Posting) (float64, bool) {
	if len(ins) == 0 || len(outs) == 0 {
		return 0, false
	}
	ot := make([]time.Time, len(outs))
	for i, o := range outs {
		ot[i] = o.Time
	}
	slices.SortFunc(ot, func(a, b time.Time) int { return a.Compare(b) })
	var holds []float64
	for _, in := range ins {
		i := sort.Search(len(ot), func(i int) bool { return !ot[i].Before(in.Time) })
		if i < len(ot) {
			holds = append(holds, ot[i].Sub(in.Time).Minutes())
		}
	}
	if len(holds) == 0 {
		return 0, false
	}
	slices.Sort(holds)
	m := len(holds) / 2
	if len(holds)%2 == 1 {
		return holds[m], true
	}
	return (holds[m-1] + holds[m]) / 2, true
}

// ratStats accumulates exact rational token amounts.
type ratStats struct {
	n             int
	sum, min, max *big.Rat
}

func (s *ratStats) add(r *big.Rat) {
	if s.n == 0 {
		s.sum, s.min, s.max = new(big.Rat), new(big.Rat).Set(r), new(big.Rat).Set(r)
	}
	s.n++
	s.sum.Add(s.sum, r)
	if r.Cmp(s.min) < 0 {
		s.min.Set(r)
	}
	if r.Cmp(s.max) > 0 {
		s.max.Set(r)
	}
}

func (s *ratStats) total() float64 {
	if s.n == 0 {
		return 0
	}
	f, _ := s.sum.Float64()
	return f
}

func (s *ratStats) put(v Vector, min, max, avg string) {
	if s.n == 0 {
		v[min], v[max], v[avg] = 0, 0, 0
		return
	}
	v[min], _ = s.min.Float64()
	v[max], _ = s.max.Float64()
	v[avg], _ = new(big.Rat).Quo(s.sum, new(big.Rat).SetInt64(int64(s.n))).Float64()
}
