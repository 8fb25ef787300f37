package transfers

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"unsafe"
)

// splitter reads CSV records as encoding/csv does (RFC 4180, comma
// separated, empty lines skipped, \r\n taken as \n, a fixed number of
// fields a record once the first is read), fast for the common record
// without quotes: a file is read in chunks that are never reused, and the
// fields of an unquoted record are strings over the chunk, so a record
// costs no allocation and no copy. A record with a quote goes through
// encoding/csv itself. The strings keep their chunk alive: a caller that
// keeps a field beyond the records near it (a map key) clones it.
type splitter struct {
	r      io.Reader
	buf    []byte // the chunk; buf[off:] is not read yet
	off    int
	eof    bool
	err    error // the reader's error, once buf is drained
	line   int   // lines read so far
	fields []string
	n      int // fields a record; 0 until the first record
	chunk  int // the size of a read
}

// chunkSize is the size of a read once a file proves long: large enough
// that a refill (and the copy of the partial record it carries over) is
// rare. Reads start at firstChunk, so that a small file costs little.
const (
	chunkSize  = 1 << 20
	firstChunk = 64 << 10
)

// splitError is a malformed record: the line where the fault is and why,
// as csv.ParseError says it.
type splitError struct {
	line int
	err  error
}

func (e *splitError) Error() string { return e.err.Error() }

func newSplitter(r io.Reader) *splitter { return &splitter{r: r, chunk: firstChunk} }

// refill reads more input after buf[from:], which it keeps: into a new
// chunk, so that strings handed out over the old one stay valid.
func (s *splitter) refill(from int) {
	rest := s.buf[from:]
	size := max(s.chunk, 2*len(rest))
	nb := make([]byte, len(rest), size)
	copy(nb, rest)
	for len(nb) < cap(nb) && !s.eof {
		n, err := s.r.Read(nb[len(nb):cap(nb)])
		nb = nb[:len(nb)+n]
		if err != nil {
			s.eof = true
			if !errors.Is(err, io.EOF) {
				s.err = err
			}
		}
		if n > 0 && len(nb) >= len(rest)+s.chunk/2 {
			break
		}
	}
	s.buf, s.off = nb, 0
	s.chunk = min(2*s.chunk, max(s.chunk, chunkSize))
}

// read returns the next record's fields (valid until the next call; the
// strings themselves stay valid) and the line it starts on; io.EOF at the
// end.
func (s *splitter) read() ([]string, int, error) {
	for {
		rest := s.buf[s.off:]
		i := bytes.IndexByte(rest, '\n')
		if i < 0 && !s.eof {
			s.refill(s.off)
			continue
		}
		if i < 0 && s.err != nil {
			// A read failed: the last line may be cut short.
			return nil, s.line + 1, s.err
		}
		if i < 0 {
			if len(rest) == 0 {
				if s.err != nil {
					return nil, s.line + 1, s.err
				}
				return nil, s.line, io.EOF
			}
			i = len(rest)
		}
		line := rest[:i]
		if bytes.IndexByte(line, '"') >= 0 {
			return s.quoted()
		}
		s.line++
		s.off += min(i+1, len(rest))
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		if len(line) == 0 {
			continue // encoding/csv skips empty lines
		}
		s.fields = s.fields[:0]
		for {
			j := bytes.IndexByte(line, ',')
			if j < 0 {
				s.fields = append(s.fields, str(line))
				break
			}
			s.fields = append(s.fields, str(line[:j]))
			line = line[j+1:]
		}
		if err := s.count(); err != nil {
			return s.fields, s.line, err
		}
		return s.fields, s.line, nil
	}
}

func (s *splitter) count() error {
	if s.n == 0 {
		s.n = len(s.fields)
	} else if len(s.fields) != s.n {
		return &splitError{s.line, csv.ErrFieldCount}
	}
	return nil
}

// quoted reads a record with quotes through encoding/csv: it finds where
// the record ends as encoding/csv would (a quote opens a quoted field
// only at the field's start; in a quoted field "" is a quote and newlines
// belong to the field), reading more input as needed, and parses those
// bytes alone.
func (s *splitter) quoted() ([]string, int, error) {
	end := -1
	for end < 0 {
		end = recordEnd(s.buf[s.off:], s.eof)
		if end < 0 {
			s.refill(s.off)
		}
	}
	rec := s.buf[s.off : s.off+end]
	s.off += end
	start := s.line + 1
	s.line += bytes.Count(rec, []byte{'\n'})
	if len(rec) == 0 || rec[len(rec)-1] != '\n' {
		s.line++
	}
	cr := csv.NewReader(bytes.NewReader(rec))
	cr.FieldsPerRecord = -1
	fields, err := cr.Read()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, start, &splitError{start + pe.Line - 1, pe.Err}
		}
		return nil, start, &splitError{start, err}
	}
	s.fields = append(s.fields[:0], fields...)
	if err := s.count(); err != nil {
		return s.fields, start, &splitError{start, csv.ErrFieldCount}
	}
	return s.fields, start, nil
}

// recordEnd is the length of the record b starts with, its newline
// included, or -1 if b ends inside it and more input may follow. Where
// the record is malformed it ends at the line's end, for encoding/csv to
// say what is wrong.
func recordEnd(b []byte, eof bool) int {
	fieldStart, quoted := true, false
	for j := 0; j < len(b); j++ {
		c := b[j]
		switch {
		case quoted:
			if c != '"' {
				continue
			}
			if j+1 < len(b) && b[j+1] == '"' {
				j++
				continue
			}
			if j+1 == len(b) && !eof {
				return -1 // "" may straddle the chunk's end
			}
			quoted = false
		case c == '\n':
			return j + 1
		case c == '"' && fieldStart:
			quoted, fieldStart = true, false
		case c == ',':
			fieldStart = true
		default:
			fieldStart = false
		}
	}
	if !eof {
		return -1
	}
	return len(b)
}

// str is b as a string without a copy: b lies in a chunk that is never
// written again.
func str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
