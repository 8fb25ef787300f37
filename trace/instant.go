package trace

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tracehound/tracehound/bridge/exchange"
	"github.com/tracehound/tracehound/chain"
)

// Instant exchanges (eXch, FixedFloat, SWFT ...) take a deposit on one
// chain and pay out on another from wallets of their own, and nothing on
// either chain links the two. A trace that reaches one ends there, as at
// any exchange; Run then looks, on the service's paying wallets on the
// other chains, for payouts whose amount fits the deposit less a fee at
// the pair's rate, within a time window (bridge/exchange), and reports
// them as Result.Candidates: a heuristic with its confidence, shown
// apart, never traced as if it were a link.

// Instant configures the instant-exchange heuristic.
type Instant struct {
	Services []InstantService
	// Params bounds a match of a deposit of asset from on chain fc with
	// a payout of asset to on chain tc: rate, fee and delay; false for a
	// pair the service is not known to trade (or whose rate the caller
	// does not know).
	Params func(fc chain.Chain, from chain.Asset, tc chain.Chain, to chain.Asset) (exchange.Params, bool)
	// MaxDelay bounds the payouts read after a deposit (default 6 hours).
	MaxDelay time.Duration
	// PerDeposit bounds the candidates kept for one deposit, the most
	// confident first (default 5).
	PerDeposit int
}

// InstantService is an instant exchange: the entity the labels name its
// deposit addresses by, and the wallets it pays out from.
type InstantService struct {
	Entity string
	Payers []chain.Address
}

// HeuristicInstant names the instant-exchange match in candidates.
const HeuristicInstant = "instant-exchange"

// Candidate is a payout that may continue a deposit into an instant
// exchange: matched by amount and time, not linked by the chains.
type Candidate struct {
	Service   string `json:"service"`
	Heuristic string `json:"heuristic"`
	// Confidence is in [0, 1]: how well amount and delay fit, shared
	// among the payouts that fit one deposit. A score, not a calibrated
	// probability.
	Confidence float64 `json:"confidence"`
	// The deposit: into Address on FromChain.
	FromChain chain.Chain  `json:"from_chain"`
	Address   string       `json:"address"`
	From      string       `json:"from"`
	DepositTx string       `json:"deposit_tx"`
	Time      time.Time    `json:"time"`
	Asset     chain.Asset  `json:"asset,omitempty"`
	Amount    chain.Amount `json:"amount"`
	Tainted   chain.Amount `json:"tainted"`
	// The payout that may continue it.
	ToChain  chain.Chain  `json:"to_chain"`
	PayoutTx string       `json:"payout_tx"`
	Payer    string       `json:"payer"`
	To       string       `json:"to"`
	OutAsset chain.Asset  `json:"out_asset,omitempty"`
	Out      chain.Amount `json:"out"`
	OutTime  time.Time    `json:"out_time"`
	// OutTainted is the payout's share of the deposit's taint, were the
	// match right.
	OutTainted chain.Amount `json:"out_tainted"`
	// FeeBps is the fee the match implies; Delay the time between.
	FeeBps float64       `json:"fee_bps"`
	Delay  time.Duration `json:"delay_ns"`
}

// candidates matches the deposits at instant exchanges among the
// result's endpoints with the services' payouts.
func (x *crosser) candidates(ctx context.Context) error {
	in := x.o.Instant
	if in.Params == nil || len(in.Services) == 0 {
		return nil
	}
	maxDelay := in.MaxDelay
	if maxDelay <= 0 {
		maxDelay = 6 * time.Hour
	}
	per := in.PerDeposit
	if per <= 0 {
		per = 5
	}
	services := make(map[string]*InstantService, len(in.Services))
	for i := range in.Services {
		services[in.Services[i].Entity] = &in.Services[i]
	}
	res := x.res
	type epKey struct {
		c     chain.Chain
		addr  string
		asset chain.Asset
	}
	at := make(map[epKey]*InstantService)
	for _, ep := range res.Endpoints {
		if s := services[ep.Label.Entity]; s != nil {
			at[epKey{res.ChainOf(ep.Chain), ep.Address, ep.Asset}] = s
		}
	}
	if len(at) == 0 {
		return nil
	}
	for _, e := range res.Edges {
		fc := res.ChainOf(e.Chain)
		s := at[epKey{fc, e.To, e.Asset}]
		if s == nil {
			continue
		}
		dep := chain.Transfer{Chain: fc, Tx: e.Tx, Block: e.Block, Time: e.Time, From: e.From, To: e.To, Asset: e.Asset, Amount: e.Amount}
		var found []Candidate
		for _, payer := range s.Payers {
			if payer.Chain == fc {
				continue
			}
			held, err := x.isHeld(ctx, payer.Chain)
			if err != nil {
				return err
			}
			if !held {
				continue
			}
			byAsset := make(map[chain.Asset][]chain.Transfer)
			q := chain.PostingQuery{Outgoing: true, Oldest: true, Since: e.Time, Until: e.Time.Add(maxDelay + time.Second), Limit: 100_000}
			err = x.g.Postings(ctx, payer.Chain, payer.Value, q, func(p chain.Posting) bool {
				if p.Kind == chain.KindInput {
					return true
				}
				byAsset[p.Asset] = append(byAsset[p.Asset], chain.Transfer{Chain: p.Chain, Tx: p.Tx, Kind: p.Kind, Pos: p.Pos, Block: p.Block,
					Time: p.Time, From: payer.Value, To: p.Counterparty, Asset: p.Asset, Amount: p.Amount})
				return true
			})
			if err != nil {
				return fmt.Errorf("trace: payouts of %s: %w", payer, err)
			}
			for asset, pays := range byAsset {
				params, ok := in.Params(fc, e.Asset, payer.Chain, asset)
				if !ok {
					continue
				}
				cs, err := exchange.Match(dep, pays, params)
				if err != nil {
					return fmt.Errorf("trace: instant exchange %s: %w", s.Entity, err)
				}
				for _, c := range cs {
					p := c.Payout
					tainted := p.Amount
					if x.o.Model != Poison {
						tainted = mulDiv(p.Amount, e.Tainted, e.Amount)
					}
					found = append(found, Candidate{Service: s.Entity, Heuristic: HeuristicInstant, Confidence: c.Confidence,
						FromChain: fc, Address: e.To, From: e.From, DepositTx: e.Tx, Time: e.Time, Asset: e.Asset, Amount: e.Amount, Tainted: e.Tainted,
						ToChain: payer.Chain, PayoutTx: p.Tx, Payer: payer.Value, To: p.To, OutAsset: p.Asset, Out: p.Amount, OutTime: p.Time,
						OutTainted: tainted, FeeBps: c.FeeBps, Delay: c.Delay})
				}
			}
		}
		// Confidence was shared within each payer and asset; the best
		// few of the deposit are kept.
		slices.SortStableFunc(found, func(a, b Candidate) int {
			return cmp.Or(cmp.Compare(b.Confidence, a.Confidence), strings.Compare(a.PayoutTx, b.PayoutTx))
		})
		if len(found) > per {
			found = found[:per]
		}
		res.Candidates = append(res.Candidates, found...)
	}
	return nil
}
