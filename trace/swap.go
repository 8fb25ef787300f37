package trace

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/tracehound/tracehound/chain"
)

// Launderers swap stolen coins for other assets on DEXs (Bybit's thieves
// swapped the stolen stETH and mETH for ETH within hours): a trace that
// stopped at the pool would lose them. A swap is a transaction in which a
// DeFi venue takes value in one asset and pays out another; the payout is
// tainted in the share of the venue's intake in that transaction that was
// tainted, and the trace goes on in the payout's asset.

// maxSwapRounds bounds how often swaps are recomputed after the taint
// settles; each round takes the taint at least one hop further, so only
// funds going round between assets reach it.
const maxSwapRounds = 64

// isVenue tells whether a labelled address converts between assets: DEX
// pools and routers, which attributions file under DeFi.
func isVenue(l *Label) bool { return l.Category.IsVenue() }

// swapKey is one asset's intake into venues in one transaction.
type swapKey struct {
	tx    uint64 // in the trace's view
	asset uint32
}

// swaps computes the venues' payouts from their tainted intakes, and
// sends payouts whose taint changed on as arrivals.
func (t *tracer) swaps(ctx context.Context) error {
	r, ok := t.g.(TxReader)
	if !ok {
		return nil
	}
	tainted := make(map[swapKey]chain.Amount)
	hop := make(map[swapKey]int)
	for _, n := range t.venues {
		if n.hop >= t.o.MaxHops {
			continue
		}
		n.in.all(func(id tid, a chain.Amount) {
			k := swapKey{id.tx, n.asset}
			tainted[k], _ = tainted[k].Add(a)
			if h, ok := hop[k]; !ok || n.hop < h {
				hop[k] = n.hop
			}
		})
	}
	keys := make([]swapKey, 0, len(tainted))
	for k := range tainted {
		keys = append(keys, k)
	}
	nm := t.v.names()
	slices.SortFunc(keys, func(a, b swapKey) int {
		if c := strings.Compare(nm.tx(a.tx), nm.tx(b.tx)); c != 0 {
			return c
		}
		return strings.Compare(string(nm.asset(a.asset)), string(nm.asset(b.asset)))
	})

	out := make(map[tid]*edge)
	var swaps []Swap
	at := make(map[tid]int) // payout -> its index in swaps
	for _, k := range keys {
		if tainted[k].IsZero() {
			continue
		}
		trs, err := t.venueTx(ctx, r, k.tx)
		if err != nil {
			return err
		}
		asset := nm.asset(k.asset)
		// The venues' whole intake of the asset in the transaction, from
		// outside the venues (a route through several pools counts once).
		var intake chain.Amount
		for _, tr := range trs {
			if tr.Asset != asset {
				continue
			}
			to, err := t.isVenueAddr(ctx, tr.To)
			if err != nil {
				return err
			}
			from, err := t.isVenueAddr(ctx, tr.From)
			if err != nil {
				return err
			}
			if to && !from {
				intake, _ = intake.Add(tr.Amount)
			}
		}
		if intake.IsZero() {
			continue
		}
		leg := SwapLeg{Asset: asset, Amount: intake, Tainted: tainted[k]}
		if leg.Tainted.Cmp(intake) > 0 {
			leg.Tainted = intake
		}
		for _, tr := range trs {
			if tr.Asset == asset || tr.To == "" {
				continue
			}
			from, err := t.isVenueAddr(ctx, tr.From)
			if err != nil {
				return err
			}
			to, err := t.isVenueAddr(ctx, tr.To)
			if err != nil {
				return err
			}
			if !from || to {
				continue
			}
			share := tr.Amount
			if t.o.Model != Poison {
				share = tr.Amount.MulDiv(leg.Tainted, intake)
			}
			id := tid{k.tx, tr.Pos, tr.Kind}
			e := out[id]
			if e == nil {
				from := t.v.addr(tr.From)
				e = &edge{id: id, txi: noIndex, block: tr.Block, from: from, to: t.v.addr(tr.To),
					amount: tr.Amount, asset: t.v.asset(tr.Asset), hop: hop[k] + 1, swap: true}
				e.setTime(tr.Time)
				out[id] = e
				l := t.labels[from]
				swaps = append(swaps, Swap{Tx: tr.Tx, Block: tr.Block, Time: tr.Time, Venue: tr.From, Label: *l, To: tr.To, Asset: tr.Asset, Amount: tr.Amount})
				at[id] = len(swaps) - 1
			}
			// A payout funded by several tainted intakes carries the
			// taint of each, up to its amount.
			e.tainted, _ = e.tainted.Add(share)
			if e.tainted.Cmp(e.amount) > 0 {
				e.tainted = e.amount
			}
			e.hop = min(e.hop, hop[k]+1)
			s := &swaps[at[id]]
			s.In = append(s.In, leg)
			s.Tainted = e.tainted
			if _, ok := t.minFor[e.asset]; !ok && e.asset != t.asset {
				// The dust limit carries over at the swap's rate.
				t.minFor[e.asset] = t.o.MinAmount.MulDiv(tr.Amount, intake)
			}
		}
	}
	slices.SortFunc(swaps, func(a, b Swap) int {
		return cmp.Or(cmp.Compare(a.Block, b.Block), strings.Compare(a.Tx, b.Tx), strings.Compare(a.To, b.To))
	})
	t.res.Swaps = swaps

	for id, e := range out {
		if old, ok := t.swapOut[id]; ok && old.tainted.Cmp(e.tainted) == 0 {
			continue
		}
		if err := t.arrive(ctx, e); err != nil {
			return err
		}
	}
	for id, old := range t.swapOut {
		if _, ok := out[id]; !ok {
			if n := t.nodes.get(nodeKey{old.to, old.asset}); n != nil {
				n.in.del(id)
				t.push(n)
			}
		}
	}
	t.swapOut = out
	return nil
}

// venueTx reads a swap transaction's transfers once per trace.
func (t *tracer) venueTx(ctx context.Context, r TxReader, tx uint64) ([]chain.Transfer, error) {
	if trs, ok := t.swapTxs[tx]; ok {
		return trs, nil
	}
	hash := t.v.txName(tx)
	trs, found, err := r.TxTransfers(ctx, t.o.Chain, hash)
	if err != nil {
		return nil, fmt.Errorf("trace swap %s: %w", hash, err)
	}
	if !found {
		return nil, fmt.Errorf("trace swap %s: the transaction is not in the store", hash)
	}
	t.swapTxs[tx] = trs
	return trs, nil
}

func (t *tracer) isVenueAddr(ctx context.Context, addr string) (bool, error) {
	if addr == "" {
		return false, nil
	}
	l, _, err := t.label(ctx, t.v.addr(addr))
	if err != nil {
		return false, err
	}
	return l != nil && isVenue(l), nil
}
