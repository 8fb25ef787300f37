package btc

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/btcsuite/btcd/wire"
)

// RecordHeaderSize is a blk*.dat record's network magic and block size.
const RecordHeaderSize = 8

// FileError locates bad data in a block file.
type FileError struct {
	File   string
	Offset int64 // of the record's first byte, or of the bad byte
	Err    error
}

func (e *FileError) Error() string {
	return fmt.Sprintf("%s: offset %d: %v", e.File, e.Offset, e.Err)
}

func (e *FileError) Unwrap() error { return e.Err }

// RecordReader reads the records of one blk*.dat file: a 4-byte network
// magic, a 4-byte little-endian size and that many bytes of block. Bitcoin
// Core preallocates its files and leaves zeros after the last record; a
// run of zeros where a magic is expected ends the data.
type RecordReader struct {
	r     *bufio.Reader
	name  string
	magic [4]byte
	off   int64
	buf   []byte
	err   error
}

// NewRecordReader reads records of network net from r, naming the file
// name in errors.
func NewRecordReader(r io.Reader, name string, net wire.BitcoinNet) *RecordReader {
	rr := &RecordReader{r: bufio.NewReaderSize(r, 1<<20), name: name}
	binary.LittleEndian.PutUint32(rr.magic[:], uint32(net))
	return rr
}

// Offset is the number of bytes consumed so far.
func (r *RecordReader) Offset() int64 { return r.off }

// Next returns the next record's block bytes, valid until the next call,
// and the offset of the record. It returns io.EOF at the end of the data
// and a *FileError for a truncated or malformed record.
func (r *RecordReader) Next() (block []byte, off int64, err error) {
	if r.err != nil {
		return nil, 0, r.err
	}
	block, off, err = r.next()
	if err != nil {
		r.err = err
	}
	return block, off, err
}

func (r *RecordReader) next() ([]byte, int64, error) {
	start := r.off
	var hdr [RecordHeaderSize]byte
	n, err := io.ReadFull(r.r, hdr[:4])
	r.off += int64(n)
	switch {
	case err == io.EOF:
		return nil, start, io.EOF
	case err == io.ErrUnexpectedEOF:
		if allZero(hdr[:n]) {
			return nil, start, io.EOF
		}
		return nil, start, r.errorf(start, "truncated record: file ends after %d bytes of network magic", n)
	case err != nil:
		return nil, start, r.errorf(start, "read: %w", err)
	}
	if [4]byte(hdr[:4]) != r.magic {
		if allZero(hdr[:4]) {
			return nil, start, r.padding(start)
		}
		return nil, start, r.errorf(start, "bad network magic %x, want %x", hdr[:4], r.magic)
	}
	n, err = io.ReadFull(r.r, hdr[4:])
	r.off += int64(n)
	if err != nil {
		return nil, start, r.truncated(start, err, "size", n)
	}
	size := binary.LittleEndian.Uint32(hdr[4:])
	if size < HeaderSize || size > wire.MaxBlockPayload {
		return nil, start, r.errorf(start, "record declares a block of %d bytes (must be %d to %d)", size, HeaderSize, wire.MaxBlockPayload)
	}
	if cap(r.buf) < int(size) {
		r.buf = make([]byte, size)
	}
	r.buf = r.buf[:size]
	n, err = io.ReadFull(r.r, r.buf)
	r.off += int64(n)
	if err != nil {
		return nil, start, r.truncated(start, err, fmt.Sprintf("block of %d bytes", size), n)
	}
	return r.buf, start, nil
}

// padding consumes the rest of the file, which must be zeros.
func (r *RecordReader) padding(start int64) error {
	for {
		chunk, err := r.r.Peek(r.r.Size())
		for i, c := range chunk {
			if c != 0 {
				return r.errorf(r.off+int64(i), "data after the zero padding that starts at offset %d", start)
			}
		}
		d, _ := r.r.Discard(len(chunk))
		r.off += int64(d)
		if err == io.EOF {
			return io.EOF
		}
		if err != nil && err != bufio.ErrBufferFull {
			return r.errorf(r.off, "read: %w", err)
		}
	}
}

func (r *RecordReader) truncated(start int64, err error, what string, got int) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return r.errorf(start, "truncated record: file ends %d bytes into its %s", got, what)
	}
	return r.errorf(start, "read: %w", err)
}

func (r *RecordReader) errorf(off int64, format string, args ...any) error {
	return &FileError{File: r.name, Offset: off, Err: fmt.Errorf(format, args...)}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
