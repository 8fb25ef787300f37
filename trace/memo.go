package trace

import (
	"container/list"
	"encoding/json"
	"sync"
	"time"

	"github.com/tracehound/tracehound/chain"
)

// Memo keeps the results of recent traces by their question, so that a
// trace asked again of a graph and labels that have not changed since
// (an analyst reopening a case, a report drawn from the trace just run)
// is answered without walking the graph again.
//
// Whoever owns the graph and the labels clears the memo when either
// changes: a memo cannot see a change itself. A result computed while a
// change happened is not kept (Put with the generation read before the
// trace began).
type Memo struct {
	mu       sync.Mutex
	max      int
	maxItems int
	items    int // nodes and edges of the results kept
	gen      uint64
	entries  map[string]*list.Element
	order    *list.List // most recently used first
}

type memoEntry struct {
	key   string
	res   *Result
	extra any
	items int
}

// NewMemo keeps up to entries results holding together up to items
// nodes and edges (a few hundred bytes each), so that a few traces of
// the largest size do not hold the memory of hundreds of small ones.
func NewMemo(entries, items int) *Memo {
	return &Memo{max: max(entries, 1), maxItems: max(items, 1), entries: make(map[string]*list.Element), order: list.New()}
}

// size is what a result counts against the memo's budget.
func size(r *Result) int {
	return len(r.Nodes) + len(r.Edges) + len(r.Endpoints) + len(r.Candidates)
}

// MemoKey is the question a trace answers, as the memo's key: the
// seeds and every option that changes the result. ok is false for a
// trace that is not kept: one following instant exchanges or choosing
// bridge destinations through callbacks the key cannot name. The
// labeller is not part of the key: the memo is cleared when the labels
// change, and noCluster says which labeller a node would use.
func MemoKey(seeds []Seed, o Options, noCluster bool) (key string, ok bool) {
	if o.Instant != nil || o.Networks != nil {
		return "", false
	}
	b, err := json.Marshal(struct {
		Seeds                     []Seed
		Chain                     chain.Chain
		Asset                     chain.Asset
		Model                     Model
		MaxHops                   int
		MinAmount                 chain.Amount
		Since, Until              time.Time
		MaxAddresses, MaxPostings int
		NoSwaps, NoBridges        bool
		NoCluster                 bool
	}{seeds, o.Chain, o.Asset, o.Model, o.MaxHops, o.MinAmount, o.Since, o.Until,
		o.MaxAddresses, o.MaxPostings, o.NoSwaps, o.NoBridges, noCluster})
	if err != nil {
		return "", false
	}
	return string(b), true
}

// Generation is read before a trace begins and given to Put with its
// result.
func (m *Memo) Generation() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.gen
}

// Get returns a copy of the result kept for key, with what was kept
// beside it, and whether there was one. The copy's ID is empty and its
// slices end at their length, so that the caller may name it and append
// to it without touching the result kept; their elements are shared and
// must not be changed.
func (m *Memo) Get(key string) (*Result, any, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	el, ok := m.entries[key]
	if !ok {
		return nil, nil, false
	}
	m.order.MoveToFront(el)
	e := el.Value.(*memoEntry)
	return clipped(e.res), e.extra, true
}

// Put keeps a result computed at generation gen, unless the memo was
// cleared since or the result alone is larger than the budget. The memo keeps a shallow copy, as Get gives: the
// caller may name and append to its result, not change its elements.
func (m *Memo) Put(gen uint64, key string, res *Result, extra any) {
	m.mu.Lock()
	defer m.mu.Unlock()
	items := size(res)
	if gen != m.gen || items > m.maxItems {
		return
	}
	if el, ok := m.entries[key]; ok {
		m.remove(el)
	}
	m.entries[key] = m.order.PushFront(&memoEntry{key: key, res: clipped(res), extra: extra, items: items})
	m.items += items
	for m.order.Len() > m.max || m.items > m.maxItems {
		m.remove(m.order.Back())
	}
}

func (m *Memo) remove(el *list.Element) {
	e := m.order.Remove(el).(*memoEntry)
	delete(m.entries, e.key)
	m.items -= e.items
}

// Clear drops every result: the graph or the labels changed.
func (m *Memo) Clear() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gen++
	clear(m.entries)
	m.order.Init()
	m.items = 0
}

// Len is the number of results kept.
func (m *Memo) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.order.Len()
}

// clipped is a shallow copy of r without its ID, each slice's capacity
// cut to its length so that an append to the copy reallocates.
func clipped(r *Result) *Result {
	c := *r
	c.ID = ""
	c.Seeds = c.Seeds[:len(c.Seeds):len(c.Seeds)]
	c.Nodes = c.Nodes[:len(c.Nodes):len(c.Nodes)]
	c.Edges = c.Edges[:len(c.Edges):len(c.Edges)]
	c.Endpoints = c.Endpoints[:len(c.Endpoints):len(c.Endpoints)]
	c.Hops = c.Hops[:len(c.Hops):len(c.Hops)]
	c.Swaps = c.Swaps[:len(c.Swaps):len(c.Swaps)]
	c.Crossings = c.Crossings[:len(c.Crossings):len(c.Crossings)]
	c.Legs = c.Legs[:len(c.Legs):len(c.Legs)]
	c.Candidates = c.Candidates[:len(c.Candidates):len(c.Candidates)]
	c.Warnings = c.Warnings[:len(c.Warnings):len(c.Warnings)]
	return &c
}
