package pebble

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/intel"
	"github.com/tracehound/tracehound/taxii"
	"github.com/tracehound/tracehound/taxii/taxiitest"
)

func openTest(t testing.TB, dir string) *DB {
	t.Helper()
	d, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestTAXIIStore(t *testing.T) {
	taxiitest.Run(t, func(t *testing.T) taxiitest.Store {
		d := openTest(t, t.TempDir())
		t.Cleanup(func() { d.Close() })
		return d
	})
}

func TestTAXIIRecordRoundTrip(t *testing.T) {
	in := taxiitest.Object(t, taxiitest.Indicator(3, taxiitest.Created().Add(123456789), intel.MarkingTLP2Amber, intel.MarkingTLP1Green), time.UnixMicro(1_750_000_000_123_456).UTC())
	out, err := decodeTAXIIRecord(appendTAXIIRecord(nil, &in))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(in) != fmt.Sprint(out) {
		t.Fatalf("round trip:\n%v\n%v", in, out)
	}
	for n := range 20 {
		if _, err := decodeTAXIIRecord(appendTAXIIRecord(nil, &in)[:n]); err == nil {
			t.Errorf("a record cut to %d bytes decoded", n)
		}
	}
}

// TestTAXIIReopen checks that objects, the last-version index and cursors
// survive a restart.
func TestTAXIIReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d := openTest(t, dir)
	if err := d.PutTAXIICollection(ctx, taxii.Collection{ID: "c", Title: "c", CanRead: []string{"*"}}); err != nil {
		t.Fatal(err)
	}
	base := taxiitest.Created()
	added := base.Add(time.Hour)
	objs := []taxii.Object{
		taxiitest.Object(t, taxiitest.Indicator(1, base.Add(2*time.Minute)), added),
		taxiitest.Object(t, taxiitest.Indicator(1, base.Add(time.Minute)), added.Add(time.Microsecond)),
	}
	if n, err := d.AddTAXIIObjects(ctx, "c", objs); err != nil || n != 2 {
		t.Fatalf("add: %d %v", n, err)
	}
	if err := d.PutTAXIICursor(ctx, "peer", "c", taxii.Cursor{AddedAfter: added}); err != nil {
		t.Fatal(err)
	}
	d.Close()
	d = openTest(t, dir)
	defer d.Close()
	p, err := d.TAXIIObjects(ctx, "c", taxii.Filter{}, 10)
	if err != nil || len(p.Objects) != 1 || !p.Objects[0].Version.Equal(base.Add(2*time.Minute)) {
		t.Fatalf("after reopening: %+v %v", p, err)
	}
	if last, err := d.TAXIILastAdded(ctx, "c"); err != nil || !last.Equal(added.Add(time.Microsecond)) {
		t.Fatalf("last added: %v %v", last, err)
	}
	if c, err := d.TAXIICursor(ctx, "peer", "c"); err != nil || !c.AddedAfter.Equal(added) {
		t.Fatalf("cursor: %+v %v", c, err)
	}
	if _, err := d.AddTAXIIObjects(ctx, "nope", objs); err == nil {
		t.Error("added objects to a missing collection")
	}
}

// TestTAXIIServerRestart runs the TAXII server on the store across a
// restart with a clock that stands still: date_added keeps increasing,
// because the server resumes from the newest one stored.
func TestTAXIIServerRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d := openTest(t, dir)
	if err := d.PutTAXIICollection(ctx, taxii.Collection{ID: "c", Title: "c", CanRead: []string{"partner"}, CanWrite: []string{"partner"}}); err != nil {
		t.Fatal(err)
	}
	key, secret, err := auth.NewKey("partner", []auth.Role{taxii.RoleRead, taxii.RoleWrite}, 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	frozen := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	start := func(d *DB) *httptest.Server {
		as := api.New(api.Config{Keys: auth.NewKeyring([]auth.Key{key})})
		taxii.New(taxii.Config{Store: d, Now: func() time.Time { return frozen }}).Register(as)
		return httptest.NewServer(as)
	}
	send := func(srv *httptest.Server, from int) {
		var objs []json.RawMessage
		for i := from; i < from+5; i++ {
			objs = append(objs, taxiitest.Observable(i), taxiitest.Indicator(i, taxiitest.Created().Add(time.Duration(i)*time.Second)))
		}
		st, err := taxii.NewClient(srv.URL, "tracehound", secret, srv.Client()).Add(ctx, "c", objs)
		if err != nil || st.SuccessCount != 10 {
			t.Fatalf("add: %+v %v", st, err)
		}
	}
	srv := start(d)
	send(srv, 0)
	srv.Close()
	d.Close()
	d = openTest(t, dir)
	defer d.Close()
	srv = start(d)
	defer srv.Close()
	send(srv, 5)
	send(srv, 0) // again: nothing new

	p, err := d.TAXIIObjects(ctx, "c", taxii.Filter{Versions: taxii.VersionFilter{All: true}}, 100)
	if err != nil || len(p.Objects) != 20 {
		t.Fatalf("stored %d objects: %v", len(p.Objects), err)
	}
	for i, o := range p.Objects {
		if want := frozen.Add(time.Duration(i) * time.Microsecond); !o.DateAdded.Equal(want) {
			t.Fatalf("object %d added at %v, want %v", i, o.DateAdded, want)
		}
	}
	cl := taxii.NewClient(srv.URL, "tracehound", secret, srv.Client())
	res, next, err := cl.Objects(ctx, "c", frozen.Add(9*time.Microsecond), 4)
	if err != nil || len(res.Objects) != 4 || next == "" || !res.DateAddedFirst.Equal(frozen.Add(10*time.Microsecond)) {
		t.Fatalf("page after the restart point: %+v %q %v", res, next, err)
	}
}

// loadTAXII fills collection "bench" with n indicators, one version each.
func loadTAXII(b testing.TB, d *DB, n int) {
	ctx := context.Background()
	if err := d.PutTAXIICollection(ctx, taxii.Collection{ID: "bench", Title: "bench", CanRead: []string{"*"}}); err != nil {
		b.Fatal(err)
	}
	created := taxiitest.Created()
	added := created.Add(time.Hour)
	const batch = 10_000
	objs := make([]taxii.Object, 0, batch)
	for i := range n {
		o := taxiitest.Object(b, taxiitest.Indicator(i, created.Add(time.Duration(i)*time.Millisecond), intel.MarkingTLP2Green), added.Add(time.Duration(i)*time.Microsecond))
		objs = append(objs, o)
		if len(objs) == batch || i == n-1 {
			if _, err := d.AddTAXIIObjects(ctx, "bench", objs); err != nil {
				b.Fatal(err)
			}
			objs = objs[:0]
		}
	}
}

// pageAll reads the whole collection a page at a time, as a partner does.
func pageAll(b testing.TB, d *DB, limit int) int {
	ctx := context.Background()
	var f taxii.Filter
	total := 0
	for {
		p, err := d.TAXIIObjects(ctx, "bench", f, limit)
		if err != nil {
			b.Fatal(err)
		}
		total += len(p.Objects)
		if !p.More {
			return total
		}
		f.AddedAfter = p.Objects[len(p.Objects)-1].DateAdded
	}
}

func TestTAXIIPaging(t *testing.T) {
	d := openTest(t, t.TempDir())
	defer d.Close()
	loadTAXII(t, d, 5000)
	if n := pageAll(t, d, 333); n != 5000 {
		t.Fatalf("paged %d objects, want 5000", n)
	}
}

// BenchmarkTAXIIPaging pages through one million objects, 1000 a page
// (the server's default limit); the requirement is 50,000 objects/s.
func BenchmarkTAXIIPaging(b *testing.B) {
	const n = 1_000_000
	d := openTest(b, b.TempDir())
	defer d.Close()
	start := time.Now()
	loadTAXII(b, d, n)
	if _, err := d.Graph().Settle(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Logf("loaded %d objects in %v", n, time.Since(start).Round(time.Millisecond))
	b.ResetTimer()
	total := 0
	for b.Loop() {
		if got := pageAll(b, d, 1000); got != n {
			b.Fatalf("paged %d objects, want %d", got, n)
		}
		total += n
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "objects/s")
}

// BenchmarkTAXIIServe pages 100,000 objects through the whole HTTP stack:
// API key authentication, TAXII server, TLP policy, Pebble and the client.
func BenchmarkTAXIIServe(b *testing.B) {
	const n = 100_000
	ctx := context.Background()
	d := openTest(b, b.TempDir())
	defer d.Close()
	loadTAXII(b, d, n)
	key, secret, err := auth.NewKey("partner", []auth.Role{taxii.RoleRead}, 0, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	as := api.New(api.Config{Keys: auth.NewKeyring([]auth.Key{key})})
	taxii.New(taxii.Config{Store: d}).Register(as)
	srv := httptest.NewServer(as)
	defer srv.Close()
	cl := taxii.NewClient(srv.URL, "tracehound", secret, srv.Client())
	b.ResetTimer()
	total := 0
	for b.Loop() {
		got := 0
		res, next, err := cl.Objects(ctx, "bench", time.Time{}, 1000)
		for got += len(res.Objects); err == nil && next != ""; got += len(res.Objects) {
			res, err = cl.ObjectsPage(ctx, "bench", taxii.Query{Limit: 1000, Next: next})
			next = res.Next
		}
		if err != nil || got != n {
			b.Fatalf("paged %d objects: %v", got, err)
		}
		total += got
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "objects/s")
}

// TestTAXIIStatusExpiry runs the TAXII server on the store with a clock
// that moves: expired statuses are deleted from the store, as are the
// statuses a store of before the creation index holds.
func TestTAXIIStatusExpiry(t *testing.T) {
	ctx := context.Background()
	d := openTest(t, t.TempDir())
	defer d.Close()
	if err := d.PutTAXIICollection(ctx, taxii.Collection{ID: "c", Title: "c", CanRead: []string{"partner"}, CanWrite: []string{"partner"}}); err != nil {
		t.Fatal(err)
	}
	// A status as stores kept them before: no creation time, no index.
	legacy := taxii.Status{ID: "00000000-0000-4000-8000-000000000001", Status: "complete", RequestTimestamp: "2025-05-31T23:00:00.000000Z"}
	v, err := json.Marshal(taxiiStatusRecord{Partner: "partner", Status: legacy})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.db.Set([]byte(taxiiStatus+legacy.ID), v, nil); err != nil {
		t.Fatal(err)
	}

	key, secret, err := auth.NewKey("partner", []auth.Role{taxii.RoleRead, taxii.RoleWrite}, 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	as := api.New(api.Config{Keys: auth.NewKeyring([]auth.Key{key})})
	tx := taxii.New(taxii.Config{Store: d, Now: func() time.Time { return now }, StatusRetention: 2 * time.Hour})
	tx.Register(as)
	srv := httptest.NewServer(as)
	defer srv.Close()
	cl := taxii.NewClient(srv.URL, "tracehound", secret, srv.Client())

	st, err := cl.Add(ctx, "c", []json.RawMessage{taxiitest.Observable(1)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Status(ctx, legacy.ID); err != nil {
		t.Fatalf("legacy status within the retention: %v", err)
	}
	now = now.Add(90 * time.Minute)
	if _, err := cl.Status(ctx, legacy.ID); taxii.StatusCode(err) != 404 {
		t.Fatalf("expired legacy status: %v", err)
	}
	if got, err := cl.Status(ctx, st.ID); err != nil || got.ID != st.ID {
		t.Fatalf("fresh status: %+v %v", got, err)
	}
	now = now.Add(time.Hour)
	if n, err := tx.PruneStatuses(ctx); err != nil || n != 1 {
		t.Fatalf("prune: %d %v", n, err)
	}
	var left []string
	for _, p := range []string{taxiiStatus, taxiiStatusTimes} {
		if err := d.scan(ctx, []byte(p), func(k, _ []byte) error { left = append(left, string(k)); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if len(left) != 0 {
		t.Errorf("left in the store: %q", left)
	}
	if _, err := cl.Status(ctx, st.ID); taxii.StatusCode(err) != 404 {
		t.Fatalf("expired status: %v", err)
	}
}
