package node

import (
	"context"
	"errors"
	"fmt"
	"math"
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
}

// engineSet is the engines of one build.
type engineSet struct {
	byChain map[chain.Chain]*exposure.Engine
	built   time.Time
	took    time.Duration
	blocks  int
}

func newExposures(n *Node) *exposures {
	return &exposures{n: n, dirty: make(chan struct{}, 1)}
}

// Exposure answers screening: the address's exposure on its chain, nil
// before the engines are built or for a chain outside the graph.
func (x *exposures) Exposure(a chain.Address, paths bool) []exposure.Entry {
	s := x.set.Load()
	if s == nil {
		return nil
	}
	e := s.byChain[a.Chain]
	switch {
	case e == nil:
		return nil
	case paths:
		return e.Exposure(a.Value)
	default:
		return e.Rated(a.Value)
	}
}

// Exposure builds the exposure engines from the store, once, and has
// screening answers carry exposure from then on. Serving calls it before
// it listens, so that no answer goes out without the exposure the store
// implies.
func (n *Node) Exposure(ctx context.Context) error {
	idx, err := n.Index(ctx)
	if err != nil {
		return err
	}
	x := n.exp
	x.once.Do(func() {
		var s *engineSet
		if s, x.err = x.build(ctx); x.err != nil {
			return
		}
		x.mu.Lock()
		x.set.Store(s)
		x.mu.Unlock()
		idx.SetExposure(x)
		idx.OnChange(x.sourcesChanged)
	})
	return x.err
}

// build replays every stored block of each graph chain into new engines,
// with the sources and policy of now.
func (x *exposures) build(ctx context.Context) (*engineSet, error) {
	idx := x.n.index
	p := idx.Policy()
	start := time.Now()
	s := &engineSet{byChain: make(map[chain.Chain]*exposure.Engine, len(graphChains))}
	g := x.n.db.Graph()
	for _, c := range graphChains {
		eng := exposure.NewEngine(c, p.MaxHops, screen.MaskSources(idx.SourceMasks(c)))
		tip, ok, err := g.Tip(ctx, c)
		if err != nil {
			return nil, fmt.Errorf("exposure: %s tip: %w", c, err)
		}
		if ok {
			n, err := x.replay(ctx, eng, 0, tip.Height, tip.Height)
			if err != nil {
				return nil, err
			}
			s.blocks += n
		}
		s.byChain[c] = eng
	}
	s.built, s.took = time.Now(), time.Since(start)
	x.n.log.Info("exposure built", "blocks", s.blocks, "policy", p.Name, "max_hops", p.MaxHops, "elapsed", s.took.Round(time.Millisecond).String())
	return s, nil
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
	_, err := x.replay(ctx, eng, from, math.MaxUint64, from)
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

// rebuildOnChange rebuilds the engines in the background each time the
// sources change, and swaps them in once they have caught up with the
// store. Screening answers from the old engines meanwhile.
func (x *exposures) rebuildOnChange(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
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
		if err := x.rebuild(ctx); err != nil && !errors.Is(err, context.Canceled) {
			x.n.log.Error("exposure rebuild failed; screening keeps the previous exposure", "err", err)
		}
	}
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
