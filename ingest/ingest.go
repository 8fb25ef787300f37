package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/tracehound/tracehound/chain"
)

// Store is what ingest needs of the transfer graph.
type Store interface {
	Tip(ctx context.Context, c chain.Chain) (chain.Tip, bool, error)
	BlockHash(ctx context.Context, c chain.Chain, height uint64) (string, bool, error)
	// Unspent returns the outpoints the store holds unspent.
	Unspent(ctx context.Context, c chain.Chain, refs []chain.OutPoint) (map[chain.OutPoint]chain.Output, error)
	// WriteBlocks stores consecutive blocks extending the tip, atomically.
	WriteBlocks(ctx context.Context, c chain.Chain, source string, blocks []*chain.Block) error
	// Rollback removes the blocks above height.
	Rollback(ctx context.Context, c chain.Chain, height uint64) (int, error)
}

// Options control a run.
type Options struct {
	// From is the first height to ingest when the store holds nothing of
	// the chain yet; later runs resume after the stored tip.
	From uint64
	// To, if set, is the last height to ingest.
	To *uint64
	// Confirmations keeps this many blocks behind the node's head, so
	// that shallow reorgs rarely reach the store.
	Confirmations uint64
	// Batch is the number of blocks written per atomic batch.
	Batch int
	// Follow keeps polling for new blocks after catching up.
	Follow bool
	// Poll is the interval between head checks when following. A source
	// that is a HeadWatcher is asked for the head as soon as it announces
	// one as well; Poll then only bounds how late a missed announcement
	// is noticed.
	Poll time.Duration
	// MaxReorg bounds how far back a fork is searched.
	MaxReorg uint64
	// Progress, if set, is called after every batch.
	Progress func(Progress)
	// Changed, if set, is told which addresses' histories each stored
	// batch changed, before AfterWrite, so that caches of them can be
	// dropped; all is set when a reorg rolled blocks back and the
	// addresses are not named.
	Changed func(addrs []string, all bool)
	// AfterWrite, if set, is called after every stored batch (to rerun
	// live traces, say); an error stops the run.
	AfterWrite func(context.Context, Progress) error
	Metrics    *Metrics
	Log        *slog.Logger
	// Bulk, if set, starts a bulk load that RunStream writes through
	// instead of WriteBlocks: blocks are stored in chunks far larger than
	// Batch, each atomically with the tip. Changed and AfterWrite still
	// see every batch, before the store holds it, so a run that reads
	// the store after each batch (watches) must not set Bulk.
	Bulk func(ctx context.Context, c chain.Chain, source string) (BulkLoader, error)
	// CommitProgress, if set, is for the bulk loader to report a commit's
	// progress with: bytes merged, and bytes to merge.
	CommitProgress func(merged, total int64)
}

// BulkLoader stores the blocks of a bulk load: it buffers them and
// writes them in large atomic chunks.
type BulkLoader interface {
	// Unspent is Store.Unspent, seeing the blocks buffered.
	Unspent(ctx context.Context, c chain.Chain, refs []chain.OutPoint) (map[chain.OutPoint]chain.Output, error)
	// WriteBlocks buffers consecutive blocks extending the tip, and
	// stores the buffer when it is full.
	WriteBlocks(ctx context.Context, blocks []*chain.Block) error
	// Flush stores the blocks buffered.
	Flush(ctx context.Context) error
	// Tip is the last block stored.
	Tip() (height uint64, ok bool)
	// Close drops the blocks not flushed.
	Close() error
}

// UnspentSource is what ResolveInputs reads unspent outputs from: the
// store, or a bulk load that has not stored its last blocks yet.
type UnspentSource interface {
	Unspent(ctx context.Context, c chain.Chain, refs []chain.OutPoint) (map[chain.OutPoint]chain.Output, error)
}

func (o *Options) defaults() {
	if o.Batch <= 0 {
		o.Batch = 100
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.MaxReorg == 0 {
		o.MaxReorg = 1000
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
}

// Progress reports a run's state.
type Progress struct {
	Source    string
	Height    uint64 // last block stored
	Target    uint64 // height the run is heading for; 0 if unknown
	Blocks    int
	Transfers int
	Elapsed   time.Duration
	// SourceWait is the time spent waiting on the source (RPC or disk).
	SourceWait time.Duration
	// Fraction done by a source that knows its size (files), else by height.
	Fraction float64
}

// BlocksPerSecond and TransfersPerSecond are averages over the run.
func (p Progress) BlocksPerSecond() float64    { return rate(p.Blocks, p.Elapsed) }
func (p Progress) TransfersPerSecond() float64 { return rate(p.Transfers, p.Elapsed) }

// ETA estimates the time left, or 0 when unknown.
func (p Progress) ETA() time.Duration {
	if p.Fraction <= 0 || p.Fraction >= 1 {
		return 0
	}
	return time.Duration(float64(p.Elapsed) * (1 - p.Fraction) / p.Fraction)
}

func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// Stats is a finished run's summary.
type Stats = Progress

// run carries one ingest run's state.
type run struct {
	st    Store
	c     chain.Chain
	id    string
	o     Options
	start time.Time
	p     Progress
	bulk  BulkLoader // nil unless o.Bulk
}

func newRun(st Store, c chain.Chain, id string, o Options) *run {
	o.defaults()
	return &run{st: st, c: c, id: id, o: o, start: time.Now(), p: Progress{Source: id}}
}

// write prepares and stores a batch and reports progress.
func (r *run) write(ctx context.Context, blocks []*chain.Block) error {
	if len(blocks) == 0 {
		return nil
	}
	var us UnspentSource = r.st
	if r.bulk != nil {
		us = r.bulk
	}
	if r.c == chain.Bitcoin {
		if err := ResolveInputs(ctx, us, r.c, blocks); err != nil {
			return err
		}
	}
	n := 0
	for _, b := range blocks {
		for i := range b.Txs {
			n += len(b.Txs[i].Transfers)
		}
	}
	if r.bulk != nil {
		if err := r.bulk.WriteBlocks(ctx, blocks); err != nil {
			return err
		}
	} else if err := r.st.WriteBlocks(ctx, r.c, r.id, blocks); err != nil {
		return err
	}
	r.p.Height = blocks[len(blocks)-1].Height
	r.p.Blocks += len(blocks)
	r.p.Transfers += n
	r.p.Elapsed = time.Since(r.start)
	if m := r.o.Metrics; m != nil {
		m.observe(r.id, len(blocks), n, r.p.Height)
	}
	if r.o.Progress != nil {
		r.o.Progress(r.p)
	}
	if r.o.Changed != nil {
		r.o.Changed(Touched(blocks), false)
	}
	if r.o.AfterWrite != nil {
		if err := r.o.AfterWrite(ctx, r.p); err != nil {
			return err
		}
	}
	return nil
}

// RunNode ingests from a node: from the stored tip (or o.From) up to the
// node's head less the confirmations (or o.To), then, with o.Follow, keeps
// up as blocks arrive. A block whose parent is not the stored block below
// it means the node reorganised: the orphaned blocks are rolled back and
// the new branch ingested.
func RunNode(ctx context.Context, st Store, src NodeSource, o Options) (Stats, error) {
	r := newRun(st, src.Chain(), src.ID(), o)
	hw := newHeadWait(src, r.o)
	defer hw.stop()
	for {
		next, err := r.next(ctx)
		if err != nil {
			return r.p, err
		}
		t0 := time.Now()
		head, err := src.Head(ctx)
		r.p.SourceWait += time.Since(t0)
		if err != nil {
			return r.p, fmt.Errorf("%s: read head: %w", r.id, err)
		}
		if m := r.o.Metrics; m != nil {
			m.head.WithLabelValues(r.id).Set(float64(head))
		}
		target := uint64(0)
		if head >= r.o.Confirmations {
			target = head - r.o.Confirmations
		}
		if r.o.To != nil && *r.o.To < target {
			target = *r.o.To
		}
		r.p.Target = target
		if next > target || (head < r.o.Confirmations) {
			if r.o.To != nil && next > *r.o.To || !r.o.Follow {
				return r.p, nil
			}
			if !hw.wait(ctx) {
				return r.p, nil
			}
			continue
		}
		to := min(target, next+uint64(r.o.Batch)-1)
		t0 = time.Now()
		blocks, err := src.Blocks(ctx, next, to)
		r.p.SourceWait += time.Since(t0)
		if err != nil {
			return r.p, fmt.Errorf("%s: blocks %d-%d: %w", r.id, next, to, err)
		}
		if err := checkLinks(blocks, next, to); err != nil {
			// The node changed branch while answering: ask again.
			r.o.Log.Warn("blocks do not link, fetching again", "source", r.id, "error", err)
			continue
		}
		forked, err := r.forked(ctx, blocks[0])
		if err != nil {
			return r.p, err
		}
		if forked {
			if err := r.reorg(ctx, src, next-1); err != nil {
				return r.p, err
			}
			continue
		}
		if err := r.write(ctx, blocks); err != nil {
			return r.p, err
		}
		if r.o.To != nil && r.p.Height >= *r.o.To && !r.o.Follow {
			return r.p, nil
		}
		if target > 0 {
			r.p.Fraction = float64(r.p.Height-min(r.o.From, r.p.Height)) / float64(max(1, target-min(r.o.From, target)))
		}
	}
}

// headWait is how a following run waits for the node's next head: an
// announcement from a HeadWatcher, or the poll interval, whichever comes
// first.
type headWait struct {
	src  NodeSource
	o    Options
	subs int // subscriptions made; one that breaks is made once more
	// heads is nil when there is no subscription: the wait is a poll.
	heads  <-chan uint64
	cancel context.CancelFunc
}

func newHeadWait(src NodeSource, o Options) *headWait {
	return &headWait{src: src, o: o, cancel: func() {}}
}

// maxSubscriptions is how often a run subscribes to heads: once, and
// again once if the first subscription breaks; after that it polls.
const maxSubscriptions = 2

// wait returns when the node may have a new head, false if ctx ended.
// It subscribes on first use where the source can.
func (w *headWait) wait(ctx context.Context) bool {
	if hw, ok := w.src.(HeadWatcher); ok && w.heads == nil && w.subs < maxSubscriptions {
		w.subs++
		sctx, cancel := context.WithCancel(ctx)
		heads, err := hw.WatchHeads(sctx)
		if err != nil {
			cancel()
			w.subs = maxSubscriptions // refused: asking again would be refused too
			w.o.Log.Info("no head subscription; polling for new blocks", "source", w.src.ID(), "every", w.o.Poll.String(), "reason", err)
		} else {
			w.heads, w.cancel = heads, cancel
			w.o.Log.Info("subscribed to new heads", "source", w.src.ID())
			// A head that came between the last look and the
			// subscription was announced to nobody: look again now.
			return ctx.Err() == nil
		}
	}
	t := time.NewTimer(w.o.Poll)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	case _, ok := <-w.heads:
		if !ok {
			w.o.Log.Warn("head subscription ended; polling until it is made again", "source", w.src.ID())
			w.cancel()
			w.heads = nil
		}
	}
	return true
}

func (w *headWait) stop() { w.cancel() }

// next is the first height to ingest.
func (r *run) next(ctx context.Context) (uint64, error) {
	tip, ok, err := r.st.Tip(ctx, r.c)
	if err != nil {
		return 0, err
	}
	if !ok {
		return r.o.From, nil
	}
	return tip.Height + 1, nil
}

// forked reports whether b does not extend the stored chain.
func (r *run) forked(ctx context.Context, b *chain.Block) (bool, error) {
	if b.Height == 0 {
		return false, nil
	}
	h, ok, err := r.st.BlockHash(ctx, r.c, b.Height-1)
	if err != nil || !ok || h == "" {
		// A block stored without its hash (from a CSV export) cannot be
		// checked.
		return false, err
	}
	return h != b.Parent, nil
}

// reorg walks back from height until the node's block equals the stored
// one and rolls back everything above it.
func (r *run) reorg(ctx context.Context, src NodeSource, height uint64) error {
	for depth := uint64(0); ; depth++ {
		if depth > r.o.MaxReorg {
			return fmt.Errorf("%s: no common block within %d blocks of %d: the node follows another chain than the store", r.id, r.o.MaxReorg, height)
		}
		stored, ok, err := r.st.BlockHash(ctx, r.c, height)
		if err != nil {
			return err
		}
		node, err := src.HashAt(ctx, height)
		if err != nil {
			return fmt.Errorf("%s: hash at %d: %w", r.id, height, err)
		}
		if ok && stored == node {
			n, err := r.st.Rollback(ctx, r.c, height)
			if err != nil {
				return err
			}
			r.o.Log.Warn("reorg: rolled back orphaned blocks", "source", r.id, "fork_height", height, "removed", n)
			if r.o.Changed != nil {
				r.o.Changed(nil, true)
			}
			if m := r.o.Metrics; m != nil {
				m.reorgs.WithLabelValues(r.id).Inc()
			}
			return nil
		}
		if height == 0 {
			return fmt.Errorf("%s: the node's genesis block differs from the store's", r.id)
		}
		height--
	}
}

// checkLinks verifies that blocks are from..to and each names the one
// before it as parent.
func checkLinks(blocks []*chain.Block, from, to uint64) error {
	if uint64(len(blocks)) != to-from+1 {
		return fmt.Errorf("asked for %d blocks, got %d", to-from+1, len(blocks))
	}
	for i, b := range blocks {
		if b.Height != from+uint64(i) {
			return fmt.Errorf("block %d where %d was expected", b.Height, from+uint64(i))
		}
		if i > 0 && b.Parent != blocks[i-1].Hash {
			return fmt.Errorf("block %d's parent %s is not block %d (%s)", b.Height, b.Parent, blocks[i-1].Height, blocks[i-1].Hash)
		}
	}
	return nil
}

// sized is a stream source that knows how far through its input it is.
type sized interface {
	Progress() (done, total int64)
}

// RunStream ingests every block a stream yields, skipping blocks the
// store already holds (so that an interrupted run resumes), in atomic
// batches. A stream error stops the run after everything before it has
// been stored.
//
// With o.Bulk, blocks are stored in the loader's chunks; the stats'
// Height is the last block stored, which on an error may be below the
// last block read.
func RunStream(ctx context.Context, st Store, src StreamSource, o Options) (Stats, error) {
	r := newRun(st, src.Chain(), src.ID(), o)
	next, err := r.next(ctx)
	if err != nil {
		return r.p, err
	}
	if r.o.Bulk != nil {
		bl, err := r.o.Bulk(ctx, r.c, r.id)
		if err != nil {
			return r.p, err
		}
		r.bulk = bl
		defer bl.Close()
		p, err := runStream(ctx, r, src, next)
		if err == nil {
			err = bl.Flush(ctx)
		}
		if h, ok := bl.Tip(); ok {
			p.Height = h
		} else {
			p.Height = 0
		}
		p.Elapsed = time.Since(r.start)
		return p, err
	}
	return runStream(ctx, r, src, next)
}

func runStream(ctx context.Context, r *run, src StreamSource, next uint64) (Stats, error) {
	st := r.st
	tipHeight := next - 1
	var batch []*chain.Block
	flush := func() error {
		if err := r.write(ctx, batch); err != nil {
			return err
		}
		batch = batch[:0]
		return nil
	}
	for {
		if err := ctx.Err(); err != nil {
			return r.p, err
		}
		t0 := time.Now()
		b, err := src.Next(ctx)
		r.p.SourceWait += time.Since(t0)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			ferr := flush()
			if ferr == nil && r.bulk != nil {
				ferr = r.bulk.Flush(ctx)
			}
			if ferr != nil {
				return r.p, errors.Join(err, ferr)
			}
			return r.p, fmt.Errorf("%s: %w", r.id, err)
		}
		if s, ok := src.(sized); ok {
			if done, total := s.Progress(); total > 0 {
				r.p.Fraction = float64(done) / float64(total)
			}
		}
		if b.Height < next {
			// Already stored: the stream must agree with the store.
			if b.Height == tipHeight && next > 0 {
				h, ok, err := st.BlockHash(ctx, r.c, b.Height)
				if err != nil {
					return r.p, err
				}
				if ok && h != "" && b.Hash != "" && h != b.Hash {
					return r.p, fmt.Errorf("%s: block %d is %s in the input but %s in the store: a different chain", r.id, b.Height, b.Hash, h)
				}
			}
			continue
		}
		if r.o.To != nil && b.Height > *r.o.To {
			break
		}
		if len(batch) > 0 && b.Height != batch[len(batch)-1].Height+1 {
			return r.p, fmt.Errorf("%s: block %d after %d: the input skips blocks", r.id, b.Height, batch[len(batch)-1].Height)
		}
		if len(batch) == 0 && b.Height != next {
			return r.p, fmt.Errorf("%s: input starts at block %d but the store needs %d next", r.id, b.Height, next)
		}
		batch = append(batch, b)
		next = b.Height + 1
		if len(batch) >= r.o.Batch {
			if err := flush(); err != nil {
				return r.p, err
			}
		}
	}
	if err := flush(); err != nil {
		return r.p, err
	}
	r.p.Fraction = 1
	return r.p, nil
}

// Touched returns the addresses whose histories the blocks add to: the
// senders and recipients of their transfers and, on Bitcoin, the
// addresses their inputs spend from and their outputs pay.
func Touched(blocks []*chain.Block) []string {
	seen := make(map[string]bool)
	var out []string
	add := func(a string) {
		if a != "" && !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	for _, b := range blocks {
		for i := range b.Txs {
			tx := &b.Txs[i]
			for _, t := range tx.Transfers {
				add(t.From)
				add(t.To)
			}
			for _, in := range tx.Inputs {
				add(in.Address)
			}
			for _, o := range tx.Outputs {
				add(o.Address)
			}
		}
	}
	return out
}
