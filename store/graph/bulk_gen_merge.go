package graph

import (
	"bytes"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/objstorage/objstorageprovider"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/tracehound/tracehound/chain"
)

// maxGenerations bounds a chain's generations: a look-up by hash probes
// each of them. A bulk commit that leaves more merges the smallest run of
// neighbours down to keepGenerations, so that merges are rare and each
// rewrites little.
const (
	maxGenerations  = 32
	keepGenerations = 24
)

// MergeGenerations folds the chain's generations (the key ranges of bulk
// commits, see bulk_gen.go) until at most keep remain, merging each time
// the run of neighbouring generations that holds the fewest bytes, and
// returns how many it merged. The merged generation is written as tables
// and ingested, with the removal of the ones it replaces, in one atomic
// ingestion: a crash leaves either. Readers see one or the other; nothing
// else may write the chain meanwhile.
func (d *Store) MergeGenerations(ctx context.Context, c chain.Chain, keep int) (int, error) {
	keep = max(keep, 1)
	merged := 0
	for {
		// In the order of their blocks: a merged generation is numbered
		// past the others, and its neighbours are those of its blocks.
		gens, err := readGenerationsByBlock(d.db, c)
		if err != nil {
			return merged, err
		}
		if len(gens) <= keep {
			return merged, nil
		}
		// A generation holds every block from its first to its last:
		// only neighbours with no block between them (written in
		// batches) are merged.
		best, w := -1, 0
		var bestSize uint64
		for w = len(gens) - keep + 1; w >= 2 && best < 0; w-- {
			for i := 0; i+w <= len(gens); i++ {
				if !contiguous(gens[i : i+w]) {
					continue
				}
				size, err := d.genBytes(c, gens[i:i+w])
				if err != nil {
					return merged, err
				}
				if best < 0 || size < bestSize {
					best, bestSize = i, size
				}
			}
		}
		if best < 0 {
			return merged, nil
		}
		w++
		if err := d.mergeGenerations(ctx, c, gens, best, best+w); err != nil {
			return merged, fmt.Errorf("merge %s generations %d-%d: %w", c, gens[best].n, gens[best+w-1].n, err)
		}
		merged += w
	}
}

// contiguous reports whether the generations hold consecutive blocks.
func contiguous(gens []generation) bool {
	for i := 1; i < len(gens); i++ {
		if gens[i].first != gens[i-1].last+1 || gens[i-1].last < gens[i-1].first {
			return false
		}
	}
	return true
}

// genBytes estimates the disk space of the generations' keys.
func (d *Store) genBytes(c chain.Chain, gens []generation) (uint64, error) {
	var total uint64
	for _, g := range gens {
		for _, prefix := range []string{gGenPost, gGenTx} {
			lo := genKey(prefix, c, g.n)
			n, err := d.db.EstimateDiskUsage(lo, prefixEnd(lo))
			if err != nil {
				return 0, err
			}
			total += n
		}
	}
	return total, nil
}

// mergeGenerations replaces gens[i:j] with one generation; gens are in
// the order of their blocks.
func (d *Store) mergeGenerations(ctx context.Context, c chain.Chain, gens []generation, i, j int) error {
	tmp, err := os.MkdirTemp(d.dir, bulkDirPrefix)
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	sel := gens[i:j]
	// Past every number in use and the one after the highest, so that
	// the new range does not touch the removed ones' ends.
	var n uint32
	for _, g := range gens {
		n = max(n, g.n+2)
	}
	g := generation{n: n, first: sel[0].first, last: sel[len(sel)-1].last, minTime: sel[0].minTime, maxTime: sel[0].maxTime}
	for _, s := range sel {
		g.minTime, g.maxTime = min(g.minTime, s.minTime), max(g.maxTime, s.maxTime)
	}
	// One moment of the store for every range read.
	snap := d.db.NewSnapshot()
	defer snap.Close()
	wo := d.opts.MakeWriterOptions(len(d.opts.Levels)-1, d.db.TableFormat())
	sink := tableSink{dir: tmp, prefix: "gen-", wo: wo}
	for _, prefix := range []string{gGenPost, gGenTx} {
		if err := mergeRanges(ctx, snap, c, prefix, sel, genKey(prefix, c, n), &sink); err != nil {
			return errors.Join(err, sink.finish())
		}
	}
	if err := sink.finish(); err != nil {
		return err
	}
	// The removals and the new record, in tables of their own: a table
	// of an ingestion may not overlap another's.
	paths := sink.paths
	for _, prefix := range []string{gGenPost, gGen, gGenTx} {
		p := filepath.Join(tmp, "meta-"+prefix[2:3]+".sst")
		if err := writeGenRemoval(p, wo, c, prefix, sel, g); err != nil {
			return err
		}
		paths = append(paths, p)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return d.db.Ingest(ctx, paths)
}

// writeGenRemoval writes a table that removes the keys of prefix in the
// generations sel, and with prefix gGen records g. The numbers of sel
// need not follow one another: each is removed on its own, in key order.
func writeGenRemoval(path string, wo sstable.WriterOptions, c chain.Chain, prefix string, sel []generation, g generation) error {
	f, err := vfs.Default.Create(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return err
	}
	tw := sstable.NewWriter(objstorageprovider.NewFileWritable(f), wo)
	ns := make([]uint32, 0, len(sel))
	for _, s := range sel {
		ns = append(ns, s.n)
	}
	slices.Sort(ns)
	for _, n := range ns {
		if err = tw.DeleteRange(genKey(prefix, c, n), prefixEnd(genKey(prefix, c, n))); err != nil {
			break
		}
	}
	if err == nil && prefix == gGen {
		err = tw.Set(genKey(gGen, c, g.n), g.encode())
	}
	if err = errors.Join(err, tw.Close()); err != nil {
		return err
	}
	return syncFile(path)
}

// mergeRanges writes the keys of prefix in the generations sel (in the
// order of their blocks), merged in key order, as keys of the range that
// starts with to. A key in two (a transaction hash Bitcoin repeated)
// keeps the value of the later block's generation.
func mergeRanges(ctx context.Context, r pebble.Reader, c chain.Chain, prefix string, sel []generation, to []byte, sink *tableSink) error {
	var h genHeap
	defer func() {
		for _, s := range h {
			s.it.Close()
		}
	}()
	for i, g := range sel {
		lo := genKey(prefix, c, g.n)
		it, err := r.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: prefixEnd(lo)})
		if err != nil {
			return err
		}
		if !it.First() {
			err := it.Error()
			it.Close()
			if err != nil {
				return err
			}
			continue
		}
		h = append(h, &genSource{it: it, base: len(lo), age: i})
	}
	heap.Init(&h)
	key := append([]byte(nil), to...)
	for n := 0; len(h) > 0; n++ {
		if n%(1<<16) == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		top := h[0]
		suffix := top.it.Key()[top.base:]
		key = append(key[:len(to)], suffix...)
		// Of equal keys the heap puts the newest generation's first; the
		// others are superseded.
		if err := sink.add(opSet, key, top.it.Value()); err != nil {
			return err
		}
		for len(h) > 0 && bytes.Equal(h[0].it.Key()[h[0].base:], key[len(to):]) {
			s := h[0]
			if s.it.Next() {
				heap.Fix(&h, 0)
				continue
			}
			if err := s.it.Error(); err != nil {
				return err
			}
			s.it.Close()
			heap.Pop(&h)
		}
	}
	return nil
}

// genSource is one generation's range being merged; age orders the
// generations, the newest first.
type genSource struct {
	it   *pebble.Iterator
	base int
	age  int
}

type genHeap []*genSource

func (h genHeap) Len() int { return len(h) }
func (h genHeap) Less(i, j int) bool {
	if c := bytes.Compare(h[i].it.Key()[h[i].base:], h[j].it.Key()[h[j].base:]); c != 0 {
		return c < 0
	}
	return h[i].age > h[j].age
}
func (h genHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *genHeap) Push(x any)   { *h = append(*h, x.(*genSource)) }
func (h *genHeap) Pop() any {
	old := *h
	s := old[len(old)-1]
	*h = old[:len(old)-1]
	return s
}
