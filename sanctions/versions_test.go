package sanctions_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tracehound/tracehound/sanctions"
	"github.com/tracehound/tracehound/store/pebble"
)

func openStore(t *testing.T) *pebble.DB {
	t.Helper()
	db, err := pebble.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestTornadoCashDelisting imports the lists of 11 February and 21 March
// 2025: OFAC delisted Tornado Cash on 21 March, so its addresses come out
// as removals dated that day.
func TestTornadoCashDelisting(t *testing.T) {
	ctx := context.Background()
	db := openStore(t)
	now := time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)
	feb := parse(t, "sdn_advanced-2025-02-11.xml.bz2", sanctions.ParseOptions{})
	mar := parse(t, "sdn_advanced-2025-03-21.xml.bz2", sanctions.ParseOptions{})
	r1, err := sanctions.Import(ctx, db, feb, now, false)
	if err != nil || r1.Version.Seq != 1 || r1.Version.Added != len(feb.Entries) || r1.Version.Removed != 0 {
		t.Fatalf("first import: %+v %v", r1, err)
	}
	r2, err := sanctions.Import(ctx, db, mar, now, false)
	if err != nil || r2.Version.Seq != 2 {
		t.Fatalf("second import: %+v %v", r2, err)
	}
	changes, err := db.SanctionsChanges(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	removedTornado := 0
	for _, c := range changes {
		if !c.ListDate.Equal(time.Date(2025, 3, 21, 0, 0, 0, 0, time.UTC)) {
			t.Fatalf("change dated %s", c.ListDate)
		}
		if c.Kind == "removed" && strings.Contains(c.Entry.Party.Name, "TORNADO") {
			removedTornado++
		}
	}
	if removedTornado != 90 || r2.Version.Removed != 90 || r2.Version.Added != 49 {
		t.Fatalf("Tornado Cash removals: %d of %d removed", removedTornado, r2.Version.Removed)
	}
	t.Logf("21 March 2025: %d added, %d removed, %d of them Tornado Cash", r2.Version.Added, r2.Version.Removed, removedTornado)
	cur, err := db.CurrentSanctions(ctx)
	if err != nil || len(cur) != len(mar.Entries) {
		t.Fatalf("current: %d entries, %v", len(cur), err)
	}
	// Re-importing the same file changes nothing; an older list is refused.
	if r, err := sanctions.Import(ctx, db, mar, now, false); err != nil || !r.Unchanged {
		t.Errorf("same file again: %+v %v", r, err)
	}
	feb.SHA256 = "different"
	if _, err := sanctions.Import(ctx, db, feb, now, false); err == nil || !strings.Contains(err.Error(), "older") {
		t.Errorf("older list: %v", err)
	}
}

func TestSyncConditionalAndTruncated(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(dataDir(t), "ofac", "sdn_advanced-2025-11-19.xml.bz2")
	full, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var truncated atomic.Bool
	var conditional atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, etag := full, `"full"`
		if truncated.Load() {
			body, etag = full[:len(full)/2], `"half"`
		}
		if r.Header.Get("If-None-Match") == etag {
			conditional.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		w.Write(body)
	}))
	defer srv.Close()
	db := openStore(t)
	now := time.Date(2025, 11, 20, 0, 0, 0, 0, time.UTC)
	// A truncated download never replaces anything and says what is wrong.
	truncated.Store(true)
	if _, err := sanctions.Sync(ctx, db, srv.Client(), srv.URL, now); err == nil || !strings.Contains(err.Error(), "bzip2") {
		t.Fatalf("truncated: %v", err)
	}
	if v, _ := db.SanctionsVersions(ctx); len(v) != 0 {
		t.Fatalf("truncated list stored: %+v", v)
	}
	truncated.Store(false)
	res, err := sanctions.Sync(ctx, db, srv.Client(), srv.URL, now)
	if err != nil || res.Import == nil || res.Import.Version.Seq != 1 {
		t.Fatalf("first sync: %+v %v", res, err)
	}
	res, err = sanctions.Sync(ctx, db, srv.Client(), srv.URL, now)
	if err != nil || !res.NotModified || conditional.Load() != 1 {
		t.Fatalf("second sync: %+v %v (conditional hits %d)", res, err, conditional.Load())
	}
}
