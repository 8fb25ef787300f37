package node

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tracehound/tracehound/alert"
	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/detect"
	"github.com/tracehound/tracehound/detect/features"
	"github.com/tracehound/tracehound/detect/rules"
	"github.com/tracehound/tracehound/detect/scorer"
	"github.com/tracehound/tracehound/ingest"
	"github.com/tracehound/tracehound/screen"
	"github.com/tracehound/tracehound/store/graph"
	"github.com/tracehound/tracehound/tags"
	"github.com/tracehound/tracehound/trace/report"
)

// detector keeps one typology engine per chain for the ingests of this
// process: an engine is single-threaded and remembers each chain's
// recent flows across batches.
type detector struct {
	mu      sync.Mutex
	engines map[chain.Chain]*chainEngine
}

type chainEngine struct {
	mu sync.Mutex
	e  *rules.Engine
	// hist is the engine's view of the graph, bound to the batch's
	// context while the engine runs.
	hist *graphHistory
}

// engine returns chain c's engine, made on first use with a labeler over
// the screening index and a history over the graph.
func (n *Node) engine(c chain.Chain) (*chainEngine, error) {
	d := &n.mon.detect
	d.mu.Lock()
	defer d.mu.Unlock()
	if ce := d.engines[c]; ce != nil {
		return ce, nil
	}
	h := &graphHistory{g: n.db.Graph(), ctx: context.Background()}
	e, err := rules.NewEngine(rules.DefaultConfig(), rules.WithLabeler(indexCategories{n.index}), rules.WithHistory(h))
	if err != nil {
		return nil, err
	}
	ce := &chainEngine{e: e, hist: h}
	d.engines[c] = ce
	return ce, nil
}

// indexCategories tells the rules an address's category from the
// screening index's attributions (the most confident one), the strings of
// tags.Category; a sanctioned address without one is "sanctioned".
type indexCategories struct{ idx *screen.Index }

func (l indexCategories) Category(c chain.Chain, addr string) (string, bool) {
	h := l.idx.Lookup(chain.Address{Chain: c, Value: addr})
	best := -1
	for i, at := range h.Attributions {
		if best < 0 || at.Confidence > h.Attributions[best].Confidence {
			best = i
		}
	}
	if best >= 0 {
		return string(tags.ParseCategory(string(h.Attributions[best].Category))), true
	}
	if len(h.Sanctions) > 0 {
		return string(tags.Sanctioned), true
	}
	return "", false
}

// graphHistory answers the rules' question of an address's activity
// before a time from the graph, once per address: its first activity
// from its running totals (one point read), its last before the time
// from its newest posting before it (one seek). From then on the blocks
// the engine runs over keep the answer current (observe), so that the
// dormancy rule, which asks of nearly every sender, reads a map.
type graphHistory struct {
	g   *graph.Store
	ctx context.Context
	// known are the addresses asked about, with their first and last
	// activity (Unix nanoseconds) as of the last block observed.
	known map[chain.Key]activity
}

type activity struct {
	first, last int64
	// none: no activity before the time asked about, nor observed since.
	none bool
}

// maxKnown bounds the addresses a history keeps; beyond it, it starts
// over and reads the graph again.
const maxKnown = 500_000

func (h *graphHistory) Activity(c chain.Chain, addr string, before time.Time) (first, last time.Time, ok bool) {
	k := chain.Key{Chain: c, Value: addr}
	t := before.UnixNano()
	a, hit := h.known[k]
	if !hit || !a.none && a.last >= t {
		a = h.read(c, addr, before)
		if h.known == nil || len(h.known) >= maxKnown {
			h.known = make(map[chain.Key]activity, 1024)
		}
		h.known[k] = a
	}
	if a.none || a.first >= t {
		return time.Time{}, time.Time{}, false
	}
	return time.Unix(0, a.first).UTC(), time.Unix(0, a.last).UTC(), true
}

// read asks the graph. A failed read answers "no activity": the rule
// then relies on what the engine saw, as it does without a history.
func (h *graphHistory) read(c chain.Chain, addr string, before time.Time) activity {
	t, found, err := h.g.AddressTotals(h.ctx, c, addr)
	if err != nil || !found || !t.FirstSeen.Before(before) {
		return activity{none: true}
	}
	a := activity{first: t.FirstSeen.UnixNano(), last: t.LastSeen.UnixNano()}
	if t.LastSeen.Before(before) {
		return a
	}
	a.last = a.first
	_ = h.g.PostingViews(h.ctx, c, addr, graph.PostingQuery{Until: before, Limit: 1}, func(v *graph.PostingView) bool {
		a.last = v.Time().UnixNano()
		return false
	})
	return a
}

// observe records the activity of a block the engine ran over, for the
// addresses already known.
func (h *graphHistory) observe(b *chain.Block) {
	if len(h.known) == 0 {
		return
	}
	t := b.Time.UnixNano()
	see := func(addr string) {
		k := chain.Key{Chain: b.Chain, Value: addr}
		a, ok := h.known[k]
		if !ok {
			return
		}
		if a.none {
			a = activity{first: t}
		}
		a.last = max(a.last, t)
		h.known[k] = a
	}
	for i := range b.Txs {
		tx := &b.Txs[i]
		if tx.From != "" {
			see(tx.From)
		}
		for _, tr := range tx.Transfers {
			see(tr.From)
			see(tr.To)
		}
		for _, in := range tx.Inputs {
			see(in.Address)
		}
		for _, o := range tx.Outputs {
			see(o.Address)
		}
	}
}

// blockTap is the graph as an ingest writes it, keeping the blocks each
// batch stored (Bitcoin inputs resolved, transfers derived) for the rules
// to read after the batch, without reading them back.
type blockTap struct {
	*graph.Store
	pending []*chain.Block
	touched []string
	// rescore are touched addresses whose score was asked for before.
	rescore []string
}

func (t *blockTap) WriteBlocks(ctx context.Context, c chain.Chain, source string, blocks []*chain.Block) error {
	if err := t.Store.WriteBlocks(ctx, c, source, blocks); err != nil {
		return err
	}
	t.pending = append(t.pending, blocks...)
	return nil
}

func (t *blockTap) Rollback(ctx context.Context, c chain.Chain, height uint64) (int, error) {
	t.pending = slices.DeleteFunc(t.pending, func(b *chain.Block) bool { return b.Height > height })
	return t.Store.Rollback(ctx, c, height)
}

// scoreChanged drops the cached scores of the addresses a batch touched
// and notes, for a tap, which were asked for: those are scored again.
func (n *Node) scoreChanged(c chain.Chain, tap *blockTap) func(addrs []string, all bool) {
	return func(addrs []string, all bool) {
		if all {
			n.mon.scores.clear()
			return
		}
		was := n.mon.scores.forget(c, addrs)
		if tap != nil {
			tap.touched = append(tap.touched, addrs...)
			tap.rescore = append(tap.rescore, was...)
		}
	}
}

// Bounds of the detection an ingest batch runs.
const (
	// maxScoredPerBatch bounds the addresses a batch scores: reading an
	// address's postings costs up to a few milliseconds.
	maxScoredPerBatch = 64
	// maxScorePostings caps the postings an address is scored over: a
	// busy address (an exchange's hot wallet) is scored on its latest.
	maxScorePostings = 10_000
)

// detectAfterWrite runs detection after each batch an ingest stored.
// keepGoing logs a failure instead of stopping the ingest, as a server's
// follower must not stall on it.
func (n *Node) detectAfterWrite(c chain.Chain, tap *blockTap, keepGoing bool) func(context.Context, ingest.Progress) error {
	return func(ctx context.Context, _ ingest.Progress) error {
		err := n.detectBatch(ctx, c, tap)
		if err != nil && keepGoing && ctx.Err() == nil {
			n.log.Error("detection failed", "chain", string(c), "err", err)
			return nil
		}
		return err
	}
}

// detectBatch runs the typology rules over the blocks a batch stored and
// raises their findings as alerts of kind rule; scores the finding
// subjects and the touched addresses already scored or registered,
// raising an alert of kind scorer for those at or above the scorer's
// threshold; raises retroactive alerts where the subject of either is a
// registered counterparty; and checks again registered transfers whose
// transactions have now arrived.
func (n *Node) detectBatch(ctx context.Context, c chain.Chain, tap *blockTap) error {
	blocks, touched, rescore := tap.pending, tap.touched, tap.rescore
	tap.pending, tap.touched, tap.rescore = nil, nil, nil
	if len(blocks) == 0 {
		return nil
	}
	findings, err := n.runRules(ctx, c, blocks)
	if err != nil {
		return err
	}
	as, err := n.findingAlerts(ctx, findings)
	if err != nil {
		return err
	}
	// Addresses to score: the subjects scored just now count as done.
	done := map[string]bool{}
	for _, a := range as {
		if a.Model != nil {
			done[a.Model.Address] = true
			if sa, ok := scorerAlert(c, a.Model); ok {
				as = append(as, sa)
			}
		}
	}
	if c == chain.Ethereum {
		cands := rescore
		if err := n.loadTransfers(ctx); err != nil {
			return err
		}
		for _, a := range touched {
			if _, _, ok := n.mon.transfers.lookup(c, a); ok {
				cands = append(cands, a)
			}
		}
		for _, a := range cands {
			if done[a] || len(done) >= maxScoredPerBatch {
				continue
			}
			done[a] = true
			s, err := n.addressScore(ctx, c, a)
			if err != nil {
				return err
			}
			if sa, ok := scorerAlert(c, s); ok {
				as = append(as, sa)
			}
		}
	}
	fresh, err := n.raise(ctx, "detect", as...)
	if err != nil {
		return err
	}
	if err := n.findingsOnTransfers(ctx, fresh); err != nil {
		return err
	}
	return n.recheckTransfers(ctx, c, touched)
}

// runRules runs chain c's engine over blocks.
func (n *Node) runRules(ctx context.Context, c chain.Chain, blocks []*chain.Block) ([]rules.Finding, error) {
	ce, err := n.engine(c)
	if err != nil {
		return nil, err
	}
	ce.mu.Lock()
	defer ce.mu.Unlock()
	ce.hist.ctx = ctx
	defer func() { ce.hist.ctx = context.Background() }()
	var out []rules.Finding
	for _, b := range blocks {
		out = append(out, ce.e.Block(b)...)
		ce.hist.observe(b)
	}
	return out, nil
}

// findingAlerts turns findings into alerts of kind rule, each with its
// subject's learned score where the graph holds it.
func (n *Node) findingAlerts(ctx context.Context, fs []rules.Finding) ([]alert.Alert, error) {
	out := make([]alert.Alert, 0, len(fs))
	for i := range fs {
		f := fs[i]
		a := findingAlert(f)
		s, err := n.addressScore(ctx, f.Chain, f.Subject)
		if err != nil {
			return nil, err
		}
		a.Model = s
		out = append(out, a)
	}
	return out, nil
}

// findingAlert is a rule finding as the inbox keeps it. The natural key
// is the typology, the chain, the subject and the block that completed
// the pattern: the engine does not repeat a finding within its window,
// and a scan of the same blocks finds the same one.
func findingAlert(f rules.Finding) alert.Alert {
	sev := alert.Medium
	if f.Score >= 0.75 {
		sev = alert.High
	}
	return alert.Alert{
		Kind: alert.KindRule, Key: strings.Join([]string{string(f.Typology), string(f.Chain), f.Subject, fmt.Sprint(f.Block)}, "\x00"),
		Severity: sev, Chain: f.Chain, Addresses: f.Addresses, Txs: f.Txs, Typology: string(f.Typology), Score: f.Score,
		Explanation: f.Explanation,
		Amounts:     []alert.Amount{{Chain: f.Chain, Asset: f.Asset, Value: f.Amount}},
		Links:       alert.Links{Finding: &f},
	}
}

// scorerAlert is the alert of an address the scorer rates illicit; one
// per address (until dismissed, it stands for the address).
func scorerAlert(c chain.Chain, s *detect.AccountScore) (alert.Alert, bool) {
	if s == nil || s.Score < scorer.Threshold {
		return alert.Alert{}, false
	}
	sev := alert.Medium
	if s.Score >= 0.9 {
		sev = alert.High
	}
	top := make([]string, 0, 3)
	for _, t := range s.Top {
		if len(top) == 3 {
			break
		}
		dir := "towards illicit"
		if t.Margin < 0 {
			dir = "towards licit"
		}
		v := "missing"
		if !math.IsNaN(t.Value) {
			v = fmt.Sprintf("%.6g", t.Value)
		}
		top = append(top, fmt.Sprintf("%s = %s (%s)", t.Feature, v, dir))
	}
	return alert.Alert{
		Kind: alert.KindScorer, Key: strings.Join([]string{string(c), s.Address}, "\x00"), Severity: sev, Chain: c,
		Addresses: []string{s.Address}, Score: s.Score,
		Explanation: fmt.Sprintf("The learned scorer rates %s %.3f (illicit at %.1f and above) from its transfers in the graph; the features that weighed most: %s.",
			s.Address, s.Score, scorer.Threshold, strings.Join(top, "; ")),
		Model: s,
	}, true
}

// scoreCache keeps addresses' learned scores until an ingest touches
// them. It is filled only by addresses someone asked about (a transfer's
// counterparty, a finding's subject): screening never scores.
type scoreCache struct {
	mu sync.Mutex
	m  map[chain.Key]*detect.AccountScore
}

// scoreCacheMax bounds the scores kept; beyond it the cache starts over.
const scoreCacheMax = 100_000

func (s *scoreCache) get(k chain.Key) (*detect.AccountScore, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[k]
	return v, ok
}

func (s *scoreCache) put(k chain.Key, v *detect.AccountScore) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= scoreCacheMax {
		clear(s.m)
	}
	s.m[k] = v
}

// forget drops addrs' scores and returns the addresses that had one.
func (s *scoreCache) forget(c chain.Chain, addrs []string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) == 0 {
		return nil
	}
	var was []string
	for _, a := range addrs {
		k := chain.Key{Chain: c, Value: a}
		if v, ok := s.m[k]; ok {
			delete(s.m, k)
			if v != nil {
				was = append(was, a)
			}
		}
	}
	return was
}

func (s *scoreCache) clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.m)
}

// AddressScore returns the learned scorer's judgement of an Ethereum
// address from its transfers in the graph (its latest 10,000 postings),
// with the features that weighed most; nil where the address is not an
// Ethereum one or the graph holds nothing of it. Scores are cached until
// an ingest touches the address.
func (n *Node) AddressScore(ctx context.Context, c chain.Chain, addr string) (*detect.AccountScore, error) {
	a, err := n.parser.Parse(addr, c)
	if err != nil {
		return nil, inputErr(err)
	}
	return n.addressScore(ctx, a.Chain, a.Value)
}

func (n *Node) addressScore(ctx context.Context, c chain.Chain, addr string) (*detect.AccountScore, error) {
	if c != chain.Ethereum {
		return nil, nil
	}
	k := chain.Key{Chain: c, Value: addr}
	if s, ok := n.mon.scores.get(k); ok {
		return s, nil
	}
	ps := make([]chain.Posting, 0, 64)
	err := n.db.Graph().Postings(ctx, c, addr, graph.PostingQuery{Limit: maxScorePostings}, func(p chain.Posting) bool {
		ps = append(ps, p)
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("score %s: %w", addr, err)
	}
	var s *detect.AccountScore
	if len(ps) > 0 {
		slices.Reverse(ps) // oldest first, as an account's history reads
		as, err := detect.ScoreAccount(nil, addr, ps, features.Options{Tokens: tokenDecimals{n.Units()}}, 5)
		if err != nil {
			return nil, fmt.Errorf("score %s: %w", addr, err)
		}
		s = &as
	}
	n.mon.scores.put(k, s)
	return s, nil
}

// tokenDecimals gives the feature extractor the decimals of the tokens
// the node knows, so that ERC-20 values are in token units.
type tokenDecimals struct{ u report.Units }

func (t tokenDecimals) Decimals(c chain.Chain, a chain.Asset) (uint8, bool) {
	u, ok := t.u.Unit(c, a)
	if !ok || u.Decimals < 0 || u.Decimals > 77 {
		return 0, false
	}
	return uint8(u.Decimals), true
}

// DetectRun is an on-demand scan of the stored graph.
type DetectRun struct {
	Chain chain.Chain
	// Since and Until bound the blocks' time; zero is unbounded.
	Since, Until time.Time
	// Raise stores the findings in the inbox as alerts of kind rule.
	Raise bool
}

// Detect runs the typology rules with a fresh engine over the stored
// blocks of a chain in a time window, block by block in height order (as
// rules.Scan does, without holding the window's transfers at once), with
// the same labeler and history as the ingest's, and returns the findings
// as alerts. With Raise they go into the inbox (once: a finding's alert
// is keyed by its typology, subject and block).
func (n *Node) Detect(ctx context.Context, r DetectRun) ([]alert.Alert, error) {
	if !inGraph(r.Chain) {
		return nil, inputErr(fmt.Errorf("chain %q: the graph holds %s", r.Chain, graphChainNames()))
	}
	if !r.Until.IsZero() && !r.Until.After(r.Since) {
		return nil, inputErr(errors.New("until must be after since"))
	}
	idx, err := n.Index(ctx)
	if err != nil {
		return nil, err
	}
	g := n.db.Graph()
	tip, ok, err := g.Tip(ctx, r.Chain)
	if err != nil || !ok {
		return nil, err
	}
	from, err := n.firstBlockAt(ctx, r.Chain, tip.Height, r.Since)
	if err != nil {
		return nil, err
	}
	h := &graphHistory{g: g, ctx: ctx}
	e, err := rules.NewEngine(rules.DefaultConfig(), rules.WithLabeler(indexCategories{idx}), rules.WithHistory(h))
	if err != nil {
		return nil, err
	}
	var findings []rules.Finding
	err = g.Blocks(ctx, r.Chain, from, tip.Height, func(b *chain.Block) bool {
		if !r.Since.IsZero() && b.Time.Before(r.Since) {
			return true
		}
		if !r.Until.IsZero() && !b.Time.Before(r.Until) {
			return false
		}
		findings = append(findings, e.Block(b)...)
		h.observe(b)
		return true
	})
	if err != nil {
		return nil, err
	}
	as, err := n.findingAlerts(ctx, findings)
	if err != nil {
		return nil, err
	}
	if r.Raise {
		fresh, err := n.raise(ctx, actor(ctx), as...)
		if err != nil {
			return nil, err
		}
		if err := n.findingsOnTransfers(ctx, fresh); err != nil {
			return nil, err
		}
	}
	for i := range as {
		as[i].ID = alert.ID(as[i].Kind, as[i].Key)
	}
	return as, nil
}

// firstBlockAt is the lowest stored height whose block time is at or
// after t: a binary search over the stored heights, whose times the
// chains keep nearly monotonic (a block a little earlier than its parent
// is read, and skipped by the caller's own check).
func (n *Node) firstBlockAt(ctx context.Context, c chain.Chain, tip uint64, t time.Time) (uint64, error) {
	g := n.db.Graph()
	var low uint64
	found := false
	if err := g.Blocks(ctx, c, 0, tip, func(b *chain.Block) bool { low, found = b.Height, true; return false }); err != nil {
		return 0, err
	}
	if !found || t.IsZero() {
		return low, nil
	}
	lo, hi := low, tip+1
	for lo < hi {
		mid := lo + (hi-lo)/2
		bt, ok, err := g.BlockTime(ctx, c, mid)
		if err != nil {
			return 0, err
		}
		if !ok || bt.Before(t) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	// A few blocks back, for timestamps out of order.
	return lo - min(lo-low, 16), nil
}
