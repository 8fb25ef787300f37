package trace

import (
	"container/list"
	"context"
	"slices"
	"sync"
	"time"
	"unsafe"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/store/graph"
)

// A trace touches each address, transaction and asset many times: as a
// key of the taint it holds, of the transfers it made, of the recipients
// it reached. Keyed by their strings, a trace spent a fifth of its time
// hashing 66-character hashes. A view interns them once, as small
// integers, and holds addresses' histories as posts that refer to them:
// the trace then works on integers, and turns them back into strings
// only for its result.

// post is one posting with its strings interned in a view: less than half
// a chain.Posting's size, and nothing in it for the garbage collector to
// follow.
type post struct {
	amount chain.Amount
	sec    int64 // block time, Unix seconds
	block  uint64
	txi    uint32
	pos    uint32
	tx     uint64 // view.txs, or the traversal's transaction
	peer   uint32 // view.addrs: the counterparty
	asset  uint32 // view.assets
	nsec   uint32
	kind   chain.TransferKind
	in     bool
}

func (p *post) id() tid { return tid{p.tx, p.pos, p.kind} }

// before tells whether the post is earlier than t.
func (p *post) before(t time.Time) bool {
	s := t.Unix()
	return p.sec < s || p.sec == s && p.nsec < uint32(t.Nanosecond())
}

func (p *post) time() time.Time { return time.Unix(p.sec, int64(p.nsec)).UTC() }

// tid identifies a transfer in both its postings: its transaction, kind
// and position.
type tid struct {
	tx   uint64
	pos  uint32
	kind chain.TransferKind
}

// view interns one chain's addresses, transactions and assets, and holds
// the histories read through it. Interned strings are never dropped, so
// a long-lived cache replaces its view when the tables outgrow it; a
// trace keeps the view it started with. Ids are only meaningful within
// their view.
type view struct {
	c  chain.Chain
	mu *sync.Mutex // the cache's, shared by its views; a trace's own otherwise
	// snap, if set, is the traversal layout the trace reads: its ids are
	// the view's, and the tables below hold only strings it does not
	// know, under ids from extAddr (extTx for transactions) on.
	snap *graph.Snapshot

	addrs  table[string]
	txs    table[string]
	assets table[chain.Asset]

	// hists are the histories held, by address id: a slice, as ids are
	// dense and a trace looks up every address it reaches.
	hists []*hist
	// The name addrName gave out last, and its id (see addrID).
	lastName string
	lastID   uint32
	// retired is set when the cache replaced the view: histories loaded
	// into it from then on are not counted in the cache's budget.
	retired bool
}

// hist is an address's history in a view.
type hist struct {
	v    *view
	addr uint32
	ps   []post        // oldest first; nil if the address is too busy to hold
	el   *list.Element // in the cache's LRU; nil in a trace's own view
	used bool          // read since it was last put at the front
}

// table interns values of one kind: ids are their order of arrival.
type table[K comparable] struct {
	idx   map[K]uint32
	names []K
}

func (t *table[K]) id(k K) uint32 {
	id, ok := t.idx[k]
	if !ok {
		if t.idx == nil {
			t.idx = make(map[K]uint32)
		}
		id = uint32(len(t.names))
		t.names = append(t.names, k)
		t.idx[k] = id
	}
	return id
}

func newView(c chain.Chain, mu *sync.Mutex) *view {
	return &view{c: c, mu: mu}
}

// symbols counts the strings interned, to bound a long-lived view.
func (v *view) symbols() int { return len(v.addrs.names) + len(v.txs.names) }

// intern interns one value in one of the view's tables.
func intern[K comparable](v *view, t *table[K], k K) uint32 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return t.id(k)
}

// Ids of strings a traversal snapshot does not know.
const (
	extAddr = 1 << 31
	extTx   = 1 << 63
)

func (v *view) addr(s string) uint32 {
	if v.snap != nil {
		if id, ok := v.snap.AddressID(s); ok {
			return id
		}
		return extAddr + intern(v, &v.addrs, s)
	}
	return intern(v, &v.addrs, s)
}

func (v *view) asset(a chain.Asset) uint32 {
	if v.snap != nil {
		if id, ok := v.snap.AssetID(a); ok {
			return id
		}
		return extAddr + intern(v, &v.assets, a)
	}
	return intern(v, &v.assets, a)
}

// tx is the id of the transaction with hash s in block: the traversal's,
// which its histories use, where it holds it.
func (v *view) tx(s string, block uint64) uint64 {
	if v.snap != nil {
		if r, ok := v.snap.TxRefOf(block, s); ok {
			return uint64(r)
		}
		return extTx + uint64(intern(v, &v.txs, s))
	}
	return uint64(intern(v, &v.txs, s))
}

// internLocked turns a posting into a post.
func (v *view) internLocked(p *chain.Posting) post {
	return post{amount: p.Amount, sec: p.Time.Unix(), nsec: uint32(p.Time.Nanosecond()), block: p.Block, txi: p.TxIndex, pos: p.Pos,
		tx: uint64(v.txs.id(p.Tx)), peer: v.addrs.id(p.Counterparty), asset: v.assets.id(p.Asset), kind: p.Kind, in: p.Incoming}
}

// names is a snapshot of a view's tables. The tables only grow and their
// entries never change, so a snapshot can be read without the lock for
// every id interned before it was taken. Over a traversal, names are
// made from the traversal's snapshot into an arena of the names' own:
// a goroutine takes its own copy (fork).
type names struct {
	snap   *graph.Snapshot
	addrs  []string
	txs    []string
	assets []chain.Asset
	arena  []byte
}

func (v *view) names() names {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.namesLocked()
}

func (v *view) namesLocked() names {
	return names{snap: v.snap, addrs: v.addrs.names, txs: v.txs.names, assets: v.assets.names}
}

// fork is a copy of n with an arena of its own.
func (n names) fork() names {
	n.arena = nil
	return n
}

func (n *names) str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if cap(n.arena)-len(n.arena) < len(b) {
		n.arena = make([]byte, 0, max(64<<10, len(b)))
	}
	at := len(n.arena)
	n.arena = append(n.arena, b...)
	return unsafe.String(&n.arena[at], len(b))
}

func (n *names) addr(id uint32) string {
	if n.snap != nil {
		if id < extAddr {
			return n.snap.Address(id)
		}
		id -= extAddr
	}
	return n.addrs[id]
}

func (n *names) tx(id uint64) string {
	if n.snap != nil {
		if id < extTx {
			var buf [80]byte
			return n.str(n.snap.AppendTx(buf[:0], graph.TxRef(id)))
		}
		id -= extTx
	}
	return n.txs[id]
}

func (n *names) asset(id uint32) chain.Asset {
	if n.snap != nil {
		if id < extAddr {
			return n.snap.Asset(id)
		}
		id -= extAddr
	}
	return n.assets[id]
}

// posting turns a post of addr's history back into a chain.Posting.
func (n *names) posting(c chain.Chain, addr string, p *post) chain.Posting {
	return chain.Posting{Chain: c, Address: addr, Incoming: p.in, Time: p.time(), Block: p.block, TxIndex: p.txi, Kind: p.kind, Pos: p.pos,
		Tx: n.tx(p.tx), Counterparty: n.addr(p.peer), Asset: n.asset(p.asset), Amount: p.amount}
}

// intern turns a posting into a post, taking the view's lock.
func (v *view) intern(p *chain.Posting) post {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.internLocked(p)
}

// read reads addr's history before until (zero: all of it), oldest
// first, from g into at most limit posts; more is set if the history
// goes on past them.
func (v *view) read(ctx context.Context, g Graph, addr string, until time.Time, limit int) (ps []post, more bool, err error) {
	err = g.Postings(ctx, v.c, addr, chain.PostingQuery{Oldest: true, Until: until}, func(p chain.Posting) bool {
		if len(ps) >= limit {
			more = true
			return false
		}
		ps = append(ps, v.intern(&p))
		return true
	})
	if err != nil {
		return nil, false, err
	}
	if ps == nil {
		ps = []post{} // an empty history is still a history
	}
	return ps[:len(ps):len(ps)], more, nil
}

// stream calls fn with each post of addr's history, oldest first, read
// from g without keeping them: for an address too busy to hold.
func (v *view) stream(ctx context.Context, g Graph, addr string, until time.Time, fn func(*post) bool) error {
	q := chain.PostingQuery{Oldest: true, Until: until}
	return g.Postings(ctx, v.c, addr, q, func(p chain.Posting) bool {
		x := v.intern(&p)
		return fn(&x)
	})
}

// historian is a graph that keeps histories in views; a trace reads
// through the view it gets at its start.
type historian interface {
	// view returns the view a trace of chain c reads, and what to call
	// when the trace is done with it.
	view(ctx context.Context, c chain.Chain) (*view, func(), error)
	// history returns addr's history in v; ok is false if the address
	// is too busy to hold, and must be streamed.
	history(ctx context.Context, v *view, addr uint32) (ps []post, ok bool, err error)
	// workspaces keeps traces' working memory from one to the next.
	workspaces() *workspaces
}

// traversal is a graph laid out for traversal (graph.Traversal): a trace
// reads a snapshot of it, by the traversal's own ids, and holds no
// histories of its own: decoding one from the snapshot's memory costs
// less than keeping it.
type traversal interface {
	Snapshot(ctx context.Context, c chain.Chain) (*graph.Snapshot, error)
}

// snapView is a trace's view of a traversal's snapshot; Bitcoin, traced
// coin by coin, keeps interning.
func snapView(ctx context.Context, g Graph, c chain.Chain, mu *sync.Mutex) (*view, func(), error) {
	v := newView(c, mu)
	tv, ok := g.(traversal)
	if !ok || c == chain.Bitcoin {
		return v, func() {}, nil
	}
	snap, err := tv.Snapshot(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	v.snap = snap
	return v, snap.Release, nil
}

// ownHistory reads histories into a trace's own view, kept for the
// trace's length: each address is read from the store once however often
// the trace replays it. Past limit postings (the trace reads no further)
// the history is cut short, and it ends at the trace window's end.
func ownHistory(ctx context.Context, g Graph, v *view, addr uint32, limit int, until time.Time) ([]post, error) {
	v.mu.Lock()
	h := v.hist(addr)
	name := v.addrs.names[addr]
	v.mu.Unlock()
	if h != nil {
		return h.ps, nil
	}
	ps, _, err := v.read(ctx, g, name, until, limit)
	if err != nil {
		return nil, err
	}
	v.mu.Lock()
	v.setHist(addr, &hist{v: v, addr: addr, ps: ps})
	v.mu.Unlock()
	return ps, nil
}

// hist returns the history held for address id, or nil; the caller holds
// v.mu.
func (v *view) hist(id uint32) *hist {
	if int(id) < len(v.hists) {
		return v.hists[id]
	}
	return nil
}

// setHist holds h for address id (nil: none); the caller holds v.mu.
func (v *view) setHist(id uint32, h *hist) {
	if int(id) >= len(v.hists) {
		v.hists = slices.Grow(v.hists, max(int(id)+1, 2*len(v.hists))-len(v.hists))
		v.hists = v.hists[:cap(v.hists)]
	}
	v.hists[id] = h
}

func (v *view) addrName(id uint32) string {
	if v.snap != nil {
		if id < extAddr {
			return v.snap.Address(id)
		}
		v.mu.Lock()
		defer v.mu.Unlock()
		return v.addrs.names[id-extAddr]
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	name := v.addrs.names[id]
	v.lastName, v.lastID = name, id
	return name
}

// addrID returns an address's id if v has interned it; the caller holds
// v.mu. The name addrName gave out last is answered without the index:
// a trace asks for an address's name to label it, and the deposit check
// then asks the cache about that address.
func (v *view) addrID(name string) (uint32, bool) {
	if name == v.lastName && name != "" {
		return v.lastID, true
	}
	id, ok := v.addrs.idx[name]
	return id, ok
}

func (v *view) txName(id uint64) string {
	v.mu.Lock()
	nm := v.namesLocked()
	v.mu.Unlock()
	return nm.tx(id)
}

// taints is the taint of an address's incoming transfers: the first in
// place, then a short slice searched in turn, as most addresses a trace
// reaches receive taint once or twice, and a map once it grows.
type taints struct {
	one    taintAt
	hasOne bool
	s      []taintAt
	m      map[tid]chain.Amount
}

type taintAt struct {
	id tid
	a  chain.Amount
}

const taintsInline = 8

func (x *taints) get(id tid) (chain.Amount, bool) {
	if x.hasOne && x.one.id == id {
		return x.one.a, true
	}
	if x.m != nil {
		a, ok := x.m[id]
		return a, ok
	}
	for i := range x.s {
		if x.s[i].id == id {
			return x.s[i].a, true
		}
	}
	return chain.Amount{}, false
}

// set records a transfer's taint; w provides the room it may need.
func (x *taints) set(w *workspace, id tid, a chain.Amount) {
	if x.hasOne && x.one.id == id {
		x.one.a = a
		return
	}
	if !x.hasOne && x.m == nil && len(x.s) == 0 {
		x.one, x.hasOne = taintAt{id, a}, true
		return
	}
	if x.m != nil {
		x.m[id] = a
		return
	}
	for i := range x.s {
		if x.s[i].id == id {
			x.s[i].a = a
			return
		}
	}
	if x.s == nil {
		x.s = w.taintSlice()
	}
	if len(x.s) < taintsInline {
		x.s = append(x.s, taintAt{id, a})
		return
	}
	x.m = w.taintMap()
	for _, t := range x.s {
		x.m[t.id] = t.a
	}
	x.s = nil
	x.m[id] = a
}

func (x *taints) del(id tid) {
	if x.hasOne && x.one.id == id {
		x.hasOne = false
		return
	}
	if x.m != nil {
		delete(x.m, id)
		return
	}
	for i := range x.s {
		if x.s[i].id == id {
			x.s = append(x.s[:i], x.s[i+1:]...)
			return
		}
	}
}

// all calls fn with each transfer and its taint, in no set order.
func (x *taints) all(fn func(tid, chain.Amount)) {
	if x.hasOne {
		fn(x.one.id, x.one.a)
	}
	for id, a := range x.m {
		fn(id, a)
	}
	for _, t := range x.s {
		fn(t.id, t.a)
	}
}

// sum is the taint of all the transfers.
func (x *taints) sum() chain.Amount {
	var s chain.Amount
	x.all(func(_ tid, a chain.Amount) { s, _ = s.Add(a) })
	return s
}

// edgeIndex finds an edge of a replay's outgoing edges by its transfer.
type edgeIndex struct {
	es []edge
	m  map[tid]int
}

func (x *edgeIndex) find(id tid) *edge {
	if x.m != nil {
		if i, ok := x.m[id]; ok {
			return &x.es[i]
		}
		return nil
	}
	for i := range x.es {
		if x.es[i].id == id {
			return &x.es[i]
		}
	}
	return nil
}
