package rules

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/tracehound/tracehound/chain"
)

// edge is one recent transfer as seen from one address.
type edge struct {
	peer   *acct
	asset  chain.Asset
	amount chain.Amount
	t      int64 // unix nanoseconds
	tx     string
	block  uint64
}

// acct is the engine's memory of one address.
type acct struct {
	key       chain.Key
	in, out   []edge // oldest first, at most MaxEdges each
	first     int64  // first activity the engine saw
	last      int64  // last activity before the current transfer
	lastOut   int64  // last transfer sent
	seen      bool   // first/last hold a value
	fired     [16]int64
	peel      *peelState
	splits    []splitMark // split payments taken part in, newest last
	peelDone  int64       // time of the last in this address's peel was judged against
	cat       string
	catLooked bool
	gone      bool   // forgotten: edges that still point here are stale
	ver       uint64 // bumped on every change of in or out
	fwdVer    uint64 // ver+1 when fwdOK was computed
	fwdAsset  chain.Asset
	fwdOK     bool
	mark      uint64 // set membership for one rule's pass (Engine.stamp)
	mark2     uint64
}

func (a *acct) name() string { return a.key.Value }

// peelState is a peel chain that reached this address.
type peelState struct {
	hops   int
	origin string
	addrs  []string
	txs    []string
	start  int64
	amount chain.Amount // what the first hop forwarded
}

// Engine runs the typology rules over transfers block by block. It is not
// safe for concurrent use; run one per chain ingest.
type Engine struct {
	cfg     Config
	labels  Labeler
	history History

	accts map[chain.Key]*acct
	// lru holds (address, time of activity) in order of activity; an entry
	// is current when its time is the address's last activity.
	lru        []lruEntry
	lruHead    int
	forgotTill int64 // the latest last-activity of a forgotten address
	start      int64 // time of the first transfer seen
	started    bool
	now        int64
	maxWindow  int64
	cycleSeen  map[string]int64
	scratch    scratch
	stamp      uint64
	cur        ctx
}

// newStamp starts a new set: accounts whose mark equals the stamp are in.
func (e *Engine) newStamp() uint64 { e.stamp++; return e.stamp }

type lruEntry struct {
	a *acct
	t int64
}

// Option configures an Engine.
type Option func(*Engine)

// WithLabeler gives the engine address categories (mixer, bridge ...).
func WithLabeler(l Labeler) Option { return func(e *Engine) { e.labels = l } }

// WithHistory gives the engine a view of activity before it started.
func WithHistory(h History) Option { return func(e *Engine) { e.history = h } }

// NewEngine returns an engine with the given configuration.
func NewEngine(cfg Config, opts ...Option) (*Engine, error) {
	if err := cfg.Check(); err != nil {
		return nil, fmt.Errorf("rules config: %w", err)
	}
	e := &Engine{cfg: cfg, accts: map[chain.Key]*acct{}, cycleSeen: map[string]int64{}}
	for _, o := range opts {
		o(e)
	}
	for _, w := range []time.Duration{cfg.FanIn.Window, cfg.FanOut.Window, cfg.ScatterGather.Window, cfg.GatherScatter.Window,
		cfg.Stack.Window, cfg.Cycle.Window, cfg.Peel.HopWindow, cfg.PassThrough.MaxDelay, cfg.Structuring.Window,
		cfg.Structuring.SplitWindow, cfg.Hop.Window, cfg.Smurfing.Window} {
		e.maxWindow = max(e.maxWindow, int64(w))
	}
	return e, nil
}

// Addresses is the number of addresses the engine remembers.
func (e *Engine) Addresses() int { return len(e.accts) }

// Block runs the rules over one block's transfers. Bitcoin transactions
// that carry resolved inputs and outputs instead of transfers are turned
// into transfers first (see TransfersOf).
func (e *Engine) Block(b *chain.Block) []Finding {
	return e.Transfers(TransfersOf(b))
}

// Transfers runs the rules over one block's transfers, in order, and
// returns the findings they complete. Self-transfers and zero amounts are
// ignored: they move nothing.
func (e *Engine) Transfers(ts []chain.Transfer) []Finding {
	var out []Finding
	for i := range ts {
		out = e.transfer(&ts[i], out)
	}
	e.evict()
	return out
}

// Scan runs a fresh engine over a range of transfers in time order (the
// order of the chain: time, block, transaction, position) and returns
// every finding.
func Scan(ctx context.Context, cfg Config, ts []chain.Transfer, opts ...Option) ([]Finding, error) {
	e, err := NewEngine(cfg, opts...)
	if err != nil {
		return nil, err
	}
	ts = slices.Clone(ts)
	slices.SortStableFunc(ts, func(a, b chain.Transfer) int {
		return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.Block, b.Block))
	})
	var out []Finding
	for i := 0; i < len(ts); {
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return out, err
			}
		}
		j := i + 1
		for j < len(ts) && ts[j].Block == ts[i].Block && ts[j].Time.Equal(ts[i].Time) {
			j++
		}
		out = append(out, e.Transfers(ts[i:j])...)
		i = j
	}
	return out, nil
}

// TransfersOf returns a block's transfers. An account-chain transaction
// carries them. A Bitcoin transaction with resolved inputs becomes one
// transfer per output from its principal input (the largest, first among
// equals), as the transfer graph records it; outputs paying back to an
// input address are change and moved nothing.
func TransfersOf(b *chain.Block) []chain.Transfer {
	n := 0
	for i := range b.Txs {
		n += max(len(b.Txs[i].Transfers), len(b.Txs[i].Outputs))
	}
	out := make([]chain.Transfer, 0, n)
	for _, tx := range b.Txs {
		if tx.Failed {
			continue
		}
		if len(tx.Transfers) > 0 || tx.Coinbase || len(tx.Inputs) == 0 {
			out = append(out, tx.Transfers...)
			continue
		}
		principal := -1
		for i, in := range tx.Inputs {
			if in.Address == "" {
				continue
			}
			if principal < 0 || in.Value > tx.Inputs[principal].Value {
				principal = i
			}
		}
		if principal < 0 {
			continue
		}
		from := tx.Inputs[principal].Address
		for _, o := range tx.Outputs {
			if o.Address == "" || slices.ContainsFunc(tx.Inputs, func(in chain.Input) bool { return in.Address == o.Address }) {
				continue
			}
			out = append(out, chain.Transfer{Chain: b.Chain, Tx: tx.Hash, Kind: chain.KindOutput, Pos: o.Index,
				Block: b.Height, Time: b.Time, From: from, To: o.Address, Amount: chain.NewAmount(o.Value)})
		}
	}
	return out
}

func (e *Engine) acct(c chain.Chain, addr string) *acct {
	k := chain.Key{Chain: c, Value: addr}
	a := e.accts[k]
	if a == nil {
		a = &acct{key: k}
		e.accts[k] = a
	}
	return a
}

// touch records activity at t, keeping first and last.
func (e *Engine) touch(a *acct, t int64) {
	if !a.seen {
		a.first, a.seen = t, true
	}
	if a.last != t || len(e.lru) == 0 {
		e.lru = append(e.lru, lruEntry{a, t})
	}
	a.last = t
}

// evict forgets the least recently active addresses beyond MaxAddresses
// and addresses idle longer than every window with nothing else to keep,
// and compacts the activity queue.
func (e *Engine) evict() {
	for len(e.accts) > e.cfg.MaxAddresses && e.lruHead < len(e.lru) {
		ent := e.lru[e.lruHead]
		e.lruHead++
		if a := ent.a; !a.gone && a.last == ent.t {
			delete(e.accts, a.key)
			a.gone = true
			e.forgotTill = max(e.forgotTill, a.last)
		}
	}
	if live := len(e.lru) - e.lruHead; live > 2*len(e.accts)+1024 || e.lruHead > 1024 && e.lruHead > live {
		kept := e.lru[:0]
		for _, ent := range e.lru[e.lruHead:] {
			if !ent.a.gone && ent.a.last == ent.t {
				kept = append(kept, ent)
			}
		}
		e.lru, e.lruHead = kept, 0
	}
	// Drop cycle keys older than the cycle window.
	if len(e.cycleSeen) > 4096 {
		for k, t := range e.cycleSeen {
			if e.now-t > int64(e.cfg.Cycle.Window) {
				delete(e.cycleSeen, k)
			}
		}
	}
}

// prune drops edges older than the longest window and beyond MaxEdges.
func (e *Engine) prune(es []edge) []edge {
	cut := e.now - e.maxWindow
	i := 0
	for i < len(es) && es[i].t < cut {
		i++
	}
	// When full, drop the oldest quarter at once: one move per many
	// transfers rather than one per transfer.
	if n := len(es) - i; n >= e.cfg.MaxEdges {
		i = len(es) - e.cfg.MaxEdges*3/4
	}
	if i > 0 {
		es = append(es[:0], es[i:]...)
	}
	return es
}

func (e *Engine) category(a *acct) string {
	if e.labels == nil {
		return ""
	}
	if !a.catLooked {
		a.cat, _ = e.labels.Category(a.key.Chain, a.key.Value)
		a.catLooked = true
	}
	return a.cat
}

// service reports whether a runs a service (Config.Services).
func (e *Engine) service(a *acct) bool {
	return e.labels != nil && len(e.cfg.Services) > 0 && e.cfg.Services[e.category(a)]
}

// cooling reports whether a reported typology t less than cooldown ago,
// so that a rule can skip its work.
func (e *Engine) cooling(a *acct, t Typology, cooldown time.Duration) bool {
	last := a.fired[typIndex(t)]
	return last != 0 && e.now-last < int64(cooldown)
}

// fire reports whether a may be the subject of a finding of typology t:
// it is no service and t is out of its cool-down for a. It records the
// firing.
func (e *Engine) fire(a *acct, t Typology, cooldown time.Duration) bool {
	if e.service(a) {
		return false
	}
	i := typIndex(t)
	if last := a.fired[i]; last != 0 && e.now-last < int64(cooldown) {
		return false
	}
	a.fired[i] = e.now
	return true
}

func (e *Engine) transfer(t *chain.Transfer, out []Finding) []Finding {
	if t.From == "" || t.To == "" || t.From == t.To || t.Amount.IsZero() {
		return out
	}
	ts := t.Time.UnixNano()
	if !e.started {
		e.start, e.started = ts, true
	}
	e.now = max(e.now, ts)
	from := e.acct(t.Chain, t.From)
	to := e.acct(t.Chain, t.To)
	fromLast, fromSeen := from.last, from.seen
	toSeen := to.seen

	from.out = append(e.prune(from.out), edge{peer: to, asset: t.Asset, amount: t.Amount, t: ts, tx: t.Tx, block: t.Block})
	to.in = append(e.prune(to.in), edge{peer: from, asset: t.Asset, amount: t.Amount, t: ts, tx: t.Tx, block: t.Block})
	to.out = e.prune(to.out)
	from.in = e.prune(from.in)
	from.ver++
	to.ver++

	c := &e.cur
	*c = ctx{e: e, t: t, ts: ts, from: from, to: to, fromLast: fromLast, fromSeen: fromSeen, toSeen: toSeen}
	cfg := &e.cfg
	if cfg.enabled(Dormant) {
		out = c.dormant(out)
	}
	if cfg.enabled(FreshHighValue) {
		out = c.fresh(out)
	}
	e.touch(from, ts)
	e.touch(to, ts)
	from.lastOut = ts
	if cfg.enabled(FanOut) {
		out = c.fanOut(out)
	}
	if cfg.enabled(FanIn) {
		out = c.fanIn(out)
	}
	if cfg.enabled(ScatterGather) {
		out = c.scatterGather(out)
	}
	if cfg.enabled(GatherScatter) {
		out = c.gatherScatter(out)
	}
	if cfg.enabled(Cycle) {
		out = c.cycle(out)
	}
	if cfg.enabled(Stack) {
		out = c.stack(out)
	}
	if cfg.enabled(PeelChain) {
		out = c.peelChain(out)
	}
	if cfg.enabled(PassThrough) {
		out = c.passThrough(out)
	}
	if cfg.enabled(Structuring) {
		out = c.structuring(out)
	}
	if cfg.enabled(Smurfing) {
		out = c.smurfing(out)
	}
	if cfg.enabled(MixerHopping) || cfg.enabled(BridgeHopping) {
		out = c.hopping(out)
	}
	return out
}

// ctx is one transfer being judged.
type ctx struct {
	e                *Engine
	t                *chain.Transfer
	ts               int64
	from, to         *acct
	fromLast         int64
	fromSeen, toSeen bool
}

func (c *ctx) finding(typ Typology, subject string, score float64, expl string) *builder {
	return &builder{Finding: Finding{Typology: typ, Chain: c.t.Chain, Subject: subject, Asset: c.t.Asset,
		Score: clamp01(score), Block: c.t.Block, Explanation: expl, Start: c.t.Time, End: c.t.Time}}
}

// builder assembles a Finding, keeping its addresses and transactions
// distinct.
type builder struct {
	Finding
	addrs, txs map[string]bool
}

// add puts an edge's transaction, peer and amount into the finding.
func (b *builder) add(e edge, sum bool) {
	// Small findings check their slices; large ones switch to sets.
	if b.addrs == nil && len(b.Addresses)+len(b.Txs) > 32 {
		b.addrs, b.txs = map[string]bool{}, map[string]bool{}
		for _, a := range b.Addresses {
			b.addrs[a] = true
		}
		for _, t := range b.Txs {
			b.txs[t] = true
		}
	}
	if b.addrs == nil {
		if !slices.Contains(b.Txs, e.tx) {
			b.Txs = append(b.Txs, e.tx)
		}
		if e.peer != nil && !slices.Contains(b.Addresses, e.peer.name()) {
			b.Addresses = append(b.Addresses, e.peer.name())
		}
	} else {
		if !b.txs[e.tx] {
			b.txs[e.tx] = true
			b.Txs = append(b.Txs, e.tx)
		}
		if e.peer != nil && !b.addrs[e.peer.name()] {
			b.addrs[e.peer.name()] = true
			b.Addresses = append(b.Addresses, e.peer.name())
		}
	}
	t := time.Unix(0, e.t).UTC()
	if t.Before(b.Start) {
		b.Start = t
	}
	if t.After(b.End) {
		b.End = t
	}
	if sum && e.asset == b.Asset {
		b.Amount, _ = b.Amount.Add(e.amount)
	}
}

func clamp01(x float64) float64 { return min(1, max(0, x)) }

// strength maps "n against a threshold min" to a score: 0.5 at the
// threshold, 1 at twice it.
func strength(n, min int) float64 {
	if min <= 0 {
		return 1
	}
	return 0.5 + 0.5*float64(n-min)/float64(min)
}

// within reports whether a and b differ by at most tol of the larger,
// in exact integer arithmetic (tol at basis-point precision).
func within(a, b chain.Amount, tol float64) bool {
	hi, lo := a, b
	if hi.Cmp(lo) < 0 {
		hi, lo = lo, hi
	}
	diff, _ := hi.Sub(lo)
	lim := hi.MulDiv(chain.NewAmount(uint64(tol*10000+0.5)), chain.NewAmount(10000))
	return diff.Cmp(lim) <= 0
}

// share returns a·f rounded down, f at basis-point precision.
func share(a chain.Amount, f float64) chain.Amount {
	return a.MulDiv(chain.NewAmount(uint64(f*10000+0.5)), chain.NewAmount(10000))
}

func fmtTime(ns int64) string { return time.Unix(0, ns).UTC().Format("2006-01-02 15:04 UTC") }

func fmtDur(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
	case d >= 2*time.Hour:
		return fmt.Sprintf("%d hours", int(d/time.Hour))
	case d >= 2*time.Minute:
		return fmt.Sprintf("%d minutes", int(d/time.Minute))
	}
	return d.String()
}

// amountText renders base units with the asset named, e.g. "150000000
// base units of BTC".
func amountText(a chain.Amount, c chain.Chain, asset chain.Asset) string {
	name := string(asset)
	if asset == chain.Native {
		switch c {
		case chain.Bitcoin:
			name = "BTC (satoshi)"
		case chain.Ethereum:
			name = "ETH (wei)"
		default:
			name = string(c) + " native"
		}
	} else {
		name = "token " + name
	}
	return a.String() + " base units of " + name
}
