package pebble

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
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

// closeClean closes d and fails the test if closing panics or errs, as
// Pebble does when an iterator was left open.
func closeClean(t *testing.T, d *DB) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("close panicked: %v", r)
		}
	}()
	if err := d.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
}

// TestTAXIIQueriesClose runs every query form, on the store and through
// the server, then closes the store: no iterator may be left open.
func TestTAXIIQueriesClose(t *testing.T) {
	ctx := context.Background()
	d := openTest(t, t.TempDir())
	if err := d.PutTAXIICollection(ctx, taxii.Collection{ID: "c", Title: "c", CanRead: []string{"partner"}, CanWrite: []string{"partner"}}); err != nil {
		t.Fatal(err)
	}
	base := taxiitest.Created()
	added := base.Add(time.Hour)
	var objs []taxii.Object
	for i := range 12 {
		objs = append(objs, taxiitest.Object(t, taxiitest.Indicator(i%4, base.Add(time.Duration(i)*time.Minute), intel.MarkingTLP2Green), added.Add(time.Duration(i)*time.Microsecond)))
	}
	objs = append(objs, taxiitest.Object(t, taxiitest.Observable(1), added.Add(time.Second)))
	if _, err := d.AddTAXIIObjects(ctx, "c", objs); err != nil {
		t.Fatal(err)
	}
	id := taxiitest.ID("indicator", 1)
	versions := []taxii.VersionFilter{{}, {First: true}, {Last: true}, {All: true}, {First: true, Last: true}, {At: []time.Time{base.Add(5 * time.Minute)}}, {First: true, At: []time.Time{base}}}
	for _, vf := range versions {
		for _, f := range []taxii.Filter{
			{Versions: vf}, {Versions: vf, AddedAfter: added.Add(3 * time.Microsecond)}, {Versions: vf, IDs: []string{id}},
			{Versions: vf, Types: []string{"indicator"}}, {Versions: vf, SpecVersions: []string{"2.1"}},
		} {
			for _, limit := range []int{1, 2, 100} {
				f := f
				for pages := 0; pages < 20; pages++ {
					p, err := d.TAXIIObjects(ctx, "c", f, limit)
					if err != nil {
						t.Fatal(err)
					}
					if !p.More {
						break
					}
					f.AddedAfter = p.Objects[len(p.Objects)-1].DateAdded
				}
			}
		}
	}
	if _, err := d.TAXIIVersions(ctx, "c", id); err != nil {
		t.Fatal(err)
	}

	// The same through the server, as a partner pages.
	key, secret, err := auth.NewKey("partner", []auth.Role{taxii.RoleRead, taxii.RoleWrite}, 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	as := api.New(api.Config{Keys: auth.NewKeyring([]auth.Key{key})})
	taxii.New(taxii.Config{Store: d}).Register(as)
	srv := httptest.NewServer(as)
	defer srv.Close()
	cl := taxii.NewClient(srv.URL, "tracehound", secret, srv.Client())
	for _, q := range []taxii.Query{
		{Limit: 1}, {AddedAfter: added.Add(2 * time.Microsecond), Limit: 2}, {IDs: []string{id}}, {Types: []string{"indicator"}, Limit: 3},
		{Version: "first", Limit: 1}, {Version: "last"}, {Version: "all", Limit: 5}, {Version: "first", IDs: []string{id}},
		{Version: taxii.FormatTimestamp(base.Add(5 * time.Minute))}, {Version: "first,last", Limit: 2}, {SpecVersions: []string{"2.1"}, Limit: 4},
	} {
		for pages := 0; pages < 20; pages++ {
			res, err := cl.ObjectsPage(ctx, "c", q)
			if err != nil {
				t.Fatalf("%+v: %v", q, err)
			}
			if !res.More {
				break
			}
			q.Next = res.Next
		}
	}
	srv.Close()
	closeClean(t, d)
}

// TestTAXIIOwnershipRestart: owners, revocations and identity bindings
// are kept in the store, so that a restart forgets none of them.
func TestTAXIIOwnershipRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	nodeID := taxiitest.ID("identity", 900)
	var keys []auth.Key
	secrets := map[string]string{}
	for name, roles := range map[string][]auth.Role{
		"alice":   {taxii.RoleRead, taxii.RoleWrite},
		"bob":     {taxii.RoleRead, taxii.RoleWrite},
		"analyst": {taxii.RoleRead, taxii.RoleWrite, auth.RoleTAXIIPublish},
	} {
		k, secret, err := auth.NewKey(name, roles, 0, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		keys, secrets[name] = append(keys, k), secret
	}
	start := func(d *DB) *httptest.Server {
		as := api.New(api.Config{Keys: auth.NewKeyring(keys)})
		taxii.New(taxii.Config{Store: d, NodeIdentity: func(context.Context) (string, error) { return nodeID, nil }}).Register(as)
		return httptest.NewServer(as)
	}
	add := func(srv *httptest.Server, partner string, raw string) taxii.Status {
		t.Helper()
		st, err := taxii.NewClient(srv.URL, "tracehound", secrets[partner], srv.Client()).Add(ctx, "c", []json.RawMessage{json.RawMessage(raw)})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	ind := func(n int, modified, extra string) string {
		return fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":%q,"created":"2025-03-01T12:00:00.000Z","modified":%q,"pattern":"[cryptocurrency-wallet:value = 'bc1q%d']","pattern_type":"stix","valid_from":"2025-03-01T12:00:00.000Z"%s}`,
			taxiitest.ID("indicator", n), modified, n, extra)
	}
	alice := taxiitest.ID("identity", 1)

	d := openTest(t, dir)
	if err := d.PutTAXIICollection(ctx, taxii.Collection{ID: "c", Title: "c", CanRead: []string{"*"}, CanWrite: []string{"*"}}); err != nil {
		t.Fatal(err)
	}
	srv := start(d)
	for partner, raw := range map[string]string{
		"analyst": ind(1, "2025-03-01T12:00:00.000Z", `,"created_by_ref":"`+nodeID+`"`),
		"alice":   ind(2, "2025-03-01T12:00:00.000Z", `,"created_by_ref":"`+alice+`","revoked":true`),
	} {
		if st := add(srv, partner, raw); st.SuccessCount != 1 {
			t.Fatalf("%s: %+v", partner, st.Failures)
		}
	}
	srv.Close()
	closeClean(t, d)

	d = openTest(t, dir)
	defer d.Close()
	srv = start(d)
	defer srv.Close()
	for name, c := range map[string]struct{ partner, raw string }{
		"bob revokes the node's":     {"bob", ind(1, "2025-03-01T12:01:00.000Z", `,"revoked":true`)},
		"bob claims alice":           {"bob", ind(3, "2025-03-01T12:01:00.000Z", `,"created_by_ref":"`+alice+`"`)},
		"alice un-revokes":           {"alice", ind(2, "2025-03-01T12:01:00.000Z", `,"created_by_ref":"`+alice+`"`)},
		"alice claims the node's id": {"alice", ind(4, "2025-03-01T12:01:00.000Z", `,"created_by_ref":"`+strings.ToUpper(nodeID)+`"`)},
	} {
		if st := add(srv, c.partner, c.raw); st.FailureCount != 1 {
			t.Errorf("%s: accepted", name)
		}
	}
	if st := add(srv, "alice", ind(5, "2025-03-01T12:01:00.000Z", `,"created_by_ref":"`+alice+`"`)); st.SuccessCount != 1 {
		t.Errorf("alice as herself: %+v", st.Failures)
	}
}
