package trace

import (
	"fmt"

	"github.com/tracehound/tracehound/chain"
)

// Check verifies a result's invariants: every edge's taint is at most its
// amount (and equal to it under poison); under haircut and FIFO, taint is
// conserved at every address (received = sent + remaining) and, in each
// asset of each chain, the endpoints, frontier and remainders account for
// exactly what entered, at the seeds, out of swaps or out of bridges'
// payouts, less dust dropped.
func (r *Result) Check() error {
	for _, e := range r.Edges {
		if e.Tainted.Cmp(e.Amount) > 0 {
			return fmt.Errorf("edge %s:%d carries %s tainted of %s", e.Tx, e.Pos, e.Tainted, e.Amount)
		}
		if r.Model == Poison && e.Tainted.Cmp(e.Amount) != 0 {
			return fmt.Errorf("poison edge %s:%d carries %s of %s", e.Tx, e.Pos, e.Tainted, e.Amount)
		}
	}
	if r.Model == Poison {
		return nil
	}
	// Each chain's assets apart: the coin of one is not the other's.
	type asset struct {
		c chain.Chain
		a chain.Asset
	}
	entered := map[asset]chain.Amount{{r.Chain, r.Asset}: r.Tainted}
	held := map[asset]chain.Amount{{r.Chain, r.Asset}: r.FeesTainted}
	for _, l := range r.Legs {
		k := asset{l.Chain, l.Asset}
		entered[k], _ = entered[k].Add(l.Entered)
		held[k], _ = held[k].Add(l.FeesTainted)
	}
	for _, s := range r.Swaps {
		k := asset{r.ChainOf(s.Chain), s.Asset}
		entered[k], _ = entered[k].Add(s.Tainted)
	}
	for _, n := range r.Nodes {
		k := asset{r.ChainOf(n.Chain), n.Asset}
		if n.Label != nil || n.Frontier {
			// The trace stopped here: all that arrived is held here.
			held[k], _ = held[k].Add(n.Received)
			continue
		}
		held[k], _ = held[k].Add(n.Remaining)
		sum, _ := n.Sent.Add(n.Remaining)
		if sum.Cmp(n.Received) != 0 {
			return fmt.Errorf("%s: received %s tainted %s, sent %s and holds %s", n.Address, n.Received, assetName(n.Asset), n.Sent, n.Remaining)
		}
	}
	for _, c := range r.Crossings {
		for _, o := range c.Out {
			if o.Tainted.Cmp(o.Amount) > 0 {
				return fmt.Errorf("crossing %s: payout %s carries %s tainted of %s", c.DepositTx, o.Tx, o.Tainted, o.Amount)
			}
		}
		if c.InTainted.Cmp(c.In) > 0 {
			return fmt.Errorf("crossing %s: %s tainted of %s deposited", c.DepositTx, c.InTainted, c.In)
		}
	}
	// Without a dust limit, everything that entered is somewhere.
	if !r.MinAmount.IsZero() {
		return nil
	}
	for k, in := range entered {
		if h := held[k]; h.Cmp(in) != 0 {
			return fmt.Errorf("%s of %s on %s entered (at the seeds, out of swaps or out of bridges) but %s is accounted for (held, at endpoints and the frontier, or paid as fees)", in, assetName(k.a), k.c, h)
		}
	}
	for k, h := range held {
		if _, ok := entered[k]; !ok && !h.IsZero() {
			return fmt.Errorf("%s of %s on %s is held but none entered", h, assetName(k.a), k.c)
		}
	}
	return nil
}
