package rules

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tracehound/tracehound/chain"
)

// scratch holds buffers reused between transfers.
type scratch struct {
	picks   []edge
	count   map[*acct]int
	path    []edge
	edges   []edge
	amounts []chain.Amount
}

// recent appends to dst the edges of es in the asset since t0, newest
// first.
func recent(dst, es []edge, asset chain.Asset, t0 int64) []edge {
	for i := len(es) - 1; i >= 0 && es[i].t >= t0; i-- {
		if es[i].asset == asset {
			dst = append(dst, es[i])
		}
	}
	return dst
}

// fanSet picks the edges of a fan: all recent ones, or with similar > 0
// the largest set of distinct counterparties whose amounts lie in one
// band; with MinTransfers > 1, of counterparties with at least that many
// transfers in the set. It returns the chosen edges and the number of
// counterparties counted.
func (c *ctx) fanSet(es []edge, p FanParams) ([]edge, int) {
	s := &c.e.scratch
	s.picks = recent(s.picks[:0], es, c.t.Asset, c.ts-int64(p.Window))
	picks := s.picks
	st := c.e.newStamp()
	n := 0
	for _, e := range picks {
		if e.peer.mark != st {
			e.peer.mark = st
			n++
		}
	}
	if n < p.MinCounterparties {
		return picks, n
	}
	if p.Similar <= 0 {
		if p.MinTransfers <= 1 {
			return picks, n
		}
		return c.repeated(picks, p.MinTransfers)
	}
	// The fan, if this transfer completes it, lies in a band that holds
	// the transfer's amount x: amounts in [x/(1+Similar), x·(1+Similar)].
	// Keep those, and stop if they are too few.
	bp := chain.NewAmount(uint64(p.Similar*10000 + 0.5))
	tenK := chain.NewAmount(10000)
	wide, _ := tenK.Add(bp)
	x := c.t.Amount
	lower := x.MulDiv(tenK, wide)
	upper := x.MulDiv(wide, tenK)
	st = c.e.newStamp()
	n = 0
	kept := picks[:0]
	for _, e := range picks {
		if e.amount.Cmp(lower) >= 0 && e.amount.Cmp(upper) <= 0 {
			kept = append(kept, e)
			if e.peer.mark != st {
				e.peer.mark = st
				n++
			}
		}
	}
	picks = kept
	if n < p.MinCounterparties {
		return picks, n
	}
	if s.count == nil {
		s.count = map[*acct]int{}
	}
	clear(s.count)
	slices.SortFunc(picks, func(a, b edge) int { return a.amount.Cmp(b.amount) })
	// band returns lo·(1+Similar), rounded down, exactly; beyond 2^256 it
	// returns false: every larger amount is in the band.
	band := func(lo chain.Amount) (chain.Amount, bool) {
		top, overflow := lo.MulDiv(bp, chain.NewAmount(10000)).Add(lo)
		return top, !overflow
	}
	// q counts the peers in the band with at least need transfers.
	need := max(1, p.MinTransfers)
	bestLo, bestHi, best, q := 0, 0, 0, 0
	lo := 0
	top, bounded := band(picks[0].amount)
	for hi := range picks {
		if s.count[picks[hi].peer]++; s.count[picks[hi].peer] == need {
			q++
		}
		for bounded && picks[hi].amount.Cmp(top) > 0 {
			if s.count[picks[lo].peer]--; s.count[picks[lo].peer] == need-1 {
				q--
			}
			lo++
			top, bounded = band(picks[lo].amount)
		}
		if q > best {
			best, bestLo, bestHi = q, lo, hi+1
		}
	}
	if need == 1 {
		return picks[bestLo:bestHi], best
	}
	return c.repeated(picks[bestLo:bestHi], need)
}

// repeated keeps the edges of peers with at least need (at least 1) of
// them in es, and returns them with the number of such peers.
func (c *ctx) repeated(es []edge, need int) ([]edge, int) {
	need = max(1, need)
	s := &c.e.scratch
	if s.count == nil {
		s.count = map[*acct]int{}
	}
	clear(s.count)
	for _, e := range es {
		s.count[e.peer]++
	}
	kept := es[:0]
	n := 0
	for _, e := range es {
		k := s.count[e.peer]
		if k >= need {
			n++
			s.count[e.peer] = -k // counted: negative from here on
		}
		if k >= need || k < 0 {
			kept = append(kept, e)
		}
	}
	return kept, n
}

// distinct counts the distinct peers of recent edges in the asset, up to
// limit.
func (c *ctx) distinct(es []edge, t0 int64, limit int) int {
	st := c.e.newStamp()
	n := 0
	for i := len(es) - 1; i >= 0 && es[i].t >= t0 && n < limit; i-- {
		if e := es[i]; e.asset == c.t.Asset && e.peer.mark != st {
			e.peer.mark = st
			n++
		}
	}
	return n
}

func (c *ctx) fan(out []Finding, typ Typology, hub *acct, es []edge, p FanParams) []Finding {
	if len(es) < p.MinCounterparties || c.e.cooling(hub, typ, p.Window) {
		return out
	}
	set, n := c.fanSet(es, p)
	if n < p.MinCounterparties || !c.e.fire(hub, typ, p.Window) {
		return out
	}
	verb, prep := "sent", "to"
	if typ == FanIn {
		verb, prep = "received", "from"
	}
	f := c.finding(typ, hub.key.Value, strength(n, p.MinCounterparties), "")
	f.Addresses = []string{hub.key.Value}
	for _, e := range set {
		f.add(e, true)
	}
	like := ""
	if p.Similar > 0 {
		like = fmt.Sprintf(" in like amounts (within a factor of %.2f)", 1+p.Similar)
	}
	if p.MinTransfers > 1 {
		like += fmt.Sprintf(", each in %d transfers or more", p.MinTransfers)
	}
	f.Explanation = fmt.Sprintf("%s %s %d transfers %s %d distinct addresses%s within %s (threshold %d), %s in all, between %s and %s: funds split to or pooled from many addresses at once, as layering does.",
		hub.key.Value, verb, len(set), prep, n, like, fmtDur(p.Window), p.MinCounterparties,
		amountText(f.Amount, f.Chain, f.Asset), f.Start.Format("2006-01-02 15:04"), f.End.Format("2006-01-02 15:04 UTC"))
	return append(out, f.Finding)
}

func (c *ctx) fanOut(out []Finding) []Finding {
	return c.fan(out, FanOut, c.from, c.from.out, c.e.cfg.FanOut)
}

func (c *ctx) fanIn(out []Finding) []Finding {
	return c.fan(out, FanIn, c.to, c.to.in, c.e.cfg.FanIn)
}

// maxSources bounds how many of an intermediary's recent senders the
// flow rules follow back: a pattern's origin sent to it recently.
const maxSources = 16

// scatterGather: the new transfer m→b may close A→{m_i}→b, funds split
// over several intermediaries that pass them on, and gathered again.
func (c *ctx) scatterGather(out []Finding) []Finding {
	p := c.e.cfg.ScatterGather
	t0 := c.ts - int64(p.Window)
	b, m := c.to, c.from
	// An intermediary passes on what it got; one that does not cannot be
	// part of the pattern, and most transfers stop here.
	if c.distinct(b.in, t0, p.MinWidth) < p.MinWidth || !c.forwards(m, t0, p.Tolerance) {
		return out
	}
	inB := c.e.newStamp()
	for i := len(b.in) - 1; i >= 0 && b.in[i].t >= t0; i-- {
		if b.in[i].asset == c.t.Asset {
			b.in[i].peer.mark = inB
		}
	}
	followed := 0
	for i := len(m.in) - 1; i >= 0 && m.in[i].t >= t0 && followed < maxSources; i-- {
		ain := m.in[i]
		a := ain.peer
		if ain.asset != c.t.Asset || a == b || a.gone {
			continue
		}
		followed++
		counted := c.e.newStamp()
		n := 0
		for j := len(a.out) - 1; j >= 0 && a.out[j].t >= t0; j-- {
			if e := a.out[j]; e.asset == c.t.Asset && e.peer.mark == inB && e.peer.mark2 != counted {
				e.peer.mark2 = counted
				n++
			}
		}
		if n < p.MinWidth || !c.e.fire(a, ScatterGather, p.Window) {
			continue
		}
		out = append(out, c.scatterGatherFinding(a, b, t0, p))
	}
	return out
}

func (c *ctx) scatterGatherFinding(a, b *acct, t0 int64, p FlowParams) Finding {
	st := c.e.newStamp()
	for _, e := range b.in {
		if e.t >= t0 && e.asset == c.t.Asset {
			e.peer.mark = st
		}
	}
	var mids []*acct
	f := c.finding(ScatterGather, a.name(), 0, "")
	f.Addresses = []string{a.name(), b.name()}
	for _, e := range a.out {
		if e.t >= t0 && e.asset == c.t.Asset && e.peer.mark == st {
			f.add(e, true)
			if !slices.Contains(mids, e.peer) {
				mids = append(mids, e.peer)
			}
		}
	}
	var outSum chain.Amount
	for _, e := range b.in {
		if e.t >= t0 && e.asset == c.t.Asset && slices.Contains(mids, e.peer) {
			f.add(e, false)
			outSum, _ = outSum.Add(e.amount)
		}
	}
	f.Score = clamp01(strength(len(mids), p.MinWidth))
	f.Explanation = fmt.Sprintf("%s split %s over %d intermediaries, which passed %s on to %s within %s: a scatter-gather that breaks the direct link between source and destination.",
		a.name(), amountText(f.Amount, f.Chain, f.Asset), len(mids), amountText(outSum, f.Chain, f.Asset), b.name(), fmtDur(p.Window))
	return f.Finding
}

// gatherScatter: the sender of the new transfer pooled funds from many
// sources and has now passed them on to many destinations.
func (c *ctx) gatherScatter(out []Finding) []Finding {
	p := c.e.cfg.GatherScatter
	m := c.from
	t0 := c.ts - int64(p.Window)
	ins := c.e.newStamp()
	var firstIn int64 = -1
	nIn := 0
	for i := len(m.in) - 1; i >= 0 && m.in[i].t >= t0; i-- {
		if e := m.in[i]; e.asset == c.t.Asset {
			firstIn = e.t
			if e.peer.mark != ins {
				e.peer.mark = ins
				nIn++
			}
		}
	}
	if nIn < p.MinWidth {
		return out
	}
	outs := c.e.newStamp()
	nOut := 0
	for i := len(m.out) - 1; i >= 0 && m.out[i].t >= firstIn; i-- {
		if e := m.out[i]; e.asset == c.t.Asset && e.peer.mark != ins && e.peer.mark2 != outs {
			e.peer.mark2 = outs
			nOut++
		}
	}
	if nOut < p.MinWidth || !c.forwards(m, t0, p.Tolerance) || !c.e.fire(m, GatherScatter, p.Window) {
		return out
	}
	f := c.finding(GatherScatter, m.name(), (strength(nIn, p.MinWidth)+strength(nOut, p.MinWidth))/2, "")
	f.Addresses = []string{m.name()}
	var inSum chain.Amount
	for _, e := range m.in {
		if e.t >= t0 && e.asset == c.t.Asset {
			f.add(e, false)
			inSum, _ = inSum.Add(e.amount)
		}
	}
	for _, e := range m.out {
		if e.t >= firstIn && e.asset == c.t.Asset && e.peer.mark2 == outs {
			f.add(e, true)
		}
	}
	f.Explanation = fmt.Sprintf("%s gathered %s from %d sources and then sent %s, the same within %.0f%%, to %d other addresses within %s: a collection account that passes everything on, as layering through a pass-through account does.",
		m.name(), amountText(inSum, f.Chain, f.Asset), nIn, amountText(f.Amount, f.Chain, f.Asset), 100*p.Tolerance, nOut, fmtDur(p.Window))
	return append(out, f.Finding)
}

// forwards reports whether a passed on what it received in the window, in
// the transfer's asset: what it sent after its first receipt is within
// tol of what it received. Layering accounts do; an ordinary account's
// payments bear no relation to its receipts. The answer is cached until
// a's history changes.
func (c *ctx) forwards(a *acct, t0 int64, tol float64) bool {
	if a.fwdVer == a.ver+1 && a.fwdAsset == c.t.Asset {
		return a.fwdOK
	}
	var rcv, sent chain.Amount
	first := int64(-1)
	for _, e := range a.in {
		if e.t >= t0 && e.asset == c.t.Asset {
			rcv, _ = rcv.Add(e.amount)
			if first < 0 {
				first = e.t
			}
		}
	}
	ok := false
	if first >= 0 {
		for _, e := range a.out {
			if e.t >= first && e.asset == c.t.Asset {
				sent, _ = sent.Add(e.amount)
			}
		}
		ok = within(sent, rcv, tol)
	}
	a.fwdVer, a.fwdAsset, a.fwdOK = a.ver+1, c.t.Asset, ok
	return ok
}

// stack: the new transfer b→x may complete layered fan-outs: an origin a
// sent to at least MinWidth addresses that passed the funds on, together
// to at least MinWidth further addresses, and so on for MinLayers layers.
// Only a transfer that makes its sender a forwarder can complete one.
func (c *ctx) stack(out []Finding) []Finding {
	p := c.e.cfg.Stack
	t0 := c.ts - int64(p.Window)
	b := c.from
	if !c.forwards(b, t0, p.Tolerance) {
		return out
	}
	followed := 0
	si := typIndex(Stack)
	for i := len(b.in) - 1; i >= 0 && b.in[i].t >= t0 && followed < maxSources; i-- {
		ain := b.in[i]
		a := ain.peer
		if ain.asset != c.t.Asset || a.gone || a.fired[si] != 0 && c.ts-a.fired[si] < int64(p.Window) {
			continue
		}
		followed++
		if c.distinct(a.out, t0, p.MinWidth) < p.MinWidth {
			continue
		}
		if n, _ := c.layers(a, t0, p, false); n < p.MinLayers || !c.e.fire(a, Stack, p.Window) {
			continue
		}
		n, edges := c.layers(a, t0, p, true)
		f := c.finding(Stack, a.name(), strength(n, p.MinLayers), "")
		f.Addresses = []string{a.name()}
		var widths []string
		first := 0
		for k, e := range edges {
			if e.t == -1 { // layer separator
				widths = append(widths, fmt.Sprint(e.block))
				if first == 0 {
					first = k
				}
				continue
			}
			f.add(e, first == 0)
		}
		f.Explanation = fmt.Sprintf("%s sent %s to %s addresses that passed the funds on (within %.0f%%), through %d layers of %s addresses within %s: multi-level layering (stacked fan-outs) that puts distance between the source and the funds.",
			a.name(), amountText(f.Amount, f.Chain, f.Asset), widths[0], 100*p.Tolerance, n, strings.Join(widths, ", "), fmtDur(p.Window))
		out = append(out, f.Finding)
	}
	return out
}

// layers walks a's fan-out forward layer by layer (each hop after the one
// that reached its sender, within the window), through addresses that
// forward what they receive, while each layer has MinWidth addresses, and
// returns the number of layers. With all, it also returns the edges, each
// layer followed by a separator edge (t = -1, block = the layer's width);
// without, it stops as soon as MinLayers layers are certain.
func (c *ctx) layers(a *acct, t0 int64, p FlowParams, all bool) (int, []edge) {
	seen := c.e.newStamp()
	a.mark = seen
	type node struct {
		a *acct
		t int64
	}
	front := []node{{a, t0}}
	var edges []edge
	n := 0
	limit := 2 * c.e.cfg.MaxEdges
	for n < p.MinLayers && len(front) > 0 {
		var next []node
		start := len(edges)
		last := n+1 == p.MinLayers
	layer:
		for _, nd := range front {
			for _, e := range nd.a.out {
				if e.t < nd.t || e.t < t0 || e.asset != c.t.Asset || e.peer.mark == seen || e.peer.gone {
					continue
				}
				// Inner layers must pass the funds on.
				if !last && !c.forwards(e.peer, t0, p.Tolerance) {
					continue
				}
				e.peer.mark = seen
				next = append(next, node{e.peer, e.t})
				if all {
					edges = append(edges, e)
				}
				if len(next) >= limit || !all && last && len(next) >= p.MinWidth {
					break layer
				}
			}
		}
		if len(next) < p.MinWidth {
			edges = edges[:start]
			break
		}
		n++
		if all {
			edges = append(edges, edge{t: -1, block: uint64(len(next))})
		}
		front = next
	}
	return n, edges
}
