package rules

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tracehound/tracehound/chain"
)

// maxPeelPath bounds the addresses a peel chain carries along.
const maxPeelPath = 32

// peelChain: the sender of the new transfer received an amount and has now
// sent it on in two or more parts: a large remainder to one address and a
// small peel to others. The remainder's recipient continues the chain.
func (c *ctx) peelChain(out []Finding) []Finding {
	p := c.e.cfg.Peel
	x := c.from
	t0 := c.ts - int64(p.HopWindow)
	// The latest receipt in the asset.
	ri := -1
	for i := len(x.in) - 1; i >= 0 && x.in[i].t >= t0; i-- {
		if x.in[i].asset == c.t.Asset {
			ri = i
			break
		}
	}
	if ri < 0 {
		return out
	}
	rin := x.in[ri]
	if x.peelDone == rin.t {
		return out
	}
	var big edge
	var peeled chain.Amount
	parts := c.e.scratch.edges[:0]
	defer func() { c.e.scratch.edges = parts[:0] }()
	for i := len(x.out) - 1; i >= 0 && x.out[i].t >= rin.t; i-- {
		e := x.out[i]
		if e.asset != c.t.Asset {
			continue
		}
		parts = append(parts, e)
		if e.amount.Cmp(big.amount) > 0 {
			if !big.amount.IsZero() {
				peeled, _ = peeled.Add(big.amount)
			}
			big = e
		} else {
			peeled, _ = peeled.Add(e.amount)
		}
	}
	if len(parts) < 2 || c.e.service(x) || c.e.service(big.peer) {
		return out
	}
	// The remainder goes to a new address, as a wallet's change does.
	if p.FreshHops && big.peer.first != big.t {
		return out
	}
	total, _ := big.amount.Add(peeled)
	// All of it must come from the receipt, and the peel stay small.
	if total.Cmp(rin.amount) > 0 || peeled.Cmp(share(rin.amount, p.MaxPeel)) > 0 || big.amount.Cmp(share(rin.amount, 1-p.MaxPeel)) < 0 {
		return out
	}
	x.peelDone = rin.t
	prev := x.peel
	st := &peelState{hops: 1, origin: x.key.Value, addrs: []string{x.key.Value}, start: rin.t, amount: big.amount}
	if prev != nil && rin.t-prev.start <= int64(p.HopWindow)*int64(maxPeelPath) {
		st.hops = prev.hops + 1
		st.origin, st.start, st.amount = prev.origin, prev.start, prev.amount
		st.addrs = append(append(st.addrs[:0], prev.addrs...), x.key.Value)
		st.txs = append(st.txs, prev.txs...)
		if len(st.addrs) > maxPeelPath {
			st.addrs = st.addrs[len(st.addrs)-maxPeelPath:]
		}
	}
	for _, e := range parts {
		if !containsStr(st.txs, e.tx) {
			st.txs = append(st.txs, e.tx)
		}
	}
	if len(st.txs) > 4*maxPeelPath {
		st.txs = st.txs[len(st.txs)-4*maxPeelPath:]
	}
	next := big.peer
	next.peel = st
	x.peel = nil
	if st.hops < p.MinHops || st.hops%p.MinHops != 0 {
		return out
	}
	f := c.finding(PeelChain, st.origin, strength(st.hops, p.MinHops), "")
	f.Addresses = nil
	for _, a := range append(st.addrs, big.peer.name()) {
		if !slices.Contains(f.Addresses, a) {
			f.Addresses = append(f.Addresses, a)
		}
	}
	f.Txs = append([]string(nil), st.txs...)
	f.Amount = st.amount
	f.Start = timeOf(st.start)
	f.Explanation = fmt.Sprintf("A peel chain of %d hops from %s: at each hop most of the funds went on to a new address and a small part (at most %.0f%%) was peeled off, the last hop sending %s on to %s. Peel chains spend laundered funds in small amounts while the bulk moves on: %s.",
		st.hops, st.origin, 100*p.MaxPeel, amountText(big.amount, c.t.Chain, c.t.Asset), big.peer.name(), strings.Join(f.Addresses, " → "))
	return append(out, f.Finding)
}

func containsStr(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

// passThrough: the sender received funds and sent most of them on within
// minutes.
func (c *ctx) passThrough(out []Finding) []Finding {
	p := c.e.cfg.PassThrough
	minAmt, ok := p.MinAmount.get(c.t.Chain, c.t.Asset)
	if !ok {
		return out
	}
	x := c.from
	t0 := c.ts - int64(p.MaxDelay)
	var in, sent chain.Amount
	first := c.ts
	for i := len(x.in) - 1; i >= 0 && x.in[i].t >= t0; i-- {
		if e := x.in[i]; e.asset == c.t.Asset {
			in, _ = in.Add(e.amount)
			first = min(first, e.t)
		}
	}
	if in.IsZero() || in.Cmp(minAmt) < 0 {
		return out
	}
	for i := len(x.out) - 1; i >= 0 && x.out[i].t >= first; i-- {
		if e := x.out[i]; e.asset == c.t.Asset {
			sent, _ = sent.Add(e.amount)
		}
	}
	if sent.Cmp(share(in, p.MinShare)) < 0 || !c.e.fire(x, PassThrough, p.MaxDelay) {
		return out
	}
	f := c.finding(PassThrough, x.key.Value, 0.7, "")
	f.Addresses = []string{x.key.Value}
	for i := range x.in {
		if e := x.in[i]; e.t >= t0 && e.asset == c.t.Asset {
			f.add(e, false)
		}
	}
	for i := range x.out {
		if e := x.out[i]; e.t >= first && e.asset == c.t.Asset {
			f.add(e, true)
		}
	}
	f.Explanation = fmt.Sprintf("%s received %s and sent %s on within %s (from %s): funds that only pass through, as a money mule's or a layering hop's account does.",
		x.key.Value, amountText(in, c.t.Chain, c.t.Asset), amountText(sent, c.t.Chain, c.t.Asset), fmtDur(p.MaxDelay), fmtTime(first))
	return append(out, f.Finding)
}

// structuring: repeated transfers just under a reporting threshold, or one
// payment split into several transfers between the same two addresses.
func (c *ctx) structuring(out []Finding) []Finding {
	p := c.e.cfg.Structuring
	if th, ok := p.Thresholds.get(c.t.Chain, c.t.Asset); ok {
		lo := share(th, 1-p.Margin)
		if c.t.Amount.Cmp(th) < 0 && c.t.Amount.Cmp(lo) >= 0 {
			t0 := c.ts - int64(p.Window)
			out = c.underThreshold(out, c.from, c.from.out, "sent", th, lo, t0)
			out = c.underThreshold(out, c.to, c.to.in, "received", th, lo, t0)
		}
	}
	if p.MinSplits == 0 {
		return out
	}
	t0 := c.ts - int64(p.SplitWindow)
	parts := c.e.scratch.edges[:0]
	defer func() { c.e.scratch.edges = parts[:0] }()
	x := c.from
	for i := len(x.out) - 1; i >= 0 && x.out[i].t >= t0; i-- {
		if e := x.out[i]; e.asset == c.t.Asset && e.peer == c.to {
			parts = append(parts, e)
		}
	}
	if len(parts) < p.MinSplits || !c.e.fire(x, Structuring, p.SplitWindow) {
		return out
	}
	f := c.finding(Structuring, x.key.Value, strength(len(parts), p.MinSplits), "")
	f.Addresses = []string{x.key.Value}
	for _, e := range parts {
		f.add(e, true)
	}
	f.Explanation = fmt.Sprintf("%s sent %s to %s in %d separate transfers within %s: one payment split into pieces, as structuring (smurfing) does to keep each below notice.",
		x.key.Value, amountText(f.Amount, f.Chain, f.Asset), c.t.To, len(parts), fmtDur(p.SplitWindow))
	return append(out, f.Finding)
}

// underThreshold reports a's transfers in es (one direction) just under
// the threshold th, at or above lo, since t0.
func (c *ctx) underThreshold(out []Finding, a *acct, es []edge, dir string, th, lo chain.Amount, t0 int64) []Finding {
	p := c.e.cfg.Structuring
	n := 0
	for i := len(es) - 1; i >= 0 && es[i].t >= t0; i-- {
		if e := es[i]; e.asset == c.t.Asset && e.amount.Cmp(th) < 0 && e.amount.Cmp(lo) >= 0 {
			n++
		}
	}
	if n < p.MinCount || !c.e.fire(a, Structuring, p.Window) {
		return out
	}
	f := c.finding(Structuring, a.key.Value, strength(n, p.MinCount), "")
	f.Addresses = []string{a.key.Value}
	for i := len(es) - 1; i >= 0 && es[i].t >= t0; i-- {
		if e := es[i]; e.asset == c.t.Asset && e.amount.Cmp(th) < 0 && e.amount.Cmp(lo) >= 0 {
			f.add(e, true)
		}
	}
	f.Explanation = fmt.Sprintf("%s %s %d transfers within %s each just under the reporting threshold of %s (within %.0f%% below it), %s in all: amounts kept under a threshold to avoid reports.",
		a.key.Value, dir, n, fmtDur(p.Window), amountText(th, c.t.Chain, c.t.Asset), 100*p.Margin, amountText(f.Amount, f.Chain, f.Asset))
	return append(out, f.Finding)
}
