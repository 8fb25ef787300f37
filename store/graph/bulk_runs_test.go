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
	"slices"
	"strconv"
	"strings"
	"testing"
)

type runRecord struct {
	kind opKind
	k, v []byte
}

// testRun writes records of every size, some larger than a block, to a
// run in dir.
func testRun(t *testing.T, dir string) (string, []runRecord) {
	t.Helper()
	var recs []runRecord
	for i := range 3000 {
		v := bytes.Repeat([]byte{byte(i)}, i*37%900)
		switch i {
		case 10, 2000:
			v = bytes.Repeat([]byte{byte(i)}, 3*runBlock+17)
		case 11:
			v = nil
		}
		recs = append(recs, runRecord{opKind(i % 3), fmt.Appendf(nil, "g/a/%08d", i), v})
	}
	path := filepath.Join(dir, "run-0-000000")
	w, err := createRun(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := w.record(r.kind, r.k, r.v); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.close(); err != nil {
		t.Fatal(err)
	}
	return path, recs
}

// readRun reads a run's records until its end or an error.
func readRun(path string) ([]runRecord, error) {
	r, err := openRun(context.Background(), path, 0, false, nil)
	if err != nil {
		return nil, err
	}
	defer r.close()
	var got []runRecord
	for {
		ok, err := r.next()
		if err != nil || !ok {
			return got, err
		}
		got = append(got, runRecord{r.kind, bytes.Clone(r.key), bytes.Clone(r.val)})
	}
}

// TestRunRoundTrip: records of every size, some spanning blocks, read
// back as written, with direct I/O where the file system has it and
// without (tmpfs) where /dev/shm is one.
func TestRunRoundTrip(t *testing.T) {
	dirs := []string{t.TempDir()}
	if shm, err := os.MkdirTemp("/dev/shm", "run-"); err == nil {
		defer os.RemoveAll(shm)
		dirs = append(dirs, shm)
	}
	for _, dir := range dirs {
		path, want := testRun(t, dir)
		got, err := readRun(path)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d records read, want %d", dir, len(got), len(want))
		}
		for i := range got {
			if got[i].kind != want[i].kind || !bytes.Equal(got[i].k, want[i].k) || !bytes.Equal(got[i].v, want[i].v) {
				t.Fatalf("%s: record %d differs", dir, i)
			}
		}
	}
}

// TestRunCorrupt: a run cut short or overwritten is an error naming the
// run, never records read as if it had ended.
func TestRunCorrupt(t *testing.T) {
	dir := t.TempDir()
	path, recs := testRun(t, dir)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	// Cut at a record's end too: the last record's, and the 2,999th's.
	end := int64(len(binary.AppendUvarint([]byte{runEnd}, uint64(len(recs)))))
	last := recs[len(recs)-1]
	lastLen := int64(1 + len(binary.AppendUvarint(nil, uint64(len(last.k)))) + len(binary.AppendUvarint(nil, uint64(len(last.v)))) + len(last.k) + len(last.v))
	for _, size := range []int64{st.Size() - 1, st.Size() - end, st.Size() - end - lastLen, st.Size() / 2, 3*runBlock + 5, 1, 0} {
		if err := os.Truncate(path, size); err != nil {
			t.Fatal(err)
		}
		got, err := readRun(path)
		if err == nil || !strings.Contains(err.Error(), "run-0-000000") {
			t.Errorf("cut to %d bytes: %d of %d records and %v, want an error naming the run", size, len(got), len(recs), err)
		}
		path, _ = testRun(t, dir)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[0] = 9 // no such kind
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := readRun(path); err == nil {
		t.Error("a record of an unknown kind was read")
	}
}

// FuzzRunReader checks the run format both ways. The input, taken as a
// recipe for records (fuzzRecords), is written with the run writer: the
// file must be exactly the format's bytes (encodeRun), read back equal, in
// order, and every cut, dropped record, miscount or extra byte must be an
// error naming the run, never a shorter read. The input, taken as a file,
// must be read as parseRun, the format's plain statement, reads it: the
// same records, or an error naming the run where parseRun refuses.
func FuzzRunReader(f *testing.F) {
	f.Add([]byte{0, 3, 1, 'g', '/', 'a', 'v', runEnd, 1})
	f.Add([]byte{2, 3, 0, 'g', '/', 's', runEnd, 1})
	f.Add([]byte{runEnd, 0})
	f.Add([]byte{1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 1})
	// Records that span blocks, whose headers fall at a block's end.
	f.Add([]byte{0, 9, 0x88, 1, 40, 0xff, 2, 3, 0x87, 0, 200, 7})
	f.Add([]byte{2, 0, 0x89, 2, 0, 0x89, 1, 13, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		// In memory where it can be: a fuzzer's thousands of runs read
		// and written directly would wait on the disk (TestRunRoundTrip
		// has direct I/O).
		dir := t.TempDir()
		if shm, err := os.MkdirTemp("/dev/shm", "run-"); err == nil {
			defer os.RemoveAll(shm)
			dir = shm
		}
		const name = "run-3-000042"
		path := filepath.Join(dir, name)

		// b as a file.
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := readRun(path)
		want, wantErr, sure := parseRun(b)
		switch {
		case !sure:
			// An overflowing uvarint: see parseRun.
		case err != nil && wantErr == nil:
			t.Fatalf("a valid run of %d records refused: %v", len(want), err)
		case err == nil && wantErr != nil:
			t.Fatalf("an invalid run (%v) read as %d records", wantErr, len(got))
		case err == nil:
			if d := diffRecords(got, want); d != "" {
				t.Fatalf("run read as %s", d)
			}
		}
		if err != nil && !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name the run", err)
		}

		// b as a recipe.
		recs := fuzzRecords(b)
		w, err := createRun(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if err := w.record(r.kind, r.k, r.v); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.close(); err != nil {
			t.Fatal(err)
		}
		file, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		enc, offs := encodeRun(recs)
		if !bytes.Equal(file, enc) {
			t.Fatalf("%d records written as %d bytes, want the format's %d (first difference at %d)", len(recs), len(file), len(enc), firstDiff(file, enc))
		}
		got, err = readRun(path)
		if err != nil {
			t.Fatalf("%d records written, read: %v", len(recs), err)
		}
		if d := diffRecords(got, recs); d != "" {
			t.Fatalf("run written and read back as %s", d)
		}

		// Every change below leaves an invalid run.
		seed := uint64(len(b))
		for _, c := range b {
			seed = seed*31 + uint64(c)
		}
		bad := map[string][]byte{
			"cut short":      enc[:seed%uint64(len(enc))],
			"cut at the end": enc[:offs[len(recs)]],
			"one byte extra": append(slices.Clone(enc), 0),
			"miscounted":     binary.AppendUvarint(append(slices.Clone(enc[:offs[len(recs)]]), runEnd), uint64(len(recs))+1),
		}
		if len(recs) > 0 {
			i := int(seed>>8) % len(recs)
			bad["record "+strconv.Itoa(i)+" dropped"] = slices.Concat(enc[:offs[i]], enc[offs[i+1]:])
			bad["a record appended"] = slices.Concat(enc, enc[:offs[1]])
		}
		for what, mod := range bad {
			if err := os.WriteFile(path, mod, 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := readRun(path)
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("run of %d records %s (%d of %d bytes): %d records read and %v, want an error naming the run", len(recs), what, len(mod), len(enc), len(got), err)
			}
		}
	})
}

// fuzzRecords turns b into records, three bytes a record: the kind, the
// key's length past its three bytes, and the value's length, which with
// its top bit set counts 9,973-byte units, so that records span the
// reader's and the writer's blocks and their headers fall at a block's
// end. The bytes are drawn from b and the record's place.
func fuzzRecords(b []byte) []runRecord {
	var recs []runRecord
	total := 0
	for i := 0; i+3 <= len(b) && total < 3*runBlock; i += 3 {
		kl := 3 + int(b[i+1])
		vl := int(b[i+2])
		if vl >= 0x80 {
			vl = (vl&0x7f)*9973 + int(b[i+1])
		}
		k := make([]byte, kl)
		v := make([]byte, vl)
		for j := range k {
			k[j] = byte(j*7+i) ^ b[i]
		}
		for j := range v {
			v[j] = byte(j + i)
		}
		recs = append(recs, runRecord{opKind(b[i] % 3), k, v})
		total += kl + vl
	}
	return recs
}

// encodeRun is the run format, written plainly: the records, then runEnd
// and their count. offs[i] is where record i starts, offs[len(recs)]
// where the end does.
func encodeRun(recs []runRecord) (enc []byte, offs []int) {
	for _, r := range recs {
		offs = append(offs, len(enc))
		enc = append(enc, byte(r.kind))
		enc = binary.AppendUvarint(enc, uint64(len(r.k)))
		enc = binary.AppendUvarint(enc, uint64(len(r.v)))
		enc = append(append(enc, r.k...), r.v...)
	}
	offs = append(offs, len(enc))
	return binary.AppendUvarint(append(enc, runEnd), uint64(len(recs))), offs
}

// parseRun reads b as the run format says, one field after another with
// encoding/binary. sure is false where a uvarint overflows 64 bits: the
// reader refuses one within a block and takes one across a block's edge
// (runReader.uvarint keeps its low 64 bits), which no writer produces.
func parseRun(b []byte) (recs []runRecord, err error, sure bool) {
	uvarint := func() (uint64, error) {
		x, n := binary.Uvarint(b)
		switch {
		case n == 0:
			return 0, io.ErrUnexpectedEOF
		case n < 0:
			sure = false
			return 0, errors.New("uvarint overflows")
		}
		b = b[n:]
		return x, nil
	}
	sure = true
	for {
		if len(b) == 0 {
			return recs, io.ErrUnexpectedEOF, sure
		}
		kind := b[0]
		b = b[1:]
		if kind == runEnd {
			n, err := uvarint()
			switch {
			case err != nil:
				return recs, err, sure
			case n != uint64(len(recs)):
				return recs, fmt.Errorf("%d records, %d counted", len(recs), n), sure
			case len(b) > 0:
				return recs, errors.New("bytes after the end"), sure
			}
			return recs, nil, sure
		}
		kl, err := uvarint()
		if err != nil {
			return recs, err, sure
		}
		vl, err := uvarint()
		if err != nil {
			return recs, err, sure
		}
		if kind > byte(opMerge) || kl < 3 || kl > 1<<16 || vl > 1<<30 {
			return recs, fmt.Errorf("record of kind %d, key of %d bytes, value of %d", kind, kl, vl), sure
		}
		if uint64(len(b)) < kl+vl {
			return recs, io.ErrUnexpectedEOF, sure
		}
		recs = append(recs, runRecord{opKind(kind), b[:kl], b[kl : kl+vl]})
		b = b[kl+vl:]
	}
}

// diffRecords describes how got differs from want, or is "".
func diffRecords(got, want []runRecord) string {
	for i := range min(len(got), len(want)) {
		g, w := got[i], want[i]
		if g.kind != w.kind || !bytes.Equal(g.k, w.k) || !bytes.Equal(g.v, w.v) {
			return fmt.Sprintf("record %d of kind %d, key %q, %d-byte value; want kind %d, key %q, %d-byte value", i, g.kind, g.k, len(g.v), w.kind, w.k, len(w.v))
		}
	}
	if len(got) != len(want) {
		return fmt.Sprintf("%d records, want %d", len(got), len(want))
	}
	return ""
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestEndDirect: a file opened for direct I/O takes an unaligned write
// once direct I/O is turned off, as a run falls back to when a device
// wants a larger alignment.
func TestEndDirect(t *testing.T) {
	f, direct, err := createDirect(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// Skips that depend on the machine, not on anything missing: they
	// hold under CI=true too.
	if !direct {
		t.Skip("the temporary directory's file system has no direct I/O (O_DIRECT): there is nothing to turn off")
	}
	if _, err := f.Write([]byte("unaligned")); err == nil {
		t.Skip("direct I/O here takes unaligned writes: the fallback it needs cannot be provoked")
	}
	if err := endDirect(f); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("unaligned")); err != nil {
		t.Errorf("write after direct I/O was turned off: %v", err)
	}
}
