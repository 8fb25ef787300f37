package graph

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tracehound/tracehound/chain"
)

// The traversal layout: the graph's postings again, in a form made for
// walking the graph rather than for answering one address at a time.
// Addresses are integer ids, assigned as blocks are ingested; each
// address's postings are a compact list in immutable segment files
// mapped into memory (seg_file.go); recent blocks are held in memory as
// a delta, read from the store, until a merge writes them as a segment.
// A trace then costs a few memory reads per address instead of a seek
// and a decode in each level of the LSM tree, and turns ids into text
// only for its result. docs/architecture.md describes the design and its
// invariants.

// TraversalOptions tune a traversal.
type TraversalOptions struct {
	// MergeTransfers: the delta is written as a segment once it holds
	// this many transfers (default 250,000).
	MergeTransfers int
	// MaxSegments: a chain's newest segments are merged once it has more
	// than this many (default 4), so that an address costs a bounded
	// number of look-ups however the chain was written.
	MaxSegments int
	// MergeInterval is how often the background worker reads new blocks
	// and merges (default 2 s); negative: no background worker (Merge
	// and Compact are called by hand).
	MergeInterval time.Duration
	// Logf, if set, is told of segments refused, rebuilt or merged and of
	// reorganisations deeper than the delta.
	Logf func(format string, args ...any)
	// NoVerify skips checking every segment's checksums when the
	// traversal opens: a faster start for very large stores. Headers and
	// sizes are always checked.
	NoVerify bool
}

const (
	defaultMergeTransfers = 250_000
	defaultMaxSegments    = 4
	defaultMergeInterval  = 2 * time.Second
)

// traversalDir is the traversal's directory in the data directory.
const traversalDir = "traversal"

// Traversal is the traversal layout of a store's transfer graph. Traces
// read it through Snapshots; it also answers the graph's questions for
// callers that take a trace.Graph (Postings and Tip are the store's).
type Traversal struct {
	d   *Store
	dir string
	o   TraversalOptions

	work sync.Mutex // one merge, rebuild or bulk segment at a time

	mu     sync.Mutex
	man    manifest
	chains map[chain.Chain]*chainSegs
	closed bool

	// latest is each chain's last snapshot, which SolePayee reads while
	// holding latestMu for reading: no reference counted per question.
	latestMu sync.RWMutex
	latest   map[chain.Chain]*Snapshot

	names nameCache
	seq   atomic.Uint64 // the next segment file's number

	stop chan struct{}
	done chan struct{}
}

// chainSegs is one chain's segments, in block order, and the deltas after
// them: frozen ones being written as segments, then the live one.
type chainSegs struct {
	c      chain.Chain
	segs   []*segment
	deltas []*delta
	// The chain's assets: ids are the traversal's, stable while it is
	// open (segments number theirs locally).
	assets   []chain.Asset
	assetIdx map[chain.Asset]uint32
}

// Traversal opens the store's traversal layout, building what is missing
// from the store (segments lost or refused, blocks never written as
// segments), and starts its background worker. The node calls it once
// and closes the traversal before the store.
func (d *Store) Traversal(ctx context.Context, o TraversalOptions) (*Traversal, error) {
	d.travMu.Lock()
	defer d.travMu.Unlock()
	if d.trav == nil {
		t, err := openTraversal(ctx, d, o)
		if err != nil {
			return nil, err
		}
		d.trav = t
	}
	t := d.trav
	if o.MergeInterval >= 0 && t.stop == nil {
		t.setOptions(o)
		t.start()
	}
	return t, nil
}

// segments returns the traversal, opened without a worker if it is not
// open: the bulk loader writes its segments through it.
func (d *Store) segments(ctx context.Context) (*Traversal, error) {
	d.travMu.Lock()
	defer d.travMu.Unlock()
	if d.trav == nil {
		t, err := openTraversal(ctx, d, TraversalOptions{MergeInterval: -1})
		if err != nil {
			return nil, err
		}
		d.trav = t
	}
	return d.trav, nil
}

func (t *Traversal) setOptions(o TraversalOptions) {
	if o.MergeTransfers <= 0 {
		o.MergeTransfers = defaultMergeTransfers
	}
	if o.MaxSegments <= 0 {
		o.MaxSegments = defaultMaxSegments
	}
	if o.MergeInterval == 0 {
		o.MergeInterval = defaultMergeInterval
	}
	t.o = o
}

func (t *Traversal) logf(format string, args ...any) {
	if t.o.Logf != nil {
		t.o.Logf(format, args...)
	}
}

func openTraversal(ctx context.Context, d *Store, o TraversalOptions) (*Traversal, error) {
	dir := filepath.Join(d.dir, traversalDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open traversal: %w", err)
	}
	t := &Traversal{d: d, dir: dir, chains: map[chain.Chain]*chainSegs{}, latest: map[chain.Chain]*Snapshot{}}
	t.setOptions(o)
	man, err := readManifest(dir)
	if err != nil {
		// The manifest is replaced whole and synced, so this is damage to
		// the disk: every segment is rebuilt from the store.
		t.logf("traversal: %v: the segments are rebuilt from the store", err)
		man = manifest{Chains: map[chain.Chain][]manifestSeg{}}
	}
	t.man = man
	t.seq.Store(man.Next)
	if err := t.removeOrphans(); err != nil {
		return nil, fmt.Errorf("open traversal: %w", err)
	}
	for _, c := range slices.Sorted(mapsKeys(man.Chains)) {
		if err := t.openChain(ctx, c); err != nil {
			t.closeSegments()
			return nil, fmt.Errorf("open traversal of %s: %w", c, err)
		}
	}
	return t, nil
}

func mapsKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// removeOrphans removes the files the manifest does not name: segments
// a crash interrupted before the manifest named them, or that a merge
// replaced.
func (t *Traversal) removeOrphans() error {
	named := map[string]bool{manifestName: true}
	for _, segs := range t.man.Chains {
		for _, s := range segs {
			named[s.File] = true
		}
	}
	ents, err := os.ReadDir(t.dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if !named[e.Name()] {
			if err := os.RemoveAll(filepath.Join(t.dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// openChain opens a chain's segments; one that is refused is rebuilt
// from the store, with the segments after it if its ids changed.
func (t *Traversal) openChain(ctx context.Context, c chain.Chain) error {
	cs := t.chain(c)
	recs := t.man.Chains[c]
	for i := 0; i < len(recs); i++ {
		r := recs[i]
		s, err := openSegment(filepath.Join(t.dir, r.File), r.File, &r, !t.o.NoVerify)
		if err == nil && (len(cs.segs) > 0 && s.lo != cs.segs[len(cs.segs)-1].hi+1 || s.idBase != cs.nextID()) {
			s.release()
			err = fmt.Errorf("segment %s: blocks %d-%d and ids %d-%d do not follow the previous segment", r.File, s.lo, s.hi, s.idBase, s.idEnd)
		}
		if err == nil {
			t.addSegment(cs, s)
			continue
		}
		t.logf("traversal: %v: refused, rebuilt from the store", err)
		tip, ok, err := t.d.Tip(ctx, c)
		if err != nil {
			return err
		}
		if !ok || tip.Height < r.Lo {
			// The store no longer holds these blocks: the segments end
			// before them.
			t.man.Chains[c] = recs[:i]
			if err := writeManifest(t.dir, &t.man); err != nil {
				return err
			}
			for _, r := range recs[i:] {
				os.Remove(filepath.Join(t.dir, r.File))
			}
			return nil
		}
		rebuilt, err := t.rebuild(ctx, cs, r.Lo, min(r.Hi, tip.Height))
		if err != nil {
			return fmt.Errorf("rebuild %s: %w", r.File, err)
		}
		t.addSegment(cs, rebuilt)
		if rebuilt.idEnd != r.IDEnd {
			// The store no longer holds what the segments after it were
			// numbered against: they are rebuilt too.
			for j := i + 1; j < len(recs); j++ {
				recs[j].Checksum = 0
			}
		}
		recs[i] = segRecord(rebuilt.name, &rebuilt.segMeta)
		t.man.Chains[c] = recs
		t.man.Next = t.seq.Load()
		if err := writeManifest(t.dir, &t.man); err != nil {
			return err
		}
		os.Remove(filepath.Join(t.dir, r.File))
	}
	return nil
}

func (t *Traversal) chain(c chain.Chain) *chainSegs {
	cs := t.chains[c]
	if cs == nil {
		cs = &chainSegs{c: c, assets: []chain.Asset{chain.Native}, assetIdx: map[chain.Asset]uint32{chain.Native: 0}}
		t.chains[c] = cs
	}
	return cs
}

// nextID is the id the chain's next new address gets.
func (cs *chainSegs) nextID() uint32 {
	if n := len(cs.deltas); n > 0 {
		return cs.deltas[n-1].b.nextID
	}
	if n := len(cs.segs); n > 0 {
		return cs.segs[n-1].idEnd
	}
	return 0
}

// hi is the last block the segments hold, and whether they hold any.
func (cs *chainSegs) segHi() (uint64, bool) {
	if n := len(cs.segs); n > 0 {
		return cs.segs[n-1].hi, true
	}
	return 0, false
}

// addSegment appends s to the chain's segments; the caller holds t.mu or
// has the traversal to itself.
func (t *Traversal) addSegment(cs *chainSegs, s *segment) {
	s.global = make([]uint32, len(s.assets))
	for i, a := range s.assets {
		s.global[i] = cs.assetID(a)
	}
	cs.segs = append(cs.segs, s)
}

func (cs *chainSegs) assetID(a chain.Asset) uint32 {
	id, ok := cs.assetIdx[a]
	if !ok {
		id = uint32(len(cs.assets))
		cs.assets = append(cs.assets, a)
		cs.assetIdx[a] = id
	}
	return id
}

// lookup finds an address's id in segs and deltas, by its encoding.
func lookupIn(segs []*segment, deltas []*delta, enc []byte) (uint32, bool) {
	for i := len(segs) - 1; i >= 0; i-- {
		if id, ok := segs[i].lookup(enc); ok {
			return id, true
		}
	}
	for _, d := range deltas {
		d.mu.RLock()
		id, ok := d.b.findNew(enc)
		d.mu.RUnlock()
		if ok {
			return id, true
		}
	}
	return 0, false
}

// newSegPath names the next segment file of chain c.
func (t *Traversal) newSegPath(c chain.Chain) (string, string) {
	n := t.seq.Add(1) - 1
	name := fmt.Sprintf("%s-%06d.seg", safeName(c), n)
	return filepath.Join(t.dir, name), name
}

func safeName(c chain.Chain) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '_'
	}, strings.ToLower(string(c)))
}

// buildFrom writes blocks lo..hi of the store as a segment whose new ids
// start at idBase, numbering addresses the segments before hold as they
// do.
func (t *Traversal) buildFrom(ctx context.Context, c chain.Chain, lo, hi uint64, idBase uint32, before []*segment) (*segment, error) {
	b := newSegBuilder(c, lo, idBase, func(enc []byte) (uint32, bool) { return lookupIn(before, nil, enc) })
	for _, s := range before {
		s.acquire()
	}
	b.held = before
	defer b.free()
	for h := lo; h <= hi; h++ {
		if h%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		blk, err := t.d.readBlock(ctx, c, h)
		if err != nil {
			return nil, err
		}
		if err := b.block(blk); err != nil {
			return nil, err
		}
	}
	return t.writeSegment(c, b)
}

// writeSegment writes a builder's blocks as a segment file and opens it;
// the manifest does not name it yet.
func (t *Traversal) writeSegment(c chain.Chain, b *segBuilder) (*segment, error) {
	path, name := t.newSegPath(c)
	m, err := b.write(path)
	if err != nil {
		return nil, fmt.Errorf("write segment %s: %w", name, err)
	}
	rec := segRecord(name, &m)
	// Checked as any segment read back: what is in force is what a
	// restart would read.
	s, err := openSegment(path, name, &rec, false)
	if err != nil {
		os.Remove(path)
		return nil, err
	}
	return s, nil
}

// rebuild writes blocks lo..hi of chain cs from the store as the segment
// after cs's current ones.
func (t *Traversal) rebuild(ctx context.Context, cs *chainSegs, lo, hi uint64) (*segment, error) {
	return t.buildFrom(ctx, cs.c, lo, hi, cs.nextID(), slices.Clone(cs.segs))
}

// readBlock reads a stored block with its transactions, as it was
// written.
func (d *Store) readBlock(ctx context.Context, c chain.Chain, h uint64) (*chain.Block, error) {
	v, ok, err := d.get(blockKey(c, h))
	if err != nil {
		return nil, fmt.Errorf("read %s block %d: %w", c, h, err)
	}
	if !ok {
		return nil, fmt.Errorf("read %s block %d: not in the store", c, h)
	}
	bd := dec{b: v}
	hash, parent := bd.raw(32), bd.raw(32)
	at := bd.svar()
	n := bd.uvar()
	if bd.err != nil || n > uint64(len(bd.b))/32 {
		return nil, fmt.Errorf("read %s block %d: %w", c, h, errCorrupt)
	}
	blk := &chain.Block{Chain: c, Height: h, Time: time.Unix(at, 0).UTC(), Txs: make([]chain.Tx, 0, n)}
	if !isZero(hash) {
		blk.Hash = hashString(c, hash)
	}
	if !isZero(parent) {
		blk.Parent = hashString(c, parent)
	}
	// The block's transactions are in g/x/ or in the one generation
	// that holds it.
	gens, err := readGenerations(d.db, c)
	if err != nil {
		return nil, fmt.Errorf("read %s block %d: %w", c, h, err)
	}
	for range n {
		th := bd.raw(32)
		key := append(chainKey(gTx, c), th...)
		tv, ok, err := d.getTxAt(gens, key, h)
		if err == nil && !ok {
			// Generations merged since they were read.
			if gens, err = readGenerations(d.db, c); err == nil {
				tv, ok, err = d.getTxAt(gens, key, h)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("read %s block %d: %w", c, h, err)
		}
		if !ok {
			return nil, fmt.Errorf("read %s block %d: transaction %x not in the store", c, h, th)
		}
		r, err := decodeTx(c, th, tv)
		if err != nil {
			return nil, fmt.Errorf("read %s block %d: %w", c, h, err)
		}
		blk.Txs = append(blk.Txs, r.Tx)
	}
	if bd.err != nil {
		return nil, fmt.Errorf("read %s block %d: %w", c, h, errCorrupt)
	}
	return blk, nil
}

func isZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// installSegments replaces the chain's segments old (a suffix of them, or
// none) with repl, and drops the deltas up to the new last block: the
// manifest is written and synced first, then the traversal switches.
// The caller holds t.mu.
func (t *Traversal) installSegments(cs *chainSegs, old int, repl []*segment) error {
	keep := cs.segs[:len(cs.segs)-old]
	recs := make([]manifestSeg, 0, len(keep)+len(repl))
	for _, s := range keep {
		recs = append(recs, segRecord(s.name, &s.segMeta))
	}
	for _, s := range repl {
		recs = append(recs, segRecord(s.name, &s.segMeta))
	}
	man := t.man
	man.Next = t.seq.Load()
	man.Chains = maps2(t.man.Chains)
	man.Chains[cs.c] = recs
	if err := writeManifest(t.dir, &man); err != nil {
		return fmt.Errorf("traversal manifest: %w", err)
	}
	t.man.Chains = man.Chains
	retired := slices.Clone(cs.segs[len(keep):])
	cs.segs = slices.Clone(keep)
	for _, s := range repl {
		t.addSegment(cs, s)
	}
	for _, s := range retired {
		os.Remove(filepath.Join(t.dir, s.name)) // the mapping stays valid
		s.release()
	}
	t.names.reset()
	return nil
}

func maps2[K comparable, V any](m map[K]V) map[K]V {
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// DropPageCache asks the kernel to drop the segments' pages from the
// page cache, so that a benchmark can measure a trace that reads them
// from the disk.
func (t *Traversal) DropPageCache() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	var errs []error
	for _, cs := range t.chains {
		for _, s := range cs.segs {
			errs = append(errs, dropCache(filepath.Join(t.dir, s.name)))
		}
	}
	return errors.Join(errs...)
}

// Close stops the background worker and unmaps the segments once no
// snapshot uses them.
func (t *Traversal) Close() error {
	t.d.travMu.Lock()
	stop, done := t.stop, t.done
	t.stop = nil
	t.d.travMu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
	t.work.Lock()
	defer t.work.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	t.closeSegments()
	t.d.travMu.Lock()
	if t.d.trav == t {
		t.d.trav = nil
	}
	t.d.travMu.Unlock()
	return nil
}

func (t *Traversal) closeSegments() {
	for _, cs := range t.chains {
		for _, s := range cs.segs {
			s.release()
		}
		for _, d := range cs.deltas {
			d.free()
		}
		cs.segs, cs.deltas = nil, nil
	}
	t.latestMu.Lock()
	for c, s := range t.latest {
		s.Release()
		delete(t.latest, c)
	}
	t.latestMu.Unlock()
}

// start runs the background worker: new blocks read into the delta, the
// delta merged into a segment when it grows, segments merged when they
// are many.
func (t *Traversal) start() {
	stop, done := make(chan struct{}), make(chan struct{})
	t.stop, t.done = stop, done
	go func() {
		defer close(done)
		tick := time.NewTicker(t.o.MergeInterval)
		defer tick.Stop()
		// ctx ends when the traversal closes, so that a merge in flight
		// stops with it.
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			<-stop
			cancel()
		}()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if err := t.maintain(ctx); err != nil && ctx.Err() == nil {
				t.logf("traversal: %v", err)
			}
		}
	}()
}

// chainList is the chains the traversal or the store holds.
func (t *Traversal) chainList(ctx context.Context) ([]chain.Chain, error) {
	stored, err := t.d.chains(ctx)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	for c := range t.chains {
		stored = append(stored, c)
	}
	t.mu.Unlock()
	slices.Sort(stored)
	return slices.Compact(stored), nil
}

// chains lists the chains with a stored tip.
func (d *Store) chains(ctx context.Context) ([]chain.Chain, error) {
	var out []chain.Chain
	it, err := d.db.NewIter(&pebble.IterOptions{LowerBound: []byte(gTip), UpperBound: prefixEnd([]byte(gTip))})
	if err != nil {
		return nil, err
	}
	for it.First(); it.Valid(); it.Next() {
		k := it.Key()[len(gTip):]
		if len(k) == 0 || k[len(k)-1] != 0 {
			it.Close()
			return nil, fmt.Errorf("read chain tips: %w", errCorrupt)
		}
		out = append(out, chain.Chain(k[:len(k)-1]))
	}
	if err := it.Close(); err != nil {
		return nil, err
	}
	return out, ctx.Err()
}

// maintain brings every chain's delta to the store's tip and merges what
// has grown.
func (t *Traversal) maintain(ctx context.Context) error {
	cs, err := t.chainList(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range cs {
		s, err := t.Snapshot(ctx, c)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.Release()
		if err := t.mergeDelta(ctx, c, false); err != nil {
			errs = append(errs, err)
		}
		if err := t.mergeSegments(ctx, c, false); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Merge writes every chain's delta as a segment now, and merges the
// segments if they are more than MaxSegments.
func (t *Traversal) Merge(ctx context.Context) error {
	cs, err := t.chainList(ctx)
	if err != nil {
		return err
	}
	for _, c := range cs {
		s, err := t.Snapshot(ctx, c)
		if err != nil {
			return err
		}
		s.Release()
		if err := t.mergeDelta(ctx, c, true); err != nil {
			return err
		}
		if err := t.mergeSegments(ctx, c, false); err != nil {
			return err
		}
	}
	return nil
}

// Compact merges all of chain c's segments, and its delta, into one.
func (t *Traversal) Compact(ctx context.Context, c chain.Chain) error {
	s, err := t.Snapshot(ctx, c)
	if err != nil {
		return err
	}
	s.Release()
	if err := t.mergeDelta(ctx, c, true); err != nil {
		return err
	}
	return t.mergeSegments(ctx, c, true)
}

// mergeDelta writes the chain's oldest delta as a segment if it holds
// more than MergeTransfers transfers, or any if force. The live delta is
// frozen and a new one started, so that snapshots and new blocks do not
// wait for the segment to be written; a frozen delta that failed to be
// written is tried again first.
func (t *Traversal) mergeDelta(ctx context.Context, c chain.Chain, force bool) error {
	t.work.Lock()
	defer t.work.Unlock()
	t.mu.Lock()
	cs := t.chains[c]
	if cs == nil || len(cs.deltas) == 0 {
		t.mu.Unlock()
		return nil
	}
	d := cs.deltas[0]
	d.mu.RLock()
	n, blocks := d.b.edges.n, d.b.blocks()
	d.mu.RUnlock()
	if blocks == 0 || !d.frozen && !force && n < t.o.MergeTransfers {
		t.mu.Unlock()
		return nil
	}
	if !d.frozen {
		d.frozen = true
		cs.deltas = append(cs.deltas, t.newDelta(cs, d.b.next()))
	}
	d.refs.Add(1)
	t.mu.Unlock()
	defer d.release()

	s, err := t.writeSegment(c, d.b)
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(cs.deltas) == 0 || cs.deltas[0] != d {
		// A reorganisation dropped the delta meanwhile.
		os.Remove(filepath.Join(t.dir, s.name))
		s.release()
		return nil
	}
	if err := t.installSegments(cs, 0, []*segment{s}); err != nil {
		os.Remove(filepath.Join(t.dir, s.name))
		s.release()
		return err
	}
	cs.deltas = cs.deltas[1:]
	d.release()
	t.logf("traversal: %s blocks %d-%d written as segment %s (%d transfers)", c, s.lo, s.hi, s.name, n)
	return nil
}

// mergeSegments merges the chain's newest segments while there are more
// than MaxSegments (all of them if all), in the background of snapshots.
func (t *Traversal) mergeSegments(ctx context.Context, c chain.Chain, all bool) error {
	t.work.Lock()
	defer t.work.Unlock()
	t.mu.Lock()
	cs := t.chains[c]
	if cs == nil || len(cs.segs) < 2 || !all && len(cs.segs) <= t.o.MaxSegments {
		t.mu.Unlock()
		return nil
	}
	k := len(cs.segs)
	if !all {
		// The newest segments whose sizes are within a factor of each
		// other: size-tiered, so that a posting is rewritten a
		// logarithmic number of times.
		k = 2
		var sum uint64
		for _, s := range cs.segs[len(cs.segs)-2:] {
			sum += s.size
		}
		for k < len(cs.segs) && cs.segs[len(cs.segs)-k-1].size <= 4*sum {
			sum += cs.segs[len(cs.segs)-k-1].size
			k++
		}
	}
	in := slices.Clone(cs.segs[len(cs.segs)-k:])
	for _, s := range in {
		s.acquire()
	}
	t.mu.Unlock()
	defer func() {
		for _, s := range in {
			s.release()
		}
	}()
	path, name := t.newSegPath(c)
	m, err := mergeSegmentFiles(ctx, path, in)
	if err != nil {
		return fmt.Errorf("merge %s segments: %w", c, err)
	}
	rec := segRecord(name, &m)
	s, err := openSegment(path, name, &rec, false)
	if err != nil {
		os.Remove(path)
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.installSegments(cs, k, []*segment{s}); err != nil {
		os.Remove(path)
		s.release()
		return err
	}
	t.logf("traversal: %s: %d segments merged into %s (blocks %d-%d)", c, k, name, s.lo, s.hi)
	return nil
}

// cmpPost orders posts as the store's keys do: time, block, the
// transaction's index, kind, position, incoming first.
func cmpPost(a, b *Post) int {
	return cmp.Or(cmp.Compare(a.Unix, b.Unix), cmp.Compare(a.Block, b.Block), cmp.Compare(a.TxIndex, b.TxIndex),
		cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Pos, b.Pos), cmpBool(!a.In, !b.In))
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

// CloseTraversal closes the traversal if one is open: for the store's
// owner to call before closing the database.
func (d *Store) CloseTraversal() error {
	d.travMu.Lock()
	t := d.trav
	d.travMu.Unlock()
	if t == nil {
		return nil
	}
	return t.Close()
}
