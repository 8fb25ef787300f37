package node

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/detect/exposure"
	"github.com/tracehound/tracehound/screen"
)

// exposures keeps one exposure engine per chain of the graph, current
// with the store: built from the stored blocks when the node starts
// serving (or a command first screens), advanced as each ingested batch
// lands, and rebuilt in the background when what makes a source (a list,
// the tags, partners' flags, the policy) or the chain's history (a
// reorganisation) changes. Screening reads it from memory.
type exposures struct {
	n *Node
	// mu serialises advancing the engines and swapping them.
	mu   sync.Mutex
	set  atomic.Pointer[engineSet]
	once sync.Once
	err  error
	// dirty asks the rebuilder for a new set.
	dirty chan struct{}
	// spacing is how many times its own duration (with the snapshot
	// written after it) a rebuild waits before the next (rebuildSpacing).
	spacing int
	// settle is how long the sources must stay unchanged before a
	// rebuild starts (rebuildSettle).
	settle time.Duration
}

// rebuildSpacing spaces the rebuilds: a rebuild replays the whole graph,
// a minute or more and a core on a store of ten million transfers, and
// changes can come faster than that (each alert a shared watch publishes
// flags an address in the node's own screening). Rebuilding back to back
// would keep a core busy for good and slow what the node does meanwhile,
// its watches first. Added sources show at once through the quick pass;
// the rebuild that reconciles them then takes at most a fifth of the time.
const rebuildSpacing = 4

// rebuildSettle is the quiet a rebuild waits for after a change, and
// rebuildMaxDefer the longest it waits for it: changes that keep coming
// still get a rebuild now and then.
const (
	rebuildSettle   = time.Second
	rebuildMaxDefer = 30 * time.Second
)

// engineSet is the engines of one build.
type engineSet struct {
	byChain map[chain.Chain]*exposure.Engine
	// layers are the index's layers the engines follow: a snapshot
	// records their digest beside the engines.
	layers *screen.Layers
	// masks are the sources each engine holds, to tell what a change
	// of the sources added; those of a restored engine are read from
	// layers when first needed. x.mu guards them.
	masks  map[chain.Chain]map[string]exposure.Mask
	policy string
	// quick says a quick pass added sources to the engines: they no
	// longer follow layers exactly, and are not saved until the rebuild
	// replaces them.
	quick  atomic.Bool
	built  time.Time
	took   time.Duration
	blocks int
}

func newExposures(n *Node) *exposures {
	return &exposures{n: n, dirty: make(chan struct{}, 1), spacing: rebuildSpacing, settle: rebuildSettle}
}

// Exposure answers screening: the address's exposure on its chain, nil
// before the engines are built or for a chain outside the graph, or if
// it cannot be read (ExposureErr says so).
func (x *exposures) Exposure(a chain.Address, paths bool) []exposure.Entry {
	out, _ := x.ExposureErr(a, paths)
	return out
}

// ExposureErr is Exposure, with the error of an engine whose saved
// accounts turned out unreadable: it is rebuilt from the store and the
// answer read from the new one. A caller that holds the engines' lock (an
// ingest re-evaluating) cannot wait for that: the rebuild runs in the
// background and the answer fails closed meanwhile.
func (x *exposures) ExposureErr(a chain.Address, paths bool) ([]exposure.Entry, error) {
	s := x.set.Load()
	if s == nil {
		return nil, nil
	}
	e := s.byChain[a.Chain]
	if e == nil {
		return nil, nil
	}
	out := read(e, a.Value, paths)
	if err := e.Err(); err != nil {
		if !x.mu.TryLock() {
			x.sourcesChanged()
			return nil, fmt.Errorf("exposure of %s: %w", a.Chain, err)
		}
		defer x.mu.Unlock()
		ne := x.recoverChain(context.Background(), a.Chain)
		if ne == nil {
			return nil, fmt.Errorf("exposure of %s: %w; its rebuild failed", a.Chain, err)
		}
		out = read(ne, a.Value, paths)
	}
	return out, nil
}

func read(e *exposure.Engine, addr string, paths bool) []exposure.Entry {
	if paths {
		return e.Exposure(addr)
	}
	return e.Rated(addr)
}

// recoverChain replaces chain c's engine, whose snapshot failed a check,
// by one built from the store; x.mu is held. It returns the new engine,
// nil if the build failed.
func (x *exposures) recoverChain(ctx context.Context, c chain.Chain) *exposure.Engine {
	s := x.set.Load()
	old := s.byChain[c]
	if old == nil || old.Err() == nil {
		return old // another reader recovered it
	}
	x.n.log.Error("screening snapshot: exposure accounts corrupt; rebuilding the engine from the store", "chain", c, "err", old.Err())
	if cur := x.n.snap.current(); cur != nil {
		os.Remove(cur.Path())
	}
	e, masks, _, err := x.buildChain(ctx, c, s.layers)
	if err != nil {
		x.n.log.Error("exposure rebuild failed", "chain", c, "err", err)
		return nil
	}
	ns := newEngineSet(s.layers)
	ns.byChain, ns.masks, ns.built = maps.Clone(s.byChain), maps.Clone(s.masks), time.Now()
	ns.quick.Store(s.quick.Load())
	ns.byChain[c], ns.masks[c] = e, masks
	x.set.Store(ns)
	x.n.snap.dirty.Store(true)
	return e
}

// Exposure builds the exposure engines once, and has screening answers
// carry exposure from then on: each engine is restored from the
// screening snapshot where the snapshot followed the same sources and
// the chain still holds the block it is through, and caught up with the
// blocks stored since; otherwise it is built from the stored blocks.
// Serving calls it before it listens, so that no answer goes out without
// the exposure the store implies.
func (n *Node) Exposure(ctx context.Context) error {
	idx, err := n.Index(ctx)
	if err != nil {
		return err
	}
	x := n.exp
	x.once.Do(func() {
		var s *engineSet
		if s, x.err = x.start(ctx); x.err != nil {
			return
		}
		x.mu.Lock()
		x.set.Store(s)
		x.mu.Unlock()
		idx.SetExposure(x)
		idx.OnChange(func() {
			n.indexChanged()
			x.sourcesChanged()
		})
	})
	return x.err
}

// start restores the engines from the snapshot, or builds those it
// cannot restore.
func (x *exposures) start(ctx context.Context) (*engineSet, error) {
	snap := x.n.snap.current()
	if snap == nil {
		return x.build(ctx)
	}
	idx := x.n.index
	l := idx.Layers()
	m := snap.Manifest()
	reason := ""
	switch {
	case len(m.Engines) == 0:
		reason = "no engines saved"
	case m.Model != exposure.ModelVersion:
		reason = "another exposure model"
	case m.Policy != l.Policy().ExposureKey():
		reason = "another policy"
	}
	if reason == "" {
		d, err := l.Digest()
		if err != nil {
			return nil, err
		}
		if d != m.Sources {
			reason = "the sources changed"
		}
	}
	if reason != "" {
		x.n.log.Info("screening snapshot: exposure rebuilt from the store", "file", snap.Path(), "reason", reason)
		x.n.snap.dirty.Store(true)
		return x.build(ctx)
	}
	start := time.Now()
	s := newEngineSet(l)
	for _, c := range graphChains {
		e, ok, err := snap.Engine(c, l.Sources())
		if err == nil && ok {
			ok, err = x.resume(ctx, e)
		}
		if err != nil {
			x.n.log.Warn("screening snapshot: exposure engine refused; rebuilding it", "file", snap.Path(), "chain", c, "err", err)
		}
		if err != nil || !ok {
			x.n.snap.dirty.Store(true)
			var n int
			if e, s.masks[c], n, err = x.buildChain(ctx, c, l); err != nil {
				return nil, err
			}
			s.blocks += n
		}
		s.byChain[c] = e
	}
	if err := l.Err(); err != nil {
		// The layers' file failed a check while the engines caught up:
		// what they followed is unknown.
		x.n.log.Error("screening snapshot: sources unreadable; exposure rebuilt from the store", "err", err)
		x.n.snap.dirty.Store(true)
		return x.build(ctx)
	}
	s.built, s.took = time.Now(), time.Since(start)
	x.n.log.Info("exposure restored", "file", snap.Path(), "blocks", s.blocks, "elapsed", s.took.Round(time.Millisecond).String())
	return s, nil
}

// resume checks that the chain still holds the block a restored engine
// is through, with its hash, and applies the blocks stored since; false
// if the chain moved under it (a reorganisation, a store rewound).
func (x *exposures) resume(ctx context.Context, e *exposure.Engine) (bool, error) {
	st := e.State()
	g := x.n.db.Graph()
	if st.Applied {
		if st.Hash == "" {
			return false, nil // a block without a hash cannot be recognised
		}
		h, ok, err := g.BlockHash(ctx, st.Chain, st.Through)
		if err != nil {
			return false, fmt.Errorf("exposure: %s block %d: %w", st.Chain, st.Through, err)
		}
		if !ok || h != st.Hash {
			x.n.log.Info("screening snapshot: the chain changed under the saved exposure; rebuilding it", "chain", st.Chain, "through", st.Through)
			return false, nil
		}
	}
	from := uint64(0)
	if st.Applied {
		from = st.Through + 1
	}
	n, err := x.replay(ctx, e, from, math.MaxUint64, from)
	if err != nil {
		return false, err
	}
	if n > 0 {
		x.n.snap.dirty.Store(true)
	}
	return e.Err() == nil, e.Err()
}

// build replays every stored block of each graph chain into new engines,
// with the sources and policy of now.
func (x *exposures) build(ctx context.Context) (*engineSet, error) {
	l := x.n.index.Layers()
	start := time.Now()
	s := newEngineSet(l)
	for _, c := range graphChains {
		eng, masks, n, err := x.buildChain(ctx, c, l)
		if err != nil {
			return nil, err
		}
		s.blocks += n
		s.byChain[c], s.masks[c] = eng, masks
	}
	s.built, s.took = time.Now(), time.Since(start)
	x.n.log.Info("exposure built", "blocks", s.blocks, "policy", l.Policy().Name, "max_hops", l.MaxHops(), "elapsed", s.took.Round(time.Millisecond).String())
	return s, nil
}

// buildChain replays chain c's stored blocks into a new engine following
// the sources of l.
func (x *exposures) buildChain(ctx context.Context, c chain.Chain, l *screen.Layers) (*exposure.Engine, map[string]exposure.Mask, int, error) {
	masks := l.SourceMasks(c)
	eng := exposure.NewEngine(c, l.MaxHops(), screen.MaskSources(masks))
	tip, ok, err := x.n.db.Graph().Tip(ctx, c)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("exposure: %s tip: %w", c, err)
	}
	if !ok {
		return eng, masks, 0, l.Err()
	}
	n, err := x.replay(ctx, eng, 0, tip.Height, tip.Height)
	if err != nil {
		return nil, nil, n, err
	}
	return eng, masks, n, l.Err()
}

func newEngineSet(l *screen.Layers) *engineSet {
	return &engineSet{byChain: make(map[chain.Chain]*exposure.Engine, len(graphChains)), layers: l,
		masks: make(map[chain.Chain]map[string]exposure.Mask, len(graphChains)), policy: policyKey(l.Policy())}
}

// replay applies the stored blocks from..to to eng, logging progress on
// long replays.
func (x *exposures) replay(ctx context.Context, eng *exposure.Engine, from, to, tip uint64) (int, error) {
	start, last := time.Now(), time.Now()
	n := 0
	err := x.n.db.Graph().Blocks(ctx, eng.Chain(), from, to, func(b *chain.Block) bool {
		eng.Apply(b)
		n++
		if time.Since(last) > 5*time.Second {
			last = time.Now()
			rate := float64(n) / time.Since(start).Seconds()
			eta := time.Duration(float64(tip-b.Height) / rate * float64(time.Second))
			x.n.log.Info("exposure: replaying blocks", "chain", eng.Chain(), "height", b.Height, "tip", tip,
				"blocks_per_s", int(rate), "eta", eta.Round(time.Second).String())
		}
		return true
	})
	if err != nil {
		return n, fmt.Errorf("exposure: replay %s blocks: %w", eng.Chain(), err)
	}
	return n, nil
}

// advance applies to chain c's engine the blocks stored since its last.
func (x *exposures) advance(ctx context.Context, s *engineSet, c chain.Chain) error {
	eng := s.byChain[c]
	if eng == nil {
		return nil
	}
	from := uint64(0)
	if h, ok := eng.Through(); ok {
		from = h + 1
	}
	n, err := x.replay(ctx, eng, from, math.MaxUint64, from)
	if n > 0 {
		x.n.snap.dirty.Store(true)
	}
	return err
}

// graphChanged follows an ingest: new blocks are applied at once; a
// rewound history (a reorganisation) asks for a rebuild.
func (x *exposures) graphChanged(c chain.Chain, all bool) {
	s := x.set.Load()
	if s == nil {
		return
	}
	if all {
		x.sourcesChanged()
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	// The ingest has committed the batch; reading it back resolves
	// Bitcoin inputs as the store did.
	if err := x.advance(context.Background(), x.set.Load(), c); err != nil {
		x.n.log.Error("exposure: applying ingested blocks failed; rebuilding", "chain", c, "err", err)
		x.sourcesChanged()
		return
	}
	// New exposure can change a registered transfer's decision.
	x.n.screeningChanged(context.Background())
}

// sourcesChanged asks for a rebuild; it never blocks.
func (x *exposures) sourcesChanged() {
	select {
	case x.dirty <- struct{}{}:
	default:
	}
}

// snapshotEvery is how often a serving node saves the screening
// snapshot while what it holds moves on (blocks applied, intelligence
// received): a restart replays at most that much.
const snapshotEvery = 5 * time.Minute

// rebuildOnChange rebuilds the engines in the background each time the
// sources change, and swaps them in once they have caught up with the
// store. Screening answers from the old engines meanwhile. It saves the
// screening snapshot after each rebuild, every snapshotEvery if it moved
// on, and when the node stops; and checks once, in the background, every
// block of the snapshot the node started from.
func (x *exposures) rebuildOnChange(ctx context.Context) {
	if snap := x.n.snap.current(); snap != nil {
		go x.verify(ctx, snap)
	}
	tick := time.NewTicker(snapshotEvery)
	defer tick.Stop()
	defer x.save(context.WithoutCancel(ctx))
	var next time.Time // the earliest start of the next rebuild
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			x.save(ctx)
			continue
		case <-x.dirty:
		}
		// Changes come in bursts (an import swaps a layer, then the
		// next): one rebuild for the burst.
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
		select {
		case <-x.dirty:
		default:
		}
		x.quickPass(ctx)
		// The rebuild and the snapshot after it wait for the changes to
		// settle (a partner's report lands page after page, each page a
		// change), at most rebuildMaxDefer after the first, and for the
		// spacing after the last rebuild: they read every source held,
		// and must not take the cores the changes themselves need.
		first, last := time.Now(), time.Now()
		for {
			at := last.Add(x.settle)
			if limit := first.Add(rebuildMaxDefer); at.After(limit) {
				at = limit
			}
			if next.After(at) {
				at = next
			}
			wait := time.Until(at)
			if wait <= 0 {
				break
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			case <-x.dirty:
				last = time.Now()
				x.quickPass(ctx)
			}
		}
		start := time.Now()
		err := x.rebuild(ctx)
		if err != nil && !errors.Is(err, context.Canceled) {
			next = time.Now().Add(time.Duration(x.spacing) * time.Since(start))
			x.n.log.Error("exposure rebuild failed; screening keeps the previous exposure", "err", err)
			continue
		}
		x.save(ctx)
		next = time.Now().Add(time.Duration(x.spacing) * time.Since(start))
	}
}

// quickPass shows sources only added (a partner's flag, a new listing)
// at once through the postings they reach; the rebuild then reconciles
// what the quick pass bounds.
func (x *exposures) quickPass(ctx context.Context) {
	if err := x.addSources(ctx); err != nil && !errors.Is(err, context.Canceled) {
		x.n.log.Warn("exposure: quick pass over new sources failed; the rebuild will reflect them", "err", err)
	}
}

// save writes the screening snapshot if what the node holds moved on.
func (x *exposures) save(ctx context.Context) {
	if err := x.n.SaveSnapshot(ctx, false); err != nil && ctx.Err() == nil {
		x.n.log.Error("screening snapshot not saved", "err", err)
	}
}

// verify checks every block of the snapshot the node started from; a
// corrupt one has the layers and the engines rebuilt from the store
// before a look-up needs it.
func (x *exposures) verify(ctx context.Context, snap *screen.Snapshot) {
	err := snap.Verify()
	if err == nil || ctx.Err() != nil {
		return
	}
	x.n.log.Error("screening snapshot failed its check", "file", snap.Path(), "err", err)
	x.n.mu.Lock()
	ferr := x.n.indexFault(err)
	x.n.mu.Unlock()
	if ferr != nil {
		x.n.log.Error("screening index rebuild failed", "err", ferr)
	}
	// The layers changed (OnChange): the engines are rebuilt too.
	x.sourcesChanged()
}

func (x *exposures) rebuild(ctx context.Context) error {
	s, err := x.build(ctx)
	if err != nil {
		return err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	for c := range s.byChain {
		if err := x.advance(ctx, s, c); err != nil {
			return err
		}
	}
	x.set.Store(s)
	x.n.screeningChanged(ctx)
	return nil
}

// policyKey identifies what of a policy the engines depend on.
func policyKey(p *screen.Policy) string {
	return fmt.Sprintf("%s/%d/%d", p.Name, p.MaxHops, p.MinConfidence)
}

// addSources reflects sources added since the engines were built, on
// account chains, without a replay: each engine follows its new sources
// forward through the postings they reach (exposure.Engine.AddSources).
// Removed sources, new services, a policy change and Bitcoin's pooled
// inputs wait for the rebuild.
func (x *exposures) addSources(ctx context.Context) error {
	s := x.set.Load()
	if s == nil {
		return nil
	}
	idx := x.n.index
	p := idx.Policy()
	if policyKey(p) != s.policy {
		return nil
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	changed := false
	for c, eng := range s.byChain {
		if c == chain.Bitcoin {
			continue
		}
		if _, ok := s.masks[c]; !ok {
			// A restored engine: its sources are its layers'.
			s.masks[c] = s.layers.SourceMasks(c)
		}
		now := idx.SourceMasks(c)
		added := map[string]exposure.Mask{}
		for a, m := range now {
			if m &^= s.masks[c][a]; m != 0 {
				added[a] = m
			}
		}
		if len(added) == 0 {
			continue
		}
		start := time.Now()
		st, err := eng.AddSources(ctx, exposure.GraphPostings{G: x.n.db.Graph(), C: c}, added, screen.MaskSources(now))
		if err != nil {
			return fmt.Errorf("exposure: new %s sources: %w", c, err)
		}
		// Later passes diff against what this one reflected.
		s.masks[c] = now
		s.quick.Store(true)
		changed = true
		x.n.log.Info("exposure: new sources reflected", "chain", c, "sources", st.Sources, "addresses", st.Affected,
			"postings", st.Postings, "elapsed", time.Since(start).Round(time.Millisecond).String())
	}
	if changed {
		x.n.screeningChanged(ctx)
	}
	return nil
}
