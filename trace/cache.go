package trace

import (
	"container/list"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/tracehound/tracehound/chain"
)

// CachedGraph keeps addresses' decoded transfers in memory, most recently
// used first, within a budget of postings, so that traces rerun by an
// investigator, or by the next request on a server, read memory instead
// of the store. When the graph grows, the writer must Forget the
// addresses whose histories changed; a trace running meanwhile may see
// an address as of before the change.
//
// Histories are held in a view per chain (see view): its interned
// strings are never dropped with the histories that used them (each
// posting brings at most a transaction and a counterparty), so when they
// outnumber the budget twice over, the chain gets a new view and the old
// one's histories leave the cache.
type CachedGraph struct {
	g Graph
	// Budget bounds the postings held; an address with more than a tenth
	// of it is never cached (exchanges' hot wallets run to millions).
	budget int
	// symbols bounds the strings a view interns before it is replaced.
	symbols int

	work workspaces

	mu     sync.Mutex
	views  map[chain.Chain]*view
	lru    list.List // of *hist, most recently loaded first
	size   int
	hits   uint64
	misses uint64
}

// NewCachedGraph caches g's postings within budget postings (about 80
// bytes each, and their strings).
func NewCachedGraph(g Graph, budget int) *CachedGraph {
	return &CachedGraph{g: g, budget: budget, symbols: 2*budget + 1<<16, views: make(map[chain.Chain]*view)}
}

// Tip passes through.
func (c *CachedGraph) Tip(ctx context.Context, ch chain.Chain) (chain.Tip, bool, error) {
	return c.g.Tip(ctx, ch)
}

// TxTransfers passes through, for transaction seeds.
func (c *CachedGraph) TxTransfers(ctx context.Context, ch chain.Chain, hash string) ([]chain.Transfer, bool, error) {
	r, ok := c.g.(TxReader)
	if !ok {
		return nil, false, errors.New("trace: this graph cannot read transactions")
	}
	return r.TxTransfers(ctx, ch, hash)
}

// UTXOTx passes through, for Bitcoin.
func (c *CachedGraph) UTXOTx(ctx context.Context, ch chain.Chain, hash string) (*chain.Tx, uint64, time.Time, bool, error) {
	u, ok := c.g.(UTXOGraph)
	if !ok {
		return nil, 0, time.Time{}, false, errors.New("trace: this graph cannot read Bitcoin transactions")
	}
	return u.UTXOTx(ctx, ch, hash)
}

// SpentBy passes through, for Bitcoin.
func (c *CachedGraph) SpentBy(ctx context.Context, ch chain.Chain, op chain.OutPoint) (string, uint32, bool, error) {
	u, ok := c.g.(UTXOGraph)
	if !ok {
		return "", 0, false, errors.New("trace: this graph cannot read Bitcoin transactions")
	}
	return u.SpentBy(ctx, ch, op)
}

// BridgeDeposits passes through, for crossing bridges.
func (c *CachedGraph) BridgeDeposits(ctx context.Context, ch chain.Chain, tx string) ([]chain.BridgeDeposit, error) {
	if b, ok := c.g.(BridgeGraph); ok {
		return b.BridgeDeposits(ctx, ch, tx)
	}
	return nil, nil
}

// BridgePayouts passes through, for crossing bridges.
func (c *CachedGraph) BridgePayouts(ctx context.Context, ch chain.Chain, key string) ([]chain.BridgePayout, error) {
	if b, ok := c.g.(BridgeGraph); ok {
		return b.BridgePayouts(ctx, ch, key)
	}
	return nil, nil
}

// BridgeDepositsOf passes through, read one by one where the graph
// cannot read many at once.
func (c *CachedGraph) BridgeDepositsOf(ctx context.Context, ch chain.Chain, txs []string) (map[string][]chain.BridgeDeposit, error) {
	if b, ok := c.g.(bridgeBatcher); ok {
		return b.BridgeDepositsOf(ctx, ch, txs)
	}
	out := make(map[string][]chain.BridgeDeposit, len(txs))
	for _, tx := range txs {
		ds, err := c.BridgeDeposits(ctx, ch, tx)
		if err != nil {
			return nil, err
		}
		out[tx] = ds
	}
	return out, nil
}

// BridgePayoutsOf passes through, read one by one where the graph
// cannot read many at once.
func (c *CachedGraph) BridgePayoutsOf(ctx context.Context, ch chain.Chain, keys []string) (map[string][]chain.BridgePayout, error) {
	if b, ok := c.g.(bridgeBatcher); ok {
		return b.BridgePayoutsOf(ctx, ch, keys)
	}
	out := make(map[string][]chain.BridgePayout, len(keys))
	for _, k := range keys {
		ps, err := c.BridgePayouts(ctx, ch, k)
		if err != nil {
			return nil, err
		}
		out[k] = ps
	}
	return out, nil
}

// BridgeContracts passes through; a graph without bridge links has none.
func (c *CachedGraph) BridgeContracts(ctx context.Context, ch chain.Chain) (map[string]string, error) {
	if b, ok := c.g.(BridgeGraph); ok {
		return b.BridgeContracts(ctx, ch)
	}
	return nil, nil
}

func (c *CachedGraph) workspaces() *workspaces { return &c.work }

// solePayer is a graph that answers SolePayee itself (a traversal).
type solePayer interface {
	SolePayee(ctx context.Context, c chain.Chain, addr string, max int) (to string, n int, mixed, ok bool, err error)
}

// Forget drops the cached histories of addrs on chain ch, after new
// blocks extended them. An address remembered as too busy to hold stays
// so: its history only grew, and it is read from the graph anyway.
// Forgetting it would have the next trace read its history up to the
// limit again only to find it busy, on every block that pays it: an
// exchange's hot wallet, on most blocks. A rollback shrinks histories;
// it replaces the cache instead (node's graphChanged with all set).
func (c *CachedGraph) Forget(ch chain.Chain, addrs []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := c.views[ch]
	if v == nil {
		return
	}
	for _, a := range addrs {
		id, ok := v.addrs.idx[a]
		if !ok {
			continue
		}
		if h := v.hist(id); h != nil && h.ps != nil {
			c.drop(h)
		}
	}
}

// drop removes a history; the caller holds c.mu.
func (c *CachedGraph) drop(h *hist) {
	h.v.setHist(h.addr, nil)
	if h.el != nil {
		c.lru.Remove(h.el)
		h.el = nil
		c.size -= len(h.ps) + 1
	}
}

// Stats returns the cache's hits and misses so far.
func (c *CachedGraph) Stats() (hits, misses uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits, c.misses
}

// view returns the view a trace of ch reads: over a traversal, a view of
// a new snapshot; otherwise the chain's cached view.
func (c *CachedGraph) view(ctx context.Context, ch chain.Chain) (*view, func(), error) {
	if _, ok := c.g.(traversal); ok && ch != chain.Bitcoin {
		return snapView(ctx, c.g, ch, new(sync.Mutex))
	}
	return c.cachedView(ch), func() {}, nil
}

// cachedView returns the chain's current view, replacing one whose
// interned strings have outgrown the budget.
func (c *CachedGraph) cachedView(ch chain.Chain) *view {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := c.views[ch]
	if v != nil && v.symbols() > c.symbols {
		for _, h := range v.hists {
			if h != nil {
				c.drop(h)
			}
		}
		v.retired = true
		v = nil
	}
	if v == nil {
		v = newView(ch, &c.mu)
		c.views[ch] = v
	}
	return v
}

// Postings answers from memory, loading the address's whole history on a
// miss.
func (c *CachedGraph) Postings(ctx context.Context, ch chain.Chain, addr string, q chain.PostingQuery, fn func(chain.Posting) bool) error {
	if _, ok := c.g.(traversal); ok {
		return c.g.Postings(ctx, ch, addr, q, fn)
	}
	v := c.cachedView(ch)
	ps, ok, err := c.history(ctx, v, v.addr(addr))
	if err != nil {
		return err
	}
	if !ok {
		return c.g.Postings(ctx, ch, addr, q, fn)
	}
	nm := v.names()
	in, out := q.Incoming, q.Outgoing
	if !in && !out {
		in, out = true, true
	}
	n := 0
	visit := func(p *post) bool {
		if p.in && !in || !p.in && !out {
			return true
		}
		if !q.Since.IsZero() && p.before(q.Since) || !q.Until.IsZero() && !p.before(q.Until) {
			return true
		}
		n++
		return fn(nm.posting(ch, addr, p)) && (q.Limit <= 0 || n < q.Limit)
	}
	if q.Oldest {
		for i := range ps {
			if !visit(&ps[i]) {
				return nil
			}
		}
		return nil
	}
	for i := len(ps) - 1; i >= 0; i-- {
		if !visit(&ps[i]) {
			return nil
		}
	}
	return nil
}

// SolePayee reads addr's outgoing transfers, newest first, up to max of
// them, and reports the address they pay if it is one (mixed if not) and
// how many it read: what the deposit-address heuristic asks of every
// address a trace reaches. It takes no callback, so that the question
// costs no allocation. ok is false for an address too busy to cache.
func (c *CachedGraph) SolePayee(ctx context.Context, ch chain.Chain, addr string, max int) (to string, n int, mixed, ok bool, err error) {
	if p, isP := c.g.(solePayer); isP {
		return p.SolePayee(ctx, ch, addr, max)
	}
	// A hit takes one lock.
	c.mu.Lock()
	var ps []post
	var nm names
	v := c.views[ch]
	if v != nil {
		if id, ok := v.addrID(addr); ok {
			if h := v.hist(id); h != nil {
				h.used = true
				c.hits++
				ps, nm = h.ps, v.namesLocked()
				if ps == nil {
					c.mu.Unlock()
					return "", 0, false, false, nil // too busy to cache
				}
			}
		}
	}
	c.mu.Unlock()
	if ps == nil {
		v = c.cachedView(ch)
		var cached bool
		ps, cached, err = c.history(ctx, v, v.addr(addr))
		if err != nil || !cached {
			return "", 0, false, false, err
		}
		nm = v.names()
	}
	for i := len(ps) - 1; i >= 0 && n < max; i-- {
		p := &ps[i]
		if p.in {
			continue
		}
		n++
		switch cp := nm.addr(p.peer); {
		case to == "":
			to = cp
		case cp != to:
			return to, n, true, true, nil
		}
	}
	return to, n, false, true, nil
}

// history returns an address's history in v, oldest first, loading it
// on a miss; false if the address is too busy to cache.
func (c *CachedGraph) history(ctx context.Context, v *view, addr uint32) ([]post, bool, error) {
	c.mu.Lock()
	if h := v.hist(addr); h != nil {
		h.used = true
		c.hits++
		c.mu.Unlock()
		return h.ps, h.ps != nil, nil
	}
	c.misses++
	name := v.addrs.names[addr]
	c.mu.Unlock()
	ps, busy, err := v.read(ctx, c.g, name, time.Time{}, max(c.budget/10, 1))
	if err != nil {
		return nil, false, err
	}
	if busy {
		ps = nil // remembered as too busy
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if h := v.hist(addr); h != nil {
		// Another trace loaded it meanwhile.
		return h.ps, h.ps != nil, nil
	}
	h := &hist{v: v, addr: addr, ps: ps, used: true}
	v.setHist(addr, h)
	if !v.retired {
		h.el = c.lru.PushFront(h)
		c.size += len(ps) + 1
		// Second chance (CLOCK): a history used since it last came to
		// the front goes round again; a hit then costs a flag, not a
		// move in the list.
		for c.size > c.budget && c.lru.Len() > 1 {
			back := c.lru.Back()
			if old := back.Value.(*hist); old.used {
				old.used = false
				c.lru.MoveToFront(back)
				continue
			}
			c.drop(back.Value.(*hist))
		}
	}
	return ps, !busy, nil
}
