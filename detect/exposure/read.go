package exposure

import (
	"math/big"
	"slices"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/tags"
)

// Entry is an address's exposure to one category in one asset and
// direction.
type Entry struct {
	Category  tags.Category `json:"category"`
	Direction Direction     `json:"direction"`
	// Hops is the fewest hops between the address and a source of the
	// category: 1 is direct.
	Hops  int         `json:"hops"`
	Asset chain.Asset `json:"asset,omitempty"`
	// Amount is the exact value in base units: received from the
	// category (Direct at one hop, Indirect further), or sent to it.
	Amount   chain.Amount `json:"amount"`
	Direct   chain.Amount `json:"direct"`
	Indirect chain.Amount `json:"indirect"`
	// Share is Amount over all the address received (incoming) or sent
	// (outgoing) in the asset, between 0 and 1.
	Share float64 `json:"share"`
	// Source is the risky address at the far end of the fewest-hops path;
	// Path its transfers, from the source to the address.
	Source string `json:"source,omitempty"`
	Path   []Step `json:"path,omitempty"`
	// Rule names the policy rule this entry matched, if any.
	Rule string `json:"rule,omitempty"`
}

// Step is one transfer of a path: tx moved the category's taint from
// From to To.
type Step struct {
	Tx   string `json:"tx"`
	From string `json:"from"`
	To   string `json:"to"`
}

// Exposure returns addr's exposure with the path of each entry, incoming
// entries first, each direction by amount, largest first; nil if the
// address has none.
func (e *Engine) Exposure(addr string) []Entry { return e.exposure(addr, true) }

// Rated returns addr's exposure without paths: what a verdict needs.
func (e *Engine) Rated(addr string) []Entry { return e.exposure(addr, false) }

func (e *Engine) exposure(addr string, paths bool) []Entry {
	e.mu.RLock()
	defer e.mu.RUnlock()
	var out []Entry
	add := func(k chain.Asset, a *account) {
		if a == nil {
			return
		}
		for _, x := range a.in {
			amt, _ := x.direct.Add(x.indirect)
			en := Entry{Category: Categories[x.cat], Direction: Incoming, Hops: int(x.minHop), Asset: k,
				Amount: amt, Direct: x.direct, Indirect: x.indirect, Share: share(amt, a.received), Source: x.source}
			if paths {
				en.Path = e.path(addr, k, x)
			}
			out = append(out, en)
		}
		for _, x := range a.out {
			en := Entry{Category: Categories[x.cat], Direction: Outgoing, Hops: 1, Asset: k, Amount: x.amt, Direct: x.amt,
				Share: share(x.amt, a.sent), Source: x.to}
			if paths {
				en.Path = []Step{{Tx: x.tx, From: addr, To: x.to}}
			}
			out = append(out, en)
		}
	}
	// Accounts are keyed by address and asset; an address holds few
	// assets, so probing the native coin and the assets seen is cheap.
	if h := e.holderOf(addr); h != nil {
		add(chain.Native, &h.native)
		for _, t := range h.tokens {
			add(t.asset, t.acct)
		}
	}
	if len(out) > 1 {
		slices.SortStableFunc(out, func(a, b Entry) int {
			if a.Direction != b.Direction {
				if a.Direction == Incoming {
					return -1
				}
				return 1
			}
			return b.Amount.Cmp(a.Amount)
		})
	}
	return out
}

// path walks from addr back to the category's source along the
// fewest-hops arrivals.
func (e *Engine) path(addr string, asset chain.Asset, x inExp) []Step {
	var steps []Step
	to, cur := addr, x
	for range int(e.maxHops) + 1 {
		steps = append(steps, Step{Tx: cur.tx, From: cur.from, To: to})
		if cur.minHop <= 1 || cur.from == "" {
			break
		}
		prev := e.lookup(cur.from, asset)
		found := false
		if prev != nil {
			for _, y := range prev.in {
				if y.cat == cur.cat {
					to, cur, found = cur.from, y, true
					break
				}
			}
		}
		if !found {
			break
		}
	}
	slices.Reverse(steps)
	return steps
}

// share is part over whole, between 0 and 1.
func share(part, whole chain.Amount) float64 {
	if whole.IsZero() {
		return 0
	}
	if part.Cmp(whole) >= 0 {
		return 1
	}
	if p, ok := part.Uint64(); ok {
		if w, ok := whole.Uint64(); ok {
			return float64(p) / float64(w)
		}
	}
	f, _ := new(big.Rat).SetFrac(part.Big(), whole.Big()).Float64()
	return f
}

// Hops classes a rule or a reader can ask for.
const (
	DirectOnly   = "direct"
	IndirectOnly = "indirect"
	AnyHops      = "any"
)

// Part returns the amount and share of the entry that arrived (or left)
// within the hops class: direct (one hop), indirect (further) or any.
func (e Entry) Part(class string) (chain.Amount, float64) {
	var part chain.Amount
	switch class {
	case DirectOnly:
		part = e.Direct
	case IndirectOnly:
		part = e.Indirect
	default:
		return e.Amount, e.Share
	}
	if part.IsZero() || e.Amount.IsZero() {
		return part, 0
	}
	// part/whole = Share × part/Amount: the share is a ratio, so a float
	// is exact enough for thresholds; the amount stays an integer.
	return part, e.Share * share(part, e.Amount)
}
