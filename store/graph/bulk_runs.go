package graph

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/cockroachdb/pebble/v2/objstorage/objstorageprovider"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/tracehound/tracehound/chain"
)

// A run is a chunk's operations in key order, one per key, in a file of
// records: the kind, the key's and the value's lengths as uvarints, the
// key and the value. It ends with runEnd and the number of records, so
// that a run cut at a record's end is not taken for a shorter one. It is
// read once, sequentially, by the merge, so it has neither blocks nor an
// index nor compression.

// runEnd is the kind byte of a run's last record.
const runEnd = 0xff

// runBlock is the unit a run is written and read in: a multiple of the
// alignment direct I/O needs.
const (
	runBlock   = 1 << 20
	runAligned = 4096
)

// writeRuns sorts the chunk's operations and writes its key ranges,
// split at pivots, to the run files paths.
func writeRuns(ctx context.Context, w *graphWriter, pivots [][]byte, paths [bulkRanges]string) error {
	rs := ranges(w, pivots, false)
	for i, ops := range rs {
		if err := writeRun(ctx, w, ops, paths[i]); err != nil {
			return fmt.Errorf("write run: %w", err)
		}
	}
	return nil
}

func writeRun(ctx context.Context, w *graphWriter, ops []op, path string) (err error) {
	rw, err := createRun(path)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, rw.close()) }()
	return w.eachKey(ctx, ops, rw.record)
}

// runWriter writes a run in blocks from memory aligned for direct I/O.
// A block is written on another goroutine while the next is filled: a
// direct write waits for the disk, which the copying of the next block's
// records from a chunk need not.
type runWriter struct {
	f      *os.File
	direct bool // opened for direct I/O
	buf    []byte
	free   func() error
	size   int64
	count  uint64 // records written

	full  chan runBlockWrite // blocks to write
	empty chan []byte        // blocks written, to fill again
	done  chan runWriteEnd   // the writing goroutine's end
}

type runBlockWrite struct {
	b []byte // the block, padded to the alignment if direct
	n int    // its bytes of records
}

type runWriteEnd struct {
	err    error
	direct bool // still writing directly at the end
}

func createRun(path string) (*runWriter, error) {
	f, direct, err := createDirect(path)
	if err != nil {
		return nil, err
	}
	bufs, free, err := chunkMemory(2 * runBlock)
	if err != nil {
		f.Close()
		return nil, err
	}
	w := &runWriter{f: f, direct: direct, buf: bufs[:0:runBlock], free: free,
		full: make(chan runBlockWrite, 1), empty: make(chan []byte, 2), done: make(chan runWriteEnd, 1)}
	w.empty <- bufs[runBlock : runBlock : 2*runBlock]
	go w.writeBlocks()
	return w, nil
}

// writeBlocks writes the blocks sent until full is closed; after an
// error it only hands the blocks back.
func (w *runWriter) writeBlocks() {
	end := runWriteEnd{direct: w.direct}
	for blk := range w.full {
		if end.err == nil {
			b := blk.b
			if !end.direct {
				b = b[:blk.n]
			}
			_, err := w.f.Write(b)
			if err != nil && end.direct && errors.Is(err, syscall.EINVAL) {
				// A device that wants a larger alignment than runAligned:
				// the run is written through the page cache instead.
				if endDirect(w.f) == nil {
					end.direct = false
					_, err = w.f.Write(blk.b[:blk.n])
				}
			}
			end.err = err
		}
		w.empty <- blk.b[:0]
	}
	w.done <- end
}

// record writes a record.
func (w *runWriter) record(kind opKind, k, v []byte) error {
	if len(w.buf)+1+2*binary.MaxVarintLen64+len(k)+len(v) <= cap(w.buf) {
		// Within the block: the common case, appended in one go.
		b := binary.AppendUvarint(append(w.buf, byte(kind)), uint64(len(k)))
		w.buf = append(append(binary.AppendUvarint(b, uint64(len(v))), k...), v...)
		w.count++
		return nil
	}
	var hdr [1 + 2*binary.MaxVarintLen64]byte
	hdr[0] = byte(kind)
	n := binary.PutUvarint(hdr[1:], uint64(len(k)))
	n += binary.PutUvarint(hdr[1+n:], uint64(len(v)))
	w.write(hdr[:1+n])
	w.write(k)
	w.write(v)
	w.count++
	return nil
}

func (w *runWriter) write(p []byte) {
	for len(p) > 0 {
		n := copy(w.buf[len(w.buf):cap(w.buf)], p)
		w.buf, p = w.buf[:len(w.buf)+n], p[n:]
		if len(w.buf) == cap(w.buf) {
			w.flush()
		}
	}
}

// flush sends the block to be written and takes the other to fill once
// it is written.
func (w *runWriter) flush() {
	n := len(w.buf)
	b := w.buf
	if w.direct && n%runAligned != 0 {
		// The last block, padded to the alignment and cut off after.
		b = b[:(n+runAligned-1)/runAligned*runAligned]
		clear(b[n:])
	}
	w.full <- runBlockWrite{b: b, n: n}
	w.size += int64(n)
	w.buf = <-w.empty
}

func (w *runWriter) close() error {
	end := binary.AppendUvarint([]byte{runEnd}, w.count)
	w.write(end)
	w.flush()
	close(w.full)
	res := <-w.done
	err := res.err
	if err == nil && res.direct {
		err = w.f.Truncate(w.size)
	}
	return errors.Join(err, w.f.Close(), w.free())
}

// runReader reads a run's records; key and value are valid until next.
// Its blocks are read ahead on another goroutine. A reader of a chunk
// still in memory reads its sorted operations instead (mem).
type runReader struct {
	path string
	seq  int // the run's place in the load: a later run's operation wins
	kind opKind
	key  []byte
	val  []byte
	// words are the key's sort words (graphWriter.words), which settle
	// most of the merge's comparisons without comparing the keys; set
	// only if sortWords is.
	words     [6]uint64
	sortWords func([]byte) [6]uint64

	mem *memRun

	blocks *blockReader
	cur    []byte // the unread part of the current block
	own    []byte // a record that spans blocks
	count  uint64 // records read
}

// openRun opens a run to read; remove removes its file once read; read,
// if not nil, counts the bytes read.
func openRun(ctx context.Context, path string, seq int, remove bool, read *atomic.Int64) (*runReader, error) {
	b, err := readBlocks(ctx, path, remove)
	if err != nil {
		return nil, err
	}
	b.read = read
	return &runReader{path: path, seq: seq, blocks: b}, nil
}

func (r *runReader) close() {
	if r.blocks != nil {
		r.blocks.close()
	}
}

// memRun is a chunk's sorted operations, read as a run.
type memRun struct {
	w   *graphWriter
	ops []op
	// read counts the bytes merged as the chunk counts its size, a
	// megabyte at a time; may be nil.
	read   *atomic.Int64
	unread int64
	loaded int // the operations whose records load read
}

// nextMem is next for a chunk in memory: one operation a key, the last.
func (r *runReader) nextMem() (bool, error) {
	m := r.mem
	if len(m.ops) == 0 {
		return false, nil
	}
	if m.loaded <= 0 {
		m.loaded = m.w.load(m.ops)
	}
	o, group, err := m.w.keyOp(m.ops)
	if err != nil {
		return false, err
	}
	m.loaded -= group
	for j := range group {
		m.unread += int64(m.ops[j].klen) + int64(m.ops[j].vlen) + 16
	}
	if m.read != nil && m.unread >= 1<<20 {
		m.read.Add(m.unread)
		m.unread = 0
	}
	r.kind, r.key, r.val, r.words = o.kind, m.w.opKey(o), m.w.opValue(o), o.w
	m.ops = m.ops[group:]
	return true, nil
}

// take returns the next n bytes of the run, which stay valid until the
// next call.
func (r *runReader) take(n int) ([]byte, error) {
	if len(r.cur) >= n {
		b := r.cur[:n]
		r.cur = r.cur[n:]
		return b, nil
	}
	r.own = append(r.own[:0], r.cur...)
	r.cur = nil
	for len(r.own) < n {
		b, err := r.blocks.next()
		if err != nil {
			return nil, r.corrupt(err)
		}
		k := min(n-len(r.own), len(b))
		r.own = append(r.own, b[:k]...)
		r.cur = b[k:]
	}
	return r.own, nil
}

// uvarint reads a uvarint with take.
func (r *runReader) uvarint() (uint64, error) {
	var x uint64
	for s := uint(0); s < 64; s += 7 {
		b, err := r.take(1)
		if err != nil {
			return 0, err
		}
		if s == 63 && b[0] > 1 {
			// A tenth byte may only hold the top bit, as binary.Uvarint
			// refuses inside a block too.
			break
		}
		x |= uint64(b[0]&0x7f) << s
		if b[0] < 0x80 {
			return x, nil
		}
	}
	return 0, r.corrupt(errors.New("length overflows"))
}

// next reads the next record; false at the end of the run.
func (r *runReader) next() (bool, error) {
	if r.mem != nil {
		return r.nextMem()
	}
	if len(r.cur) == 0 {
		b, err := r.blocks.next()
		if err != nil {
			return false, r.corrupt(err)
		}
		r.cur = b
	}
	if r.cur[0] == runEnd {
		return false, r.end()
	}
	var kind byte
	var kl, vl uint64
	if h := r.cur; len(h) >= 1+2*binary.MaxVarintLen64 {
		// The header within the block: the common case.
		var n, m int
		kind = h[0]
		kl, n = binary.Uvarint(h[1:])
		vl, m = binary.Uvarint(h[1+max(n, 0):])
		if n <= 0 || m <= 0 {
			return false, r.corrupt(errors.New("bad record header"))
		}
		r.cur = h[1+n+m:]
	} else {
		b, err := r.take(1)
		if err != nil {
			return false, err
		}
		kind = b[0]
		if kl, err = r.uvarint(); err != nil {
			return false, err
		}
		if vl, err = r.uvarint(); err != nil {
			return false, err
		}
	}
	if kind > byte(opMerge) || kl < 3 || kl > 1<<16 || vl > 1<<30 {
		return false, r.corrupt(fmt.Errorf("record of kind %d, key of %d bytes, value of %d", kind, kl, vl))
	}
	rec, err := r.take(int(kl + vl))
	if err != nil {
		return false, err
	}
	r.kind, r.key, r.val = opKind(kind), rec[:kl], rec[kl:]
	if r.sortWords != nil {
		r.words = r.sortWords(r.key)
	}
	r.count++
	return true, nil
}

// end reads the run's last record, which must count the records read and
// end the file.
func (r *runReader) end() error {
	r.cur = r.cur[1:]
	n, err := r.uvarint()
	if err != nil {
		return err
	}
	if n != r.count {
		return r.corrupt(fmt.Errorf("%d records read, %d written", r.count, n))
	}
	if len(r.cur) > 0 {
		return r.corrupt(errors.New("bytes after the end"))
	}
	if _, err := r.blocks.next(); err != io.EOF {
		return r.corrupt(fmt.Errorf("bytes after the end (%v)", err))
	}
	return nil
}

func (r *runReader) corrupt(err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("run %s: %w", filepath.Base(r.path), err)
}

// runBuffers is how many blocks of a run are in memory: one being
// merged, the others read ahead.
const runBuffers = 3

// blockReader reads a file's blocks ahead of its reader, so that the
// merge does not wait on the disk, into buffers aligned for direct I/O.
type blockReader struct {
	full  chan blockRead
	empty chan []byte
	stop  chan struct{}
	done  chan struct{}
	used  []byte // the block last returned, given back on the next call
	err   error
	frees []func() error
	read  *atomic.Int64 // bytes handed to the merge, for its progress; may be nil
}

type blockRead struct {
	b   []byte
	err error
}

// readBlocks reads the file at path; remove removes it once read to its
// end.
func readBlocks(ctx context.Context, path string, remove bool) (*blockReader, error) {
	f, direct, err := openDirect(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	r := &blockReader{full: make(chan blockRead, runBuffers), empty: make(chan []byte, runBuffers), stop: make(chan struct{}), done: make(chan struct{})}
	for range runBuffers {
		b, free, err := chunkMemory(runBlock)
		if err != nil {
			f.Close()
			r.freeBuffers()
			return nil, err
		}
		r.frees = append(r.frees, free)
		r.empty <- b
	}
	go func() {
		defer close(r.done)
		defer f.Close()
		for off := int64(0); ; {
			if off >= st.Size() {
				// A run is read once: removing it here, beside the merge,
				// keeps the removal (slow for large files on ext4) off the
				// merge's path.
				if remove {
					os.Remove(path)
				}
				r.full <- blockRead{err: io.EOF}
				return
			}
			var b []byte
			select {
			case b = <-r.empty:
			case <-r.stop:
				return
			case <-ctx.Done():
				r.full <- blockRead{err: ctx.Err()}
				return
			}
			n, err := f.ReadAt(b[:runBlock], off)
			if err != nil && direct && errors.Is(err, syscall.EINVAL) && endDirect(f) == nil {
				// As in runWriter.flush.
				direct = false
				n, err = f.ReadAt(b[:runBlock], off)
			}
			if err == io.EOF && off+int64(n) == st.Size() {
				err = nil
			}
			if err != nil {
				r.full <- blockRead{err: err}
				return
			}
			off += int64(n)
			r.full <- blockRead{b: b[:n]}
		}
	}()
	return r, nil
}

func (r *blockReader) freeBuffers() {
	for _, free := range r.frees {
		free()
	}
	r.frees = nil
}

// next returns the next block, giving back the one it returned before.
func (r *blockReader) next() ([]byte, error) {
	if r.err != nil {
		return nil, r.err
	}
	if r.used != nil {
		r.empty <- r.used
		r.used = nil
	}
	br := <-r.full
	if br.err != nil {
		r.err = br.err
		return nil, br.err
	}
	r.used = br.b
	if r.read != nil {
		r.read.Add(int64(len(br.b)))
	}
	return br.b, nil
}

// close stops the reading and frees the buffers.
func (r *blockReader) close() {
	close(r.stop)
	// The reader may be blocked handing over a block or an error.
	for done := false; !done; {
		select {
		case <-r.full:
		case <-r.done:
			done = true
		}
	}
	r.freeBuffers()
}

// runHeap orders the runs' current records by key, then by run.
type runHeap []*runReader

func (h runHeap) less(i, j int) bool {
	a, b := h[i], h[j]
	if a.words != b.words {
		for k := range a.words {
			if a.words[k] != b.words[k] {
				return a.words[k] < b.words[k]
			}
		}
	}
	if c := bytes.Compare(a.key, b.key); c != 0 {
		return c < 0
	}
	return a.seq < b.seq
}

func (h runHeap) down(i int) {
	for {
		c := 2*i + 1
		if c >= len(h) {
			return
		}
		if c+1 < len(h) && h.less(c+1, c) {
			c++
		}
		if !h.less(c, i) {
			return
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
}

// tableSink writes keys in order into tables of about bulkTableBytes,
// cut also where the kind of key changes, so that a table does not span
// other chains' keys of the kinds between.
type tableSink struct {
	dir, prefix string
	wo          sstable.WriterOptions
	paths       []string
	tw          *sstable.Writer
	size        int
	kind        byte
	// gen, if set, is the generation the commit writes postings and
	// transactions in (see bulk_gen.go): their keys are rewritten into
	// its range, in the same order.
	gen  uint32
	kbuf []byte
	// Tables are synced on goroutines of their own, so that the merge
	// goes on while the disk catches up; syncs waits for them.
	syncs   sync.WaitGroup
	syncErr error
	mu      sync.Mutex
}

// noSync is a table file whose Sync the sink does itself, after closing.
type noSync struct{ vfs.File }

func (noSync) Sync() error { return nil }

func (s *tableSink) add(kind opKind, k, v []byte) error {
	if s.gen != 0 && inGeneration(k) {
		s.kbuf = genKeyOf(s.kbuf[:0], k, s.gen)
		k = s.kbuf
	}
	if s.tw != nil && (s.size >= bulkTableBytes || k[2] != s.kind) {
		if err := s.close(); err != nil {
			return err
		}
	}
	if s.tw == nil {
		p := filepath.Join(s.dir, fmt.Sprintf("%s%06d.sst", s.prefix, len(s.paths)))
		f, err := vfs.Default.Create(p, vfs.WriteCategoryUnspecified)
		if err != nil {
			return err
		}
		s.paths = append(s.paths, p)
		// Not written back while it is written (Pebble's BytesPerSync):
		// that waits for the disk on the merge's goroutines, 8 s in all
		// in the commit of 10 M transfers. The table is synced once it
		// is closed, on a goroutine of its own.
		s.tw = sstable.NewWriter(objstorageprovider.NewFileWritable(noSync{f}), s.wo)
		s.size, s.kind = 0, k[2]
	}
	s.size += len(k) + len(v)
	switch kind {
	case opSet:
		return s.tw.Set(k, v)
	case opDelete:
		return s.tw.Delete(k)
	default:
		return s.tw.Merge(k, v)
	}
}

// close finishes the current table and starts its sync.
func (s *tableSink) close() error {
	if s.tw == nil {
		return nil
	}
	err := s.tw.Close()
	s.tw = nil
	if err != nil {
		return err
	}
	p := s.paths[len(s.paths)-1]
	s.syncs.Go(func() {
		if err := syncFile(p); err != nil {
			s.mu.Lock()
			s.syncErr = errors.Join(s.syncErr, err)
			s.mu.Unlock()
		}
	})
	return nil
}

// finish closes the current table and waits until every table is synced.
func (s *tableSink) finish() error {
	err := s.close()
	s.syncs.Wait()
	return errors.Join(err, s.syncErr)
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	return errors.Join(f.Sync(), f.Close())
}

// ops writes a chunk's sorted operations.
func (s *tableSink) ops(ctx context.Context, w *graphWriter, ops []op) error {
	err := w.eachKey(ctx, ops, s.add)
	return errors.Join(err, s.finish())
}

// merge writes the records of the runs and then of the chunk in memory
// (last), merged in key order, and removes the runs. Of the operations on
// one key the last run's wins, except that totals, merge operands, are
// summed.
func (s *tableSink) merge(ctx context.Context, paths []string, last *memRun, read *atomic.Int64) (err error) {
	var h runHeap
	defer func() {
		for _, r := range h {
			r.close()
		}
		err = errors.Join(err, s.finish())
	}()
	for i := range len(paths) + 1 {
		var r *runReader
		if i < len(paths) {
			if r, err = openRun(ctx, paths[i], i, true, read); err != nil {
				return err
			}
			r.sortWords = last.w.words
		} else {
			r = &runReader{seq: i, mem: last}
		}
		ok, err := r.next()
		if err != nil || !ok {
			r.close()
			if err != nil {
				return err
			}
			continue
		}
		h = append(h, r)
	}
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
	// advance moves the first run to its next record.
	advance := func() error {
		ok, err := h[0].next()
		if err != nil {
			return err
		}
		if !ok {
			h[0].close()
			h[0] = h[len(h)-1]
			h = h[:len(h)-1]
		}
		if len(h) > 0 {
			h.down(0)
		}
		return nil
	}
	var (
		key, val []byte
		sum, one totals
		assets   = map[string]chain.Asset{}
	)
	for n := 0; len(h) > 0; n++ {
		if n%(1<<16) == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		top := h[0]
		kind := top.kind
		if len(h) == 1 || !bytes.Equal(h[1].key, top.key) && (len(h) == 2 || !bytes.Equal(h[2].key, top.key)) {
			// The key is in this run alone: the common case.
			if err := s.add(kind, top.key, top.val); err != nil {
				return err
			}
			if err := advance(); err != nil {
				return err
			}
			continue
		}
		key, val = append(key[:0], top.key...), append(val[:0], top.val...)
		merging := kind == opMerge
		if merging {
			if err := sum.decode(val, assets); err != nil {
				return fmt.Errorf("run %s: totals of %q: %w", filepath.Base(top.path), key, err)
			}
		}
		if err := advance(); err != nil {
			return err
		}
		for len(h) > 0 && bytes.Equal(h[0].key, key) {
			r := h[0]
			switch {
			case (r.kind == opMerge) != merging:
				return fmt.Errorf("key %q merged and written in one load", key)
			case merging:
				if err := one.decode(r.val, assets); err != nil {
					return fmt.Errorf("run %s: totals of %q: %w", filepath.Base(r.path), key, err)
				}
				sum.merge(&one)
			default:
				kind, val = r.kind, append(val[:0], r.val...)
			}
			if err := advance(); err != nil {
				return err
			}
		}
		if merging {
			val = sum.appendEncode(val[:0])
		}
		if err := s.add(kind, key, val); err != nil {
			return err
		}
	}
	return nil
}
