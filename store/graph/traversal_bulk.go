package graph

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/tracehound/tracehound/chain"
)

// bulkSegs writes a bulk load's blocks as segments: the blocks of each
// commit, numbered as they arrive (on the loader's totals goroutine),
// become a segment once the store holds them.
type bulkSegs struct {
	t   *Traversal
	c   chain.Chain
	b   *segBuilder // nil until the first block of a commit
	err error       // the builder's first error since the last commit
}

// beginBulk starts writing a bulk load's segments of chain c: whatever
// blocks the store holds beyond the segments are first written as a
// segment, so that the load's follow.
func (t *Traversal) beginBulk(ctx context.Context, c chain.Chain) (*bulkSegs, error) {
	s, err := t.Snapshot(ctx, c)
	if err != nil {
		return nil, err
	}
	s.Release()
	if err := t.mergeDelta(ctx, c, true); err != nil {
		return nil, err
	}
	return &bulkSegs{t: t, c: c}, nil
}

// block adds a block of the load.
func (bs *bulkSegs) block(blk *chain.Block) {
	if bs.err != nil {
		return
	}
	if bs.b == nil {
		t := bs.t
		t.mu.Lock()
		cs := t.chain(bs.c)
		segs := slices.Clone(cs.segs)
		lo := blk.Height
		if hi, ok := cs.segHi(); ok {
			lo = hi + 1
		}
		bs.b = newSegBuilder(bs.c, lo, cs.nextID(), func(enc []byte) (uint32, bool) { return lookupIn(segs, nil, enc) })
		for _, s := range segs {
			s.acquire()
		}
		bs.b.held = segs
		t.mu.Unlock()
	}
	bs.err = bs.b.block(blk)
}

// commit writes the blocks of the commit the store just made as a
// segment. The store's blocks are in force already: a segment that
// fails (or a crash before the manifest names it) leaves them to the
// delta, which the next refresh reads from the store.
func (bs *bulkSegs) commit(ctx context.Context) error {
	b, err := bs.b, bs.err
	bs.b, bs.err = nil, nil
	if b == nil {
		return err
	}
	defer b.free()
	if err != nil {
		return fmt.Errorf("traversal segment of %s: %w", bs.c, err)
	}
	t := bs.t
	t.work.Lock()
	defer t.work.Unlock()
	t.mu.Lock()
	cs := t.chain(bs.c)
	hi, ok := cs.segHi()
	follows := ok && hi+1 == b.lo || !ok
	next := cs.nextID()
	if len(cs.deltas) > 0 {
		next = cs.deltas[0].b.idBase
	}
	t.mu.Unlock()
	if !follows || next != b.idBase {
		// Something else wrote the chain meanwhile: the delta reads the
		// blocks from the store instead.
		return fmt.Errorf("traversal segment of %s blocks %d-%d: the segments moved during the load", bs.c, b.lo, b.next()-1)
	}
	s, err := t.writeSegment(bs.c, b)
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	// Deltas read since the store committed hold the same blocks under
	// ids of their own: they are read again after the segment.
	for _, d := range cs.deltas {
		d.frozen = true
		d.release()
	}
	cs.deltas = nil
	if err := t.installSegments(cs, 0, []*segment{s}); err != nil {
		os.Remove(filepath.Join(t.dir, s.name))
		s.release()
		return err
	}
	return nil
}

// drop forgets the blocks since the last commit.
func (bs *bulkSegs) drop() {
	if bs.b != nil {
		bs.b.free()
	}
	bs.b, bs.err = nil, nil
}
