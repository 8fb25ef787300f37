package exposure

import (
	"sync"
	"sync/atomic"

	"github.com/tracehound/tracehound/chain"
)

// Sources tells which risk categories an address itself belongs to: on a
// sanctions list, attributed by a tag, flagged by a partner.
type Sources interface {
	Mask(c chain.Chain, addr string) Mask
}

// SourcesFunc adapts a function to Sources.
type SourcesFunc func(c chain.Chain, addr string) Mask

// Mask calls f.
func (f SourcesFunc) Mask(c chain.Chain, addr string) Mask { return f(c, addr) }

// holder is one address's accounts: the native coin's in place, since
// most addresses hold nothing else, and its tokens'.
type holder struct {
	native account
	tokens []tokenAccount
}

type tokenAccount struct {
	asset chain.Asset
	acct  *account
}

// account is one address's state in one asset.
type account struct {
	balance  chain.Amount
	received chain.Amount
	sent     chain.Amount
	// held is the tainted value the address holds, by category and by
	// how many hops from its source it is: what it will pass on.
	held []held
	in   []inExp
	out  []outExp
}

type held struct {
	cat, hop uint8
	amt      chain.Amount
}

// inExp is what an address received of one category.
type inExp struct {
	cat              uint8
	minHop           uint8
	direct, indirect chain.Amount
	// tx, from and source explain the fewest-hops arrival: the
	// transaction, the sender, and the source at the far end.
	tx, from, source string
}

// outExp is what an address sent directly to one category.
type outExp struct {
	cat uint8
	amt chain.Amount
	// tx and to are the largest such payment.
	tx, to string
	top    chain.Amount
}

// Engine keeps every address's exposure on one chain. Apply feeds it
// blocks in chain order; Exposure reads an address's. It is safe for
// concurrent use: readers share a lock that a block's application takes
// for writing.
type Engine struct {
	chain   chain.Chain
	maxHops uint8
	src     Sources

	mu sync.RWMutex
	// holders are keyed by address alone, so that screening an address
	// costs one probe of one map. Of a restored engine, they are the
	// accounts changed since it was saved; the others are read from saved.
	holders map[string]*holder
	saved   Saved
	nAccts  int
	// through is the last block applied, hash its hash.
	through uint64
	hash    string
	applied bool
	// fault is the first failure to read saved accounts.
	fault atomic.Pointer[error]
}

// NewEngine returns an empty engine for chain c, following taint up to
// maxHops hops (DefaultMaxHops if 0) from the sources src names.
func NewEngine(c chain.Chain, maxHops int, src Sources) *Engine {
	if maxHops <= 0 {
		maxHops = DefaultMaxHops
	}
	return &Engine{chain: c, maxHops: uint8(min(maxHops, 16)), src: src, holders: make(map[string]*holder)}
}

// Chain is the engine's chain.
func (e *Engine) Chain() chain.Chain { return e.chain }

// MaxHops is how far the engine follows taint.
func (e *Engine) MaxHops() int { return int(e.maxHops) }

// Through is the last block applied, and false before any was.
func (e *Engine) Through() (uint64, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.through, e.applied
}

// Accounts counts the address and asset pairs the engine keeps.
func (e *Engine) Accounts() int {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.nAccts
}

func (e *Engine) acct(addr string, asset chain.Asset) *account {
	h := e.holders[addr]
	if h == nil {
		// A saved holder is copied in before it changes.
		if h = e.restore(addr); h == nil {
			h = &holder{}
			e.nAccts++
		}
		e.holders[addr] = h
	}
	if asset == chain.Native {
		return &h.native
	}
	for _, t := range h.tokens {
		if t.asset == asset {
			return t.acct
		}
	}
	a := &account{}
	h.tokens = append(h.tokens, tokenAccount{asset, a})
	e.nAccts++
	return a
}

// holderOf finds addr's accounts without creating them; nil if none.
// Saved accounts are decoded afresh, not kept: readers hold the lock
// shared.
func (e *Engine) holderOf(addr string) *holder {
	if h := e.holders[addr]; h != nil {
		return h
	}
	return e.restore(addr)
}

// lookup finds addr's account in asset without creating it; nil if none.
func (e *Engine) lookup(addr string, asset chain.Asset) *account {
	h := e.holderOf(addr)
	if h == nil {
		return nil
	}
	if asset == chain.Native {
		return &h.native
	}
	for _, t := range h.tokens {
		if t.asset == asset {
			return t.acct
		}
	}
	return nil
}

// Apply carries the block's transfers forward. Ethereum-style
// transactions move value transfer by transfer; a failed one moves
// nothing, and a fee leaves the sender's balance (with its share of the
// sender's taint). A Bitcoin transaction pools its inputs.
func (e *Engine) Apply(b *chain.Block) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := range b.Txs {
		tx := &b.Txs[i]
		if len(tx.Inputs) > 0 || len(tx.Outputs) > 0 {
			e.pool(tx)
			continue
		}
		if !tx.Failed {
			for _, t := range tx.Transfers {
				e.transfer(t.From, t.To, t.Asset, t.Amount, t.Tx)
			}
		}
		if tx.From != "" && !tx.Fee.IsZero() {
			e.spend(e.acct(tx.From, chain.Native), tx.Fee)
		}
	}
	e.through, e.hash, e.applied = b.Height, b.Hash, true
}

// Transfer carries one transfer forward, for callers that stream
// transfers rather than blocks (a rebuild from the graph).
func (e *Engine) Transfer(t chain.Transfer) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.transfer(t.From, t.To, t.Asset, t.Amount, t.Tx)
	if t.Block > e.through || !e.applied {
		e.through, e.hash, e.applied = t.Block, "", true
	}
}

// spend takes amount out of a's balance and its share of a's held taint,
// which is lost (a fee): it returns nothing.
func (e *Engine) spend(a *account, amount chain.Amount) {
	e.take(a, amount, nil)
}

// take removes amount from a's balance and hands each held category's
// share to fn (when not nil), in proportion to a's balance before.
func (e *Engine) take(a *account, amount chain.Amount, fn func(h held)) {
	bal := a.balance
	all := amount.Cmp(bal) >= 0
	kept := a.held[:0]
	for _, h := range a.held {
		t := h.amt
		if !all {
			t = h.amt.MulDiv(amount, bal)
		}
		if fn != nil && !t.IsZero() {
			fn(held{h.cat, h.hop, t})
		}
		if rest, under := h.amt.Sub(t); !under && !rest.IsZero() {
			kept = append(kept, held{h.cat, h.hop, rest})
		}
	}
	clear(a.held[len(kept):])
	a.held = kept
	if all {
		a.balance = chain.Amount{}
	} else {
		a.balance, _ = bal.Sub(amount)
	}
}

func (e *Engine) transfer(from, to string, asset chain.Asset, amount chain.Amount, tx string) {
	if amount.IsZero() || from == to {
		return
	}
	fa, ta := e.acct(from, asset), e.acct(to, asset)
	fromCats, toCats := e.src.Mask(e.chain, from), e.src.Mask(e.chain, to)
	fa.sent, _ = fa.sent.Add(amount)
	ta.received, _ = ta.received.Add(amount)
	for i := range Categories {
		if toCats.Has(i) {
			fa.addOut(uint8(i), amount, tx, to)
		}
		if fromCats.Has(i) {
			e.arrive(ta, uint8(i), 1, amount, tx, from, from)
		}
	}
	pass := func(h held) {
		if fromCats.Has(int(h.cat)) {
			return // counted at one hop as the sender's own
		}
		e.arrive(ta, h.cat, h.hop+1, h.amt, tx, from, fa.sourceOf(h.cat))
	}
	if fromCats&services != 0 {
		pass = nil // a service's payouts carry its own category only
	}
	e.take(fa, amount, pass)
	ta.balance, _ = ta.balance.Add(amount)
}

// arrive records taint of category cat arriving at a, hop hops from its
// source, and holds it for passing on if it may go further.
func (e *Engine) arrive(a *account, cat, hop uint8, amt chain.Amount, tx, from, source string) {
	if amt.IsZero() || hop > e.maxHops {
		return
	}
	a.addIn(cat, hop, amt, tx, from, source)
	if hop < e.maxHops {
		for i := range a.held {
			if a.held[i].cat == cat && a.held[i].hop == hop {
				a.held[i].amt, _ = a.held[i].amt.Add(amt)
				return
			}
		}
		a.held = append(a.held, held{cat, hop, amt})
	}
}

func (a *account) addIn(cat, hop uint8, amt chain.Amount, tx, from, source string) {
	for i := range a.in {
		x := &a.in[i]
		if x.cat != cat {
			continue
		}
		if hop == 1 {
			x.direct, _ = x.direct.Add(amt)
		} else {
			x.indirect, _ = x.indirect.Add(amt)
		}
		if hop < x.minHop {
			x.minHop, x.tx, x.from, x.source = hop, tx, from, source
		}
		return
	}
	x := inExp{cat: cat, minHop: hop, tx: tx, from: from, source: source}
	if hop == 1 {
		x.direct = amt
	} else {
		x.indirect = amt
	}
	a.in = append(a.in, x)
}

func (a *account) addOut(cat uint8, amt chain.Amount, tx, to string) {
	for i := range a.out {
		x := &a.out[i]
		if x.cat == cat {
			x.amt, _ = x.amt.Add(amt)
			if amt.Cmp(x.top) > 0 {
				x.tx, x.to, x.top = tx, to, amt
			}
			return
		}
	}
	a.out = append(a.out, outExp{cat: cat, amt: amt, tx: tx, to: to, top: amt})
}

// sourceOf is the source of the category's taint a holds, for the path.
func (a *account) sourceOf(cat uint8) string {
	for _, x := range a.in {
		if x.cat == cat {
			return x.source
		}
	}
	return ""
}

// pool carries a Bitcoin transaction: its inputs' value and taint go into
// one pool, which its outputs share in proportion to their value (the fee
// keeps its share, lost).
func (e *Engine) pool(tx *chain.Tx) {
	var total chain.Amount
	type part struct {
		h     held
		from  string
		src   string
		value chain.Amount
	}
	var parts []part
	type direct struct {
		cat  uint8
		from string
		amt  chain.Amount
	}
	var directs []direct
	principal, top := "", chain.Amount{}
	for _, in := range tx.Inputs {
		if in.Address == "" || in.Value == 0 {
			continue
		}
		v := chain.NewAmount(in.Value)
		total, _ = total.Add(v)
		if v.Cmp(top) > 0 {
			principal, top = in.Address, v
		}
		fa := e.acct(in.Address, chain.Native)
		fa.sent, _ = fa.sent.Add(v)
		cats := e.src.Mask(e.chain, in.Address)
		for i := range Categories {
			if cats.Has(i) {
				directs = append(directs, direct{uint8(i), in.Address, v})
			}
		}
		var pass func(h held)
		if cats&services == 0 {
			pass = func(h held) {
				if !cats.Has(int(h.cat)) {
					parts = append(parts, part{h, in.Address, fa.sourceOf(h.cat), v})
				}
			}
		}
		e.take(fa, v, pass)
	}
	if total.IsZero() {
		return
	}
	for _, out := range tx.Outputs {
		if out.Address == "" || out.Value == 0 {
			continue
		}
		w := chain.NewAmount(out.Value)
		ta := e.acct(out.Address, chain.Native)
		ta.received, _ = ta.received.Add(w)
		toCats := e.src.Mask(e.chain, out.Address)
		for i := range Categories {
			if toCats.Has(i) && principal != "" {
				// Each input sent its share of this output.
				for _, in := range tx.Inputs {
					if in.Address != "" && in.Value > 0 {
						e.acct(in.Address, chain.Native).addOut(uint8(i), w.MulDiv(chain.NewAmount(in.Value), total), tx.Hash, out.Address)
					}
				}
			}
		}
		for _, d := range directs {
			e.arrive(ta, d.cat, 1, d.amt.MulDiv(w, total), tx.Hash, d.from, d.from)
		}
		for _, p := range parts {
			e.arrive(ta, p.h.cat, p.h.hop+1, p.h.amt.MulDiv(w, total), tx.Hash, p.from, p.src)
		}
		ta.balance, _ = ta.balance.Add(w)
	}
}
