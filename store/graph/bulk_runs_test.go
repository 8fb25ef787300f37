package graph

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
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

// FuzzRunReader: any file read as a run ends in records or an error,
// never a panic or a hang.
func FuzzRunReader(f *testing.F) {
	f.Add([]byte{0, 3, 1, 'g', '/', 'a', 'v', runEnd, 1})
	f.Add([]byte{2, 3, 0, 'g', '/', 's', runEnd, 1})
	f.Add([]byte{runEnd, 0})
	f.Add([]byte{1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "run")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := readRun(path)
		if err == nil && len(b) == 0 {
			t.Errorf("an empty file read as a run of %d records", len(got))
		}
	})
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
	if !direct {
		t.Skip("no direct I/O here")
	}
	if _, err := f.Write([]byte("unaligned")); err == nil {
		t.Skip("direct I/O here takes unaligned writes")
	}
	if err := endDirect(f); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("unaligned")); err != nil {
		t.Errorf("write after direct I/O was turned off: %v", err)
	}
}
