package trace

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tracehound/tracehound/chain"
)

// nodeKey names a node: an address's taint in one asset, by their ids in
// the trace's view.
type nodeKey struct {
	addr, asset uint32
}

type node struct {
	nodeKey
	hop       int
	in        taints // tainted incoming
	out       []edge // tainted outgoing, from the last replay, in its order
	label     *Label
	labelled  bool   // label was looked up (a seed needs none)
	name      string // the address, once the trace named it
	seed      bool
	truncated bool
	ep        int32 // collect's: the node's place among the endpoints
	remaining chain.Amount
	queued    bool
	// spent, for Bitcoin, is the taint of the address's coins that traced
	// transactions spent.
	spent *chain.Amount
}

// edge is a transfer that carried taint, by ids in the trace's view;
// collect turns the final ones into Edges.
type edge struct {
	id              tid
	txi             uint32 // the transaction's index in its block, if known (noIndex)
	block           uint64
	sec             int64
	nsec            uint32
	from, to, asset uint32
	amount, tainted chain.Amount
	hop             int
	swap            bool
	// fromNode and toNode are the sender's and the recipient's nodes;
	// toNode is nil while the recipient has none (dust), fromNode for a
	// swap's payout.
	fromNode, toNode *node
}

func (e *edge) setTime(t time.Time) { e.sec, e.nsec = t.Unix(), uint32(t.Nanosecond()) }

// noIndex marks an edge whose transaction's place in its block is not
// known (a swap's payout, read from the transaction; a Bitcoin output).
const noIndex = math.MaxUint32

type tracer struct {
	g Graph
	o Options
	// v interns the trace's strings; h, if set, holds the histories,
	// else the trace reads them into v for its own length.
	v     *view
	h     historian
	asset uint32 // the traced asset, in v
	nodes *nodeTable
	// queue holds the nodes waiting for a replay from head on: the room
	// of those replayed is reused, so that queueing allocates only to
	// grow the queue's largest length.
	queue []*node
	head  int
	res   *Result
	// venues are the nodes at DeFi venues, whose tainted intakes swaps
	// carry on; swapOut the payouts last computed, swapTxs the venues'
	// transactions read, labels the lookups made.
	venues  []*node
	swapOut map[tid]*edge
	swapTxs map[uint64][]chain.Transfer
	labels  map[uint32]*Label
	// minFor is the dust limit in each asset swapped into.
	minFor map[uint32]chain.Amount
	// seeds are the transfers tainted in full by the seeds; seedComputed
	// the taint the trace itself carried into them.
	seeds, seedComputed map[tid]chain.Amount
	// ws is the trace's working memory; slab holds nodes, allocated a
	// few hundred at a time; edges the
	// replays' edges, a thousand at a time.
	ws    *workspace
	slab  []node
	edges []edge
	// scratch collects a replay's edges, which settle then copies into
	// a slice of their number.
	scratch []edge
}

// runLeg traces forward from the seeds on one chain, in one asset.
func runLeg(ctx context.Context, g Graph, seeds []Seed, o Options) (*Result, error) {
	start := time.Now()
	if len(seeds) == 0 {
		return nil, errors.New("trace: no seeds")
	}
	if o.Model == "" {
		o.Model = Haircut
	}
	if _, err := ParseModel(string(o.Model)); err != nil {
		return nil, err
	}
	if o.MaxHops <= 0 {
		o.MaxHops = DefaultMaxHops
	}
	if o.MaxAddresses <= 0 {
		o.MaxAddresses = DefaultMaxAddresses
	}
	if o.MaxPostings <= 0 {
		o.MaxPostings = DefaultMaxPostings
	}
	if !o.Until.IsZero() && !o.Since.IsZero() && !o.Until.After(o.Since) {
		return nil, fmt.Errorf("trace: window %s..%s is empty", o.Since.Format(time.RFC3339), o.Until.Format(time.RFC3339))
	}
	t := &tracer{g: g, o: o, swapOut: make(map[tid]*edge), swapTxs: make(map[uint64][]chain.Transfer),
		minFor: make(map[uint32]chain.Amount), seeds: make(map[tid]chain.Amount), seedComputed: make(map[tid]chain.Amount),
		res: &Result{Chain: o.Chain, Asset: o.Asset, Model: o.Model, Seeds: seeds, MinAmount: o.MinAmount}}
	if h, ok := g.(historian); ok {
		v, done, err := h.view(ctx, o.Chain)
		if err != nil {
			return nil, err
		}
		defer done()
		t.h, t.v = h, v
		// Nothing of the workspace outlives the trace: the result holds
		// copies, and its labels are allocated apart.
		t.ws = h.workspaces().get()
		defer func() {
			t.ws.queue = t.queue
			h.workspaces().put(t.ws)
		}()
	} else {
		v, done, err := snapView(ctx, g, o.Chain, new(sync.Mutex))
		if err != nil {
			return nil, err
		}
		defer done()
		// The working memory of traces without a cache is kept between
		// them too: a trace on a traversal allocated 22 MB otherwise.
		t.v, t.ws = v, bare.get()
		defer func() {
			t.ws.queue = t.queue
			bare.put(t.ws)
		}()
	}
	t.nodes, t.labels, t.queue = &t.ws.nodes, t.ws.labels, t.ws.queue
	t.asset = t.v.asset(o.Asset)
	if err := t.checkTip(ctx); err != nil {
		return nil, err
	}
	if o.Chain == chain.Bitcoin {
		if err := t.runUTXO(ctx, seeds); err != nil {
			return nil, err
		}
		t.res.Elapsed = time.Since(start)
		return t.res, nil
	}
	for _, s := range seeds {
		if err := t.seed(ctx, s); err != nil {
			return nil, err
		}
	}
	replays := 0
	for round := 0; ; round++ {
		for t.waiting() > 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if !t.queue[t.head].labelled {
				if err := t.labelQueued(ctx); err != nil {
					return nil, err
				}
			}
			n := t.pop()
			if err := t.replay(ctx, n); err != nil {
				return nil, err
			}
			if replays++; o.Progress != nil && replays%256 == 0 {
				o.Progress(t.nodes.len(), t.waiting())
			}
		}
		if o.NoSwaps || len(t.venues) == 0 {
			break
		}
		// Swaps pay out of what the venues received: once the taint has
		// settled, carry it through them, and settle again.
		if round == maxSwapRounds {
			t.res.Warnings = append(t.res.Warnings, fmt.Sprintf("swaps were followed for %d rounds and their taint was still changing: the amounts past them are not final", maxSwapRounds))
			break
		}
		if err := t.swaps(ctx); err != nil {
			return nil, err
		}
		if t.waiting() == 0 {
			break
		}
	}
	t.collect()
	t.res.Elapsed = time.Since(start)
	return t.res, nil
}

// checkTip refuses a chain with nothing ingested and records how far
// the store reaches, so that a reader knows what the trace could see.
func (t *tracer) checkTip(ctx context.Context) error {
	tip, ok, err := t.g.Tip(ctx, t.o.Chain)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("trace: nothing of %s is ingested", t.o.Chain)
	}
	t.res.Through = tip.Height
	if tip.Time.IsZero() {
		return nil
	}
	if !t.o.Since.IsZero() && t.o.Since.After(tip.Time) {
		return fmt.Errorf("trace: the window starts %s, after the last %s block stored (%d, %s): ingest up to then first",
			t.o.Since.UTC().Format(time.RFC3339), t.o.Chain, tip.Height, tip.Time.Format(time.RFC3339))
	}
	if !t.o.Until.IsZero() && t.o.Until.After(tip.Time.Add(time.Second)) {
		t.res.Warnings = append(t.res.Warnings, fmt.Sprintf("the window runs to %s but the store holds %s only through block %d (%s): transfers after that are missing",
			t.o.Until.UTC().Format(time.RFC3339), t.o.Chain, tip.Height, tip.Time.Format(time.RFC3339)))
	}
	return nil
}

func (t *tracer) query(incoming, outgoing bool) chain.PostingQuery {
	return chain.PostingQuery{Incoming: incoming, Outgoing: outgoing, Since: t.o.Since, Until: t.o.Until, Oldest: true}
}

// seedQuery is the window of a seed's own arrivals.
func (t *tracer) seedQuery(s Seed) chain.PostingQuery {
	q := t.query(true, false)
	if !s.Since.IsZero() {
		q.Since = s.Since
	}
	return q
}

func (t *tracer) seed(ctx context.Context, s Seed) error {
	if s.Output != nil && t.o.Chain != chain.Bitcoin {
		return fmt.Errorf("trace: seed %s: an output index names a Bitcoin output; on %s give the recipient's address", s, t.o.Chain)
	}
	switch {
	case s.Tx != "":
		return t.seedTx(ctx, s)
	case s.Address != "":
		n := t.node(t.v.addr(s.Address), s.hop)
		t.seedNode(n, s)
		found := false
		budget := newSeedBudget(s)
		err := t.g.Postings(ctx, t.o.Chain, s.Address, t.seedQuery(s), func(p chain.Posting) bool {
			if p.Asset != t.o.Asset {
				return true
			}
			a, ok := budget.take(p.Amount)
			if !ok {
				return false
			}
			t.seedArrival(n, tid{t.v.tx(p.Tx, p.Block), p.Pos, p.Kind}, a)
			found = true
			return true
		})
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("trace: seed %s received no %s in the window: nothing to trace (is the chain ingested for that period?)", s.Address, assetName(t.o.Asset))
		}
		if err := budget.short(s); err != nil {
			return err
		}
		t.push(n)
	default:
		return errors.New("trace: empty seed")
	}
	return nil
}

// TxReader is the part of the graph that reads a transaction, for seeds
// given as transactions.
type TxReader interface {
	TxTransfers(ctx context.Context, c chain.Chain, hash string) ([]chain.Transfer, bool, error)
}

func (t *tracer) seedTx(ctx context.Context, s Seed) error {
	r, ok := t.g.(TxReader)
	if !ok {
		return errors.New("trace: this graph cannot read transactions")
	}
	trs, found, err := t.o.payouts.txTransfers(ctx, r, t.o.Chain, s.Tx)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("trace: seed transaction %s is not in the store", s.Tx)
	}
	any := false
	budget := newSeedBudget(s)
	for _, tr := range trs {
		if tr.Asset != t.o.Asset || tr.To == "" || s.Address != "" && tr.To != s.Address {
			continue
		}
		a, ok := budget.take(tr.Amount)
		if !ok {
			break
		}
		n := t.node(t.v.addr(tr.To), s.hop)
		t.seedNode(n, s)
		t.seedArrival(n, tid{t.v.tx(tr.Tx, tr.Block), tr.Pos, tr.Kind}, a)
		t.push(n)
		any = true
	}
	if !any {
		if s.Address != "" {
			return fmt.Errorf("trace: seed transaction %s paid %s no %s", s.Tx, s.Address, assetName(t.o.Asset))
		}
		return fmt.Errorf("trace: seed transaction %s moved no %s", s.Tx, assetName(t.o.Asset))
	}
	return budget.short(s)
}

func assetName(a chain.Asset) string {
	if a == chain.Native {
		return "native coin"
	}
	return string(a)
}

// node returns the address's node in the traced asset.
func (t *tracer) node(addr uint32, hop int) *node {
	return t.nodeIn(nodeKey{addr, t.asset}, hop)
}

func (t *tracer) nodeIn(k nodeKey, hop int) *node {
	n := t.nodes.get(k)
	if n == nil {
		if len(t.slab) == cap(t.slab) {
			t.slab = t.ws.slab(min(256, max(8, t.nodes.len())))
		}
		t.slab = append(t.slab, node{nodeKey: k, hop: hop})
		n = &t.slab[len(t.slab)-1]
		t.nodes.put(n)
	}
	return n
}

func (t *tracer) push(n *node) {
	if n.queued {
		return
	}
	n.queued = true
	if len(t.queue) == cap(t.queue) && t.head > 0 && t.head >= len(t.queue)/2 {
		k := copy(t.queue, t.queue[t.head:])
		clear(t.queue[k:])
		t.queue, t.head = t.queue[:k], 0
	}
	t.queue = append(t.queue, n)
}

// pop takes the next node to replay off the queue.
func (t *tracer) pop() *node {
	n := t.queue[t.head]
	t.queue[t.head] = nil
	t.head++
	if t.head == len(t.queue) {
		t.queue, t.head = t.queue[:0], 0
	}
	n.queued = false
	return n
}

// waiting is the number of nodes queued.
func (t *tracer) waiting() int { return len(t.queue) - t.head }

// replay walks an address's history in time order with its tainted
// arrivals and recomputes what taint it sent; recipients whose tainted
// arrivals changed are queued.
func (t *tracer) replay(ctx context.Context, n *node) error {
	if n.hop >= t.o.MaxHops || n.label != nil {
		return nil
	}
	// The whole history up to the window's end counts: clean value held
	// before the taint arrived dilutes it.
	ps, ok, err := t.history(ctx, n.addr)
	if err != nil {
		return fmt.Errorf("trace %s: %w", t.v.addrName(n.addr), err)
	}
	if !ok {
		return t.replayStream(ctx, n)
	}
	// rs stays on the stack: the streaming replay, whose callback would
	// move it to the heap, is a function of its own.
	rs := replayState{t: t, n: n, out: t.scratch[:0]}
	for i := range ps {
		p := &ps[i]
		if !t.o.Until.IsZero() && !p.before(t.o.Until) {
			break
		}
		if !rs.step(p) {
			break
		}
	}
	return t.settle(ctx, n, &rs)
}

// replayStream replays an address too busy to hold in memory as the
// graph streams its history.
func (t *tracer) replayStream(ctx context.Context, n *node) error {
	rs := &replayState{t: t, n: n, out: t.scratch[:0]}
	if err := t.v.stream(ctx, t.g, t.v.addrName(n.addr), t.o.Until, rs.step); err != nil {
		return fmt.Errorf("trace %s: %w", t.v.addrName(n.addr), err)
	}
	return t.settle(ctx, n, rs)
}

// history returns an address's history, oldest first; ok is false for
// an address too busy to hold, which is streamed instead.
func (t *tracer) history(ctx context.Context, addr uint32) ([]post, bool, error) {
	if t.v.snap != nil {
		return t.snapHistory(addr)
	}
	if t.h != nil {
		return t.h.history(ctx, t.v, addr)
	}
	limit := t.o.MaxPostings
	if limit < math.MaxInt {
		limit++ // one more than a replay reads, to tell it was cut
	}
	ps, err := ownHistory(ctx, t.g, t.v, addr, limit, t.o.Until)
	return ps, err == nil, err
}

// snapHistory decodes an address's history from the traversal into the
// trace's buffer, which the next call reuses.
func (t *tracer) snapHistory(addr uint32) ([]post, bool, error) {
	if addr >= extAddr {
		return nil, true, nil // not in the store
	}
	gs, err := t.v.snap.History(addr, t.ws.gposts[:0])
	t.ws.gposts = gs
	if err != nil {
		return nil, false, err
	}
	ps := slices.Grow(t.ws.posts[:0], len(gs))[:len(gs)]
	for i := range gs {
		p := &gs[i]
		ps[i] = post{amount: p.Amount, sec: p.Unix, block: p.Block, txi: p.TxIndex, pos: p.Pos, tx: uint64(p.Tx), peer: p.Peer, asset: p.Asset, kind: p.Kind, in: p.In}
	}
	t.ws.posts = ps
	return ps, true, nil
}

// replayState is one replay's running balance.
type replayState struct {
	t          *tracer
	n          *node
	bal, taint chain.Amount // balance and tainted balance (haircut)
	lots       []lot        // FIFO
	out        []edge
	count      int
}

// step applies one posting; false stops the replay.
func (rs *replayState) step(p *post) bool {
	t, n := rs.t, rs.n
	rs.count++
	if rs.count > t.o.MaxPostings {
		n.truncated = true
		return false
	}
	if p.asset != n.asset {
		return true
	}
	if p.in {
		ti, _ := n.in.get(p.id())
		rs.bal, _ = rs.bal.Add(p.amount)
		rs.taint, _ = rs.taint.Add(ti)
		if t.o.Model == FIFO {
			rs.lots = append(rs.lots, lot{p.amount, ti})
		}
		return true
	}
	if p.kind == chain.KindInput {
		// Bitcoin inputs are the address's spends; the transfers they
		// fund are traced through their outputs.
		return true
	}
	var sent chain.Amount
	switch t.o.Model {
	case Poison:
		if !rs.taint.IsZero() {
			sent = p.amount
		}
	case Haircut:
		if !rs.taint.IsZero() {
			den := rs.bal
			if den.Cmp(p.amount) < 0 {
				// The graph lacks value the address had (genesis
				// allocations, block rewards): all it sends is its own.
				den = p.amount
			}
			sent = mulDiv(p.amount, rs.taint, den)
			if sent.Cmp(rs.taint) > 0 {
				sent = rs.taint
			}
			rs.taint, _ = rs.taint.Sub(sent)
		}
		rs.bal = sub(rs.bal, p.amount)
	case FIFO:
		sent, rs.lots = consume(rs.lots, p.amount)
	}
	if sent.IsZero() {
		return true
	}
	rs.out = append(rs.out, edge{id: p.id(), txi: p.txi, block: p.block, sec: p.sec, nsec: p.nsec, from: n.addr, to: p.peer,
		amount: p.amount, tainted: sent, asset: n.asset, hop: n.hop + 1})
	return true
}

// settle records a replay's outcome and updates the recipients whose
// arrivals changed, appeared or vanished.
func (t *tracer) settle(ctx context.Context, n *node, rs *replayState) error {
	switch t.o.Model {
	case Haircut:
		n.remaining = rs.taint
	case FIFO:
		n.remaining = chain.Amount{}
		for _, l := range rs.lots {
			n.remaining, _ = n.remaining.Add(l.taint)
		}
	}
	// A transfer is paid once, so each replay's edges are distinct.
	// A first replay (no edges before) needs neither index.
	var was, is edgeIndex
	if len(n.out) > 0 {
		was, is = t.ws.edgeIndex(0, n.out), t.ws.edgeIndex(1, rs.out)
		defer t.ws.done(&was)
		defer t.ws.done(&is)
	}
	for i := range rs.out {
		e := &rs.out[i]
		if old := was.find(e.id); old != nil && old.tainted.Cmp(e.tainted) == 0 {
			e.toNode = old.toNode
			continue
		}
		if err := t.arrive(ctx, e); err != nil {
			return err
		}
	}
	for i := range n.out {
		old := &n.out[i]
		if is.find(old.id) == nil {
			if r := old.toNode; r != nil {
				r.in.del(old.id)
				t.push(r)
			}
		}
	}
	t.scratch = rs.out[:0]
	n.out = t.keep(rs.out)
	for i := range n.out {
		n.out[i].fromNode = n
	}
	return nil
}

// keep copies a replay's edges into the trace's chunks of edges: one
// allocation for many nodes rather than one for each.
func (t *tracer) keep(es []edge) []edge {
	if len(es) == 0 {
		return nil
	}
	if len(es) > cap(t.edges)-len(t.edges) {
		t.edges = t.ws.chunk(max(1024, len(es)))
	}
	at := len(t.edges)
	t.edges = append(t.edges, es...)
	return t.edges[at:len(t.edges):len(t.edges)]
}

// mulDiv is a.MulDiv(num, den) with a fast path for amounts of 64 bits,
// which most are: the 512-bit general case was a twentieth of a trace.
func mulDiv(a, num, den chain.Amount) chain.Amount {
	x, ok1 := a.Uint64()
	y, ok2 := num.Uint64()
	d, ok3 := den.Uint64()
	if ok1 && ok2 && ok3 && d != 0 {
		hi, lo := bits.Mul64(x, y)
		if hi < d {
			q, _ := bits.Div64(hi, lo, d)
			return chain.NewAmount(q)
		}
	}
	return a.MulDiv(num, den)
}

func sub(a, b chain.Amount) chain.Amount {
	r, under := a.Sub(b)
	if under {
		return chain.Amount{}
	}
	return r
}

// lot is value that arrived in one transfer, for FIFO.
type lot struct{ amount, taint chain.Amount }

// consume takes amount from the oldest lots and returns the taint it
// carried.
func consume(lots []lot, amount chain.Amount) (chain.Amount, []lot) {
	var taint chain.Amount
	for len(lots) > 0 && !amount.IsZero() {
		l := &lots[0]
		take := amount
		if l.amount.Cmp(take) < 0 {
			take = l.amount
		}
		var t chain.Amount
		if take.Cmp(l.amount) == 0 {
			t = l.taint
		} else {
			t = take.MulDiv(l.taint, l.amount)
		}
		taint, _ = taint.Add(t)
		l.taint = sub(l.taint, t)
		l.amount = sub(l.amount, take)
		amount = sub(amount, take)
		if l.amount.IsZero() {
			lots = lots[1:]
		}
	}
	return taint, lots
}

// arrive records a tainted transfer at its recipient.
func (t *tracer) arrive(ctx context.Context, e *edge) error {
	id := e.id
	k := nodeKey{e.to, e.asset}
	r := t.nodes.get(k)
	if r == nil {
		dust := t.o.MinAmount
		if e.asset != t.asset {
			dust = t.minFor[e.asset]
		}
		if e.tainted.Cmp(dust) < 0 {
			return nil
		}
		if t.nodes.len() >= t.o.MaxAddresses {
			return fmt.Errorf("%w: more than %d addresses tainted by hop %d%s (raise the cap, lower the hops or set a dust limit)", ErrTooLarge, t.o.MaxAddresses, e.hop, t.projection(e.hop))
		}
		// Labelled when it comes up for a replay, with the other
		// addresses queued by then (labelQueued).
		r = t.nodeIn(k, e.hop)
	}
	e.toNode = r
	if _, ok := t.seeds[id]; r.seed && ok {
		// A seed's arrival stays tainted in full; what the trace computed
		// for it was already counted as it entered.
		t.seedComputed[id] = e.tainted
		return nil
	}
	r.in.set(t.ws, id, e.tainted)
	t.push(r)
	return nil
}

// projection estimates, when the address cap stops a trace at hop h,
// the size the trace was heading for: the addresses per hop so far and
// the last whole hop's growth carried to the hop limit.
func (t *tracer) projection(h int) string {
	per := make([]int, h+1)
	for _, n := range t.nodes.list {
		if n.hop <= h {
			per[n.hop]++
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "; addresses by hop: %v", per)
	if h < 2 || per[h-2] == 0 || per[h-1] <= per[h-2] {
		return b.String()
	}
	growth := float64(per[h-1]) / float64(per[h-2])
	est := float64(t.nodes.len())
	for range t.o.MaxHops - h + 1 {
		est *= growth
		if est > 1e12 {
			break
		}
	}
	fmt.Fprintf(&b, ", growing %.1f times a hop: about %.0f by hop %d at that rate", growth, est, t.o.MaxHops)
	return b.String()
}

// labelQueued looks up the labels of the queued nodes that have none,
// on two goroutines: the labels of the ten thousand addresses a trace
// reaches were a quarter of its time, and each look-up (a tag, the
// deposit-address check's read of the address's payments) is
// independent of the others.
func (t *tracer) labelQueued(ctx context.Context) error {
	todo := t.ws.todo[:0]
	defer func() { clear(todo); t.ws.todo = todo[:0] }()
	for _, n := range t.queue[t.head:] {
		if n.labelled {
			continue
		}
		if l, ok := t.labels[n.addr]; ok {
			n.label, n.labelled = l, true
			t.labelled(n)
			continue
		}
		todo = append(todo, n)
	}
	var err, err2 error
	if len(todo) < 64 {
		err = t.labelNodes(ctx, todo)
	} else {
		half := len(todo) / 2
		var wg sync.WaitGroup
		wg.Go(func() { err2 = t.labelNodes(ctx, todo[half:]) })
		err = t.labelNodes(ctx, todo[:half])
		wg.Wait()
	}
	if err := errors.Join(err, err2); err != nil {
		return err
	}
	for _, n := range todo {
		t.labels[n.addr] = n.label
		t.labelled(n)
	}
	return nil
}

// labelNodes looks up the nodes' labels; it touches nothing but them.
func (t *tracer) labelNodes(ctx context.Context, ns []*node) error {
	for _, n := range ns {
		l, name, err := t.lookupLabel(ctx, n.addr)
		if err != nil {
			return err
		}
		n.label, n.name, n.labelled = l, name, true
	}
	return nil
}

// labelled records what a node's label means for the trace.
func (t *tracer) labelled(n *node) {
	if n.label != nil && !t.o.NoSwaps && isVenue(n.label) {
		t.venues = append(t.venues, n)
	}
}

// lookupLabel asks the labeller about an address; it returns the
// address's name too if it made it.
func (t *tracer) lookupLabel(ctx context.Context, addr uint32) (*Label, string, error) {
	if t.o.Labels == nil && len(t.o.bridges) == 0 {
		return nil, "", nil
	}
	name := t.v.addrName(addr)
	if l := t.bridgeLabel(name); l != nil {
		return l, name, nil
	}
	if t.o.Labels == nil {
		return nil, name, nil
	}
	l, ok, err := t.o.Labels.Label(ctx, t.o.Chain, name)
	if err != nil || !ok {
		return nil, name, err
	}
	// A copy, so that l stays on the stack for the many addresses that
	// have no label.
	lp := new(Label)
	*lp = l
	return lp, name, nil
}

// label looks an address up once per trace; it returns the address's
// name too if it had to make it.
func (t *tracer) label(ctx context.Context, addr uint32) (*Label, string, error) {
	if l, ok := t.labels[addr]; ok {
		return l, "", nil
	}
	var lp *Label
	var name string
	if len(t.o.bridges) > 0 {
		name = t.v.addrName(addr)
		if lp = t.bridgeLabel(name); lp != nil {
			t.labels[addr] = lp
			return lp, name, nil
		}
	}
	if t.o.Labels != nil {
		if name == "" {
			name = t.v.addrName(addr)
		}
		l, ok, err := t.o.Labels.Label(ctx, t.o.Chain, name)
		if err != nil {
			return nil, "", err
		}
		if ok {
			// A copy, so that l stays on the stack for the many
			// addresses that have no label.
			lp = new(Label)
			*lp = l
		}
	}
	t.labels[addr] = lp
	return lp, name, nil
}

// seedNode marks a seed's node. The investigator's seeds are traced
// whatever they are; a payout's recipient, seeded where a bridge paid it
// (hop past 0), is labelled like any address reached, so that a payout
// into an exchange ends there.
func (t *tracer) seedNode(n *node, s Seed) {
	n.seed = true
	if s.hop == 0 {
		n.labelled = true
	}
}

// seedArrival taints a transfer into a seed in full.
func (t *tracer) seedArrival(n *node, id tid, amount chain.Amount) {
	n.in.set(t.ws, id, amount)
	t.seeds[id] = amount
}
