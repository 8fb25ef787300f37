package pebble

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tracehound/tracehound/audit"
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
