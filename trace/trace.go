// Package trace follows tainted funds through the transfer graph, hop by
// hop, under one of three taint models, and reports where they went: the
// flow (every transfer that carried taint, with the tainted amount), the
// endpoints (services the funds reached, where they can be frozen) and a
// per-hop summary. Amounts are exact integers in base units.
//
// The models, for an address (an account) that holds tainted and clean
// value and sends some of it on:
//
//   - Poison: once an address holds any taint, everything it sends is
//     tainted in full. Taint is not conserved: it marks, it does not
//     measure. Use it to find every place stolen funds might have reached.
//   - Haircut: each payment carries taint in proportion to the address's
//     balance at that moment: tainted = amount × tainted balance ÷ balance,
//     rounded down, so that no more taint leaves than arrived.
//   - FIFO: value leaves in the order it arrived; each incoming transfer
//     is a lot, consumed oldest first, and a lot that is itself partly
//     tainted gives up its taint pro rata.
//
// Under haircut and FIFO the tainted value is conserved at every address:
// what arrived equals what left plus what remains (Result.Check proves it
// for each trace). Balances are replayed from each address's whole history
// in the graph, so the clean value an address held before the taint
// arrived counts.
package trace

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tracehound/tracehound/chain"
)

// Model is a taint model.
type Model string

// The taint models.
const (
	Poison  Model = "poison"
	Haircut Model = "haircut"
	FIFO    Model = "fifo"
)

// ParseModel reads a model's name.
func ParseModel(s string) (Model, error) {
	switch m := Model(strings.ToLower(s)); m {
	case Poison, Haircut, FIFO:
		return m, nil
	}
	return "", fmt.Errorf("taint model %q: want poison, haircut or fifo", s)
}

// Graph is the transfer graph a trace reads.
type Graph interface {
	Postings(ctx context.Context, c chain.Chain, addr string, q chain.PostingQuery, fn func(chain.Posting) bool) error
	// Tip is the last block stored for the chain, to tell a trace window
	// that runs past the ingested data.
	Tip(ctx context.Context, c chain.Chain) (chain.Tip, bool, error)
}

// Label attributes an address to a service.
type Label struct {
	Entity   string `json:"entity"`
	Category string `json:"category"`
	// Heuristic names how the address was linked to the entity when no
	// tag names it directly (e.g. "deposit-address").
	Heuristic string `json:"heuristic,omitempty"`
}

// Labeler tells which addresses belong to services. Tracing stops at
// them: a hop into an exchange, mixer or bridge ends the branch there.
type Labeler interface {
	Label(ctx context.Context, c chain.Chain, addr string) (Label, bool, error)
}

// Seed is where tainted value enters the trace.
type Seed struct {
	// Address is a tainted address: every transfer it received in the
	// trace window is tainted in full (the thief's address after the theft).
	Address string `json:"address,omitempty"`
	// Tx is a tainted transaction: every transfer it made (of the traced
	// asset) is tainted in full at its recipient. With Address too, only
	// the transfers to Address are.
	Tx string `json:"tx,omitempty"`
	// Output narrows a Bitcoin transaction seed to one output.
	Output *uint32 `json:"output,omitempty"`
	// Amount, if not zero, is how much of what the seed received is
	// stolen: its transfers are tainted in time (and transaction) order
	// up to Amount, the last of them in part.
	Amount chain.Amount `json:"amount,omitzero"`
	// Since, if set, is when the seed's funds start to count: an address
	// seed's arrivals before it are clean. It replaces Options.Since for
	// the seed's own arrivals.
	Since time.Time `json:"since,omitzero"`
}

// String names a seed as the CLI and API take it:
// ADDRESS | TX[:OUTPUT|:ADDRESS], then [=AMOUNT] [@SINCE].
func (s Seed) String() string {
	var b strings.Builder
	switch {
	case s.Tx != "":
		b.WriteString(s.Tx)
		if s.Output != nil {
			fmt.Fprintf(&b, ":%d", *s.Output)
		} else if s.Address != "" {
			b.WriteString(":" + s.Address)
		}
	default:
		b.WriteString(s.Address)
	}
	if !s.Amount.IsZero() {
		b.WriteString("=" + s.Amount.String())
	}
	if !s.Since.IsZero() {
		b.WriteString("@" + s.Since.UTC().Format(time.RFC3339))
	}
	return b.String()
}

// seedBudget hands out a seed's Amount to its transfers in order.
type seedBudget struct {
	left    chain.Amount
	limited bool
}

func newSeedBudget(s Seed) *seedBudget {
	return &seedBudget{left: s.Amount, limited: !s.Amount.IsZero()}
}

// take returns the taint of a transfer of amount a, and false once the
// budget is spent.
func (b *seedBudget) take(a chain.Amount) (chain.Amount, bool) {
	if !b.limited {
		return a, true
	}
	if b.left.IsZero() {
		return chain.Amount{}, false
	}
	if a.Cmp(b.left) > 0 {
		a = b.left
	}
	b.left = sub(b.left, a)
	return a, true
}

// short reports a seed whose transfers held less than its Amount.
func (b *seedBudget) short(s Seed) error {
	if b.limited && !b.left.IsZero() {
		got := sub(s.Amount, b.left)
		return fmt.Errorf("trace: seed %s: only %s of the %s stated was received in the window (is the chain ingested for that period?)", s, got, s.Amount)
	}
	return nil
}

// Options control a trace.
type Options struct {
	Chain chain.Chain
	Asset chain.Asset // "" for the chain's coin
	Model Model
	// MaxHops bounds the hops from a seed; addresses at the limit are
	// reported as the frontier, not expanded.
	MaxHops int
	// MinAmount drops branches whose tainted amount is below it (dust).
	MinAmount chain.Amount
	// Since and Until bound the transfers considered (block time);
	// zero is unbounded.
	Since, Until time.Time
	// MaxAddresses caps the addresses a trace may taint; past it the
	// trace stops with ErrTooLarge rather than grow without bound.
	MaxAddresses int
	// MaxPostings caps the transfers read for one address: a busy address
	// that is not labelled as a service would otherwise be read whole.
	MaxPostings int
	// Labels, if set, marks service addresses as endpoints.
	Labels Labeler
	// NoSwaps keeps the trace in its asset. By default, taint that enters
	// a DeFi venue (a DEX pool or router, labelled with category "defi")
	// continues in whatever asset the venue paid out in the same
	// transaction: see Swap.
	NoSwaps bool
	// Progress, if set, is called every few hundred addresses replayed
	// with the addresses tainted so far and those waiting.
	Progress func(tainted, queued int)
}

// Defaults for Options.
const (
	DefaultMaxHops      = 10
	DefaultMaxAddresses = 200_000
	DefaultMaxPostings  = 1_000_000
)

// ErrTooLarge is returned when a trace would exceed Options.MaxAddresses.
var ErrTooLarge = errors.New("trace too large")

// Edge is a transfer that carried taint.
type Edge struct {
	Tx      string             `json:"tx"`
	Kind    chain.TransferKind `json:"kind"`
	Pos     uint32             `json:"pos"`
	Block   uint64             `json:"block"`
	Time    time.Time          `json:"time"`
	From    string             `json:"from"`
	To      string             `json:"to"`
	Amount  chain.Amount       `json:"amount"`
	Tainted chain.Amount       `json:"tainted"`
	// Asset is what the transfer moved: the traced asset, or one a swap
	// converted it into.
	Asset chain.Asset `json:"asset,omitempty"`
	// Hop is the recipient's hop: 1 for transfers out of a seed.
	Hop int `json:"hop"`
	// Swap marks a DeFi venue's payout, tainted by what the trace put in
	// (Result.Swaps).
	Swap bool `json:"swap,omitempty"`
}

// Node is an address the taint reached.
type Node struct {
	Address string `json:"address"`
	// Asset is the asset the address holds taint in: an address reached
	// in two assets is two nodes.
	Asset chain.Asset `json:"asset,omitempty"`
	Hop   int         `json:"hop"`
	// Received and Sent are the tainted amounts in and out; Remaining is
	// what the address still holds (haircut and FIFO).
	Received  chain.Amount `json:"received"`
	Sent      chain.Amount `json:"sent"`
	Remaining chain.Amount `json:"remaining"`
	Label     *Label       `json:"label,omitempty"`
	// Frontier is set when the hop limit stopped the trace here.
	Frontier bool `json:"frontier,omitempty"`
	// Seed marks a seed address.
	Seed bool `json:"seed,omitempty"`
	// Truncated is set when the address has more transfers than
	// MaxPostings: its outgoing taint is then computed from the first
	// MaxPostings only.
	Truncated bool `json:"truncated,omitempty"`
}

// Endpoint is a service that received tainted value.
type Endpoint struct {
	Address string       `json:"address"`
	Label   Label        `json:"label"`
	Asset   chain.Asset  `json:"asset,omitempty"`
	Amount  chain.Amount `json:"amount"`
	First   time.Time    `json:"first"`
	Last    time.Time    `json:"last"`
	Txs     []string     `json:"txs"`
	Hop     int          `json:"hop"`
	// Continues says the funds go on by other means: a mixer or a bridge,
	// where the trace continues with other evidence, or a DeFi venue,
	// where it continues in the asset the venue paid out (Result.Swaps).
	Continues bool `json:"continues,omitempty"`
}

// Hop summarises one hop.
type Hop struct {
	Hop       int          `json:"hop"`
	Asset     chain.Asset  `json:"asset,omitempty"`
	Addresses int          `json:"addresses"`
	Transfers int          `json:"transfers"`
	Tainted   chain.Amount `json:"tainted"`
}

// Swap is a DeFi venue's payout the trace followed: in one transaction,
// tainted value went into the venue in one asset and the venue paid out
// another. The payout is tainted in the share of the venue's intake that
// was tainted (poison: in full): Tainted = Amount × In.Tainted ÷
// In.Amount, rounded down, summed over the tainted intakes.
type Swap struct {
	Tx    string    `json:"tx"`
	Block uint64    `json:"block"`
	Time  time.Time `json:"time"`
	// Venue is the address that paid out, and Label its attribution.
	Venue string `json:"venue"`
	Label Label  `json:"label"`
	// In are the tainted intakes: per asset, what the transaction put
	// into the venue in all and how much of it was tainted.
	In []SwapLeg `json:"in"`
	// To received Amount of Asset, of which Tainted.
	To      string       `json:"to"`
	Asset   chain.Asset  `json:"asset"`
	Amount  chain.Amount `json:"amount"`
	Tainted chain.Amount `json:"tainted"`
}

// SwapLeg is one asset's intake into a venue in a swap transaction.
type SwapLeg struct {
	Asset   chain.Asset  `json:"asset"`
	Amount  chain.Amount `json:"amount"`
	Tainted chain.Amount `json:"tainted"`
}

// Result is a finished trace.
type Result struct {
	Chain     chain.Chain  `json:"chain"`
	Asset     chain.Asset  `json:"asset"`
	Model     Model        `json:"model"`
	Seeds     []Seed       `json:"seeds"`
	Tainted   chain.Amount `json:"tainted"` // what entered at the seeds
	Nodes     []Node       `json:"nodes"`
	Edges     []Edge       `json:"edges"`
	Endpoints []Endpoint   `json:"endpoints"`
	Hops      []Hop        `json:"hops"`
	// Swaps are the conversions the trace followed out of the traced
	// asset and between others, in block order.
	Swaps []Swap `json:"swaps,omitempty"`
	// Warnings say where the answer is partial: truncated addresses, a
	// window past the ingested data.
	Warnings []string `json:"warnings,omitempty"`
	// MinAmount is the dust limit the trace ran with.
	MinAmount chain.Amount `json:"min_amount"`
	// FeesTainted is taint paid to miners as fees (Bitcoin).
	FeesTainted chain.Amount `json:"fees_tainted"`
	// Through is the last block the store held when the trace ran:
	// later transfers are not in it.
	Through uint64        `json:"through_block"`
	Elapsed time.Duration `json:"elapsed_ns"`
}

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
	nodes map[nodeKey]*node
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
	swapTxs map[uint32][]chain.Transfer
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

// Run traces forward from the seeds.
func Run(ctx context.Context, g Graph, seeds []Seed, o Options) (*Result, error) {
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
	t := &tracer{g: g, o: o, swapOut: make(map[tid]*edge), swapTxs: make(map[uint32][]chain.Transfer),
		minFor: make(map[uint32]chain.Amount), seeds: make(map[tid]chain.Amount), seedComputed: make(map[tid]chain.Amount),
		res: &Result{Chain: o.Chain, Asset: o.Asset, Model: o.Model, Seeds: seeds, MinAmount: o.MinAmount}}
	if h, ok := g.(historian); ok {
		t.h, t.v = h, h.view(o.Chain)
		// Nothing of the workspace outlives the trace: the result holds
		// copies, and its labels are allocated apart.
		t.ws = h.workspaces().get()
		defer func() {
			t.ws.queue = t.queue
			h.workspaces().put(t.ws)
		}()
	} else {
		t.v, t.ws = newView(o.Chain, new(sync.Mutex)), newWorkspace()
	}
	t.nodes, t.labels, t.queue = t.ws.nodes, t.ws.labels, t.ws.queue
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
			n := t.pop()
			if err := t.replay(ctx, n); err != nil {
				return nil, err
			}
			if replays++; o.Progress != nil && replays%256 == 0 {
				o.Progress(len(t.nodes), t.waiting())
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
		n := t.node(t.v.addr(s.Address), 0)
		n.seed = true
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
			t.seedArrival(n, tid{t.v.tx(p.Tx), p.Pos, p.Kind}, a)
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
	trs, found, err := r.TxTransfers(ctx, t.o.Chain, s.Tx)
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
		n := t.node(t.v.addr(tr.To), 0)
		n.seed = true
		t.seedArrival(n, tid{t.v.tx(tr.Tx), tr.Pos, tr.Kind}, a)
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
	n := t.nodes[k]
	if n == nil {
		if len(t.slab) == cap(t.slab) {
			t.slab = t.ws.slab(min(256, max(8, len(t.nodes))))
		}
		t.slab = append(t.slab, node{nodeKey: k, hop: hop})
		n = &t.slab[len(t.slab)-1]
		t.nodes[k] = n
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
			sent = p.amount.MulDiv(rs.taint, den)
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
	was, is := t.ws.edgeIndex(0, n.out), t.ws.edgeIndex(1, rs.out)
	defer t.ws.done(&was)
	defer t.ws.done(&is)
	for i := range rs.out {
		e := &rs.out[i]
		if old := was.find(e.id); old != nil && old.tainted.Cmp(e.tainted) == 0 {
			continue
		}
		if err := t.arrive(ctx, e); err != nil {
			return err
		}
	}
	for i := range n.out {
		old := &n.out[i]
		if is.find(old.id) == nil {
			r := t.nodes[nodeKey{old.to, old.asset}]
			r.in.del(old.id)
			t.push(r)
		}
	}
	t.scratch = rs.out[:0]
	n.out = t.keep(rs.out)
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
	r := t.nodes[k]
	if r == nil {
		dust := t.o.MinAmount
		if e.asset != t.asset {
			dust = t.minFor[e.asset]
		}
		if e.tainted.Cmp(dust) < 0 {
			return nil
		}
		if len(t.nodes) >= t.o.MaxAddresses {
			return fmt.Errorf("%w: more than %d addresses tainted by hop %d%s (raise the cap, lower the hops or set a dust limit)", ErrTooLarge, t.o.MaxAddresses, e.hop, t.projection(e.hop))
		}
		r = t.nodeIn(k, e.hop)
		l, err := t.label(ctx, e.to)
		if err != nil {
			return err
		}
		r.label = l
		if l != nil && !t.o.NoSwaps && isVenue(l) {
			t.venues = append(t.venues, r)
		}
	}
	if _, ok := t.seeds[id]; ok {
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
	for _, n := range t.nodes {
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
	est := float64(len(t.nodes))
	for range t.o.MaxHops - h + 1 {
		est *= growth
		if est > 1e12 {
			break
		}
	}
	fmt.Fprintf(&b, ", growing %.1f times a hop: about %.0f by hop %d at that rate", growth, est, t.o.MaxHops)
	return b.String()
}

// label looks an address up once per trace.
func (t *tracer) label(ctx context.Context, addr uint32) (*Label, error) {
	if l, ok := t.labels[addr]; ok {
		return l, nil
	}
	var lp *Label
	if t.o.Labels != nil {
		l, ok, err := t.o.Labels.Label(ctx, t.o.Chain, t.v.addrName(addr))
		if err != nil {
			return nil, err
		}
		if ok {
			// A copy, so that l stays on the stack for the many
			// addresses that have no label.
			lp = new(Label)
			*lp = l
		}
	}
	t.labels[addr] = lp
	return lp, nil
}

// seedArrival taints a transfer into a seed in full.
func (t *tracer) seedArrival(n *node, id tid, amount chain.Amount) {
	n.in.set(t.ws, id, amount)
	t.seeds[id] = amount
}

// named is a node with its address and asset as strings. Nodes are
// sorted by hop and address: the address after the prefix all share, as
// five words, settles the comparisons of addresses up to 40 bytes past
// it (an Ethereum address's 40 hex digits) without reading the strings;
// the sort moves small keys (order), not the nodes.
type named struct {
	n     *node
	addr  string
	asset chain.Asset
}

// hopKey names a hop's summary in one asset.
type hopKey struct {
	hop   int
	asset uint32
}

type hopSet map[hopKey]*Hop

func (s hopSet) get(h int, a uint32, nm *names) *Hop {
	k := hopKey{h, a}
	x := s[k]
	if x == nil {
		x = &Hop{Hop: h, Asset: nm.assets[a]}
		s[k] = x
	}
	return x
}

// collect builds the result from the final state. The edges and the
// nodes are assembled at once, on two cores where there are.
func (t *tracer) collect() {
	res := t.res
	nm := t.v.names()
	var ins []arrival
	edgeHops := make(hopSet)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ins = t.collectEdges(&nm, edgeHops)
	}()
	hops := make(hopSet)
	nodes := t.ws.named[:0]
	common := -1
	var first string
	for _, n := range t.nodes {
		a := nm.addrs[n.addr]
		if common < 0 {
			first, common = a, len(a)
		}
		common = min(common, len(a))
		for common > 0 && a[:common] != first[:common] {
			common--
		}
		nodes = append(nodes, named{n: n, addr: a, asset: nm.assets[n.asset]})
	}
	keys := slices.Grow(t.ws.keys[:0], len(nodes))[:len(nodes)]
	for i := range nodes {
		var pad [40]byte
		copy(pad[:], nodes[i].addr[common:])
		k := order{i: int32(i)}
		k.w[0] = uint64(int64(nodes[i].n.hop)) ^ 1<<63 // in signed order
		for j := range 5 {
			k.w[1+j] = binary.BigEndian.Uint64(pad[8*j:])
		}
		keys[i] = k
	}
	tmp := slices.Grow(t.ws.sortTmp[:0], len(keys))[:len(keys)]
	sortOrders(keys, tmp, func(a, b *order) int {
		x, y := &nodes[a.i], &nodes[b.i]
		if c := strings.Compare(x.addr, y.addr); c != 0 {
			return c
		}
		return strings.Compare(string(x.asset), string(y.asset))
	})
	t.ws.named, t.ws.keys, t.ws.sortTmp = nodes, keys, tmp
	res.Nodes = make([]Node, 0, len(t.nodes))
	for _, k := range keys {
		x := &nodes[k.i]
		n := x.n
		nd := Node{Address: x.addr, Asset: x.asset, Hop: n.hop, Label: n.label, Seed: n.seed, Truncated: n.truncated, Remaining: n.remaining}
		nd.Received = n.in.sum()
		if n.spent == nil {
			for i := range n.out {
				nd.Sent, _ = nd.Sent.Add(n.out[i].tainted)
			}
		} else {
			nd.Sent = *n.spent
		}
		if n.hop >= t.o.MaxHops && n.label == nil {
			nd.Frontier = true
		}
		if t.o.Model == Poison {
			nd.Remaining = chain.Amount{}
		}
		if n.truncated {
			res.Warnings = append(res.Warnings, fmt.Sprintf("%s has more than %d transfers: only the first were replayed; label it as a service or raise the limit", x.addr, t.o.MaxPostings))
		}
		hops.get(n.hop, n.asset, &nm).Addresses++
		res.Nodes = append(res.Nodes, nd)
	}
	wg.Wait()
	for k, h := range edgeHops {
		x := hops.get(k.hop, k.asset, &nm)
		x.Transfers, x.Tainted = h.Transfers, h.Tainted
	}
	t.endpoints(ins, nodes, keys)
	slices.SortFunc(res.Endpoints, func(a, b Endpoint) int {
		if a.Asset != b.Asset {
			// The traced asset first.
			if a.Asset == res.Asset || b.Asset != res.Asset && a.Asset < b.Asset {
				return -1
			}
			return 1
		}
		if c := b.Amount.Cmp(a.Amount); c != 0 {
			return c
		}
		return strings.Compare(a.Address, b.Address)
	})
	// What entered: the seeds' tainted arrivals, less the part of them the
	// trace itself carried there (funds that came back round).
	for id, a := range t.seeds {
		res.Tainted, _ = res.Tainted.Add(a)
		res.Tainted = sub(res.Tainted, t.seedComputed[id])
	}
	if len(hops) > 0 {
		res.Hops = make([]Hop, 0, len(hops))
	}
	for _, h := range hops {
		res.Hops = append(res.Hops, *h)
	}
	slices.SortFunc(res.Hops, func(a, b Hop) int {
		if a.Hop != b.Hop {
			return a.Hop - b.Hop
		}
		return strings.Compare(string(a.Asset), string(b.Asset))
	})
	slices.Sort(res.Warnings)
}

// arrival is an edge into an endpoint: the node it reaches, and its place
// in the result's edges.
type arrival struct {
	n *node
	e int32
}

// collectEdges builds the result's edges, in block order, and their hops'
// summaries; it returns the edges into endpoints, in that order.
func (t *tracer) collectEdges(nm *names, hops hopSet) []arrival {
	ne := len(t.swapOut)
	for _, n := range t.nodes {
		ne += len(n.out)
	}
	edges := slices.Grow(t.ws.edgeRefs[:0], ne)
	defer func() { t.ws.edgeRefs = edges }()
	for _, e := range t.swapOut {
		edges = append(edges, e)
	}
	for _, n := range t.nodes {
		for i := range n.out {
			edges = append(edges, &n.out[i])
		}
	}
	// A swap's payout is in the transaction of a tainted intake, whose
	// place in the block the intake's edge knows.
	if len(t.swapOut) > 0 {
		at := make(map[uint32]uint32)
		for _, e := range edges {
			if e.txi != noIndex {
				at[e.id.tx] = e.txi
			}
		}
		for _, e := range t.swapOut {
			if i, ok := at[e.id.tx]; ok {
				e.txi = i
			}
		}
	}
	// Chain order: block, then the transaction's place in it (its hash
	// where that is not known, the same for all of a transaction's
	// edges), then the transfer's. A transfer carries taint once, so the
	// order is total. The block and the place are the keys of a radix
	// sort; the hash and the transfer settle the ties.
	keys := slices.Grow(t.ws.edgeKeys[:0], len(edges))[:len(edges)]
	tmp := slices.Grow(t.ws.edgeTmp[:0], len(edges))[:len(edges)]
	t.ws.edgeKeys, t.ws.edgeTmp = keys, tmp
	for i, e := range edges {
		keys[i] = order{w: [6]uint64{e.block, uint64(e.txi)}, i: int32(i)}
	}
	sortOrders(keys, tmp, func(x, y *order) int {
		a, b := edges[x.i], edges[y.i]
		if a.id.tx != b.id.tx {
			if c := strings.Compare(nm.txs[a.id.tx], nm.txs[b.id.tx]); c != 0 {
				return c
			}
		}
		return cmp.Or(cmp.Compare(a.id.kind, b.id.kind), cmp.Compare(a.id.pos, b.id.pos))
	})
	t.res.Edges = make([]Edge, len(edges))
	ins := t.ws.arrivals[:0]
	defer func() { t.ws.arrivals = ins }()
	for i, k := range keys {
		e := edges[k.i]
		re := &t.res.Edges[i]
		*re = Edge{Tx: nm.txs[e.id.tx], Kind: e.id.kind, Pos: e.id.pos, Block: e.block, Time: time.Unix(e.sec, int64(e.nsec)).UTC(),
			From: nm.addrs[e.from], To: nm.addrs[e.to], Amount: e.amount, Tainted: e.tainted, Asset: nm.assets[e.asset], Hop: e.hop, Swap: e.swap}
		h := hops.get(e.hop, e.asset, nm)
		h.Transfers++
		h.Tainted, _ = h.Tainted.Add(re.Tainted)
		k := nodeKey{e.to, e.asset}
		if n := t.nodes[k]; n != nil && n.label != nil {
			ins = append(ins, arrival{n, int32(i)})
		}
	}
	return ins
}

// endpoints builds the result's endpoints from its labelled nodes, in
// the nodes' order (keys), with the edges into them (ins).
func (t *tracer) endpoints(ins []arrival, nodes []named, keys []order) {
	res := t.res
	neps := 0
	for i := range res.Nodes {
		if res.Nodes[i].Label != nil {
			nodes[keys[i].i].n.ep = int32(neps)
			neps++
		}
	}
	if neps == 0 {
		return
	}
	// Group the edges by endpoint (a counting sort, stable: each group
	// stays in block order), and give all the endpoints' transactions
	// one array.
	at := make([]int32, neps+1)
	for _, a := range ins {
		at[a.n.ep+1]++
	}
	for i := 1; i < len(at); i++ {
		at[i] += at[i-1]
	}
	next := slices.Clone(at[:neps])
	in := slices.Grow(t.ws.grouped[:0], len(ins))[:len(ins)]
	t.ws.grouped = in
	for _, a := range ins {
		in[next[a.n.ep]] = a.e
		next[a.n.ep]++
	}
	txs := make([]string, len(ins))
	res.Endpoints = make([]Endpoint, 0, neps)
	j := 0
	for i := range res.Nodes {
		nd := &res.Nodes[i]
		if nd.Label == nil {
			continue
		}
		from, to := at[j], at[j+1]
		ep := endpoint(nd, res.Edges, in[from:to], txs[from:to:to])
		if !t.o.NoSwaps && isVenue(nd.Label) {
			ep.Continues = true
		}
		res.Endpoints = append(res.Endpoints, ep)
		j++
	}
}

// endpoint makes node n's endpoint from the edges into it (indexes in
// edges), writing their transactions into txs, of their number.
func endpoint(n *Node, edges []Edge, in []int32, txs []string) Endpoint {
	ep := Endpoint{Address: n.Address, Label: *n.Label, Asset: n.Asset, Amount: n.Received, Hop: n.Hop}
	switch strings.ToLower(n.Label.Category) {
	case "mixer", "bridge":
		ep.Continues = true
	}
	if len(in) == 0 {
		return ep // Txs stays nil (null in JSON)
	}
	for k, i := range in {
		e := &edges[i]
		if ep.First.IsZero() || e.Time.Before(ep.First) {
			ep.First = e.Time
		}
		if e.Time.After(ep.Last) {
			ep.Last = e.Time
		}
		txs[k] = e.Tx
	}
	slices.Sort(txs)
	ep.Txs = slices.Compact(txs)
	return ep
}

// Check verifies a result's invariants: every edge's taint is at most its
// amount (and equal to it under poison); under haircut and FIFO, taint is
// conserved at every address (received = sent + remaining) and, in each
// asset, the endpoints, frontier and remainders account for exactly what
// entered, at the seeds or out of swaps, less dust dropped.
func (r *Result) Check() error {
	for _, e := range r.Edges {
		if e.Tainted.Cmp(e.Amount) > 0 {
			return fmt.Errorf("edge %s:%d carries %s tainted of %s", e.Tx, e.Pos, e.Tainted, e.Amount)
		}
		if r.Model == Poison && e.Tainted.Cmp(e.Amount) != 0 {
			return fmt.Errorf("poison edge %s:%d carries %s of %s", e.Tx, e.Pos, e.Tainted, e.Amount)
		}
	}
	if r.Model == Poison {
		return nil
	}
	entered := map[chain.Asset]chain.Amount{r.Asset: r.Tainted}
	for _, s := range r.Swaps {
		entered[s.Asset], _ = entered[s.Asset].Add(s.Tainted)
	}
	held := map[chain.Asset]chain.Amount{r.Asset: r.FeesTainted}
	for _, n := range r.Nodes {
		if n.Label != nil || n.Frontier {
			// The trace stopped here: all that arrived is held here.
			held[n.Asset], _ = held[n.Asset].Add(n.Received)
			continue
		}
		held[n.Asset], _ = held[n.Asset].Add(n.Remaining)
		sum, _ := n.Sent.Add(n.Remaining)
		if sum.Cmp(n.Received) != 0 {
			return fmt.Errorf("%s: received %s tainted %s, sent %s and holds %s", n.Address, n.Received, assetName(n.Asset), n.Sent, n.Remaining)
		}
	}
	// Without a dust limit, everything that entered is somewhere.
	if !r.MinAmount.IsZero() {
		return nil
	}
	for a, in := range entered {
		if h := held[a]; h.Cmp(in) != 0 {
			return fmt.Errorf("%s of %s entered (at the seeds or out of swaps) but %s is accounted for (held, at endpoints and the frontier, or paid as fees)", in, assetName(a), h)
		}
	}
	for a, h := range held {
		if _, ok := entered[a]; !ok && !h.IsZero() {
			return fmt.Errorf("%s of %s is held but none entered", h, assetName(a))
		}
	}
	return nil
}
