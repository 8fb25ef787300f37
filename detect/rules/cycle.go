package rules

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tracehound/tracehound/chain"
)

// maxCycleVisits bounds the search that one transfer may start, so that a
// block's cost stays bounded whatever the graph.
const maxCycleVisits = 1024

// cycle: the new transfer u→v closes a cycle when v's funds reach u again
// through recent transfers of like amount: v→…→u→v.
func (c *ctx) cycle(out []Finding) []Finding {
	p := c.e.cfg.Cycle
	s := &c.e.scratch
	s.path = s.path[:0]
	u, v := c.from, c.to
	onPath := c.e.newStamp()
	v.mark = onPath
	visits := 0
	closing := edge{peer: v, asset: c.t.Asset, amount: c.t.Amount, t: c.ts, tx: c.t.Tx, block: c.t.Block}
	t0 := c.ts - int64(p.Window)
	var found []edge
	// dfs extends the path from a (reached at time at by an edge of
	// amount prev); it returns true when a cycle was found.
	var dfs func(a *acct, at int64, prev chain.Amount) bool
	dfs = func(a *acct, at int64, prev chain.Amount) bool {
		if a.gone {
			return false
		}
		for i := len(a.out) - 1; i >= 0; i-- {
			e := a.out[i]
			if e.t < t0 {
				break
			}
			if visits++; visits > maxCycleVisits {
				return false
			}
			if e.asset != c.t.Asset {
				continue
			}
			if p.Ordered {
				if e.t < at || e.t > c.ts || !within(e.amount, prev, p.Tolerance) {
					continue
				}
			} else if !within(e.amount, c.t.Amount, p.Tolerance) {
				continue
			}
			n := len(s.path) + 2 // this edge and the closing one
			if e.peer == u {
				// Ordered, the closing hop must carry on from the last.
				if n < p.MinLength || p.Ordered && !within(c.t.Amount, e.amount, p.Tolerance) {
					continue
				}
				found = append(append(found[:0], s.path...), e)
				return true
			}
			if e.peer.mark == onPath || n >= p.MaxLength || c.e.service(e.peer) {
				continue
			}
			e.peer.mark = onPath
			s.path = append(s.path, e)
			if dfs(e.peer, e.t, e.amount) {
				return true
			}
			s.path = s.path[:len(s.path)-1]
			e.peer.mark = 0
		}
		return false
	}
	if c.e.service(u) || c.e.service(v) || !dfs(v, t0, c.t.Amount) {
		return out
	}
	// found: v→…→u; the cycle is found + closing.
	addrs := make([]string, 0, len(found)+2)
	addrs = append(addrs, v.name())
	for _, e := range found {
		addrs = append(addrs, e.peer.name())
	}
	key := cycleKey(addrs, c.t.Asset)
	if t, ok := c.e.cycleSeen[key]; ok && c.ts-t < int64(p.Window) {
		return out
	}
	c.e.cycleSeen[key] = c.ts
	subject := v.name()
	if !p.Ordered {
		subject = u.name()
	}
	f := c.finding(Cycle, subject, 0.6+0.1*float64(len(addrs)-p.MinLength+1), "")
	f.Addresses = []string{subject}
	for _, e := range found {
		f.add(e, true)
	}
	f.add(closing, true)
	order := "in time order"
	if !p.Ordered {
		order = "in like amounts, whatever the order"
	}
	f.Explanation = fmt.Sprintf("Funds went round a cycle of %d addresses, %s, within %s: %s. Each hop moved %s or within %.0f%% of it. Money that returns to where it started after passing through others is round-tripping, used to fake turnover or to layer.",
		len(addrs), order, fmtDur(p.Window), strings.Join(append(addrs, v.name()), " → "), amountText(c.t.Amount, c.t.Chain, c.t.Asset), 100*p.Tolerance)
	return append(out, f.Finding)
}

func cycleKey(addrs []string, asset chain.Asset) string {
	s := slices.Clone(addrs)
	slices.Sort(s)
	return string(asset) + "|" + strings.Join(s, ",")
}
