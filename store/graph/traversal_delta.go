package graph

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"github.com/tracehound/tracehound/chain"
)

// delta holds, in memory, the blocks after a chain's segments, read from
// the store: a segment builder and, per address, its postings as indexes
// of the builder's transfers. It only grows (under mu) until it is frozen
// to be written as a segment; a snapshot sees the blocks it held when the
// snapshot was taken.
type delta struct {
	mu    sync.RWMutex
	b     *segBuilder
	lists map[uint32][]uint64 // address id -> transfer index<<1 | 1 if the sender's
	// global maps the builder's asset ids to the traversal's.
	global []uint32
	frozen bool
	refs   atomic.Int64
}

func (t *Traversal) newDelta(cs *chainSegs, lo uint64) *delta {
	segs, deltas := slices.Clone(cs.segs), slices.Clone(cs.deltas)
	d := &delta{lists: make(map[uint32][]uint64)}
	d.b = newSegBuilder(cs.c, lo, cs.nextID(), func(enc []byte) (uint32, bool) { return lookupIn(segs, deltas, enc) })
	for _, s := range segs {
		s.acquire()
	}
	d.b.held = segs
	d.refs.Store(1)
	return d
}

// add appends a block; the caller holds t.mu (for the asset table).
func (d *delta) add(cs *chainSegs, blk *chain.Block) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	from := uint64(d.b.edges.n)
	if err := d.b.block(blk); err != nil {
		return err
	}
	for i := from; i < uint64(d.b.edges.n); i++ {
		e := d.b.edges.at(i)
		if e.flags&edgeIn != 0 {
			d.lists[e.to] = append(d.lists[e.to], i<<1)
		}
		if e.flags&edgeOut != 0 {
			d.lists[e.from] = append(d.lists[e.from], i<<1|1)
		}
	}
	for len(d.global) < len(d.b.assetIDs) {
		d.global = append(d.global, cs.assetID(d.b.assetIDs[len(d.global)]))
	}
	return nil
}

func (d *delta) release() {
	if d.refs.Add(-1) == 0 {
		d.mu.Lock()
		d.b.free()
		d.mu.Unlock()
	}
}

func (d *delta) free() { d.release() }

// held is the last block the chain's segments and deltas hold, and its
// hash; false if they hold none.
func (cs *chainSegs) held() (uint64, []byte, bool) {
	for i := len(cs.deltas) - 1; i >= 0; i-- {
		d := cs.deltas[i]
		d.mu.RLock()
		n := d.b.blocks()
		var h []byte
		if n > 0 {
			h = slices.Clone(d.b.blockHash[32*(n-1):])
		}
		hi := d.b.next() - 1
		d.mu.RUnlock()
		if n > 0 {
			return hi, h, true
		}
	}
	if n := len(cs.segs); n > 0 {
		s := cs.segs[n-1]
		return s.hi, s.hiHash[:], true
	}
	return 0, nil, false
}

// heldHash is the hash the traversal holds for block h.
func (cs *chainSegs) heldHash(h uint64) ([]byte, bool) {
	for _, d := range cs.deltas {
		d.mu.RLock()
		if h >= d.b.lo && h < d.b.next() {
			i := h - d.b.lo
			v := slices.Clone(d.b.blockHash[32*i : 32*i+32])
			d.mu.RUnlock()
			return v, true
		}
		d.mu.RUnlock()
	}
	for _, s := range cs.segs {
		if h >= s.lo && h <= s.hi {
			return s.blockHashOf(h), true
		}
	}
	return nil, false
}

// storedHash is the store's hash of block h, false if it holds none.
func (t *Traversal) storedHash(c chain.Chain, h uint64) ([]byte, bool, error) {
	v, ok, err := t.d.get(blockKey(c, h))
	if err != nil || !ok {
		return nil, ok, err
	}
	if len(v) < 32 {
		return nil, false, fmt.Errorf("read %s block %d: %w", c, h, errCorrupt)
	}
	return v[:32], true, nil
}

// refresh brings the chain's delta to the store's tip; the caller holds
// t.mu. A reorganisation the store went through since (Rollback) is
// found by comparing block hashes: blocks the traversal holds that the
// store no longer does are dropped from the delta, and from the segments
// if it reaches into them, which are then rebuilt.
func (t *Traversal) refresh(ctx context.Context, cs *chainSegs) error {
	tip, hasTip, err := t.d.Tip(ctx, cs.c)
	if err != nil {
		return err
	}
	hi, hash, held := cs.held()
	if held {
		top := min(hi, tip.Height)
		same := false
		if hasTip {
			h, ok, err := t.storedHash(cs.c, top)
			if err != nil {
				return err
			}
			mine, _ := cs.heldHash(top)
			same = ok && bytes.Equal(h, mine)
		}
		if !same || top < hi {
			if err := t.reorg(ctx, cs, tip.Height, hasTip); err != nil {
				return err
			}
		}
		_ = hash
	}
	if !hasTip {
		return nil
	}
	next := uint64(0)
	if hi, _, ok := cs.held(); ok {
		next = hi + 1
	} else if first, ok, err := t.d.firstBlock(ctx, cs.c); err != nil {
		return err
	} else if ok {
		next = first
	} else {
		return nil
	}
	if next > tip.Height {
		return nil
	}
	if len(cs.deltas) == 0 || cs.deltas[len(cs.deltas)-1].frozen {
		cs.deltas = append(cs.deltas, t.newDelta(cs, next))
	}
	live := cs.deltas[len(cs.deltas)-1]
	for h := next; h <= tip.Height; h++ {
		if h%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		blk, err := t.d.readBlock(ctx, cs.c, h)
		if err != nil {
			return err
		}
		if err := live.add(cs, blk); err != nil {
			return err
		}
	}
	return nil
}

// firstBlock is the chain's lowest stored block.
func (d *Store) firstBlock(ctx context.Context, c chain.Chain) (uint64, bool, error) {
	base := chainKey(gBlock, c)
	it, err := d.db.NewIter(&pebble.IterOptions{LowerBound: base, UpperBound: prefixEnd(base)})
	if err != nil {
		return 0, false, err
	}
	defer it.Close()
	if !it.First() {
		return 0, false, it.Error()
	}
	k := it.Key()
	if len(k) != len(base)+8 {
		return 0, false, fmt.Errorf("read %s blocks: %w", c, errCorrupt)
	}
	dd := dec{b: k[len(base):]}
	return dd.u64(), true, ctx.Err()
}

// reorg drops what the traversal holds above the last block it shares
// with the store. The deltas are dropped (refresh reads them again); a
// fork below the segments' last block is said, and the segment holding
// it is rebuilt from the store up to the fork, the ones after dropped.
// The caller holds t.mu.
func (t *Traversal) reorg(ctx context.Context, cs *chainSegs, tip uint64, hasTip bool) error {
	hi, _, _ := cs.held()
	fork, found := uint64(0), false
	if hasTip {
		for h := min(hi, tip); ; h-- {
			mine, ok := cs.heldHash(h)
			if !ok {
				break
			}
			theirs, ok, err := t.storedHash(cs.c, h)
			if err != nil {
				return err
			}
			if ok && bytes.Equal(mine, theirs) {
				fork, found = h, true
				break
			}
			if h == 0 {
				break
			}
		}
	}
	for _, d := range cs.deltas {
		d.frozen = true // a merge in flight sees it dropped
		d.release()
	}
	cs.deltas = nil
	segHi, ok := cs.segHi()
	if !ok || found && fork >= segHi {
		return nil
	}
	// Deeper than the delta: the segments hold blocks the store dropped.
	keep := 0
	for keep < len(cs.segs) && found && cs.segs[keep].hi <= fork {
		keep++
	}
	var repl []*segment
	if found && keep < len(cs.segs) && cs.segs[keep].lo <= fork {
		s := cs.segs[keep]
		rebuilt, err := t.buildFrom(ctx, cs.c, s.lo, fork, s.idBase, slices.Clone(cs.segs[:keep]))
		if err != nil {
			return fmt.Errorf("rebuild segment %s after a reorganisation: %w", s.name, err)
		}
		repl = append(repl, rebuilt)
		t.logf("traversal: %s reorganised below its segments' last block %d (fork at %d, deeper than the delta): segment %s rebuilt from the store as %s",
			cs.c, segHi, fork, s.name, rebuilt.name)
	} else {
		t.logf("traversal: %s reorganised below its segments' last block %d (deeper than the delta): %d segments dropped", cs.c, segHi, len(cs.segs)-keep)
	}
	return t.installSegments(cs, len(cs.segs)-keep, repl)
}
