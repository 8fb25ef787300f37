package pebble

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
	"unsafe"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/objstorage/objstorageprovider"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/tracehound/tracehound/chain"
)

// A bulk load writes history in chunks far larger than a batch: the
// chunk's keys are sorted in memory, written as sorted tables and added
// to the LSM tree with one ingestion, which bypasses the write-ahead log,
// the memtable and its flush. An ingestion is atomic, and the chunk's
// tables hold the chain's tip, so after a crash the store holds every
// block up to its tip and nothing after it, as with WriteBlocks.

// bulkDirPrefix names the directories in the data directory that hold a
// load's tables until they are ingested.
const bulkDirPrefix = "bulk-"

// BulkOptions bound a bulk load's chunks.
type BulkOptions struct {
	// ChunkBytes ingests the chunk once its keys and values reach this
	// size (default DefaultBulkChunk). The chunk's memory is about one
	// and a half times that, outside the Go heap.
	ChunkBytes int
	// MaxBlocks, if positive, also ingests the chunk once it holds this
	// many blocks.
	MaxBlocks int
	// BatchBytes: a chunk smaller than this is written as a batch instead
	// (default DefaultBulkBatch; negative, never). An ingestion writes the
	// manifest and leaves a table in L0 however small the chunk, which a
	// load bounded to a few blocks a chunk makes costly.
	BatchBytes int
}

// DefaultBulkChunk is the default size of a bulk load's chunk. Larger
// chunks are fewer sorted runs for compactions to merge: a 10 M transfer
// load rewrote 14 GB in chunks of 256 MiB and 10 GB in chunks of 512 MiB,
// at a peak of 1.4 GB of memory.
const DefaultBulkChunk = 512 << 20

// bulkTableBytes is the size at which a chunk's table is cut: tables
// much smaller than the chunk let compactions take a part of a chunk.
const bulkTableBytes = 64 << 20

// DefaultBulkBatch is the default of BulkOptions.BatchBytes.
const DefaultBulkBatch = 4 << 20

// BulkLoader writes consecutive blocks of one chain as a bulk load. It
// is not safe for concurrent use; nothing else may write the chain's
// blocks while it is open.
type BulkLoader struct {
	d      *DB
	c      chain.Chain
	source string
	o      BulkOptions
	tmp    string

	tip    uint64 // the stored tip, which the chunk extends
	hasTip bool

	w        graphWriter
	blocks   int
	last     uint64 // the chunk's last block
	lastHash []byte
	// The chunk's effect on Bitcoin's unspent outputs, which the stored
	// index shows only once the chunk is ingested.
	created map[chain.OutPoint]chain.Output
	spent   map[chain.OutPoint]bool
	// err is a failed ingestion's: the chunk may be half written.
	err error

	// The chunk's arena and operations, mapped outside the Go heap (see
	// chunkMemory), with room for the block that fills the chunk.
	arenaMem []byte
	opsMem   []op
	unmap    []func() error
}

// chunkSlack is the room a chunk keeps for the block that fills it.
const chunkSlack = 32 << 20

// mapChunk maps the chunk's memory.
func (l *BulkLoader) mapChunk() error {
	arena, free, err := chunkMemory(l.o.ChunkBytes + chunkSlack)
	if err != nil {
		return err
	}
	l.unmap = append(l.unmap, free)
	// Every operation's key and value take at least 32 bytes of the chunk.
	n := (l.o.ChunkBytes + chunkSlack) / 32
	ops, free, err := chunkMemory(n * int(unsafe.Sizeof(op{})))
	if err != nil {
		return errors.Join(err, l.unmapChunk())
	}
	l.unmap = append(l.unmap, free)
	l.arenaMem = arena[:0]
	// op holds no pointers: the garbage collector need not see it.
	l.opsMem = unsafe.Slice((*op)(unsafe.Pointer(unsafe.SliceData(ops))), n)[:0]
	return nil
}

func (l *BulkLoader) unmapChunk() error {
	l.arenaMem, l.opsMem, l.w.arena, l.w.ops = nil, nil, nil, nil
	var errs []error
	for _, f := range l.unmap {
		errs = append(errs, f())
	}
	l.unmap = nil
	return errors.Join(errs...)
}

// full reports whether the chunk must be ingested before another block.
func (l *BulkLoader) full() bool {
	w := &l.w
	return w.size >= l.o.ChunkBytes || l.o.MaxBlocks > 0 && l.blocks >= l.o.MaxBlocks ||
		cap(w.arena)-len(w.arena) < chunkSlack || cap(w.ops)-len(w.ops) < chunkSlack/32
}

// NewBulkLoader starts a bulk load of chain c after its stored tip.
func (d *DB) NewBulkLoader(ctx context.Context, c chain.Chain, source string, o BulkOptions) (*BulkLoader, error) {
	if o.ChunkBytes <= 0 {
		o.ChunkBytes = DefaultBulkChunk
	}
	if o.BatchBytes == 0 {
		o.BatchBytes = DefaultBulkBatch
	}
	tip, ok, err := d.Tip(ctx, c)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(d.dir, bulkDirPrefix)
	if err != nil {
		return nil, fmt.Errorf("bulk load %s: %w", c, err)
	}
	l := &BulkLoader{d: d, c: c, source: source, o: o, tmp: tmp, tip: tip.Height, hasTip: ok}
	if err := l.mapChunk(); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	l.reset()
	return l, nil
}

func (l *BulkLoader) reset() {
	// The arena and the operations are in memory kept for the whole load.
	l.w = graphWriter{c: l.c, totals: make(map[string]*totals), ops: l.opsMem[:0], arena: l.arenaMem[:0]}
	l.blocks, l.lastHash = 0, nil
	l.created = make(map[chain.OutPoint]chain.Output)
	l.spent = make(map[chain.OutPoint]bool)
}

// Tip is the height of the last block ingested, and false if the store
// holds none of the chain yet.
func (l *BulkLoader) Tip() (uint64, bool) { return l.tip, l.hasTip }

// WriteBlocks adds consecutive blocks to the chunk, which is ingested
// when full; the blocks are in the store only once Tip reaches them.
// Bitcoin inputs must be resolved (through the loader's Unspent, which
// sees the chunk) and Bitcoin transfers derived.
func (l *BulkLoader) WriteBlocks(ctx context.Context, blocks []*chain.Block) error {
	if l.err != nil {
		return l.err
	}
	for i, blk := range blocks {
		if i%64 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		switch {
		case blk.Chain != "" && blk.Chain != l.c:
			return fmt.Errorf("bulk load %s: block %d of %s", l.c, blk.Height, blk.Chain)
		case l.blocks > 0 && blk.Height != l.last+1:
			return fmt.Errorf("write %s blocks: %d follows %d", l.c, blk.Height, l.last)
		case l.blocks == 0 && l.hasTip && blk.Height <= l.tip:
			// Totals are merge operands: a block written twice would
			// count twice.
			return fmt.Errorf("write %s block %d: the store already holds blocks up to %d", l.c, blk.Height, l.tip)
		}
		h, err := blockHashBytes(blk.Hash)
		if err != nil {
			return fmt.Errorf("write %s block %d: %w", l.c, blk.Height, err)
		}
		if err := l.w.block(blk); err != nil {
			// The chunk holds part of the block: it cannot be ingested.
			l.reset()
			return fmt.Errorf("write %s block %d: %w (the blocks after %d were dropped)", l.c, blk.Height, err, l.tip)
		}
		if l.c == chain.Bitcoin {
			l.track(blk)
		}
		l.blocks++
		l.last, l.lastHash = blk.Height, h
		if l.full() {
			if err := l.Flush(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// track records the block's created and spent outputs for Unspent.
func (l *BulkLoader) track(blk *chain.Block) {
	for i := range blk.Txs {
		tx := &blk.Txs[i]
		for _, in := range tx.Inputs {
			ref := chain.OutPoint{Tx: in.PrevTx, Index: in.PrevIndex}
			if _, ok := l.created[ref]; ok {
				delete(l.created, ref)
			} else {
				l.spent[ref] = true
			}
		}
		for _, o := range tx.Outputs {
			l.created[chain.OutPoint{Tx: tx.Hash, Index: o.Index}] = o
		}
	}
}

// Unspent is DB.Unspent as of the chunk's last block.
func (l *BulkLoader) Unspent(ctx context.Context, c chain.Chain, refs []chain.OutPoint) (map[chain.OutPoint]chain.Output, error) {
	if c != l.c {
		return nil, fmt.Errorf("bulk load %s: unspent outputs of %s", l.c, c)
	}
	out := make(map[chain.OutPoint]chain.Output, len(refs))
	var stored []chain.OutPoint
	for _, r := range refs {
		if o, ok := l.created[r]; ok {
			out[r] = o
		} else if !l.spent[r] {
			stored = append(stored, r)
		}
	}
	if len(stored) == 0 {
		return out, nil
	}
	got, err := l.d.Unspent(ctx, c, stored)
	if err != nil {
		return nil, err
	}
	for r, o := range got {
		out[r] = o
	}
	return out, nil
}

// Flush ingests the chunk, with the tip moved to its last block.
func (l *BulkLoader) Flush(ctx context.Context) error {
	if l.err != nil {
		return l.err
	}
	if l.blocks == 0 {
		return nil
	}
	if err := l.flush(ctx); err != nil {
		l.err = err
		return err
	}
	return nil
}

func (l *BulkLoader) flush(ctx context.Context) error {
	first := l.last - uint64(l.blocks) + 1
	// The chunk extends the tip it started from; a tip moved by another
	// writer would make the chunk count blocks twice.
	tip, ok, err := l.d.Tip(ctx, l.c)
	if err != nil {
		return err
	}
	if ok != l.hasTip || ok && tip.Height != l.tip {
		return fmt.Errorf("bulk load %s blocks %d-%d: the store's tip moved to %d during the load", l.c, first, l.last, tip.Height)
	}
	if err := l.w.flushTotals(); err != nil {
		return err
	}
	l.w.set(chainKey(gTip, l.c), tipValue(l.last, l.lastHash, l.source, time.Now()))
	if l.w.size < l.o.BatchBytes {
		b := l.d.db.NewBatchWithSize(l.w.size)
		defer b.Close()
		if err := l.w.apply(b); err != nil {
			return err
		}
		if err := b.Commit(pebble.Sync); err != nil {
			return fmt.Errorf("bulk load %s blocks %d-%d: %w", l.c, first, l.last, err)
		}
		l.tip, l.hasTip = l.last, true
		l.reset()
		return nil
	}
	paths, err := l.writeTables(ctx)
	defer func() {
		for _, p := range paths {
			os.Remove(p)
		}
	}()
	if err != nil {
		return fmt.Errorf("bulk load %s blocks %d-%d: %w", l.c, first, l.last, err)
	}
	if err := l.d.db.Ingest(ctx, paths); err != nil {
		return fmt.Errorf("bulk load %s blocks %d-%d: ingest: %w", l.c, first, l.last, err)
	}
	l.tip, l.hasTip = l.last, true
	l.reset()
	return nil
}

// writeTables writes the chunk's operations in key order into tables of
// about bulkTableBytes. Operations on one key collapse into the last, as
// in a batch (an output created and spent in the chunk is deleted).
//
// The operations are split in two key ranges, sorted and written on two
// goroutines.
func (l *BulkLoader) writeTables(ctx context.Context) ([]string, error) {
	w := &l.w
	mid := w.partition()
	halves := [2][]op{w.ops[:mid], w.ops[mid:]}
	var (
		paths [2][]string
		errs  [2]error
		wg    sync.WaitGroup
	)
	for h := range halves {
		wg.Go(func() {
			w.sortOps(halves[h])
			paths[h], errs[h] = l.writeRange(ctx, halves[h], fmt.Sprintf("%d-", h))
		})
	}
	wg.Wait()
	return append(paths[0], paths[1]...), errors.Join(errs[0], errs[1])
}

// partition moves the operations with keys below a pivot, near the
// median, before the others, and returns how many there are. All the
// operations on one key end on one side.
func (w *graphWriter) partition() int {
	n := len(w.ops)
	if n < 1024 {
		return 0
	}
	sample := make([]op, 0, 127)
	for i := range cap(sample) {
		sample = append(sample, w.ops[i*(n-1)/(cap(sample)-1)])
	}
	slices.SortFunc(sample, w.cmpOps)
	pivot := sample[len(sample)/2]
	i, j := 0, n-1
	for {
		for i <= j && w.cmpKeys(&w.ops[i], &pivot) < 0 {
			i++
		}
		for i <= j && w.cmpKeys(&w.ops[j], &pivot) >= 0 {
			j--
		}
		if i >= j {
			return i
		}
		w.ops[i], w.ops[j] = w.ops[j], w.ops[i]
	}
}

// writeRange writes sorted operations into tables named with prefix.
func (l *BulkLoader) writeRange(ctx context.Context, ops []op, prefix string) ([]string, error) {
	w := &l.w
	// The tables go to L0 at worst and are rewritten by compactions; they
	// are written as the upper levels are, uncompressed.
	wo := l.d.opts.MakeWriterOptions(0, l.d.db.TableFormat())
	var (
		paths []string
		tw    *sstable.Writer
		size  int
	)
	closeTable := func() error {
		if tw == nil {
			return nil
		}
		err := tw.Close()
		tw = nil
		return err
	}
	for i := 0; i < len(ops); i++ {
		if i%(1<<16) == 0 {
			if err := ctx.Err(); err != nil {
				closeTable()
				return paths, err
			}
		}
		o := &ops[i]
		// Operations on one key are adjacent, in the order they were added.
		for i+1 < len(ops) && w.sameKey(o, &ops[i+1]) {
			if o.kind == opMerge || ops[i+1].kind == opMerge {
				closeTable()
				return paths, fmt.Errorf("key %q merged and written in one chunk", w.opKey(o))
			}
			i++
			o = &ops[i]
		}
		if tw == nil {
			p := filepath.Join(l.tmp, fmt.Sprintf("%s%06d.sst", prefix, len(paths)))
			f, err := vfs.Default.Create(p, vfs.WriteCategoryUnspecified)
			if err != nil {
				return paths, err
			}
			paths = append(paths, p)
			tw = sstable.NewWriter(objstorageprovider.NewFileWritable(f), wo)
			size = 0
		}
		k := w.opKey(o)
		var err error
		switch o.kind {
		case opSet:
			err = tw.Set(k, w.opValue(o))
		case opDelete:
			err = tw.Delete(k)
		case opMerge:
			err = tw.Merge(k, w.opValue(o))
		}
		if err != nil {
			closeTable()
			return paths, err
		}
		if size += int(o.klen) + int(o.vlen); size >= bulkTableBytes {
			if err := closeTable(); err != nil {
				return paths, err
			}
		}
	}
	return paths, closeTable()
}

// Close ends the load, dropping blocks not yet flushed.
func (l *BulkLoader) Close() error {
	if l.err == nil {
		l.err = fmt.Errorf("bulk load %s: closed", l.c)
	}
	err := l.unmapChunk()
	if rerr := os.RemoveAll(l.tmp); rerr != nil {
		err = errors.Join(err, rerr)
	}
	if err != nil {
		return fmt.Errorf("bulk load %s: %w", l.c, err)
	}
	return nil
}

// removeBulkDirs removes the tables of loads that a crash interrupted
// before their ingestion; the store holds the lock, so no load runs.
func removeBulkDirs(dir string) error {
	matches, err := filepath.Glob(filepath.Join(dir, bulkDirPrefix+"*"))
	if err != nil {
		return err
	}
	var errs []error
	for _, m := range matches {
		errs = append(errs, os.RemoveAll(m))
	}
	return errors.Join(errs...)
}

// LSM describes the LSM tree's levels, for benchmarks.
func (d *DB) LSM() string { return d.db.Metrics().String() }
