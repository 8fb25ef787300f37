package screen

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"sync"
	"sync/atomic"
)

// blockSize is the unit a snapshot's checksums cover: one page, so that a
// look-up verifies (and maps) only the pages it reads.
const blockSize = 4096

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrCorrupt marks a snapshot that fails a checksum or does not decode:
// it is refused and rebuilt, never read.
var ErrCorrupt = errors.New("corrupt")

// mapped is a snapshot's bytes, mapped read-only, with a CRC-32C per
// block checked the first time a read touches the block. Checking on
// first touch rather than at open keeps opening O(1): a one-address
// screen reads a handful of pages of a file of tens of megabytes.
type mapped struct {
	path string
	data []byte
	// sums are the blocks' checksums; block i covers
	// data[i*blockSize:min((i+1)*blockSize, end)]. Block 0 is the header,
	// checked as a whole when the file is opened.
	sums []uint32
	end  uint64
	// ok has a bit per block, set once the block has matched its sum.
	ok []atomic.Uint64
	// bad is the first mismatch; every read fails after it.
	bad   atomic.Pointer[error]
	unmap func([]byte) error
	once  sync.Once
}

func newMapped(path string, data []byte, sums []uint32, end uint64, unmap func([]byte) error) *mapped {
	return &mapped{path: path, data: data, sums: sums, end: end, ok: make([]atomic.Uint64, (len(sums)+63)/64), unmap: unmap}
}

// corrupt records that the file does not hold what it should, and
// returns the file's first such error, which names it: a file found
// corrupt once is not read again.
func (m *mapped) corrupt(format string, args ...any) error {
	return m.fail(fmt.Errorf("snapshot %s: %w: %s", m.path, ErrCorrupt, fmt.Sprintf(format, args...)))
}

// fail records err as the file's first failure and returns the first.
func (m *mapped) fail(err error) error {
	m.bad.CompareAndSwap(nil, &err)
	return *m.bad.Load()
}

// Err is the file's first failed check, if any.
func (m *mapped) Err() error {
	if p := m.bad.Load(); p != nil {
		return *p
	}
	return nil
}

// bytes returns data[off:off+n], having checked every block it spans.
func (m *mapped) bytes(off, n uint64) ([]byte, error) {
	if p := m.bad.Load(); p != nil {
		return nil, *p
	}
	if off > m.end || n > m.end-off {
		return nil, m.corrupt("read of %d bytes at %d beyond the data's end %d", n, off, m.end)
	}
	if n == 0 {
		return m.data[off:off], nil
	}
	for b := off / blockSize; b <= (off+n-1)/blockSize; b++ {
		if err := m.check(b); err != nil {
			return nil, err
		}
	}
	return m.data[off : off+n : off+n], nil
}

// check verifies block b once.
func (m *mapped) check(b uint64) error {
	w, bit := &m.ok[b/64], uint64(1)<<(b%64)
	if w.Load()&bit != 0 {
		return nil
	}
	if b == 0 || b >= uint64(len(m.sums)) {
		return m.corrupt("block %d has no checksum", b)
	}
	lo, hi := b*blockSize, min((b+1)*blockSize, m.end)
	if got := crc32.Checksum(m.data[lo:hi], castagnoli); got != m.sums[b] {
		return m.corrupt("block %d (bytes %d-%d): checksum %08x, want %08x", b, lo, hi, got, m.sums[b])
	}
	w.Or(bit)
	return nil
}

// verify checks every block not yet checked, reading the file with pread
// rather than through the mapping, so that a full check does not bring
// the whole file into the process's memory.
func (m *mapped) verify(r io.ReaderAt) error {
	buf := make([]byte, 64*blockSize)
	for b := uint64(1); b < uint64(len(m.sums)); {
		if m.ok[b/64].Load()&(1<<(b%64)) != 0 {
			b++
			continue
		}
		lo := b * blockSize
		hi := min(lo+uint64(len(buf)), m.end)
		if _, err := r.ReadAt(buf[:hi-lo], int64(lo)); err != nil {
			return fmt.Errorf("snapshot %s: read: %w", m.path, err)
		}
		for ; b < uint64(len(m.sums)) && b*blockSize < hi; b++ {
			s, e := b*blockSize-lo, min((b+1)*blockSize, hi)-lo
			if got := crc32.Checksum(buf[s:e], castagnoli); got != m.sums[b] {
				return m.corrupt("block %d: checksum %08x, want %08x", b, got, m.sums[b])
			}
			m.ok[b/64].Or(1 << (b % 64))
		}
	}
	return nil
}

// close unmaps the file. Nothing read from it may be used after: readers
// copy what they return.
func (m *mapped) close() error {
	var err error
	m.once.Do(func() {
		if m.unmap != nil && m.data != nil {
			err = m.unmap(m.data)
		}
		m.data = nil
	})
	return err
}

// u64 reads a little-endian uint64 at off.
func (m *mapped) u64(off uint64) (uint64, error) {
	b, err := m.bytes(off, 8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

// mapFile maps path read-only. On systems without mmap it reads the file.
func mapFile(f *os.File, size int64) ([]byte, func([]byte) error, error) {
	if size == 0 {
		return nil, nil, nil
	}
	return mmapFile(f, size)
}
