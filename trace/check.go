package trace

import (
	"fmt"

	"github.com/tracehound/tracehound/chain"
)

// Check verifies a result's invariants: every edge's taint is at most its
// amount (and equal to it under poison); under haircut and FIFO, taint is
// conserved at every address (received = sent + remaining) and, in each
// asset, the endpoints, frontier and remainders account for exactly what
// entered, at the seeds or out of swaps, less dust dropped.
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
	entered := map[chain.Asset]chain.Amount{r.Asset: r.Tainted}
	for _, s := range r.Swaps {
		entered[s.Asset], _ = entered[s.Asset].Add(s.Tainted)
	}
	held := map[chain.Asset]chain.Amount{r.Asset: r.FeesTainted}
	for _, n := range r.Nodes {
		if n.Label != nil || n.Frontier {
			// The trace stopped here: all that arrived is held here.
			held[n.Asset], _ = held[n.Asset].Add(n.Received)
			continue
		}
		held[n.Asset], _ = held[n.Asset].Add(n.Remaining)
		sum, _ := n.Sent.Add(n.Remaining)
		if sum.Cmp(n.Received) != 0 {
			return fmt.Errorf("%s: received %s tainted %s, sent %s and holds %s", n.Address, n.Received, assetName(n.Asset), n.Sent, n.Remaining)
		}
	}
	// Without a dust limit, everything that entered is somewhere.
	if !r.MinAmount.IsZero() {
		return nil
	}
	for a, in := range entered {
		if h := held[a]; h.Cmp(in) != 0 {
			return fmt.Errorf("%s of %s entered (at the seeds or out of swaps) but %s is accounted for (held, at endpoints and the frontier, or paid as fees)", in, assetName(a), h)
		}
	}
	for a, h := range held {
		if _, ok := entered[a]; !ok && !h.IsZero() {
			return fmt.Errorf("%s of %s is held but none entered", h, assetName(a))
		}
	}
	return nil
}
