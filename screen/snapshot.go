package screen

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/detect/exposure"
)

// A Snapshot is the screening index and the exposure engines' accounts
// saved in one file, opened with mmap: a process that opens it answers
// its first screening after reading a few pages, instead of rebuilding
// the index from the store. Its manifest says what it was built from;
// the node reuses each part only while its inputs are unchanged.
type Snapshot struct {
	path string
	f    *os.File // nil for a snapshot read from memory
	r    io.ReaderAt
	m    *mapped
	h    *header
}

// Section names.
const (
	secSanctions = "layer/sanctions"
	secTags      = "layer/tags"
	secIntel     = "layer/intel"
	secEngine    = "exposure/"
	// The layers' digests are kept in the manifest's versions section.
)

// OpenSnapshot opens and maps a snapshot, checking its header and its
// block checksums' checksum; each block is checked when first read. A
// file of another format or version, truncated, extended or whose header
// fails its checksum is refused with an error naming it; one that does
// not exist is an error satisfying errors.Is(err, fs.ErrNotExist).
func OpenSnapshot(path string) (*Snapshot, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	s, err := openSnapshot(path, f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return s, nil
}

func openSnapshot(path string, f *os.File) (*Snapshot, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	h, sums, err := readHeader(f, st.Size())
	if err != nil {
		var he errHeader
		if errors.As(err, &he) {
			return nil, fmt.Errorf("snapshot %s: %w: %s", path, ErrCorrupt, he)
		}
		return nil, fmt.Errorf("snapshot %s: %w", path, err)
	}
	data, unmap, err := mapFile(f, st.Size())
	if err != nil {
		return nil, err
	}
	return &Snapshot{path: path, f: f, r: f, h: h, m: newMapped(path, data, sums, h.end, unmap)}, nil
}

// snapshotFromBytes reads a snapshot held in memory.
func snapshotFromBytes(name string, b []byte) (*Snapshot, error) {
	h, sums, err := readHeader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w: %v", name, ErrCorrupt, err)
	}
	return &Snapshot{path: name, r: bytes.NewReader(b), h: h, m: newMapped(name, b, sums, h.end, nil)}, nil
}

// Path is the file's name.
func (s *Snapshot) Path() string { return s.path }

// Size is the file's length in bytes.
func (s *Snapshot) Size() int64 { return int64(s.h.size) }

// Manifest says what the snapshot was built from.
func (s *Snapshot) Manifest() Manifest { return s.h.manifest }

// Err is the first check the file failed since it was opened.
func (s *Snapshot) Err() error { return s.m.Err() }

// Verify checks every block not yet read, without mapping them: a
// server runs it once in the background, so that a corrupt block is
// found before a look-up needs it.
func (s *Snapshot) Verify() error { return s.m.verify(s.r) }

// Close unmaps and closes the file. Layers installed from it and engines
// restored from it must no longer be read.
func (s *Snapshot) Close() error {
	err := s.m.close()
	if s.f != nil {
		if cerr := s.f.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// Install replaces the index's layers named by which (all if none) with
// the snapshot's, read in place, with their versions and digests.
func (s *Snapshot) Install(x *Index, which ...Layer) error {
	if len(which) == 0 {
		which = []Layer{LayerSanctions, LayerTags, LayerIntel}
	}
	mf := &s.h.manifest
	for _, l := range which {
		var err error
		switch l {
		case LayerSanctions:
			var y *layer[Sanction]
			if y, err = installLayer(s, secSanctions, sanctionCodec, mf.Versions.Sanctions, mf.Digests.Sanctions); err == nil {
				x.sanctions.Store(y)
			}
		case LayerTags:
			var y *layer[Attribution]
			if y, err = installLayer(s, secTags, attributionCodec, mf.Versions.Tags, mf.Digests.Tags); err == nil {
				x.tags.Store(y)
			}
		case LayerIntel:
			var y *layer[IntelFlag]
			if y, err = installLayer(s, secIntel, intelCodec, mf.Versions.Intel, mf.Digests.Intel); err == nil {
				x.intelMu.Lock()
				x.intel.Store(y)
				x.intelMu.Unlock()
			}
		default:
			err = fmt.Errorf("no layer %d", l)
		}
		if err != nil {
			return err
		}
	}
	x.changed()
	return nil
}

func installLayer[T any](s *Snapshot, name string, c codec[T], version, digest string) (*layer[T], error) {
	sec, ok := s.h.section(name)
	if !ok {
		return nil, s.m.corrupt("no section %s", name)
	}
	f, err := openLayer(s.m, sec, c)
	if err != nil {
		return nil, err
	}
	y := &layer[T]{file: f}
	y.meta.version.Store(&version)
	y.meta.digest.Store(&digest)
	return y, nil
}

// Engine restores chain c's exposure engine, reading its accounts in
// place; false if the snapshot has none. src must name the sources the
// saved engine followed (Layers.Sources of layers of the same digest).
func (s *Snapshot) Engine(c chain.Chain, src exposure.Sources) (*exposure.Engine, bool, error) {
	var st *exposure.State
	for i := range s.h.manifest.Engines {
		if s.h.manifest.Engines[i].Chain == c {
			st = &s.h.manifest.Engines[i]
		}
	}
	if st == nil {
		return nil, false, nil
	}
	sec, ok := s.h.section(secEngine + string(c))
	if !ok {
		return nil, false, s.m.corrupt("no section for the %s engine", c)
	}
	saved, err := openSaved(s.m, sec)
	if err != nil {
		return nil, false, err
	}
	e, err := exposure.Restore(*st, src, saved)
	if err != nil {
		return nil, false, s.m.corrupt("%v", err)
	}
	return e, true, nil
}

// savedAccounts is an engine's accounts in a snapshot: a table keyed by
// address, then a footer of the table's fields.
type savedAccounts struct{ t *table }

const savedMagic = 0x3153434341444e54 // "TNDACCS1"

func openSaved(m *mapped, sec section) (*savedAccounts, error) {
	if sec.len < 5*8 {
		return nil, m.corrupt("section %s of %d bytes", sec.name, sec.len)
	}
	fb, err := m.bytes(sec.off+sec.len-5*8, 5*8)
	if err != nil {
		return nil, err
	}
	var f [5]uint64
	for i := range f {
		f[i] = leU64(fb[8*i:])
	}
	if f[0] != savedMagic {
		return nil, m.corrupt("section %s: not an engine's accounts", sec.name)
	}
	t, err := openTable(m, sec.off, sec.len-5*8, tableMeta{count: f[1], offsOff: f[2], nslots: f[3], slotsOff: f[4]})
	if err != nil {
		return nil, err
	}
	return &savedAccounts{t: t}, nil
}

func (a *savedAccounts) Record(addr string) ([]byte, bool, error) {
	return a.t.get(addr, "")
}

func (a *savedAccounts) Each(fn func(addr string, rec []byte) error) error {
	return a.t.each(func(k, _, val []byte) error { return fn(string(k), val) })
}

// writeEngine saves an engine's accounts as a section.
func writeEngine(w *snapWriter, e *exposure.Engine) (exposure.State, error) {
	if err := w.begin(secEngine + string(e.Chain())); err != nil {
		return exposure.State{}, err
	}
	tw := tableWriter{w: w}
	var rec []byte
	st, err := e.Save(func(addr string, val []byte) error {
		rec = append(appendKey(rec[:0], addr, ""), val...)
		return tw.add(hashKey(addr, ""), rec)
	})
	if err != nil {
		return st, err
	}
	meta, err := tw.finish()
	if err != nil {
		return st, err
	}
	if err := w.u64s([]uint64{savedMagic, meta.count, meta.offsOff, meta.nslots, meta.slotsOff}); err != nil {
		return st, err
	}
	w.end()
	return st, nil
}

// Saving is what a snapshot is written from.
type Saving struct {
	// Store identifies the data directory.
	Store string
	// Layers are the index's layers to save.
	Layers *Layers
	// Engines are the exposure engines to save, built from layers whose
	// digest is Sources; none if Sources is empty.
	Engines []*exposure.Engine
	Sources string
	// Now is the time written as the snapshot's.
	Now time.Time
}

// WriteSnapshot writes a snapshot to path: into a temporary file beside
// it, synced, then renamed over it, so that a crash leaves the old file
// or the new one, never a part. It returns the manifest written.
func WriteSnapshot(path string, sv Saving) (Manifest, error) {
	dir, pattern := tempPattern(path)
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return Manifest{}, fmt.Errorf("write snapshot: %w", err)
	}
	m, err := writeSnapshot(f, sv)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		os.Remove(f.Name())
		return Manifest{}, fmt.Errorf("write snapshot %s: %w", path, err)
	}
	return m, nil
}

func writeSnapshot(f *os.File, sv Saving) (Manifest, error) {
	l := sv.Layers
	m := Manifest{Store: sv.Store, Versions: l.Versions(), Policy: l.p.ExposureKey(), Model: exposure.ModelVersion, Built: sv.Now.UTC().Round(0)}
	var err error
	if m.Digests.Sanctions, err = l.s.digest(); err != nil {
		return m, err
	}
	if m.Digests.Tags, err = l.t.digest(); err != nil {
		return m, err
	}
	if m.Digests.Intel, err = l.i.digest(); err != nil {
		return m, err
	}
	w, err := newSnapWriter(f)
	if err != nil {
		return m, err
	}
	if err := writeLayer(w, secSanctions, l.s, sanctionCodec); err != nil {
		return m, err
	}
	if err := writeLayer(w, secTags, l.t, attributionCodec); err != nil {
		return m, err
	}
	if err := writeLayer(w, secIntel, l.i, intelCodec); err != nil {
		return m, err
	}
	if sv.Sources != "" {
		m.Sources = sv.Sources
		for _, e := range sv.Engines {
			st, err := writeEngine(w, e)
			if err != nil {
				return m, err
			}
			m.Engines = append(m.Engines, st)
		}
	}
	return m, w.finish(m)
}

// OnFault has fn called when a look-up finds the snapshot it reads
// corrupt: fn replaces the layers (from the store) and the look-up is
// made again. Concurrent look-ups that meet the fault wait for one call.
func (x *Index) OnFault(fn func(error) error) { x.onFault.Store(&fn) }

// recover handles a failed read: it reports whether the layers no longer
// come from a failed file, and the read may be made again.
func (x *Index) recover(err error) bool {
	if !errors.Is(err, ErrCorrupt) {
		return false
	}
	x.faultMu.Lock()
	defer x.faultMu.Unlock()
	if !x.faulty() {
		return true // another look-up had the layers replaced
	}
	fn := x.onFault.Load()
	if fn == nil || (*fn)(err) != nil {
		return false
	}
	return !x.faulty()
}

// faulty reports whether a layer is read from a file that failed a check.
func (x *Index) faulty() bool {
	for _, m := range []*mapped{x.sanctions.Load().mapped(), x.tags.Load().mapped(), x.intel.Load().mapped()} {
		if m != nil && m.Err() != nil {
			return true
		}
	}
	return false
}

func leU64(b []byte) uint64 {
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}
