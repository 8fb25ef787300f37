package transfers

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"slices"
	"testing"
)

// FuzzSplit reads the same bytes with the splitter, in chunks of a few
// bytes to cross every boundary, and with encoding/csv: the records, the
// lines they start on and the errors must agree.
func FuzzSplit(f *testing.F) {
	f.Add([]byte("a,b,c\n1,2,3\r\n\n4,5,6"), uint8(3))
	f.Add([]byte("a,b\n\"x,y\",\"he said \"\"hi\"\"\"\n\"multi\nline\",z\n"), uint8(5))
	f.Add([]byte("a,b\n1,2,3\n"), uint8(1))
	f.Add([]byte("a,b\n1,x\"y\n"), uint8(2))
	f.Add([]byte("a,b\n\"open,1\n2,3\n"), uint8(4))
	f.Add([]byte("a,b\n\"q\"x,1\n"), uint8(9))
	f.Add([]byte("h\r\n\r\nv\r"), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		s := newSplitter(bytes.NewReader(data))
		s.chunk = int(chunk%16) + 1
		cr := csv.NewReader(bytes.NewReader(data))
		for rec := 0; ; rec++ {
			want, werr := cr.Read()
			got, line, gerr := s.read()
			switch {
			case errors.Is(werr, io.EOF):
				if !errors.Is(gerr, io.EOF) {
					t.Fatalf("record %d: csv ends, splitter gives %q, %v", rec, got, gerr)
				}
				return
			case werr != nil:
				var pe *csv.ParseError
				var se *splitError
				if !errors.As(werr, &pe) || !errors.As(gerr, &se) || !errors.Is(se.err, pe.Err) || se.line != pe.Line {
					t.Fatalf("record %d: csv %v, splitter %v (line %d)", rec, werr, gerr, line)
				}
				if errors.Is(pe.Err, csv.ErrFieldCount) {
					continue // both go on with the next record
				}
				return
			case gerr != nil:
				t.Fatalf("record %d: csv reads %q, splitter fails: %v", rec, want, gerr)
			}
			wline, _ := cr.FieldPos(0)
			if !slices.Equal(got, want) || line != wline {
				t.Fatalf("record %d: %q on line %d, csv reads %q on line %d", rec, got, line, want, wline)
			}
		}
	})
}
