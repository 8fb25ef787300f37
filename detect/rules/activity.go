package rules

import (
	"fmt"
	"math"
	"math/big"
	"time"

	"github.com/tracehound/tracehound/chain"
)

func timeOf(ns int64) time.Time { return time.Unix(0, ns).UTC() }

// hopping: the sender received from a mixer or bridge and now sends to a
// mixer or bridge: funds hopping from one obfuscating service to the next.
func (c *ctx) hopping(out []Finding) []Finding {
	if c.e.labels == nil {
		return out
	}
	dest := c.e.category(c.to)
	if dest != CategoryMixer && dest != CategoryBridge {
		return out
	}
	p := c.e.cfg.Hop
	x := c.from
	t0 := c.ts - int64(p.Window)
	for i := len(x.in) - 1; i >= 0 && x.in[i].t >= t0; i-- {
		e := x.in[i]
		src := c.e.category(e.peer)
		if src != CategoryMixer && src != CategoryBridge {
			continue
		}
		typ := BridgeHopping
		if src == CategoryMixer || dest == CategoryMixer {
			typ = MixerHopping
		}
		if !c.e.cfg.enabled(typ) || !c.e.fire(x, typ, p.Window) {
			return out
		}
		f := c.finding(typ, x.key.Value, 0.8, "")
		if src == CategoryMixer && dest == CategoryMixer {
			f.Score = 0.9
		}
		f.Addresses = []string{x.key.Value, e.peer.name()}
		if c.to != e.peer {
			f.Addresses = append(f.Addresses, c.to.key.Value)
		}
		f.add(e, false)
		f.add(edge{peer: c.to, asset: c.t.Asset, amount: c.t.Amount, t: c.ts, tx: c.t.Tx}, true)
		f.Explanation = fmt.Sprintf("%s received %s from %s (a %s) on %s and sent %s to %s (a %s) on %s: funds hopping from one %s to the next to break the trail.",
			x.key.Value, amountText(e.amount, c.t.Chain, e.asset), e.peer.name(), src, fmtTime(e.t),
			amountText(c.t.Amount, c.t.Chain, c.t.Asset), c.t.To, dest, fmtTime(c.ts), serviceWord(src, dest))
		return append(out, f.Finding)
	}
	return out
}

func serviceWord(a, b string) string {
	if a == b {
		return a
	}
	return "mixing or bridging service"
}

// ratio is a/b as a float, for scores only.
func ratio(a, b chain.Amount) float64 {
	fa, _ := new(big.Float).SetInt(a.Big()).Float64()
	fb, _ := new(big.Float).SetInt(b.Big()).Float64()
	if fb == 0 {
		return math.Inf(1)
	}
	return fa / fb
}

// fresh: a high-value transfer out of an address whose first activity is
// recent. Runs before the transfer is recorded.
func (c *ctx) fresh(out []Finding) []Finding {
	p := c.e.cfg.Fresh
	hv, ok := p.HighValue.get(c.t.Chain, c.t.Asset)
	if !ok || c.t.Amount.Cmp(hv) < 0 {
		return out
	}
	x := c.from
	var first int64
	known := false
	if c.e.history != nil {
		if f, _, ok := c.e.history.Activity(c.t.Chain, x.key.Value, c.t.Time); ok {
			first, known = f.UnixNano(), true
		}
	}
	if !known && x.seen && x.first-max(c.e.start, c.e.forgotTill) >= int64(p.Lookback) {
		first, known = x.first, true
	}
	if !known {
		return out
	}
	if c.e.history != nil && x.seen {
		first = min(first, x.first)
	}
	age := c.ts - first
	if age > int64(p.MaxAge) || !c.e.fire(x, FreshHighValue, p.MaxAge) {
		return out
	}
	score := 0.5 + 0.15*math.Log2(max(1, ratio(c.t.Amount, hv))) + 0.2*(1-float64(age)/float64(p.MaxAge))
	f := c.finding(FreshHighValue, x.key.Value, score, "")
	f.Addresses = []string{x.key.Value}
	f.add(edge{peer: c.to, asset: c.t.Asset, amount: c.t.Amount, t: c.ts, tx: c.t.Tx}, true)
	f.Start = timeOf(first)
	f.Explanation = fmt.Sprintf("%s, first active %s (%s before), sent %s to %s, above the high-value mark of %s: a newly created address moving large value, typical of stolen or laundered funds passed through throwaway wallets.",
		x.key.Value, fmtTime(first), fmtDur(time.Duration(age)), amountText(c.t.Amount, c.t.Chain, c.t.Asset), c.t.To, amountText(hv, c.t.Chain, c.t.Asset))
	return append(out, f.Finding)
}

// dormant: an address that sent nothing for a long time sends again. Runs
// before the transfer is recorded.
func (c *ctx) dormant(out []Finding) []Finding {
	p := c.e.cfg.Dormant
	if minAmt, ok := p.MinAmount.get(c.t.Chain, c.t.Asset); ok && c.t.Amount.Cmp(minAmt) < 0 {
		return out
	}
	x := c.from
	var since int64
	known := false
	switch {
	case x.lastOut != 0:
		since, known = x.lastOut, true
	case x.seen && x.first-max(c.e.start, c.e.forgotTill) >= int64(p.MinIdle):
		// Never sent since the engine first saw it, and the engine watched
		// long enough before that to know it was idle.
		since, known = x.first, true
	}
	if c.e.history != nil {
		if _, last, ok := c.e.history.Activity(c.t.Chain, x.key.Value, c.t.Time); ok && (!known || last.UnixNano() > since) {
			since, known = last.UnixNano(), true
		}
	}
	idle := c.ts - since
	if !known || idle < int64(p.MinIdle) || !c.e.fire(x, Dormant, p.MinIdle) {
		return out
	}
	score := 0.5 + 0.25*math.Log2(float64(idle)/float64(p.MinIdle))
	f := c.finding(Dormant, x.key.Value, score, "")
	f.Addresses = []string{x.key.Value}
	f.add(edge{peer: c.to, asset: c.t.Asset, amount: c.t.Amount, t: c.ts, tx: c.t.Tx}, true)
	f.Start = timeOf(since)
	f.Explanation = fmt.Sprintf("%s sent %s to %s after %s without sending (last activity %s): a dormant address reactivated, as old proceeds are when they are finally moved.",
		x.key.Value, amountText(c.t.Amount, c.t.Chain, c.t.Asset), c.t.To, fmtDur(time.Duration(idle)), fmtTime(since))
	return append(out, f.Finding)
}
