package pebble_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/tracehound/tracehound/audit"
	"github.com/tracehound/tracehound/cases"
	"github.com/tracehound/tracehound/intel"
	"github.com/tracehound/tracehound/store/pebble"
)

func TestCases(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := pebble.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	log := audit.New(db)
	now := time.Date(2025, 2, 21, 0, 0, 0, 0, time.UTC)
	save := func(id string, c *cases.Case, blob *cases.Blob) audit.Entry {
		t.Helper()
		e, err := log.Record(ctx, "alice", "case.test", "case/"+id, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.SaveCase(ctx, cases.Write{CaseID: id, Case: c, Event: e, Blob: blob}); err != nil {
			t.Fatal(err)
		}
		return e
	}
	a := cases.Case{ID: "aaaa", Reference: "A", Title: "a", TLP: intel.TLPAmber, Creator: "alice", Created: now, Version: 1}
	b := cases.Case{ID: "aaab", Reference: "B", Title: "b", TLP: intel.TLPGreen, Creator: "bob", Created: now, Version: 1}
	e1 := save(a.ID, &a, nil)
	save(b.ID, &b, &cases.Blob{Kind: cases.BlobAttachment, Name: "a1", Data: []byte("bob's")})
	e3 := save(a.ID, nil, &cases.Blob{Kind: cases.BlobTraceResult, Name: "t1/1", Data: []byte(`{"nodes":[]}`)})
	a.Version = 2
	e4 := save(a.ID, &a, &cases.Blob{Kind: cases.BlobAttachment, Name: "a1", Data: []byte("alice's")})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// Everything survives a reopen.
	if db, err = pebble.Open(ctx, dir); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, ok, err := db.Case(ctx, a.ID)
	if err != nil || !ok || got.Version != 2 || got.TLP != intel.TLPAmber || !got.Created.Equal(now) {
		t.Errorf("case a: %v %v %+v", err, ok, got)
	}
	all, err := db.Cases(ctx)
	if err != nil || len(all) != 2 || all[0].ID != "aaaa" || all[1].ID != "aaab" {
		t.Errorf("cases: %v %+v", err, all)
	}
	tl, err := db.CaseTimeline(ctx, a.ID)
	if err != nil || len(tl) != 3 || tl[0].Hash != e1.Hash || tl[1].Hash != e3.Hash || tl[2].Hash != e4.Hash {
		t.Errorf("timeline of a: %v %+v", err, tl)
	}
	// Blobs are per case: a1 of a is not a1 of b.
	for _, c := range []struct {
		id, name string
		kind     cases.BlobKind
		want     string
	}{{"aaaa", "a1", cases.BlobAttachment, "alice's"}, {"aaab", "a1", cases.BlobAttachment, "bob's"}, {"aaaa", "t1/1", cases.BlobTraceResult, `{"nodes":[]}`}} {
		v, ok, err := db.CaseBlob(ctx, c.id, c.kind, c.name)
		if err != nil || !ok || !bytes.Equal(v, []byte(c.want)) {
			t.Errorf("blob %s %s: %v %v %q", c.id, c.name, err, ok, v)
		}
	}
	if _, ok, _ := db.CaseBlob(ctx, "aaaa", cases.BlobTraceResult, "a1"); ok {
		t.Error("an attachment read as a trace result")
	}
	// An id that could reach into another case's keys finds nothing and
	// writes nothing.
	for _, bad := range []string{"", "aaaa/", "aaa", "aaaa\x00"} {
		if _, ok, err := db.Case(ctx, bad); ok || err != nil {
			t.Errorf("case %q: %v %v", bad, ok, err)
		}
	}
	if tl, _ := db.CaseTimeline(ctx, "aaa"); len(tl) != 0 {
		t.Errorf("the timeline of aaa holds %d entries of aaaa", len(tl))
	}
	if err := db.SaveCase(ctx, cases.Write{CaseID: "x/y", Case: &cases.Case{ID: "x/y"}}); err == nil {
		t.Error("saved a case whose id holds a separator")
	}
	if err := db.SaveCase(ctx, cases.Write{CaseID: "aaaa", Case: &b}); err == nil {
		t.Error("saved case b under a's id")
	}
	if _, err := audit.Verify(ctx, db); err != nil {
		t.Error(err)
	}
}
