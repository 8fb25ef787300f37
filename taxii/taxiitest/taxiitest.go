// Package taxiitest checks that an implementation of taxii.Store and
// taxii.CursorStore behaves as the TAXII server relies on, so that every
// store is held to the same tests.
package taxiitest

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/intel"
	"github.com/tracehound/tracehound/taxii"
)

// Store is what the suite tests.
type Store interface {
	taxii.Store
	taxii.CursorStore
}

// Created is when the suite's objects were created: their versions are
// this or later.
func Created() time.Time { return time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC) }

// ID returns a valid STIX id of type typ, distinct for each n.
func ID(typ string, n int) string {
	return fmt.Sprintf("%s--%08x-0000-4000-8000-%012x", typ, n, n)
}

// Indicator returns an indicator version, marked with markings.
func Indicator(n int, modified time.Time, markings ...string) []byte {
	refs := ""
	for i, m := range markings {
		if i > 0 {
			refs += ","
		}
		refs += fmt.Sprintf("%q", m)
	}
	return fmt.Appendf(nil, `{"type":"indicator","spec_version":"2.1","id":%q,"created":%q,"modified":%q,"name":"wallet %d","pattern":"[cryptocurrency-wallet:value = 'bc1q%d']","pattern_type":"stix","valid_from":%q,"object_marking_refs":[%s]}`,
		ID("indicator", n), taxii.FormatTimestamp(Created()), taxii.FormatTimestamp(modified), n, n, taxii.FormatTimestamp(Created()), refs)
}

// Observable returns a cyber-observable, which has no version of its own.
func Observable(n int) []byte {
	return fmt.Appendf(nil, `{"type":"ipv4-addr","id":%q,"value":"10.0.%d.%d"}`, ID("ipv4-addr", n), n/256, n%256)
}

// Object parses raw and stamps it as the server would.
func Object(t testing.TB, raw []byte, added time.Time) taxii.Object {
	t.Helper()
	o, err := taxii.ParseObject(raw)
	if err != nil {
		t.Fatalf("parse %s: %v", raw, err)
	}
	o.DateAdded = added
	if !o.Versioned() {
		o.Version = added
	}
	return o
}

// Run runs the suite; newStore returns an empty store.
func Run(t *testing.T, newStore func(t *testing.T) Store) {
	t.Run("Collections", func(t *testing.T) { testCollections(t, newStore(t)) })
	t.Run("AddIdempotent", func(t *testing.T) { testAddIdempotent(t, newStore(t)) })
	t.Run("Versions", func(t *testing.T) { testVersions(t, newStore(t)) })
	t.Run("Paging", func(t *testing.T) { testPaging(t, newStore(t)) })
	t.Run("Delete", func(t *testing.T) { testDelete(t, newStore(t)) })
	t.Run("StatusAndCursor", func(t *testing.T) { testStatusAndCursor(t, newStore(t)) })
	t.Run("StatusPrune", func(t *testing.T) { testStatusPrune(t, newStore(t)) })
	t.Run("StatusPruneBytes", func(t *testing.T) { testStatusPruneBytes(t, newStore(t)) })
	t.Run("Owners", func(t *testing.T) { testOwners(t, newStore(t)) })
	t.Run("WithinBatch", func(t *testing.T) { testWithinBatch(t, newStore(t)) })
	t.Run("ManyIDs", func(t *testing.T) { testManyIDs(t, newStore(t)) })
}

func put(t *testing.T, st Store, id string) {
	t.Helper()
	c := taxii.Collection{ID: id, Title: "Collection " + id, CanRead: []string{"*"}, CanWrite: []string{"alice"}}
	if err := st.PutTAXIICollection(context.Background(), c); err != nil {
		t.Fatal(err)
	}
}

func add(t *testing.T, st Store, coll string, objs ...taxii.Object) int {
	t.Helper()
	n, err := st.AddTAXIIObjects(context.Background(), coll, objs)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func query(t *testing.T, st Store, coll string, f taxii.Filter, limit int) taxii.Page {
	t.Helper()
	p, err := st.TAXIIObjects(context.Background(), coll, f, limit)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// at is the n-th date_added of a test.
func at(n int) time.Time { return Created().Add(time.Hour + time.Duration(n)*time.Microsecond) }

func testCollections(t *testing.T, st Store) {
	ctx := context.Background()
	put(t, st, "b")
	put(t, st, "a")
	if err := st.PutTAXIICollection(ctx, taxii.Collection{ID: "x/y", Title: "slash"}); err == nil {
		t.Error("a collection id with a slash was accepted")
	}
	cs, err := st.TAXIICollections(ctx)
	if err != nil || len(cs) != 2 || cs[0].ID != "a" || cs[1].ID != "b" {
		t.Fatalf("collections: %+v, %v", cs, err)
	}
	c, ok, err := st.TAXIICollection(ctx, "a")
	if err != nil || !ok || c.Title != "Collection a" || len(c.CanRead) != 1 || c.CanWrite[0] != "alice" {
		t.Fatalf("collection a: %+v %v %v", c, ok, err)
	}
	if _, ok, err := st.TAXIICollection(ctx, "zz"); ok || err != nil {
		t.Fatalf("missing collection: %v %v", ok, err)
	}
	add(t, st, "a", Object(t, Indicator(1, Created()), at(1)))
	if err := st.DeleteTAXIICollection(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := st.TAXIICollection(ctx, "a"); ok {
		t.Fatal("deleted collection still there")
	}
	put(t, st, "a")
	if p := query(t, st, "a", taxii.Filter{}, 10); len(p.Objects) != 0 {
		t.Fatalf("re-created collection has %d objects", len(p.Objects))
	}
}

func testAddIdempotent(t *testing.T, st Store) {
	ctx := context.Background()
	put(t, st, "c")
	raw := Indicator(1, Created().Add(time.Minute), intel.MarkingTLP2Green)
	if n := add(t, st, "c", Object(t, raw, at(1)), Object(t, Observable(7), at(2))); n != 2 {
		t.Fatalf("added %d, want 2", n)
	}
	// The same version again, in one batch twice, and the observable
	// again: nothing new.
	if n := add(t, st, "c", Object(t, raw, at(3)), Object(t, raw, at(4)), Object(t, Observable(7), at(5))); n != 0 {
		t.Fatalf("re-added %d, want 0", n)
	}
	p := query(t, st, "c", taxii.Filter{Versions: taxii.VersionFilter{All: true}}, 10)
	if len(p.Objects) != 2 || p.More {
		t.Fatalf("objects: %d more=%v", len(p.Objects), p.More)
	}
	o := p.Objects[0]
	if !bytes.Equal(o.Raw, raw) || o.ID != ID("indicator", 1) || o.Type != "indicator" || o.SpecVersion != "2.1" ||
		!o.Created.Equal(Created()) || !o.Modified.Equal(Created().Add(time.Minute)) || !o.Version.Equal(o.Modified) ||
		!o.DateAdded.Equal(at(1)) || len(o.Markings) != 1 || o.Markings[0] != intel.MarkingTLP2Green {
		t.Errorf("indicator came back as %+v", o)
	}
	sco := p.Objects[1]
	if !sco.Created.IsZero() || !sco.Modified.IsZero() || !sco.Version.Equal(at(2)) || !sco.DateAdded.Equal(at(2)) {
		t.Errorf("observable came back as %+v", sco)
	}
	// A batch reusing a date_added is refused whole.
	if _, err := st.AddTAXIIObjects(ctx, "c", []taxii.Object{Object(t, Observable(8), at(6)), Object(t, Observable(9), at(2))}); err == nil {
		t.Error("an object was added at a date_added already taken")
	}
	if p := query(t, st, "c", taxii.Filter{Versions: taxii.VersionFilter{All: true}}, 10); len(p.Objects) != 2 {
		t.Errorf("a refused batch left %d objects", len(p.Objects)-2)
	}
	if last, err := st.TAXIILastAdded(ctx, "c"); err != nil || !last.Equal(at(2)) {
		t.Errorf("last added %v %v, want %v", last, err, at(2))
	}
	if last, err := st.TAXIILastAdded(ctx, "empty"); err != nil || !last.IsZero() {
		t.Errorf("last added of nothing: %v %v", last, err)
	}
}

func testVersions(t *testing.T, st Store) {
	ctx := context.Background()
	put(t, st, "v")
	t1, t2, t3 := Created().Add(time.Minute), Created().Add(2*time.Minute), Created().Add(3*time.Minute)
	// v2 first, then v3, then a partner replays the older v1.
	add(t, st, "v", Object(t, Indicator(1, t2), at(1)), Object(t, Indicator(2, t1), at(2)))
	add(t, st, "v", Object(t, Indicator(1, t3), at(3)))
	add(t, st, "v", Object(t, Indicator(1, t1), at(4)))

	versions := func(p taxii.Page) []string {
		var out []string
		for _, o := range p.Objects {
			out = append(out, fmt.Sprintf("%s@%s", o.ID[len(o.ID)-1:], o.Version.Format("04")))
		}
		return out
	}
	for _, c := range []struct {
		name string
		f    taxii.Filter
		want string
	}{
		{"default is last", taxii.Filter{}, "[2@01 1@03]"},
		{"last", taxii.Filter{Versions: taxii.VersionFilter{Last: true}}, "[2@01 1@03]"},
		{"first", taxii.Filter{Versions: taxii.VersionFilter{First: true}}, "[2@01 1@01]"},
		{"all", taxii.Filter{Versions: taxii.VersionFilter{All: true}}, "[1@02 2@01 1@03 1@01]"},
		{"at", taxii.Filter{Versions: taxii.VersionFilter{At: []time.Time{t2}}}, "[1@02]"},
		{"first and last", taxii.Filter{Versions: taxii.VersionFilter{First: true, Last: true}}, "[2@01 1@03 1@01]"},
		{"last after the replay", taxii.Filter{AddedAfter: at(3)}, "[]"},
		{"all after", taxii.Filter{AddedAfter: at(2), Versions: taxii.VersionFilter{All: true}}, "[1@03 1@01]"},
		{"by id", taxii.Filter{IDs: []string{ID("indicator", 1)}, Versions: taxii.VersionFilter{All: true}}, "[1@02 1@03 1@01]"},
		{"by id, last", taxii.Filter{IDs: []string{ID("indicator", 1), ID("indicator", 9)}}, "[1@03]"},
		{"by ids", taxii.Filter{IDs: []string{ID("indicator", 2), ID("indicator", 1)}}, "[2@01 1@03]"},
		{"by type", taxii.Filter{Types: []string{"malware"}}, "[]"},
		{"by spec_version", taxii.Filter{SpecVersions: []string{"2.0"}}, "[]"},
		{"by spec_version 2.1", taxii.Filter{SpecVersions: []string{"2.1"}, Types: []string{"indicator"}}, "[2@01 1@03]"},
	} {
		if got := fmt.Sprint(versions(query(t, st, "v", c.f, 10))); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
	vs, err := st.TAXIIVersions(ctx, "v", ID("indicator", 1))
	if err != nil || len(vs) != 3 || !vs[0].Version.Equal(t1) || !vs[1].Version.Equal(t2) || !vs[2].Version.Equal(t3) || !vs[0].DateAdded.Equal(at(4)) {
		t.Errorf("versions: %+v %v", vs, err)
	}
	if vs, err := st.TAXIIVersions(ctx, "v", ID("indicator", 5)); err != nil || len(vs) != 0 {
		t.Errorf("versions of nothing: %v %v", vs, err)
	}
}

func testPaging(t *testing.T, st Store) {
	put(t, st, "p")
	var objs []taxii.Object
	for i := range 25 {
		raw := Indicator(i, Created())
		if i%5 == 0 {
			raw = Observable(i)
		}
		objs = append(objs, Object(t, raw, at(i)))
	}
	add(t, st, "p", objs...)
	for _, c := range []struct {
		f     taxii.Filter
		limit int
		want  int
	}{{taxii.Filter{}, 10, 25}, {taxii.Filter{}, 25, 25}, {taxii.Filter{Types: []string{"ipv4-addr"}}, 2, 5}, {taxii.Filter{Types: []string{"indicator"}}, 7, 20}} {
		var got []taxii.Object
		f := c.f
		for pages := 0; ; pages++ {
			if pages > 30 {
				t.Fatal("paging does not end")
			}
			p := query(t, st, "p", f, c.limit)
			if len(p.Objects) > c.limit {
				t.Fatalf("%d objects for limit %d", len(p.Objects), c.limit)
			}
			got = append(got, p.Objects...)
			if !p.More {
				break
			}
			f.AddedAfter = p.Objects[len(p.Objects)-1].DateAdded
		}
		if len(got) != c.want {
			t.Errorf("%+v limit %d: %d objects, want %d", c.f, c.limit, len(got), c.want)
		}
		for i := 1; i < len(got); i++ {
			if !got[i].DateAdded.After(got[i-1].DateAdded) {
				t.Fatalf("%+v: not in date_added order at %d", c.f, i)
			}
		}
	}
}

func testDelete(t *testing.T, st Store) {
	ctx := context.Background()
	put(t, st, "d")
	t1, t2 := Created().Add(time.Minute), Created().Add(2*time.Minute)
	add(t, st, "d", Object(t, Indicator(1, t1), at(1)), Object(t, Indicator(1, t2), at(2)), Object(t, Indicator(2, t1), at(3)))
	n, err := st.DeleteTAXIIObjects(ctx, "d", ID("indicator", 1), taxii.Filter{Versions: taxii.VersionFilter{Last: true}})
	if err != nil || n != 1 {
		t.Fatalf("delete last: %d %v", n, err)
	}
	// The remaining version is now the last.
	p := query(t, st, "d", taxii.Filter{IDs: []string{ID("indicator", 1)}}, 10)
	if len(p.Objects) != 1 || !p.Objects[0].Version.Equal(t1) {
		t.Fatalf("after deleting the last version: %+v", p.Objects)
	}
	if p := query(t, st, "d", taxii.Filter{}, 10); len(p.Objects) != 2 {
		t.Fatalf("after deleting the last version, the collection lists %d objects", len(p.Objects))
	}
	if n, err := st.DeleteTAXIIObjects(ctx, "d", ID("indicator", 1), taxii.Filter{SpecVersions: []string{"2.0"}}); err != nil || n != 0 {
		t.Fatalf("delete of another spec_version: %d %v", n, err)
	}
	if n, err := st.DeleteTAXIIObjects(ctx, "d", ID("indicator", 1), taxii.Filter{}); err != nil || n != 1 {
		t.Fatalf("delete all: %d %v", n, err)
	}
	if n, err := st.DeleteTAXIIObjects(ctx, "d", ID("indicator", 1), taxii.Filter{}); err != nil || n != 0 {
		t.Fatalf("delete again: %d %v", n, err)
	}
	p = query(t, st, "d", taxii.Filter{Versions: taxii.VersionFilter{All: true}}, 10)
	if len(p.Objects) != 1 || p.Objects[0].ID != ID("indicator", 2) {
		t.Fatalf("after deletes: %+v", p.Objects)
	}
	// A deleted version may be added again.
	if n := add(t, st, "d", Object(t, Indicator(1, t2), at(4))); n != 1 {
		t.Fatalf("re-adding a deleted version added %d", n)
	}
}

func testStatusAndCursor(t *testing.T, st Store) {
	ctx := context.Background()
	s := taxii.Status{ID: "4f1b2a5e-0000-4000-8000-000000000001", Status: "complete", TotalCount: 2, SuccessCount: 1, FailureCount: 1,
		Successes: []taxii.StatusDetail{{ID: ID("indicator", 1), Version: "2025-03-01T12:00:00.000Z"}},
		Failures:  []taxii.StatusDetail{{ID: "objects[1]", Message: "type is required"}}, Partner: "alice"}
	if err := st.PutTAXIIStatus(ctx, s); err != nil {
		t.Fatal(err)
	}
	got, ok, err := st.TAXIIStatus(ctx, s.ID)
	if err != nil || !ok || got.Partner != "alice" || got.TotalCount != 2 || len(got.Failures) != 1 || got.Failures[0].Message != "type is required" {
		t.Fatalf("status: %+v %v %v", got, ok, err)
	}
	if _, ok, err := st.TAXIIStatus(ctx, "nope"); ok || err != nil {
		t.Fatalf("missing status: %v %v", ok, err)
	}
	c, err := st.TAXIICursor(ctx, "peer", "coll")
	if err != nil || c != (taxii.Cursor{}) {
		t.Fatalf("no cursor: %+v %v", c, err)
	}
	want := taxii.Cursor{AddedAfter: at(1), Next: "abc", Last: at(2)}
	if err := st.PutTAXIICursor(ctx, "peer", "coll", want); err != nil {
		t.Fatal(err)
	}
	if err := st.PutTAXIICursor(ctx, "peer", "other", taxii.Cursor{Next: "x"}); err != nil {
		t.Fatal(err)
	}
	c, err = st.TAXIICursor(ctx, "peer", "coll")
	if err != nil || !c.AddedAfter.Equal(want.AddedAfter) || c.Next != "abc" || !c.Last.Equal(want.Last) {
		t.Fatalf("cursor: %+v %v", c, err)
	}
}

func testStatusPrune(t *testing.T, st Store) {
	ctx := context.Background()
	ids := make([]string, 6)
	for i := range ids {
		ids[i] = fmt.Sprintf("4f1b2a5e-0000-4000-8000-%012d", i)
		s := taxii.Status{ID: ids[i], Status: "complete", Partner: "alice", Created: at(i)}
		if err := st.PutTAXIIStatus(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	left := func() []int {
		t.Helper()
		var out []int
		for i, id := range ids {
			s, ok, err := st.TAXIIStatus(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				if !s.Created.Equal(at(i)) {
					t.Errorf("status %d created %v, want %v", i, s.Created, at(i))
				}
				out = append(out, i)
			}
		}
		return out
	}
	if got := left(); len(got) != 6 {
		t.Fatalf("stored %v", got)
	}
	// Nothing is old enough, and the limit is not reached.
	if n, err := st.PruneTAXIIStatuses(ctx, at(0), 6, 0); err != nil || n != 0 {
		t.Fatalf("prune nothing: %d %v", n, err)
	}
	// Created before at(2): the first two go.
	if n, err := st.PruneTAXIIStatuses(ctx, at(2), 100, 0); err != nil || n != 2 {
		t.Fatalf("prune by age: %d %v", n, err)
	}
	if got := fmt.Sprint(left()); got != "[2 3 4 5]" {
		t.Fatalf("after pruning by age: %s", got)
	}
	// The newest three stay.
	if n, err := st.PruneTAXIIStatuses(ctx, time.Time{}, 3, 0); err != nil || n != 1 {
		t.Fatalf("prune by count: %d %v", n, err)
	}
	if got := fmt.Sprint(left()); got != "[3 4 5]" {
		t.Fatalf("after pruning by count: %s", got)
	}
	// Both at once; then an emptied store prunes nothing.
	if n, err := st.PruneTAXIIStatuses(ctx, at(4), 0, 0); err != nil || n != 3 {
		t.Fatalf("prune all: %d %v", n, err)
	}
	if got := left(); len(got) != 0 {
		t.Fatalf("after pruning all: %v", got)
	}
	if n, err := st.PruneTAXIIStatuses(ctx, at(9), 0, 0); err != nil || n != 0 {
		t.Fatalf("prune empty: %d %v", n, err)
	}
}

func testStatusPruneBytes(t *testing.T, st Store) {
	ctx := context.Background()
	ids := make([]string, 6)
	for i := range ids {
		ids[i] = fmt.Sprintf("4f1b2a5e-0000-4000-8000-%012d", i)
		s := taxii.Status{ID: ids[i], Status: "complete", Partner: "alice", Created: at(i), FailureCount: 1,
			Failures: []taxii.StatusDetail{{ID: "objects[0]", Message: strings.Repeat("m", 1000)}}}
		if err := st.PutTAXIIStatus(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	// Each status is 1000 to 1300 bytes as stored: two fit in 2600.
	if n, err := st.PruneTAXIIStatuses(ctx, time.Time{}, 100, 2600); err != nil || n != 4 {
		t.Fatalf("prune by size: %d %v", n, err)
	}
	for i, id := range ids {
		if _, ok, err := st.TAXIIStatus(ctx, id); err != nil || ok != (i >= 4) {
			t.Errorf("status %d kept %v, %v", i, ok, err)
		}
	}
	if n, err := st.PruneTAXIIStatuses(ctx, time.Time{}, 100, 2600); err != nil || n != 0 {
		t.Fatalf("prune again: %d %v", n, err)
	}
}

func testOwners(t *testing.T, st Store) {
	ctx := context.Background()
	put(t, st, "o")
	put(t, st, "p")
	ind1, ind2, ind3 := ID("indicator", 1), ID("indicator", 2), ID("indicator", 3)
	id1, id2 := ID("identity", 1), ID("identity", 2)
	upper := func(id string) string {
		typ, uuid, _ := strings.Cut(id, "--")
		return typ + "--" + strings.ToUpper(uuid)
	}
	a := Object(t, Indicator(1, Created()), at(1))
	a.Owner, a.Claims = "alice", []string{id1}
	b := Object(t, Indicator(2, Created()), at(2)) // written without an owner: none is recorded
	add(t, st, "o", a, b)
	// Another writer, in another collection, does not replace the owner
	// nor a binding; a revoked version marks the object revoked.
	r := Object(t, Indicator(1, Created().Add(time.Minute)), at(3))
	r.Owner, r.Revoked, r.Claims = "bob", true, []string{upper(id1), id2}
	add(t, st, "p", r)
	// A version stored already is skipped, and records nothing.
	again := Object(t, Indicator(2, Created()), at(4))
	again.Owner, again.Claims = "carol", []string{ID("identity", 3)}
	if n := add(t, st, "o", again); n != 0 {
		t.Fatalf("re-added %d", n)
	}

	owners, err := st.TAXIIOwners(ctx, []string{upper(ind1), ind2, ind3})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(owners), fmt.Sprintf("map[%s:{alice true}]", ind1); got != want {
		t.Errorf("owners %s, want %s", got, want)
	}
	ids, err := st.TAXIIIdentities(ctx, []string{upper(id1), id2, ID("identity", 3)})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(ids), fmt.Sprintf("map[%s:alice %s:bob]", id1, id2); got != want {
		t.Errorf("identities %s, want %s", got, want)
	}
	if err := st.BindTAXIIIdentity(ctx, upper(id1), "(local)"); err != nil {
		t.Fatal(err)
	}
	if ids, err := st.TAXIIIdentities(ctx, []string{id1}); err != nil || ids[id1] != "(local)" {
		t.Errorf("rebound: %v %v", ids, err)
	}
	// The revoked version reads back revoked.
	if p := query(t, st, "p", taxii.Filter{}, 10); len(p.Objects) != 1 || !p.Objects[0].Revoked {
		t.Errorf("revoked version: %+v", p.Objects)
	}
	// Deleting an object, or its collection, leaves its owner: nobody
	// else may take its id over.
	if _, err := st.DeleteTAXIIObjects(ctx, "o", ind1, taxii.Filter{}); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteTAXIICollection(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	if owners, err := st.TAXIIOwners(ctx, []string{ind1}); err != nil || owners[ind1] != (taxii.Ownership{Owner: "alice", Revoked: true}) {
		t.Errorf("after deletes: %v %v", owners, err)
	}
	if owners, err := st.TAXIIOwners(ctx, nil); err != nil || len(owners) != 0 {
		t.Errorf("no ids: %v %v", owners, err)
	}
}

// testWithinBatch checks that one batch sees its own writes: versions of
// one object out of order, a version twice, a date_added twice, an
// owner and a binding written by an earlier object of the batch.
func testWithinBatch(t *testing.T, st Store) {
	ctx := context.Background()
	put(t, st, "w")
	t1, t2, t3 := Created().Add(time.Minute), Created().Add(2*time.Minute), Created().Add(3*time.Minute)
	first := Object(t, Indicator(1, t2), at(1))
	first.Owner, first.Claims = "alice", []string{ID("identity", 1)}
	older := Object(t, Indicator(1, t1), at(2))
	older.Owner, older.Claims = "bob", []string{ID("identity", 1), ID("identity", 2)}
	newest := Object(t, Indicator(1, t3), at(3))
	newest.Owner, newest.Revoked = "bob", true
	twice := Object(t, Indicator(1, t2), at(4))
	sco := Object(t, Observable(5), at(5))
	scoAgain := Object(t, Observable(5), at(6))
	if n := add(t, st, "w", first, older, newest, twice, sco, scoAgain); n != 4 {
		t.Fatalf("added %d, want 4", n)
	}
	var got []string
	for _, o := range query(t, st, "w", taxii.Filter{}, 10).Objects {
		got = append(got, fmt.Sprintf("%s@%s", o.Type, o.DateAdded.Format(".000000")))
	}
	if want := "[indicator@.000003 ipv4-addr@.000005]"; fmt.Sprint(got) != want {
		t.Errorf("last versions %v, want %s", got, want)
	}
	p := query(t, st, "w", taxii.Filter{Versions: taxii.VersionFilter{First: true}, Types: []string{"indicator"}}, 10)
	if len(p.Objects) != 1 || !p.Objects[0].Version.Equal(t1) {
		t.Errorf("first version: %+v", p.Objects)
	}
	owners, err := st.TAXIIOwners(ctx, []string{ID("indicator", 1)})
	if err != nil || owners[ID("indicator", 1)] != (taxii.Ownership{Owner: "alice", Revoked: true}) {
		t.Errorf("owner: %v %v", owners, err)
	}
	ids, err := st.TAXIIIdentities(ctx, []string{ID("identity", 1), ID("identity", 2)})
	if got, want := fmt.Sprint(ids), fmt.Sprintf("map[%s:alice %s:bob]", ID("identity", 1), ID("identity", 2)); err != nil || got != want {
		t.Errorf("identities %s %v, want %s", got, err, want)
	}
	// Two new objects at one date_added: the batch is refused whole.
	clash := []taxii.Object{Object(t, Indicator(7, t1), at(7)), Object(t, Indicator(8, t1), at(8)), Object(t, Indicator(9, t1), at(8))}
	if _, err := st.AddTAXIIObjects(ctx, "w", clash); err == nil {
		t.Error("two objects were added at one date_added")
	}
	if p := query(t, st, "w", taxii.Filter{Versions: taxii.VersionFilter{All: true}}, 10); len(p.Objects) != 4 {
		t.Errorf("a refused batch left %d objects", len(p.Objects)-4)
	}
}

// testManyIDs checks the look-ups of many ids at once, stored ones among
// new ones: the versions a batch skips, the owners, a match[id] query.
func testManyIDs(t *testing.T, st Store) {
	ctx := context.Background()
	put(t, st, "m")
	var old, all []taxii.Object
	var ids []string
	for n := range 100 {
		o := Object(t, Indicator(n, Created()), at(n))
		o.Owner = fmt.Sprintf("owner %d", n)
		if n%3 == 0 || n%7 == 0 {
			old = append(old, o)
		}
		ids = append(ids, o.ID)
	}
	add(t, st, "m", old...)
	for n := range 100 {
		o := Object(t, Indicator(n, Created()), at(200+n))
		o.Owner = "other"
		all = append(all, o)
	}
	if n := add(t, st, "m", all...); n != 100-len(old) {
		t.Errorf("added %d, want %d", n, 100-len(old))
	}
	owners, err := st.TAXIIOwners(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	for n, id := range ids {
		want := "other"
		if n%3 == 0 || n%7 == 0 {
			want = fmt.Sprintf("owner %d", n)
		}
		if owners[id].Owner != want {
			t.Errorf("owner of %d: %q, want %q", n, owners[id].Owner, want)
		}
	}
	p := query(t, st, "m", taxii.Filter{IDs: append(ids, ID("indicator", 500)), Versions: taxii.VersionFilter{All: true}}, 1000)
	if len(p.Objects) != 100 {
		t.Errorf("match[id]: %d objects, want 100", len(p.Objects))
	}
	for _, o := range p.Objects {
		var n int
		fmt.Sscanf(o.ID[len(o.ID)-12:], "%x", &n)
		if want := at(n); (n%3 == 0 || n%7 == 0) && !o.DateAdded.Equal(want) {
			t.Errorf("%s added %v, want the first %v", o.ID, o.DateAdded, want)
		}
	}
}
