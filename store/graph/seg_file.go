package graph

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/bits"
	"os"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/tracehound/tracehound/chain"
)

// A segment file holds the postings of a run of consecutive blocks of one
// chain, in the layout a traversal reads: per address id, a list of its
// postings in key order, varint-encoded (seg_post.go), found through a
// bitmap of the ids present with a rank directory and an offsets array;
// the addresses the segment introduced (their ids follow the previous
// segments'), with a hash index from address to id; per block its time
// and first transaction; the transactions' hashes; the assets. Every
// section and the header carry a CRC-32C, checked when the segment is
// opened: a file cut short or corrupted is refused by name. The file is
// little-endian and mapped read-only, so that a new process reads it at
// the speed of the page cache with nothing to load.
//
// Layout: a header of segHeaderSize bytes (magic, fields, the section
// table, its own checksum), then the sections, each 8-byte aligned.
const (
	segMagic      = "THTRSEG1"
	segVersion    = 1
	segHeaderSize = 4096
)

// The sections, in file order.
const (
	secPostings = iota
	secOffsets
	secBitmap
	secRank
	secDictOff
	secDict
	secDictIndex
	secBlockTime
	secBlockTx
	secBlockHash
	secTxHash
	secAssetOff
	secAssets
	numSections
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// littleEndian guards the unsafe views of the sections' arrays.
var littleEndian = func() bool { x := uint16(1); return *(*byte)(unsafe.Pointer(&x)) == 1 }()

// segMeta is a segment's header: what the manifest also records.
type segMeta struct {
	chain          chain.Chain
	lo, hi         uint64 // blocks
	hiHash         [32]byte
	idBase, idEnd  uint32 // the addresses the segment introduced: [idBase, idEnd)
	nTx            uint64
	minTime        int64
	maxTime        int64
	monotone       bool // block times never decrease within the segment
	size           uint64
	postings       uint64 // postings held
	sections       [numSections]segSection
	headerChecksum uint32
}

type segSection struct {
	off, len uint64
	crc      uint32
}

func (m *segMeta) encodeHeader() []byte {
	b := make([]byte, 0, segHeaderSize)
	b = append(b, segMagic...)
	b = binary.LittleEndian.AppendUint32(b, segVersion)
	b = append(b, byte(len(m.chain)))
	b = append(b, m.chain...)
	b = binary.LittleEndian.AppendUint64(b, m.lo)
	b = binary.LittleEndian.AppendUint64(b, m.hi)
	b = append(b, m.hiHash[:]...)
	b = binary.LittleEndian.AppendUint32(b, m.idBase)
	b = binary.LittleEndian.AppendUint32(b, m.idEnd)
	b = binary.LittleEndian.AppendUint64(b, m.nTx)
	b = binary.LittleEndian.AppendUint64(b, uint64(m.minTime))
	b = binary.LittleEndian.AppendUint64(b, uint64(m.maxTime))
	mono := byte(0)
	if m.monotone {
		mono = 1
	}
	b = append(b, mono)
	b = binary.LittleEndian.AppendUint64(b, m.size)
	b = binary.LittleEndian.AppendUint64(b, m.postings)
	b = binary.LittleEndian.AppendUint32(b, numSections)
	for _, s := range m.sections {
		b = binary.LittleEndian.AppendUint64(b, s.off)
		b = binary.LittleEndian.AppendUint64(b, s.len)
		b = binary.LittleEndian.AppendUint32(b, s.crc)
	}
	m.headerChecksum = crc32.Checksum(b, crcTable)
	return binary.LittleEndian.AppendUint32(b, m.headerChecksum)
}

var errSegment = errors.New("corrupt traversal segment")

func decodeSegHeader(h []byte) (segMeta, error) {
	var m segMeta
	if len(h) < len(segMagic)+5 || string(h[:len(segMagic)]) != segMagic {
		return m, fmt.Errorf("%w: no segment header", errSegment)
	}
	r := h[len(segMagic):]
	fail := false
	u8 := func() byte {
		if len(r) < 1 {
			fail = true
			return 0
		}
		v := r[0]
		r = r[1:]
		return v
	}
	u32 := func() uint32 {
		if len(r) < 4 {
			fail = true
			return 0
		}
		v := binary.LittleEndian.Uint32(r)
		r = r[4:]
		return v
	}
	u64 := func() uint64 {
		if len(r) < 8 {
			fail = true
			return 0
		}
		v := binary.LittleEndian.Uint64(r)
		r = r[8:]
		return v
	}
	if v := u32(); v != segVersion {
		return m, fmt.Errorf("%w: version %d", errSegment, v)
	}
	n := int(u8())
	if len(r) < n {
		return m, fmt.Errorf("%w: header cut short", errSegment)
	}
	m.chain = chain.Chain(r[:n])
	r = r[n:]
	m.lo, m.hi = u64(), u64()
	if len(r) < 32 {
		return m, fmt.Errorf("%w: header cut short", errSegment)
	}
	copy(m.hiHash[:], r)
	r = r[32:]
	m.idBase, m.idEnd = u32(), u32()
	m.nTx = u64()
	m.minTime, m.maxTime = int64(u64()), int64(u64())
	m.monotone = u8() == 1
	m.size, m.postings = u64(), u64()
	if ns := u32(); ns != numSections {
		return m, fmt.Errorf("%w: %d sections", errSegment, ns)
	}
	for i := range m.sections {
		m.sections[i] = segSection{off: u64(), len: u64(), crc: u32()}
	}
	used := len(h) - len(r)
	sum := u32()
	if fail {
		return m, fmt.Errorf("%w: header cut short", errSegment)
	}
	if crc32.Checksum(h[:used], crcTable) != sum {
		return m, fmt.Errorf("%w: header checksum mismatch", errSegment)
	}
	m.headerChecksum = sum
	return m, nil
}

// segWriter writes a segment file: the sections in order, then the
// header, then a sync. The file is complete and synced before the
// manifest names it.
type segWriter struct {
	f   *os.File
	w   *bufio.Writer
	off uint64
	m   segMeta
	sec int
	crc uint32
}

func createSegment(path string, m segMeta) (*segWriter, error) {
	if !littleEndian {
		return nil, errors.New("traversal segments need a little-endian machine")
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	if _, err := f.Seek(segHeaderSize, io.SeekStart); err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	return &segWriter{f: f, w: bufio.NewWriterSize(f, 1<<20), off: segHeaderSize, m: m}, nil
}

// begin starts section i, which must follow the last begun.
func (w *segWriter) begin(i int) error {
	if i != w.sec {
		return fmt.Errorf("segment section %d written out of order", i)
	}
	w.m.sections[i].off, w.crc = w.off, 0
	return nil
}

func (w *segWriter) write(p []byte) error {
	w.crc = crc32.Update(w.crc, crcTable, p)
	n, err := w.w.Write(p)
	w.off += uint64(n)
	return err
}

// end ends the current section, padding to 8 bytes.
func (w *segWriter) end() error {
	s := &w.m.sections[w.sec]
	s.len, s.crc = w.off-s.off, w.crc
	w.sec++
	if pad := (8 - w.off%8) % 8; pad > 0 {
		n, err := w.w.Write(make([]byte, pad))
		w.off += uint64(n)
		return err
	}
	return nil
}

// section writes a whole section.
func (w *segWriter) section(i int, p []byte) error {
	if err := w.begin(i); err != nil {
		return err
	}
	if err := w.write(p); err != nil {
		return err
	}
	return w.end()
}

func u64Bytes(s []uint64) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), 8*len(s))
}
func u32Bytes(s []uint32) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), 4*len(s))
}
func i64Bytes(s []int64) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), 8*len(s))
}

// finish writes the header and syncs; the segment's metadata is returned.
func (w *segWriter) finish() (segMeta, error) {
	if w.sec != numSections {
		w.abort()
		return segMeta{}, fmt.Errorf("segment has %d of %d sections", w.sec, numSections)
	}
	if err := w.w.Flush(); err != nil {
		w.abort()
		return segMeta{}, err
	}
	w.m.size = w.off
	h := w.m.encodeHeader()
	if len(h) > segHeaderSize {
		w.abort()
		return segMeta{}, errors.New("segment header too large")
	}
	if _, err := w.f.WriteAt(h, 0); err != nil {
		w.abort()
		return segMeta{}, err
	}
	if err := w.f.Sync(); err != nil {
		w.abort()
		return segMeta{}, err
	}
	if err := w.f.Close(); err != nil {
		os.Remove(w.f.Name())
		return segMeta{}, err
	}
	return w.m, nil
}

func (w *segWriter) abort() {
	w.f.Close()
	os.Remove(w.f.Name())
}

// segment is an open segment file, mapped read-only.
type segment struct {
	segMeta
	name string // the file's name in the traversal directory
	data []byte
	// The sections, as views of the mapping.
	postings  []byte
	offsets   []uint64
	bitmap    []uint64
	rank      []uint32
	dictOff   []uint64
	dict      []byte
	dictIndex []uint32
	blockTime []int64
	blockTx   []uint64
	blockHash []byte
	txHash    []byte
	assets    []chain.Asset // decoded, local ids
	// global maps the segment's asset ids to the traversal's.
	global []uint32

	refs    atomic.Int64 // one for the set holding it, one per snapshot
	unmapMu sync.Mutex
	unmap   func() error
}

// openSegment maps the segment file at path and checks it against its
// checksums and the manifest's record (want, if not nil).
func openSegment(path, name string, want *manifestSeg, verify bool) (*segment, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("segment %s: %w", name, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("segment %s: %w", name, err)
	}
	if st.Size() < segHeaderSize {
		return nil, fmt.Errorf("segment %s: %w: %d bytes, cut short", name, errSegment, st.Size())
	}
	if want != nil && uint64(st.Size()) != want.Size {
		return nil, fmt.Errorf("segment %s: %w: %d bytes, the manifest says %d (cut short or overwritten)", name, errSegment, st.Size(), want.Size)
	}
	data, unmap, err := mapFile(f, int(st.Size()))
	if err != nil {
		return nil, fmt.Errorf("segment %s: %w", name, err)
	}
	s := &segment{name: name, data: data, unmap: unmap}
	if err := s.load(want, verify); err != nil {
		unmap()
		return nil, fmt.Errorf("segment %s: %w", name, err)
	}
	s.refs.Store(1)
	return s, nil
}

func (s *segment) load(want *manifestSeg, verify bool) error {
	m, err := decodeSegHeader(s.data[:segHeaderSize])
	if err != nil {
		return err
	}
	if m.size != uint64(len(s.data)) {
		return fmt.Errorf("%w: %d bytes, the header says %d", errSegment, len(s.data), m.size)
	}
	if want != nil && (want.Checksum != m.headerChecksum || want.Lo != m.lo || want.Hi != m.hi) {
		return fmt.Errorf("%w: not the segment the manifest names", errSegment)
	}
	for i, sec := range m.sections {
		if sec.off < segHeaderSize || sec.off%8 != 0 || sec.off+sec.len > m.size || sec.off+sec.len < sec.off {
			return fmt.Errorf("%w: section %d out of bounds", errSegment, i)
		}
	}
	if verify {
		if err := verifySections(s.data, &m); err != nil {
			return err
		}
	}
	s.segMeta = m
	sec := func(i int) []byte { return s.data[m.sections[i].off : m.sections[i].off+m.sections[i].len] }
	s.postings = sec(secPostings)
	s.offsets = asU64(sec(secOffsets))
	s.bitmap = asU64(sec(secBitmap))
	s.rank = asU32(sec(secRank))
	s.dictOff = asU64(sec(secDictOff))
	s.dict = sec(secDict)
	s.dictIndex = asU32(sec(secDictIndex))
	s.blockTime = asI64(sec(secBlockTime))
	s.blockTx = asU64(sec(secBlockTx))
	s.blockHash = sec(secBlockHash)
	s.txHash = sec(secTxHash)
	nBlocks := m.hi - m.lo + 1
	nNew := uint64(m.idEnd - m.idBase)
	nPresent := uint64(0)
	if len(s.rank) > 0 {
		nPresent = uint64(s.rank[len(s.rank)-1]) + uint64(bits.OnesCount64(s.bitmap[len(s.bitmap)-1]))
	}
	switch {
	case m.hi < m.lo || m.idEnd < m.idBase:
		return fmt.Errorf("%w: bad ranges", errSegment)
	case uint64(len(s.bitmap)) != (uint64(m.idEnd)+63)/64 || len(s.rank) != len(s.bitmap):
		return fmt.Errorf("%w: bitmap of %d words for %d ids", errSegment, len(s.bitmap), m.idEnd)
	case uint64(len(s.offsets)) != nPresent+1 || s.offsets[nPresent] != uint64(len(s.postings)):
		return fmt.Errorf("%w: offsets do not match the postings", errSegment)
	case uint64(len(s.dictOff)) != nNew+1 || s.dictOff[nNew] != uint64(len(s.dict)):
		return fmt.Errorf("%w: dictionary offsets do not match", errSegment)
	case len(s.dictIndex) == 0 || len(s.dictIndex)&(len(s.dictIndex)-1) != 0:
		return fmt.Errorf("%w: dictionary index of %d slots", errSegment, len(s.dictIndex))
	case uint64(len(s.blockTime)) != nBlocks || uint64(len(s.blockTx)) != nBlocks+1 || s.blockTx[nBlocks] != m.nTx:
		return fmt.Errorf("%w: block tables do not match", errSegment)
	case uint64(len(s.blockHash)) != 32*nBlocks:
		return fmt.Errorf("%w: block hashes do not match", errSegment)
	case uint64(len(s.txHash)) != 32*m.nTx:
		return fmt.Errorf("%w: %d bytes of transaction hashes for %d transactions", errSegment, len(s.txHash), m.nTx)
	}
	aoff := asU64(sec(secAssetOff))
	ab := sec(secAssets)
	if len(aoff) == 0 || aoff[len(aoff)-1] != uint64(len(ab)) {
		return fmt.Errorf("%w: asset table", errSegment)
	}
	s.assets = make([]chain.Asset, len(aoff)-1)
	for i := range s.assets {
		if aoff[i] > aoff[i+1] {
			return fmt.Errorf("%w: asset table", errSegment)
		}
		s.assets[i] = chain.Asset(ab[aoff[i]:aoff[i+1]])
	}
	return nil
}

// verifySections checks every section's checksum, the large ones on two
// goroutines.
func verifySections(data []byte, m *segMeta) error {
	errs := make([]error, numSections)
	var wg sync.WaitGroup
	check := func(i int) {
		s := m.sections[i]
		if crc32.Checksum(data[s.off:s.off+s.len], crcTable) != s.crc {
			errs[i] = fmt.Errorf("%w: section %d checksum mismatch", errSegment, i)
		}
	}
	wg.Go(func() {
		check(secPostings)
	})
	for i := secPostings + 1; i < numSections; i++ {
		check(i)
	}
	wg.Wait()
	return errors.Join(errs...)
}

func asU64(b []byte) []uint64 {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Slice((*uint64)(unsafe.Pointer(&b[0])), len(b)/8)
}
func asU32(b []byte) []uint32 {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Slice((*uint32)(unsafe.Pointer(&b[0])), len(b)/4)
}
func asI64(b []byte) []int64 {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Slice((*int64)(unsafe.Pointer(&b[0])), len(b)/8)
}

// list returns the encoded postings of address id, nil if the segment
// has none.
func (s *segment) list(id uint32) []byte {
	if id >= s.idEnd {
		return nil
	}
	w := s.bitmap[id>>6]
	bit := uint64(1) << (id & 63)
	if w&bit == 0 {
		return nil
	}
	i := uint64(s.rank[id>>6]) + uint64(bits.OnesCount64(w&(bit-1)))
	return s.postings[s.offsets[i]:s.offsets[i+1]]
}

// outTail summarises an address's outgoing postings in a segment: how
// many, and the newest run of them paid to one counterparty.
type outTail struct {
	outs, run int
	peer      uint32
}

// outTail returns address id's outgoing summary in the segment.
func (s *segment) outTail(id uint32) (outTail, error) {
	var t outTail
	r := postReader{b: s.list(id)}
	for {
		peer, out, ok, err := r.skim()
		if err != nil {
			return outTail{}, fmt.Errorf("segment %s: %w", s.name, err)
		}
		if !ok {
			break
		}
		if !out {
			continue
		}
		if t.outs++; t.run > 0 && peer == t.peer {
			t.run++
		} else {
			t.peer, t.run = peer, 1
		}
	}
	return t, nil
}

// addrEnc returns the stored encoding of an address the segment
// introduced.
func (s *segment) addrEnc(id uint32) ([]byte, bool) {
	if id < s.idBase || id >= s.idEnd {
		return nil, false
	}
	i := id - s.idBase
	return s.dict[s.dictOff[i]:s.dictOff[i+1]], true
}

// lookup finds the id of an address the segment introduced, by its
// encoding.
func (s *segment) lookup(enc []byte) (uint32, bool) {
	mask := uint64(len(s.dictIndex) - 1)
	for h := addrHash(enc) & mask; ; h = (h + 1) & mask {
		v := s.dictIndex[h]
		if v == 0 {
			return 0, false
		}
		i := v - 1
		if string(s.dict[s.dictOff[i]:s.dictOff[i+1]]) == string(enc) {
			return s.idBase + i, true
		}
	}
}

// txHashOf returns the hash of the transaction at place pos of block h.
func (s *segment) txHashOf(h uint64, pos uint32) ([]byte, bool) {
	if h < s.lo || h > s.hi {
		return nil, false
	}
	i := s.blockTx[h-s.lo] + uint64(pos)
	if i >= s.blockTx[h-s.lo+1] {
		return nil, false
	}
	return s.txHash[32*i : 32*i+32], true
}

// blockHashOf is the stored hash of block h.
func (s *segment) blockHashOf(h uint64) []byte {
	i := h - s.lo
	return s.blockHash[32*i : 32*i+32]
}

// acquire and release count the segment's users; the last release of a
// segment retired by a merge unmaps it.
func (s *segment) acquire() { s.refs.Add(1) }

func (s *segment) release() {
	if s.refs.Add(-1) != 0 {
		return
	}
	s.unmapMu.Lock()
	defer s.unmapMu.Unlock()
	if s.unmap != nil {
		s.unmap()
		s.unmap = nil
		s.data = nil
	}
}

// addrHash hashes an address's encoding for the dictionary index. It is
// stored in files, so it is fixed, not seeded.
func addrHash(b []byte) uint64 {
	h := uint64(0xcbf29ce484222325) ^ uint64(len(b))
	for len(b) >= 8 {
		h = (h ^ binary.LittleEndian.Uint64(b)) * 0x9e3779b97f4a7c15
		h ^= h >> 29
		b = b[8:]
	}
	var tail [8]byte
	copy(tail[:], b)
	h = (h ^ binary.LittleEndian.Uint64(tail[:])) * 0x9e3779b97f4a7c15
	h ^= h >> 32
	return h * 0xbf58476d1ce4e5b9
}
