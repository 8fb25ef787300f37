package pebble

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tracehound/tracehound/audit"
	"github.com/tracehound/tracehound/store/internal/kv"
)

func TestAuditChain(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	l := audit.New(d)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			if _, err := l.Record(ctx, fmt.Sprintf("partner-%d", i%3), "taxii.objects.served", "collection-1", map[string]string{"objects": "3"}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	rep, err := audit.Verify(ctx, d)
	if err != nil || rep.Entries != 50 {
		t.Fatalf("verify: %+v %v", rep, err)
	}
	// A reopened store continues the chain.
	d.Close()
	if d, err = Open(ctx, dir); err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := audit.New(d).Record(ctx, "agency", "trace.run", "", nil); err != nil {
		t.Fatal(err)
	}
	if rep, err = audit.Verify(ctx, d); err != nil || rep.Entries != 51 {
		t.Fatalf("after reopening: %+v %v", rep, err)
	}
	if err := d.AppendAudit(ctx, audit.Entry{Seq: 7}); err == nil {
		t.Error("an entry was overwritten")
	}

	// Tampering, below the API: every kind is found.
	raw := func(seq uint64) []byte { v, _, _ := d.get(auditKey(seq)); return v }
	restore := func(seq uint64, v []byte) { d.db.Set(auditKey(seq), v, pebble.Sync) }
	orig := raw(20)
	restore(20, bytes.Replace(orig, []byte(`"actor":"partner-`), []byte(`"actor":"xpartner-`), 1))
	if _, err := audit.Verify(ctx, d); !errors.Is(err, audit.ErrBroken) || !strings.Contains(err.Error(), "entry 20") {
		t.Errorf("edited entry: %v", err)
	}
	restore(20, orig)
	d.db.Delete(auditKey(30), pebble.Sync)
	if _, err := audit.Verify(ctx, d); !errors.Is(err, audit.ErrBroken) || !strings.Contains(err.Error(), "entry 31 follows entry 29") {
		t.Errorf("deleted entry: %v", err)
	}
}

// TestAuditAnchors: tampering below the API that the hash chain alone
// misses (entries cut off the end, an entry rewritten with every later
// hash recomputed) is found by the signed checkpoints and recorded heads.
func TestAuditAnchors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { d.Close() }()
	key, _, err := audit.LoadOrCreateKey(filepath.Join(dir, audit.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	l := audit.New(d, audit.WithKey(key), audit.Checkpoints(8, time.Hour))
	for i := range 30 {
		if _, err := l.Record(ctx, fmt.Sprintf("partner-%d", i%3), "taxii.objects.served", "collection-1", nil); err != nil {
			t.Fatal(err)
		}
	}
	head, err := l.CurrentHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	recorded, err := audit.ParseHead(head.String()) // as a partner keeps it
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if _, err := l.Record(ctx, "agency", "trace.run", "eth", nil); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := l.Verify(ctx, &recorded)
	if err != nil || rep.Checkpoints < 5 || rep.PublicKey != key.PublicHex() {
		t.Fatalf("verify: %+v %v", rep, err)
	}
	last, _, _ := d.LastAudit(ctx)

	snapshot := func() map[string][]byte {
		m := map[string][]byte{}
		d.scan(ctx, []byte("a"), func(k, v []byte) error { m[string(k)] = bytes.Clone(v); return nil })
		return m
	}
	saved := snapshot()
	restore := func() {
		d.db.DeleteRange([]byte("a"), []byte("b"), pebble.Sync)
		for k, v := range saved {
			d.db.Set([]byte(k), v, pebble.Sync)
		}
		if _, err := audit.Verify(ctx, d, &recorded); err != nil {
			t.Fatalf("restored: %v", err)
		}
	}
	cut := func(prefix string, from uint64) {
		lo := binary.BigEndian.AppendUint64([]byte(prefix), from)
		d.db.DeleteRange(lo, kv.PrefixEnd([]byte(prefix)), pebble.Sync)
	}
	broken := func(what string, err error, word string) {
		t.Helper()
		if !errors.Is(err, audit.ErrBroken) || !strings.Contains(err.Error(), word) {
			t.Errorf("%s: %v", what, err)
		}
	}

	// The last entries cut off, below the last checkpoint.
	cut(prefixAudit, rep.LastCheckpoint.Seq-3)
	_, err = audit.Verify(ctx, d)
	broken("entries cut", err, "cut off")
	restore()

	// Entries and checkpoint records cut clean: only a recorded head tells.
	cut(prefixAudit, recorded.Seq-1)
	cut(prefixAuditCheckpoint, recorded.Seq-2)
	if _, err := audit.Verify(ctx, d); err != nil {
		t.Errorf("a clean cut without a recorded head: %v (expected to pass: the limit of an unanchored log)", err)
	}
	_, err = audit.Verify(ctx, d, &recorded)
	broken("entries and records cut", err, "cut off")
	restore()

	// Entry 5 rewritten, every later hash recomputed, without the key.
	var es []audit.Entry
	d.AuditEntries(ctx, 1, func(e audit.Entry) error { es = append(es, e); return nil })
	es[4].Actor = "someone else"
	for i := 4; i < len(es); i++ {
		if i > 4 {
			es[i].Prev = es[i-1].Hash
		}
		es[i].Hash = ""
		b, _ := json.Marshal(es[i])
		sum := sha256.Sum256(b)
		es[i].Hash = hex.EncodeToString(sum[:])
		v, _ := json.Marshal(es[i])
		d.db.Set(auditKey(es[i].Seq), v, pebble.Sync)
	}
	if es[len(es)-1].Seq != last.Seq {
		t.Fatalf("rewrote to %d of %d", es[len(es)-1].Seq, last.Seq)
	}
	_, err = audit.Verify(ctx, d)
	broken("entry rewritten", err, "checkpoint")
	restore()

	// A reopened store and key continue the chain and its checkpoints.
	d.Close()
	if d, err = Open(ctx, dir); err != nil {
		t.Fatal(err)
	}
	key2, created, err := audit.LoadOrCreateKey(filepath.Join(dir, audit.KeyFile))
	if err != nil || created {
		t.Fatal(created, err)
	}
	l = audit.New(d, audit.WithKey(key2))
	if h, err := l.CurrentHead(ctx); err != nil || h.Seq <= recorded.Seq {
		t.Fatalf("head after reopening: %v %v", h, err)
	}
	if _, err := l.Verify(ctx, &recorded); err != nil {
		t.Error(err)
	}
}
