package sanctions

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"time"
)

// List is one version of a sanctions list as read from a file.
type List struct {
	Source string    `json:"source"`
	Date   time.Time `json:"date"`
	// Format is "sdn-advanced-xml" or "sdn-csv".
	Format string `json:"format"`
	// SHA256 is the hash of the file as given (compressed or not), which
	// identifies a version.
	SHA256  string  `json:"sha256"`
	File    string  `json:"file"`
	Entries []Entry `json:"entries"`
}

// ParseOptions tune ParseFile.
type ParseOptions struct {
	// Comments is the SDN_COMMENTS.CSV that continues SDN.CSV remarks.
	Comments string
	// Date overrides the list date; the legacy CSV carries none, so it is
	// otherwise read from a YYYY-MM-DD in the file name.
	Date time.Time
}

// SourceOFAC names OFAC's Specially Designated Nationals list.
const SourceOFAC = "OFAC SDN"

// ParseFile reads a list file: OFAC SDN advanced XML (plain or bzip2,
// told apart by content, not name) or legacy SDN.CSV. On any error it
// returns no list: a half-read list must never replace a whole one.
func ParseFile(ctx context.Context, path string, o ParseOptions) (*List, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Parse(ctx, f, path, o)
}

// Parse reads a list from r; name is the file's name, for messages and
// for the date of a legacy CSV.
func Parse(ctx context.Context, r io.Reader, name string, o ParseOptions) (*List, error) {
	path := name
	var err error
	h := sha256.New()
	br := bufio.NewReaderSize(io.TeeReader(r, h), 1<<20)
	head, _ := br.Peek(64)
	l := &List{Source: SourceOFAC, File: filepath.Base(path)}
	switch {
	case bytes.HasPrefix(head, []byte("BZh")):
		l.Format = "sdn-advanced-xml"
		err = parseXMLBzip2(ctx, br, l)
	case bytes.Contains(bytes.TrimLeft(head, "\xef\xbb\xbf \r\n\t"), []byte("<?xml")) || bytes.HasPrefix(bytes.TrimLeft(head, "\xef\xbb\xbf \r\n\t"), []byte("<")):
		l.Format = "sdn-advanced-xml"
		err = parseXML(ctx, br, l)
	default:
		l.Format = "sdn-csv"
		err = parseCSVFile(ctx, br, o.Comments, l)
		if err == nil && l.Date.IsZero() {
			l.Date = dateFromName(path)
		}
		if err == nil && l.Date.IsZero() && o.Date.IsZero() {
			err = errors.New("SDN.CSV carries no list date: give one (--date YYYY-MM-DD) or keep the date in the file name")
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	if _, err := io.Copy(io.Discard, br); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	if !o.Date.IsZero() {
		l.Date = o.Date
	}
	l.SHA256 = hex.EncodeToString(h.Sum(nil))
	for i := range l.Entries {
		l.Entries[i].Source = l.Source
		l.Entries[i].ListDate = l.Date
	}
	return l, nil
}

var nameDate = regexp.MustCompile(`(\d{4})-(\d{2})-(\d{2})`)

func dateFromName(path string) time.Time {
	m := nameDate.FindString(filepath.Base(path))
	if m == "" {
		return time.Time{}
	}
	t, err := time.Parse("2006-01-02", m)
	if err != nil {
		return time.Time{}
	}
	return t
}

// parseXMLBzip2 decompresses on its own goroutine so that decompression
// and XML parsing use both cores.
func parseXMLBzip2(ctx context.Context, r io.Reader, l *List) error {
	pr, pw := io.Pipe()
	go func() {
		bw := bufio.NewWriterSize(pw, 1<<20)
		_, err := io.Copy(bw, bzip2.NewReader(r))
		if err == nil {
			err = bw.Flush()
		}
		if err != nil {
			err = fmt.Errorf("bzip2 stream truncated or corrupt: %w", err)
		}
		pw.CloseWithError(err)
	}()
	err := parseXML(ctx, pr, l)
	pr.CloseWithError(errors.New("parse stopped"))
	return err
}
