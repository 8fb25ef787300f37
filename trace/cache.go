package trace

import (
	"container/list"
	"context"
	"errors"
	"slices"
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
type CachedGraph struct {
	g Graph
	// Budget bounds the postings held; an address with more than a tenth
	// of it is never cached (exchanges' hot wallets run to millions).
	budget int

	mu      sync.Mutex
	entries map[cacheKey]*list.Element
	lru     list.List
	size    int
	hits    uint64
	misses  uint64
}

type cacheKey struct {
	c    chain.Chain
	addr string
}

type cacheEntry struct {
	key cacheKey
	ps  []chain.Posting // oldest first, both directions
}

// NewCachedGraph caches g's postings within budget postings (about 200
// bytes each).
func NewCachedGraph(g Graph, budget int) *CachedGraph {
	return &CachedGraph{g: g, budget: budget, entries: make(map[cacheKey]*list.Element)}
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

// Forget drops the cached histories of addrs on chain ch.
func (c *CachedGraph) Forget(ch chain.Chain, addrs []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range addrs {
		k := cacheKey{ch, a}
		if el, ok := c.entries[k]; ok {
			c.lru.Remove(el)
			delete(c.entries, k)
			c.size -= len(el.Value.(*cacheEntry).ps) + 1
		}
	}
}

// Stats returns the cache's hits and misses so far.
func (c *CachedGraph) Stats() (hits, misses uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits, c.misses
}

// Postings answers from memory, loading the address's whole history on a
// miss.
func (c *CachedGraph) Postings(ctx context.Context, ch chain.Chain, addr string, q chain.PostingQuery, fn func(chain.Posting) bool) error {
	ps, ok, err := c.load(ctx, ch, addr)
	if err != nil {
		return err
	}
	if !ok {
		return c.g.Postings(ctx, ch, addr, q, fn)
	}
	in, out := q.Incoming, q.Outgoing
	if !in && !out {
		in, out = true, true
	}
	n := 0
	visit := func(p chain.Posting) bool {
		if p.Incoming && !in || !p.Incoming && !out {
			return true
		}
		if !q.Since.IsZero() && p.Time.Before(q.Since) || !q.Until.IsZero() && !p.Time.Before(q.Until) {
			return true
		}
		n++
		return fn(p) && (q.Limit <= 0 || n < q.Limit)
	}
	if q.Oldest {
		for _, p := range ps {
			if !visit(p) {
				return nil
			}
		}
		return nil
	}
	for i := len(ps) - 1; i >= 0; i-- {
		if !visit(ps[i]) {
			return nil
		}
	}
	return nil
}

// history gives replays the cached postings in place.
func (c *CachedGraph) history(ctx context.Context, ch chain.Chain, addr string) ([]chain.Posting, bool, error) {
	return c.load(ctx, ch, addr)
}

// load returns an address's postings, oldest first; false if the address
// is too busy to cache.
func (c *CachedGraph) load(ctx context.Context, ch chain.Chain, addr string) ([]chain.Posting, bool, error) {
	k := cacheKey{ch, addr}
	c.mu.Lock()
	if el, ok := c.entries[k]; ok {
		c.lru.MoveToFront(el)
		c.hits++
		ps := el.Value.(*cacheEntry).ps
		c.mu.Unlock()
		return ps, ps != nil, nil
	}
	c.misses++
	c.mu.Unlock()
	limit := max(c.budget/10, 1)
	var ps []chain.Posting
	tooBusy := false
	err := c.g.Postings(ctx, ch, addr, chain.PostingQuery{Oldest: true}, func(p chain.Posting) bool {
		if len(ps) >= limit {
			tooBusy = true
			return false
		}
		ps = append(ps, p)
		return true
	})
	if err != nil {
		return nil, false, err
	}
	if tooBusy {
		ps = nil // remembered as uncacheable
	} else {
		ps = slices.Clip(ps)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[k]; !ok {
		c.entries[k] = c.lru.PushFront(&cacheEntry{key: k, ps: ps})
		c.size += len(ps) + 1
		for c.size > c.budget && c.lru.Len() > 1 {
			old := c.lru.Back()
			e := old.Value.(*cacheEntry)
			c.lru.Remove(old)
			delete(c.entries, e.key)
			c.size -= len(e.ps) + 1
		}
	}
	return ps, ps != nil, nil
}
