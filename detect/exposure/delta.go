package exposure

import (
	"container/heap"
	"context"

	"github.com/tracehound/tracehound/chain"
)

// PostingReader reads an address's postings in one asset, oldest first,
// up to and including block through: the transfer graph.
type PostingReader interface {
	Postings(ctx context.Context, addr string, asset chain.Asset, through uint64, fn func(chain.Posting) bool) error
}

// DeltaStats says what adding sources touched.
type DeltaStats struct {
	Sources  int // addresses that became sources
	Affected int // addresses whose history was replayed
	Arrivals int // taint arrivals recorded
	Postings int // postings read
}

// AddSources makes the addresses of added sources of the categories their
// masks name, from the start of the history, without a replay of the
// chain: the taint a source adds is linear under the haircut model, so it
// is followed forward from the source alone, address by address in chain
// order, through the postings r gives, and added to what the engine
// holds. src is the engine's sources from then on (the added ones
// included).
//
// It applies to account chains, and only to categories that carry taint
// (not services, whose payouts end propagation: a new service changes
// what others pass on, which only a rebuild recomputes). Fees are not in
// the postings, so a balance a fee reduced is read as larger and the
// share passed on as smaller than a replay of the blocks gives: the
// answer is reflected at once, and exact after the next rebuild.
//
// The caller must not apply blocks to the engine while AddSources runs:
// it reads the history up to the engine's last block.
func (e *Engine) AddSources(ctx context.Context, r PostingReader, added map[string]Mask, src Sources) (DeltaStats, error) {
	e.mu.RLock()
	through, applied := e.through, e.applied
	maxHops := e.maxHops
	e.mu.RUnlock()
	d := &delta{ctx: ctx, r: r, src: src, c: e.chain, through: through, maxHops: maxHops, states: make(map[acctKey]*dstate)}
	if applied {
		for addr, m := range added {
			if m &^= services; m == 0 {
				continue
			}
			d.st.Sources++
			if err := d.source(addr, m); err != nil {
				return d.st, err
			}
		}
		if err := d.run(); err != nil {
			return d.st, err
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.src = src
	for _, a := range d.arrivals {
		e.acct(a.addr, a.asset).addIn(a.cat, a.hop, a.amt, a.tx, a.from, a.source)
	}
	for _, o := range d.outs {
		e.acct(o.addr, o.asset).addOut(o.cat, o.amt, o.tx, o.to)
	}
	for k, s := range d.states {
		if len(s.held) == 0 {
			continue
		}
		a := e.acct(k.addr, k.asset)
		for _, h := range s.held {
			if h.amt.IsZero() {
				continue
			}
			merged := false
			for i := range a.held {
				if a.held[i].cat == h.cat && a.held[i].hop == h.hop {
					a.held[i].amt, _ = a.held[i].amt.Add(h.amt)
					merged = true
					break
				}
			}
			if !merged {
				a.held = append(a.held, h)
			}
		}
	}
	return d.st, nil
}

// acctKey names one address's account in one asset.
type acctKey struct {
	addr  string
	asset chain.Asset
}

type arrival struct {
	addr             string
	asset            chain.Asset
	cat, hop         uint8
	amt              chain.Amount
	tx, from, source string
}

type payment struct {
	addr   string
	asset  chain.Asset
	cat    uint8
	amt    chain.Amount
	tx, to string
}

// dstate is an affected address's replay: its postings, the next one,
// its balance and the new taint it holds.
type dstate struct {
	key      acctKey
	postings []chain.Posting
	next     int
	balance  chain.Amount
	held     []held
	mask     Mask
	// emit are the categories the address is a new source of.
	emit    Mask
	sources map[uint8]string
}

type delta struct {
	ctx      context.Context
	r        PostingReader
	src      Sources
	c        chain.Chain
	through  uint64
	maxHops  uint8
	states   map[acctKey]*dstate
	queue    dqueue
	arrivals []arrival
	outs     []payment
	st       DeltaStats
}

// source follows a new source from the start of its history, in each
// asset it moved: what it pays arrives as its categories at one hop,
// what is paid to it is its payers' outgoing exposure. It joins the
// replay like any affected address, so that everything happens in chain
// order.
func (d *delta) source(addr string, m Mask) error {
	byAsset := map[chain.Asset][]chain.Posting{}
	if err := d.r.Postings(d.ctx, addr, AnyAsset, d.through, func(p chain.Posting) bool {
		byAsset[p.Asset] = append(byAsset[p.Asset], p)
		return true
	}); err != nil {
		return err
	}
	for asset, ps := range byAsset {
		d.st.Postings += len(ps)
		k := acctKey{addr, asset}
		s := d.states[k]
		if s == nil {
			s = &dstate{key: k, mask: d.src.Mask(d.c, addr), postings: ps}
			d.states[k] = s
			d.st.Affected++
			heap.Push(&d.queue, s)
		}
		s.emit |= m
	}
	return nil
}

// AnyAsset asks a PostingReader for the postings of every asset.
const AnyAsset chain.Asset = "*"

// ChainPostings is the transfer graph as the store reads it: an
// address's postings on a chain, by query.
type ChainPostings interface {
	Postings(ctx context.Context, c chain.Chain, addr string, q chain.PostingQuery, fn func(chain.Posting) bool) error
}

// GraphPostings reads chain C's postings from G for AddSources.
type GraphPostings struct {
	G ChainPostings
	C chain.Chain
}

// Postings gives addr's postings in asset, oldest first, up to block
// through.
func (r GraphPostings) Postings(ctx context.Context, addr string, asset chain.Asset, through uint64, fn func(chain.Posting) bool) error {
	return r.G.Postings(ctx, r.C, addr, chain.PostingQuery{Oldest: true}, func(p chain.Posting) bool {
		// Blocks the engine has not applied yet wait for the advance
		// that applies them.
		if p.Block > through || (asset != AnyAsset && p.Asset != asset) {
			return true
		}
		return fn(p)
	})
}

// arrive records taint of cat arriving at to by posting p (seen from its
// sender), and follows the address if it may pass it on.
func (d *delta) arrive(p chain.Posting, to string, cat, hop uint8, amt chain.Amount, from, source string) error {
	if amt.IsZero() || hop > d.maxHops {
		return nil
	}
	d.arrivals = append(d.arrivals, arrival{addr: to, asset: p.Asset, cat: cat, hop: hop, amt: amt, tx: p.Tx, from: from, source: source})
	d.st.Arrivals++
	if hop >= d.maxHops {
		return nil
	}
	m := d.src.Mask(d.c, to)
	if m&services != 0 || m.Has(int(cat)) {
		// A service's payouts carry its own category, and a source
		// passes on its own: neither passes on this taint.
		return nil
	}
	s, err := d.state(to, p.Asset, p)
	if err != nil || s == nil {
		return err
	}
	if s.sources == nil {
		s.sources = make(map[uint8]string)
	}
	if _, ok := s.sources[cat]; !ok || hop == 1 {
		s.sources[cat] = source
	}
	for i := range s.held {
		if s.held[i].cat == cat && s.held[i].hop == hop {
			s.held[i].amt, _ = s.held[i].amt.Add(amt)
			return nil
		}
	}
	s.held = append(s.held, held{cat, hop, amt})
	return nil
}

// state returns the replay of addr in asset, starting one at posting p
// (the arrival that affects it): its balance before p, its postings from
// p on.
func (d *delta) state(addr string, asset chain.Asset, p chain.Posting) (*dstate, error) {
	k := acctKey{addr, asset}
	if s := d.states[k]; s != nil {
		return s, nil
	}
	s := &dstate{key: k, mask: d.src.Mask(d.c, addr)}
	at := position(p)
	var bal chain.Amount
	if err := d.r.Postings(d.ctx, addr, asset, d.through, func(q chain.Posting) bool {
		d.st.Postings++
		if cmpPos(position(q), at) < 0 {
			if q.Incoming {
				bal, _ = bal.Add(q.Amount)
			} else if q.Amount.Cmp(bal) >= 0 {
				bal = chain.Amount{}
			} else {
				bal, _ = bal.Sub(q.Amount)
			}
			return true
		}
		s.postings = append(s.postings, q)
		return true
	}); err != nil {
		return nil, err
	}
	s.balance = bal
	d.states[k] = s
	d.st.Affected++
	if len(s.postings) > 0 {
		heap.Push(&d.queue, s)
	}
	return s, nil
}

// run replays the affected addresses' postings in chain order: a payment
// passes the payer's new taint on in proportion to its balance.
func (d *delta) run() error {
	for n := 0; d.queue.Len() > 0; n++ {
		if n%4096 == 0 {
			if err := d.ctx.Err(); err != nil {
				return err
			}
		}
		s := heap.Pop(&d.queue).(*dstate)
		p := s.postings[s.next]
		s.next++
		if s.next < len(s.postings) {
			heap.Push(&d.queue, s)
		}
		if p.Counterparty == s.key.addr || p.Counterparty == "" {
			continue
		}
		if p.Incoming {
			s.balance, _ = s.balance.Add(p.Amount)
			for i := range Categories {
				if s.emit.Has(i) && !p.Amount.IsZero() {
					d.outs = append(d.outs, payment{addr: p.Counterparty, asset: p.Asset, cat: uint8(i), amt: p.Amount, tx: p.Tx, to: s.key.addr})
				}
			}
			continue
		}
		for i := range Categories {
			if s.emit.Has(i) {
				if err := d.arrive(p, p.Counterparty, uint8(i), 1, p.Amount, s.key.addr, s.key.addr); err != nil {
					return err
				}
			}
		}
		if err := d.pay(s, p); err != nil {
			return err
		}
	}
	return nil
}

// pay takes a payment out of s, passing its share of the new taint on.
func (d *delta) pay(s *dstate, p chain.Posting) error {
	bal := s.balance
	all := p.Amount.Cmp(bal) >= 0
	kept := s.held[:0]
	var passed []held
	for _, h := range s.held {
		t := h.amt
		if !all {
			t = h.amt.MulDiv(p.Amount, bal)
		}
		if !t.IsZero() {
			passed = append(passed, held{h.cat, h.hop, t})
		}
		if rest, under := h.amt.Sub(t); !under && !rest.IsZero() {
			kept = append(kept, held{h.cat, h.hop, rest})
		}
	}
	s.held = kept
	if all {
		s.balance = chain.Amount{}
	} else {
		s.balance, _ = bal.Sub(p.Amount)
	}
	for _, h := range passed {
		if err := d.arrive(p, p.Counterparty, h.cat, h.hop+1, h.amt, s.key.addr, s.sources[h.cat]); err != nil {
			return err
		}
	}
	return nil
}

// pos orders postings as the chain does.
type pos struct {
	block uint64
	tx    uint32
	kind  chain.TransferKind
	pos   uint32
	// out puts a transfer's paying side after its receiving side: an
	// address that starts being followed at a payment it receives has
	// that payment in its balance.
	out bool
}

func position(p chain.Posting) pos {
	return pos{p.Block, p.TxIndex, p.Kind, p.Pos, !p.Incoming}
}

func cmpPos(a, b pos) int {
	switch {
	case a.block != b.block:
		return cmpU(a.block, b.block)
	case a.tx != b.tx:
		return cmpU(uint64(a.tx), uint64(b.tx))
	case a.kind != b.kind:
		return cmpU(uint64(a.kind), uint64(b.kind))
	case a.pos != b.pos:
		return cmpU(uint64(a.pos), uint64(b.pos))
	case a.out != b.out:
		if !a.out {
			return -1
		}
		return 1
	}
	return 0
}

func cmpU(a, b uint64) int {
	if a < b {
		return -1
	}
	if a > b {
		return 1
	}
	return 0
}

// dqueue orders affected addresses by their next posting.
type dqueue []*dstate

func (q dqueue) Len() int { return len(q) }
func (q dqueue) Less(i, j int) bool {
	return cmpPos(position(q[i].postings[q[i].next]), position(q[j].postings[q[j].next])) < 0
}
func (q dqueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *dqueue) Push(x any)   { *q = append(*q, x.(*dstate)) }
func (q *dqueue) Pop() any {
	old := *q
	s := old[len(old)-1]
	*q = old[:len(old)-1]
	return s
}
