package node

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/ingest"
	"github.com/tracehound/tracehound/store/graph"
)

// Ingest is a run of blocks into the node's transfer graph, from a
// chain node (Node) or from files (Stream).
type Ingest struct {
	Chain  chain.Chain
	Node   ingest.NodeSource
	Stream ingest.StreamSource
	ingest.Options
	// Watch reruns the chain's watches as batches are stored, at most
	// every WatchEvery while catching up, and alerts on new endpoints;
	// the typology rules run on every stored block (see detectBatch). A
	// stream is then written batch by batch, since watches read the store
	// after each batch; otherwise it is bulk-loaded, committed in
	// gigabytes (BulkBlocks, if set, bounds a commit's blocks).
	Watch      bool
	WatchEvery time.Duration
	BulkBlocks int
	// keepGoing logs a failed watch check instead of stopping the
	// ingest: a server's follower must not stall on one watch that fails.
	keepGoing bool
}

// Ingest runs in. The trace cache is kept true to what each batch
// changes, so that traces in the same process see the new blocks.
func (n *Node) Ingest(ctx context.Context, in Ingest) (ingest.Stats, error) {
	o := in.Options
	g := n.db.Graph()
	var dst ingest.Store = g
	var wa *watcher
	var tap *blockTap
	if in.Watch {
		if _, err := n.Index(ctx); err != nil {
			return ingest.Stats{}, err
		}
		// The typology rules see every stored block; the watches rerun.
		tap = &blockTap{Store: g}
		dst = tap
		o.AfterWrite = chainAfterWrite(o.AfterWrite, n.detectAfterWrite(in.Chain, tap, in.keepGoing))
		wa = &watcher{n: n, c: in.Chain, every: in.WatchEvery, keepGoing: in.keepGoing}
		o.AfterWrite = chainAfterWrite(o.AfterWrite, wa.afterWrite)
	}
	o.Changed = chainChanged(o.Changed, n.graphChanged(in.Chain))
	o.Changed = chainChanged(o.Changed, n.scoreChanged(in.Chain, tap))
	var st ingest.Stats
	var err error
	switch {
	case in.Node != nil:
		st, err = ingest.RunNode(ctx, dst, in.Node, o)
	case in.Stream != nil:
		if !in.Watch {
			bo := graph.BulkOptions{MaxBlocks: in.BulkBlocks, Progress: o.CommitProgress}
			o.Bulk = func(ctx context.Context, c chain.Chain, source string) (ingest.BulkLoader, error) {
				return g.NewBulkLoader(ctx, c, source, bo)
			}
		}
		st, err = ingest.RunStream(ctx, dst, in.Stream, o)
	default:
		return ingest.Stats{}, inputErr(errors.New("an ingest needs a node or a stream source"))
	}
	// A bulk load's batches reach the store after Changed has seen
	// them: exposure catches up with what the load stored.
	n.exp.graphChanged(in.Chain, false)
	// A trace run meanwhile may have read it half-written: none is kept.
	n.memo.Clear()
	if wa != nil && err == nil {
		err = wa.finish(ctx)
	}
	return st, err
}

func chainAfterWrite(a, b func(context.Context, ingest.Progress) error) func(context.Context, ingest.Progress) error {
	if a == nil {
		return b
	}
	return func(ctx context.Context, p ingest.Progress) error {
		if err := a(ctx, p); err != nil {
			return err
		}
		return b(ctx, p)
	}
}

func chainChanged(a, b func([]string, bool)) func([]string, bool) {
	if a == nil {
		return b
	}
	return func(addrs []string, all bool) { a(addrs, all); b(addrs, all) }
}

// Follower keeps one chain current from its node while the node serves.
// A chain node that cannot be reached does not stop the server: it is
// connected to again, as a run that fails later is, waiting longer after
// each failure in a row.
type Follower struct {
	Node ChainNode
	ingest.Options
	// WatchEvery bounds how often watches rerun while catching up.
	WatchEvery time.Duration
}

// Pauses before following again after a failure.
const (
	followRetryMin = time.Second
	followRetryMax = time.Minute
)

// follow runs a follower until ctx ends, starting again from the stored
// tip after a failure. Each run ends after a whole batch, so the store's
// checkpoint is intact when ctx ends.
func (n *Node) follow(ctx context.Context, f Follower, state *followState) {
	log := n.log.With("chain", string(f.Node.Chain))
	for wait := followRetryMin; ; wait = min(2*wait, followRetryMax) {
		st, err := n.followOnce(ctx, f, state)
		if ctx.Err() != nil {
			tip, _, _ := n.db.Graph().Tip(context.WithoutCancel(ctx), f.Node.Chain)
			log.Info("stopped following; the next start resumes after the stored tip", "tip", tip.Height)
			return
		}
		if err == nil {
			err = errors.New("the ingest ended") // a follow ends only on error or ctx
		}
		if st.Blocks > 0 {
			wait = followRetryMin
		}
		state.failed(f.Node.Chain, err, n.now())
		log.Error("following failed; starting again from the stored tip", "err", err, "retry_in", wait.String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

func (n *Node) followOnce(ctx context.Context, f Follower, state *followState) (ingest.Stats, error) {
	c := f.Node.Chain
	src, closeSrc, _, err := n.OpenChainNode(ctx, f.Node)
	if err != nil {
		return ingest.Stats{}, err
	}
	defer closeSrc()
	n.log.Info("following", "chain", string(c), "source", src.ID())
	o := f.Options
	o.Follow = true
	o.Progress = chainProgress(o.Progress, func(p ingest.Progress) { state.progress(c, p, n.now()) })
	return n.Ingest(ctx, Ingest{Chain: c, Node: src, Options: o, Watch: true, WatchEvery: f.WatchEvery, keepGoing: true})
}

func chainProgress(a, b func(ingest.Progress)) func(ingest.Progress) {
	if a == nil {
		return b
	}
	return func(p ingest.Progress) { a(p); b(p) }
}

// followState is what the followers report for the health check: per
// chain, the last block stored, the node's head, and the last failure.
type followState struct {
	mu     sync.Mutex
	chains map[chain.Chain]*FollowStatus
}

// FollowStatus is one chain's follower as the health check reports it.
type FollowStatus struct {
	Chain  chain.Chain `json:"chain"`
	Height uint64      `json:"height"`
	Head   uint64      `json:"head"`
	// Lag is the blocks the store is behind the node's head.
	Lag       uint64    `json:"lag"`
	Updated   time.Time `json:"updated,omitzero"`
	LastError string    `json:"last_error,omitempty"`
	ErrorAt   time.Time `json:"error_at,omitzero"`
	// Connected is false until the node has answered once, and after a
	// failure until the next batch.
	Connected bool `json:"connected"`
}

func (s *followState) entry(c chain.Chain) *FollowStatus {
	if s.chains == nil {
		s.chains = map[chain.Chain]*FollowStatus{}
	}
	e := s.chains[c]
	if e == nil {
		e = &FollowStatus{Chain: c}
		s.chains[c] = e
	}
	return e
}

func (s *followState) progress(c chain.Chain, p ingest.Progress, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.entry(c)
	e.Height, e.Head, e.Updated, e.Connected = p.Height, max(p.Target, p.Height), now, true
	e.Lag = e.Head - e.Height
}

func (s *followState) failed(c chain.Chain, err error, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.entry(c)
	e.LastError, e.ErrorAt, e.Connected = err.Error(), now, false
}

func (s *followState) snapshot() []FollowStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]FollowStatus, 0, len(s.chains))
	for _, e := range s.chains {
		out = append(out, *e)
	}
	return out
}
