package rules

import (
	"fmt"
	"slices"

	"github.com/tracehound/tracehound/chain"
)

// maxSplitMarks bounds the split payments an address remembers, and
// maxSplitTxs the transactions of one that a finding names.
const (
	maxSplitMarks = 4
	maxSplitTxs   = 8
)

// splitMark is a split payment (Structuring's split check) that an
// address took part in: the band of amounts like its pieces, and when.
type splitMark struct {
	partner *acct
	asset   chain.Asset
	lo, hi  chain.Amount
	mid     chain.Amount // the median piece
	pieces  int
	txs     []string // the pieces' transactions, at most maxSplitTxs
	t       int64
	sent    bool // the address paid the pieces
}

// smurfing: a split payment between two addresses marks both as parties
// to structuring; any other address that pays them, or is paid by them,
// amounts like the pieces within the window, before or after the split,
// is taken to be a smurf of the same operation (one that collects into
// a structuring account, or that the structured funds are relayed to).
// The subject is the smurf; the finding names the party and its partner.
func (c *ctx) smurfing(out []Finding) []Finding {
	p := c.e.cfg.Smurfing
	sp := c.e.cfg.Structuring
	if p.Window <= 0 {
		return out
	}
	// A later transfer in the band of a remembered split.
	out = c.smurfAgainst(out, c.from, c.to, true)
	out = c.smurfAgainst(out, c.to, c.from, false)
	if sp.MinSplits == 0 {
		return out
	}
	x, y := c.from, c.to
	if c.e.service(x) || c.e.service(y) {
		return out
	}
	t0 := c.ts - int64(sp.SplitWindow)
	s := &c.e.scratch
	s.amounts = s.amounts[:0]
	for i := len(x.out) - 1; i >= 0 && x.out[i].t >= t0; i-- {
		if e := x.out[i]; e.asset == c.t.Asset && e.peer == y {
			s.amounts = append(s.amounts, e.amount)
		}
	}
	if len(s.amounts) < sp.MinSplits {
		return out
	}
	var txs []string
	for i := len(x.out) - 1; i >= 0 && x.out[i].t >= t0 && len(txs) < maxSplitTxs; i-- {
		if e := x.out[i]; e.asset == c.t.Asset && e.peer == y {
			txs = append(txs, e.tx)
		}
	}
	slices.Reverse(txs)
	// The band is centred on the median piece, so that one unrelated
	// transfer between the two in the same minutes cannot widen it.
	slices.SortFunc(s.amounts, func(a, b chain.Amount) int { return a.Cmp(b) })
	mid := s.amounts[(len(s.amounts)-1)/2]
	bp := chain.NewAmount(uint64(p.Similar*10000 + 0.5))
	tenK := chain.NewAmount(10000)
	wide, _ := tenK.Add(bp)
	m := splitMark{asset: c.t.Asset, lo: mid.MulDiv(tenK, wide), hi: mid.MulDiv(wide, tenK), mid: mid,
		pieces: len(s.amounts), txs: txs, t: c.ts}
	mx, my := m, m
	mx.partner, mx.sent = y, true
	my.partner, my.sent = x, false
	x.remember(mx)
	y.remember(my)
	// Earlier transfers in the band, within the window.
	w0 := c.ts - int64(p.Window)
	for _, side := range []struct {
		a *acct
		m *splitMark
	}{{x, &mx}, {y, &my}} {
		for _, sent := range []bool{false, true} {
			es := side.a.in
			if sent {
				es = side.a.out
			}
			for i := len(es) - 1; i >= 0 && es[i].t >= w0; i-- {
				if e := es[i]; e.peer != side.m.partner && !e.peer.gone && inBand(e, side.m) {
					out = c.smurfFinding(out, side.a, e, side.m, sent)
				}
			}
		}
	}
	return out
}

// remember keeps a split mark, replacing one with the same partner and
// asset, and the newest maxSplitMarks.
func (a *acct) remember(m splitMark) {
	for i := range a.splits {
		if a.splits[i].partner == m.partner && a.splits[i].asset == m.asset {
			a.splits[i] = m
			return
		}
	}
	if len(a.splits) == maxSplitMarks {
		a.splits = append(a.splits[:0], a.splits[1:]...)
	}
	a.splits = append(a.splits, m)
}

func inBand(e edge, m *splitMark) bool {
	return e.asset == m.asset && e.amount.Cmp(m.lo) >= 0 && e.amount.Cmp(m.hi) <= 0
}

// smurfAgainst checks the new transfer, seen from party a (which sent it
// when sent), against a's remembered splits.
func (c *ctx) smurfAgainst(out []Finding, a, peer *acct, sent bool) []Finding {
	if len(a.splits) == 0 {
		return out
	}
	w0 := c.ts - int64(c.e.cfg.Smurfing.Window)
	e := edge{peer: peer, asset: c.t.Asset, amount: c.t.Amount, t: c.ts, tx: c.t.Tx, block: c.t.Block}
	for i := range a.splits {
		m := &a.splits[i]
		if m.t >= w0 && m.partner != peer && inBand(e, m) {
			return c.smurfFinding(out, a, e, m, sent)
		}
	}
	return out
}

// smurfFinding reports e's peer, which moved an amount like the pieces of
// party's split m to or from party (from it when sent).
func (c *ctx) smurfFinding(out []Finding, party *acct, e edge, m *splitMark, sent bool) []Finding {
	smurf := e.peer
	if c.e.service(party) || !c.e.fire(smurf, Smurfing, c.e.cfg.Smurfing.Window) {
		return out
	}
	f := c.finding(Smurfing, smurf.name(), 0.5+0.1*float64(min(m.pieces-c.e.cfg.Structuring.MinSplits, 5)), "")
	f.Asset = m.asset
	f.Addresses = []string{smurf.name(), party.name()}
	if m.partner.name() != smurf.name() {
		f.Addresses = append(f.Addresses, m.partner.name())
	}
	f.add(e, true)
	for _, tx := range m.txs {
		if !slices.Contains(f.Txs, tx) {
			f.Txs = append(f.Txs, tx)
		}
	}
	f.Start, f.End = timeOf(min(e.t, m.t)), timeOf(max(e.t, m.t))
	dir, prep := "received", "from"
	if sent {
		dir, prep = "sent", "to"
	}
	role, by := "sent", "to"
	if !m.sent {
		role, by = "received", "from"
	}
	f.Explanation = fmt.Sprintf("%s %s %s %s %s on %s; %s %s a payment split into %d pieces of around %s %s %s on %s. An amount like the pieces (within a factor of %.2f), moved with a party to structuring within %s, marks %s as a smurf of the same operation: funds collected in small like amounts or relayed on in them.",
		party.name(), dir, amountText(e.amount, c.t.Chain, e.asset), prep, smurf.name(), fmtTime(e.t),
		party.name(), role, m.pieces, amountText(m.mid, c.t.Chain, m.asset), by, m.partner.name(), fmtTime(m.t),
		1+c.e.cfg.Smurfing.Similar, fmtDur(c.e.cfg.Smurfing.Window), smurf.name())
	return append(out, f.Finding)
}
