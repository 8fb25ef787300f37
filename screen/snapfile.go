package screen

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/detect/exposure"
)

// The snapshot file:
//
//	block 0      the header: magic, format version, the manifest (what the
//	             snapshot was built from), the sections, the data's end,
//	             the block checksums' count and checksum; CRC-32C of it all
//	blocks 1...  the sections, each 8-byte aligned: a layer's records and
//	             strings, or an exposure engine's accounts
//	end...       a CRC-32C per block of the data
//
// Every integer is little-endian. A reader checks the header and the
// checksums' checksum at open, and each block the first time it reads it.
const (
	snapMagic = "THSCRIDX"
	// SnapshotVersion is the format's version: a file of another version
	// is refused and rebuilt.
	SnapshotVersion = 1
	// headerMax bounds the header: it fits block 0.
	headerMax = blockSize
)

// Manifest says what a snapshot was built from. A snapshot is read only
// where each input still has the identity it records; the node computes
// the identities, the snapshot keeps them.
type Manifest struct {
	// Store identifies the data directory: a file copied from another
	// is foreign.
	Store string
	// Versions of the layers, and their digests (what exposure reads of
	// each, Layers.Digest).
	Versions, Digests Versions
	// Sources is the digest of the layers and policy the engines
	// followed (Layers.Digest), Policy the policy's exposure parameters
	// (Policy.ExposureKey).
	Sources, Policy string
	// Model is the exposure engine's model version the engines' accounts
	// were kept under (exposure.ModelVersion).
	Model uint32
	// Built is when the snapshot was written.
	Built time.Time
	// Engines are the exposure engines' states, one a chain.
	Engines []exposure.State
}

func (m *Manifest) fields() []*string {
	return []*string{&m.Store, &m.Versions.Sanctions, &m.Versions.Tags, &m.Versions.Intel,
		&m.Digests.Sanctions, &m.Digests.Tags, &m.Digests.Intel, &m.Sources, &m.Policy}
}

func (m *Manifest) strings() []string {
	var out []string
	for _, p := range m.fields() {
		out = append(out, *p)
	}
	return out
}

// section is a named byte range of the file.
type section struct {
	name     string
	off, len uint64
}

// header is block 0 decoded.
type header struct {
	manifest Manifest
	sections []section
	// end is where the data ends and the block checksums begin; size is
	// the file's length.
	end, size uint64
	nsums     uint32
	sumsCRC   uint32
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// encodeHeader writes h as block 0's bytes (without padding).
func encodeHeader(h *header) ([]byte, error) {
	body := binary.LittleEndian.AppendUint64(nil, h.size)
	body = binary.LittleEndian.AppendUint64(body, h.end)
	body = binary.LittleEndian.AppendUint32(body, h.nsums)
	body = binary.LittleEndian.AppendUint32(body, h.sumsCRC)
	m := &h.manifest
	for _, s := range m.strings() {
		body = appendString(body, s)
	}
	body = binary.LittleEndian.AppendUint32(body, m.Model)
	body = binary.AppendVarint(body, m.Built.UnixNano())
	body = binary.AppendUvarint(body, uint64(len(m.Engines)))
	for _, e := range m.Engines {
		body = appendString(body, string(e.Chain))
		body = binary.AppendUvarint(body, uint64(e.MaxHops))
		body = binary.AppendUvarint(body, e.Through)
		applied := byte(0)
		if e.Applied {
			applied = 1
		}
		body = append(body, applied)
		body = appendString(body, e.Hash)
		body = binary.AppendUvarint(body, uint64(e.Accounts))
	}
	body = binary.AppendUvarint(body, uint64(len(h.sections)))
	for _, s := range h.sections {
		body = appendString(body, s.name)
		body = binary.AppendUvarint(body, s.off)
		body = binary.AppendUvarint(body, s.len)
	}
	out := append([]byte(snapMagic), 0, 0, 0, 0, 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(out[8:], SnapshotVersion)
	binary.LittleEndian.PutUint32(out[12:], uint32(len(body)))
	out = append(out, body...)
	out = binary.LittleEndian.AppendUint32(out, crc32.Checksum(out, castagnoli))
	if len(out) > headerMax {
		return nil, fmt.Errorf("snapshot header of %d bytes exceeds %d", len(out), headerMax)
	}
	return out, nil
}

// errHeader describes a header that does not decode.
type errHeader string

func (e errHeader) Error() string { return string(e) }

// decodeHeader reads block 0. It refuses another format's file, another
// version's and any header whose checksum or fields do not hold; it never
// trusts a length it has not bounded.
func decodeHeader(b []byte) (*header, error) {
	if len(b) < 20 || string(b[:8]) != snapMagic {
		return nil, errHeader("not a tracehound screening snapshot (bad magic)")
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != SnapshotVersion {
		return nil, errHeader(fmt.Sprintf("format version %d, want %d", v, SnapshotVersion))
	}
	n := uint64(binary.LittleEndian.Uint32(b[12:]))
	if n > uint64(len(b))-20 {
		return nil, errHeader("header truncated")
	}
	whole := b[:16+n]
	if got, want := crc32.Checksum(whole, castagnoli), binary.LittleEndian.Uint32(b[16+n:]); got != want {
		return nil, errHeader(fmt.Sprintf("header checksum %08x, want %08x", got, want))
	}
	body := whole[16:]
	if len(body) < 24 {
		return nil, errHeader("header too short")
	}
	h := &header{
		size:    binary.LittleEndian.Uint64(body),
		end:     binary.LittleEndian.Uint64(body[8:]),
		nsums:   binary.LittleEndian.Uint32(body[16:]),
		sumsCRC: binary.LittleEndian.Uint32(body[20:]),
	}
	r := reader{b: body[24:]}
	m := &h.manifest
	for _, s := range m.fields() {
		*s = string(r.bytes())
	}
	if len(r.b) < 4 {
		return nil, errHeader("header truncated")
	}
	m.Model = binary.LittleEndian.Uint32(r.b)
	r.b = r.b[4:]
	if built := r.varint(); built != 0 {
		m.Built = time.Unix(0, built).UTC()
	}
	for range r.count(5) {
		var e exposure.State
		e.Chain = chain.Chain(r.bytes())
		e.MaxHops = int(min(r.uvarint(), 255))
		e.Through = r.uvarint()
		e.Applied = r.byte() == 1
		e.Hash = string(r.bytes())
		e.Accounts = int(min(r.uvarint(), 1<<62))
		m.Engines = append(m.Engines, e)
	}
	for range r.count(3) {
		s := section{name: string(r.bytes())}
		s.off, s.len = r.uvarint(), r.uvarint()
		h.sections = append(h.sections, s)
	}
	if r.err || len(r.b) != 0 {
		return nil, errHeader("header fields do not decode")
	}
	if err := h.check(); err != nil {
		return nil, err
	}
	return h, nil
}

// check bounds the header's offsets by one another.
func (h *header) check() error {
	nblocks := (h.end + blockSize - 1) / blockSize
	switch {
	case h.end < blockSize:
		return errHeader(fmt.Sprintf("data ends at %d, inside the header block", h.end))
	case uint64(h.nsums) != nblocks:
		return errHeader(fmt.Sprintf("%d block checksums for %d blocks", h.nsums, nblocks))
	case h.size != h.end+4*uint64(h.nsums):
		return errHeader(fmt.Sprintf("file size %d, want %d", h.size, h.end+4*uint64(h.nsums)))
	}
	seen := make(map[string]bool, len(h.sections))
	for _, s := range h.sections {
		if s.off < blockSize || s.off > h.end || s.len > h.end-s.off {
			return errHeader(fmt.Sprintf("section %q at %d+%d outside the data", s.name, s.off, s.len))
		}
		if seen[s.name] {
			return errHeader(fmt.Sprintf("section %q twice", s.name))
		}
		seen[s.name] = true
	}
	for i, e := range h.manifest.Engines {
		for _, f := range h.manifest.Engines[:i] {
			if f.Chain == e.Chain {
				return errHeader(fmt.Sprintf("engine of %s twice", e.Chain))
			}
		}
	}
	return nil
}

func (h *header) section(name string) (section, bool) {
	for _, s := range h.sections {
		if s.name == name {
			return s, true
		}
	}
	return section{}, false
}

// snapWriter streams a snapshot: sections are appended in turn while a
// CRC-32C per block is kept; finish writes the checksums and the header.
type snapWriter struct {
	f        *os.File
	bw       *bufio.Writer
	off      uint64
	sums     []uint32
	crc      uint32
	sections []section
	cur      *section
	pad      [8]byte
}

func newSnapWriter(f *os.File) (*snapWriter, error) {
	w := &snapWriter{f: f, bw: bufio.NewWriterSize(f, 1<<20), sums: []uint32{0}}
	// Block 0 is the header's, written last.
	if _, err := w.bw.Write(make([]byte, blockSize)); err != nil {
		return nil, err
	}
	w.off = blockSize
	return w, nil
}

// Write appends p, keeping the checksum of each block it fills.
func (w *snapWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		room := blockSize - int(w.off%blockSize)
		k := min(room, len(p))
		w.crc = crc32.Update(w.crc, castagnoli, p[:k])
		if _, err := w.bw.Write(p[:k]); err != nil {
			return 0, err
		}
		w.off += uint64(k)
		p = p[k:]
		if w.off%blockSize == 0 {
			w.sums = append(w.sums, w.crc)
			w.crc = 0
		}
	}
	return n, nil
}

// align pads to a multiple of 8 bytes.
func (w *snapWriter) align() error {
	if r := w.off % 8; r != 0 {
		_, err := w.Write(w.pad[:8-r])
		return err
	}
	return nil
}

// begin starts a section.
func (w *snapWriter) begin(name string) error {
	if err := w.align(); err != nil {
		return err
	}
	w.cur = &section{name: name, off: w.off}
	return nil
}

// pos is the offset in the current section.
func (w *snapWriter) pos() uint64 { return w.off - w.cur.off }

// end closes the current section.
func (w *snapWriter) end() {
	w.cur.len = w.off - w.cur.off
	w.sections = append(w.sections, *w.cur)
	w.cur = nil
}

func (w *snapWriter) u64s(vs []uint64) error {
	var b [8 * 512]byte
	for len(vs) > 0 {
		k := min(len(vs), 512)
		for i, v := range vs[:k] {
			binary.LittleEndian.PutUint64(b[8*i:], v)
		}
		if _, err := w.Write(b[:8*k]); err != nil {
			return err
		}
		vs = vs[k:]
	}
	return nil
}

// finish writes the block checksums and the header, and syncs the file.
func (w *snapWriter) finish(m Manifest) error {
	end := w.off
	if end%blockSize != 0 {
		w.sums = append(w.sums, w.crc)
	}
	sums := make([]byte, 4*len(w.sums))
	for i, s := range w.sums {
		binary.LittleEndian.PutUint32(sums[4*i:], s)
	}
	if _, err := w.bw.Write(sums); err != nil {
		return err
	}
	if err := w.bw.Flush(); err != nil {
		return err
	}
	h := &header{manifest: m, sections: w.sections, end: end, size: end + uint64(len(sums)),
		nsums: uint32(len(w.sums)), sumsCRC: crc32.Checksum(sums, castagnoli)}
	hb, err := encodeHeader(h)
	if err != nil {
		return err
	}
	if _, err := w.f.WriteAt(hb, 0); err != nil {
		return err
	}
	return w.f.Sync()
}

// readHeader reads and checks a file's header and block checksums.
func readHeader(f io.ReaderAt, size int64) (*header, []uint32, error) {
	if size < blockSize {
		return nil, nil, errHeader(fmt.Sprintf("%d bytes: truncated", size))
	}
	b := make([]byte, headerMax)
	if _, err := io.ReadFull(io.NewSectionReader(f, 0, headerMax), b); err != nil {
		return nil, nil, err
	}
	h, err := decodeHeader(b)
	if err != nil {
		return nil, nil, err
	}
	if uint64(size) != h.size {
		return nil, nil, errHeader(fmt.Sprintf("%d bytes, the header says %d: truncated or extended", size, h.size))
	}
	sb := make([]byte, 4*uint64(h.nsums))
	if _, err := f.ReadAt(sb, int64(h.end)); err != nil {
		return nil, nil, err
	}
	if got := crc32.Checksum(sb, castagnoli); got != h.sumsCRC {
		return nil, nil, errHeader(fmt.Sprintf("block checksums' checksum %08x, want %08x", got, h.sumsCRC))
	}
	sums := make([]uint32, h.nsums)
	for i := range sums {
		sums[i] = binary.LittleEndian.Uint32(sb[4*i:])
	}
	return h, sums, nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	// Some file systems cannot sync a directory; the rename stands.
	if errors.Is(err, os.ErrInvalid) {
		return nil
	}
	return err
}

// tempPattern names a snapshot being written beside path.
func tempPattern(path string) (dir, pattern string) {
	return filepath.Dir(path), "." + filepath.Base(path) + ".*.tmp"
}
