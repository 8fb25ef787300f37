package cases_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/audit"
	"github.com/tracehound/tracehound/cases"
	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/registry"
	"github.com/tracehound/tracehound/intel"
	"github.com/tracehound/tracehound/store/pebble"
	"github.com/tracehound/tracehound/trace"
)

// The real Bybit theft's direct-theft address (shared/data/incidents)
// and Lazarus's OFAC-listed address.
const (
	theft   = "0x47666Fab8bd0Ac7003bce3f5C3585383F09486E2"
	lazarus = "0x098B716B8Aaf21512996dC57EB0615e2383E2f96"
)

var (
	alice = cases.Actor{Name: "alice", Clearance: intel.TLPAmber}
	bob   = cases.Actor{Name: "bob", Clearance: intel.TLPAmber}
	carol = cases.Actor{Name: "carol", Clearance: intel.TLPGreen}
	admin = cases.Actor{Name: "ops", Admin: true, Clearance: intel.TLPAmber}
)

type fixture struct {
	db  *pebble.DB
	svc *cases.Service
	pub *recorder
	now time.Time
}

type recorder struct {
	collection string
	objs       []intel.Object
	fail       error
}

func (r *recorder) PublishObjects(_ context.Context, collection string, objs []intel.Object) error {
	if r.fail != nil {
		return r.fail
	}
	r.collection, r.objs = collection, objs
	return nil
}

// agency is the publishing node's identity.
var agency = intel.NewIdentity("Example Agency", "organization")

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db, err := pebble.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{db: db, pub: &recorder{}, now: time.Date(2025, 2, 21, 14, 13, 0, 0, time.UTC)}
	svc, err := cases.NewService(cases.Config{Store: db, Audit: audit.New(db), Parser: registry.NewParser(),
		Publisher: f.pub, Creator: func(context.Context) (*intel.Identity, error) { return agency, nil },
		MaxAttachment: 1 << 10, Now: func() time.Time { f.now = f.now.Add(time.Second); return f.now }})
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	return f
}

func (f *fixture) create(t *testing.T, a cases.Actor, n cases.NewCase) cases.Case {
	t.Helper()
	c, err := f.svc.Create(context.Background(), a, n)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAccess(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	c := f.create(t, alice, cases.NewCase{Reference: "BYBIT-2025", Title: "Bybit cold wallet theft", Keys: []string{"bob", "carol", "alice"}})
	if b, _ := json.Marshal(c); strings.Contains(string(b), "null") {
		t.Errorf("a new case holds null lists: %s", b)
	}
	if c.TLP != intel.TLPAmber || c.Status != cases.StatusOpen || c.Version != 1 || strings.Join(c.Keys, ",") != "bob,carol" {
		t.Errorf("created %+v", c)
	}
	for _, a := range []cases.Actor{alice, bob, admin} {
		if _, err := f.svc.Get(ctx, a, c.ID); err != nil {
			t.Errorf("%s: %v", a.Name, err)
		}
	}
	// carol is named but cleared only for GREEN; dave is not named.
	dave := cases.Actor{Name: "dave", Clearance: intel.TLPRed}
	for _, a := range []cases.Actor{carol, dave, {}} {
		if _, err := f.svc.Get(ctx, a, c.ID); !errors.Is(err, cases.ErrNotFound) {
			t.Errorf("%q read the case: %v", a.Name, err)
		}
		if _, err := f.svc.AddNote(ctx, a, c.ID, "hello"); !errors.Is(err, cases.ErrNotFound) {
			t.Errorf("%q wrote to the case: %v", a.Name, err)
		}
	}
	// A missing case answers the same.
	if _, err := f.svc.Get(ctx, dave, "0123456789abcdef"); !errors.Is(err, cases.ErrNotFound) {
		t.Errorf("missing case: %v", err)
	}
	list := func(a cases.Actor) int {
		l, err := f.svc.List(ctx, a, "")
		if err != nil {
			t.Fatal(err)
		}
		return len(l)
	}
	if list(alice) != 1 || list(admin) != 1 || list(dave) != 0 || list(carol) != 0 {
		t.Errorf("lists: alice %d admin %d dave %d carol %d", list(alice), list(admin), list(dave), list(carol))
	}
	// Each refusal is in the audit log and the case's timeline.
	tl, err := f.svc.Timeline(ctx, alice, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	denied := map[string]int{}
	for _, e := range tl {
		if e.Action == "case.denied" {
			denied[e.Actor]++
			if e.Target != "case/"+c.ID {
				t.Errorf("denial target %q", e.Target)
			}
		}
	}
	if denied["carol"] != 2 || denied["dave"] != 2 || denied["unknown"] != 2 {
		t.Errorf("denials in the timeline: %v", denied)
	}
	// Only the creator (or an admin) changes who may see the case.
	keys := []string{"dave"}
	if _, err := f.svc.Update(ctx, bob, c.ID, cases.Update{Version: c.Version, Keys: &keys}); err == nil {
		t.Error("bob changed the keys of alice's case")
	}
	c, err = f.svc.Update(ctx, alice, c.ID, cases.Update{Version: c.Version, Keys: &keys})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Get(ctx, dave, c.ID); err != nil {
		t.Errorf("dave after being added: %v", err)
	}
	if _, err := f.svc.Get(ctx, bob, c.ID); !errors.Is(err, cases.ErrNotFound) {
		t.Errorf("bob after being removed: %v", err)
	}
	// A TLP above the key's clearance is refused at creation.
	if _, err := f.svc.Create(ctx, carol, cases.NewCase{Reference: "X-1", Title: "x", TLP: intel.TLPAmber}); err == nil {
		t.Error("carol opened an AMBER case")
	}
	if _, err := f.svc.Create(ctx, bob, cases.NewCase{Reference: "bybit-2025", Title: "again"}); !errors.Is(err, cases.ErrConflict) || strings.Contains(err.Error(), c.ID) {
		t.Errorf("a reference in use, seen by a key not on the case: %v", err)
	}
}

func TestUpdateVersions(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	c := f.create(t, alice, cases.NewCase{Reference: "R-1", Title: "first", Keys: []string{"bob"}})
	title := "second"
	c2, err := f.svc.Update(ctx, bob, c.ID, cases.Update{Version: c.Version, Title: &title})
	if err != nil {
		t.Fatal(err)
	}
	if c2.Version != c.Version+1 || c2.Title != "second" {
		t.Errorf("updated %+v", c2)
	}
	other := "third"
	if _, err := f.svc.Update(ctx, alice, c.ID, cases.Update{Version: c.Version, Title: &other}); !errors.Is(err, cases.ErrConflict) {
		t.Errorf("an update on an old version: %v", err)
	}
	closed := "closed"
	if c3, err := f.svc.Update(ctx, alice, c.ID, cases.Update{Version: c2.Version, Status: &closed}); err != nil || c3.Status != "closed" {
		t.Errorf("close: %v %+v", err, c3)
	}
	for _, bad := range []string{"", strings.Repeat("x", 301), "a\x00b", "bell\x07", string([]byte{0xff})} {
		if _, err := f.svc.Create(ctx, alice, cases.NewCase{Reference: "R-2", Title: bad}); err == nil {
			t.Errorf("title %q accepted", bad)
		}
	}
	for _, bad := range []string{"", "a b", "<x>", "../x\\y", strings.Repeat("A", 65)} {
		if _, err := f.svc.Create(ctx, alice, cases.NewCase{Reference: bad, Title: "t"}); err == nil {
			t.Errorf("reference %q accepted", bad)
		}
	}
}

func TestContent(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	c := f.create(t, alice, cases.NewCase{Reference: "BYBIT-2025", Title: "Bybit", Seeds: []cases.SeedIn{{Chain: "eth", Seed: theft}}})
	var err error
	// Addresses are checked and kept canonical: a wrong EIP-55 checksum
	// is refused, lower case is accepted.
	wrong := "0x47666fab8bd0Ac7003bce3f5C3585383F09486E2"
	if _, err := f.svc.AddAddress(ctx, alice, c.ID, cases.AddressIn{Chain: "eth", Address: wrong}); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("wrong checksum: %v", err)
	}
	if c, err = f.svc.AddAddress(ctx, alice, c.ID, cases.AddressIn{Chain: "eth", Address: theft, Role: "theft", Note: "first hop", Share: true}); err != nil {
		t.Fatal(err)
	}
	if c, err = f.svc.AddAddress(ctx, alice, c.ID, cases.AddressIn{Chain: "eth", Address: strings.ToLower(theft), Role: "theft", Note: "changed", Share: true}); err != nil {
		t.Fatal(err)
	}
	if len(c.Addresses) != 1 || c.Addresses[0].Address != strings.ToLower(theft) || c.Addresses[0].Note != "changed" {
		t.Errorf("addresses %+v", c.Addresses)
	}
	if _, err := f.svc.AddAddress(ctx, alice, c.ID, cases.AddressIn{Chain: "eth", Address: lazarus, Role: "victim", Share: true}); err == nil {
		t.Error("a victim's address marked to share")
	}
	if _, err := f.svc.AddAddress(ctx, alice, c.ID, cases.AddressIn{Chain: "eth", Address: lazarus, Role: "boss"}); err == nil {
		t.Error("an unknown role accepted")
	}
	if _, err := f.svc.AddSeed(ctx, alice, c.ID, cases.SeedIn{Chain: "eth", Seed: theft}); err == nil {
		t.Error("the same seed twice")
	}
	for addr, want := range map[string]int{strings.ToLower(theft): 1, theft: 1, lazarus: 0} {
		if l, err := f.svc.List(ctx, alice, addr); err != nil || len(l) != want {
			t.Errorf("cases naming %s: %d, want %d (%v)", addr, len(l), want, err)
		}
	}
	if c, err = f.svc.AddNote(ctx, alice, c.ID, "<script>alert(1)</script>"); err != nil {
		t.Fatal(err)
	}
	if c.Notes[0].Text != "<script>alert(1)</script>" || c.Notes[0].ID != "n1" {
		t.Errorf("the note is kept as written: %+v", c.Notes)
	}
	if c, err = f.svc.LinkAlert(ctx, alice, c.ID, cases.AlertLink{ID: "al-1", Watch: "bybit", Address: theft}); err != nil {
		t.Fatal(err)
	}
	if c, err = f.svc.LinkWatch(ctx, alice, c.ID, "bybit"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.LinkWatch(ctx, alice, c.ID, "bybit"); err == nil {
		t.Error("a watch linked twice")
	}
	if len(c.Alerts) != 1 || len(c.Watches) != 1 || len(c.Seeds) != 1 {
		t.Errorf("links %+v %+v", c.Alerts, c.Watches)
	}
}

func TestTraces(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	c := f.create(t, alice, cases.NewCase{Reference: "T-1", Title: "t"})
	huge, _ := chain.ParseAmount("401346000000000000000000")
	res := trace.Result{Chain: chain.Ethereum, Tainted: huge, Through: 21895256,
		Nodes:     []trace.Node{{Address: strings.ToLower(theft), Seed: true, Received: huge}, {Address: "0xabc", Hop: 1, Received: huge}},
		Edges:     []trace.Edge{{Tx: "0x01", From: strings.ToLower(theft), To: "0xabc", Amount: huge, Tainted: huge, Hop: 1}},
		Endpoints: []trace.Endpoint{{Address: "0xabc", Amount: huge, Hop: 1, Label: trace.Label{Entity: "Exchange", Category: "exchange"}}},
		Hops:      []trace.Hop{{Hop: 1, Addresses: 1, Transfers: 1, Tainted: huge}}}
	result, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	req := []byte(`{"chain":"eth","seeds":["` + theft + `"],"hops":30}`)
	c, v1, err := f.svc.SaveTrace(ctx, alice, c.ID, "", "from the theft", req, result)
	if err != nil {
		t.Fatal(err)
	}
	if v1.Version != 1 || v1.Summary.Endpoints != 1 || v1.Summary.Tainted.String() != "401346000000000000000000" || v1.Summary.Through != 21895256 {
		t.Errorf("version 1: %+v", v1)
	}
	res.Through++
	result2, _ := json.Marshal(res)
	c, v2, err := f.svc.SaveTrace(ctx, alice, c.ID, c.Traces[0].ID, "", req, result2)
	if err != nil {
		t.Fatal(err)
	}
	if v2.Version != 2 || len(c.Traces) != 1 || len(c.Traces[0].Versions) != 2 || v1.SHA256 == v2.SHA256 {
		t.Errorf("version 2: %+v; traces %+v", v2, c.Traces)
	}
	for v, want := range map[int][]byte{1: result, 2: result2, 0: result2} {
		got, b, err := f.svc.TraceResult(ctx, alice, c.ID, "t1", v)
		if err != nil || !bytes.Equal(b, want) || !bytes.Equal(got.Request, req) {
			t.Errorf("version %d: %v %d bytes", v, err, len(b))
		}
	}
	if _, _, err := f.svc.TraceResult(ctx, alice, c.ID, "t1", 3); !errors.Is(err, cases.ErrNotFound) {
		t.Errorf("version 3: %v", err)
	}
	if _, _, err := f.svc.TraceResult(ctx, bob, c.ID, "t1", 1); !errors.Is(err, cases.ErrNotFound) {
		t.Errorf("bob read the result: %v", err)
	}
	for _, bad := range [][]byte{[]byte(`{"nodes":[]}`), []byte(`not json`), []byte(`{"hops":[],"nodes":[],"tainted":"-1"}`)} {
		if _, _, err := f.svc.SaveTrace(ctx, alice, c.ID, "", "", req, bad); err == nil {
			t.Errorf("result %s accepted", bad)
		}
	}
	if _, _, err := f.svc.SaveTrace(ctx, alice, c.ID, "t9", "", req, result); err == nil {
		t.Error("a version of a trace that does not exist")
	}
}

func TestAttachments(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	c := f.create(t, alice, cases.NewCase{Reference: "A-1", Title: "t"})
	png := append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 40)...)
	cases_ := []struct {
		name, file, want string
		data             []byte
	}{
		{"png named as html", "statement.html", "image/png", png},
		{"html named as png", "../../etc/evil.png", "text/html; charset=utf-8", []byte("<html><script>alert(1)</script>")},
		{"text", "C:\\Users\\x\\note.txt", "text/plain; charset=utf-8", []byte("hello")},
	}
	for i, tc := range cases_ {
		_, at, err := f.svc.Attach(ctx, alice, c.ID, tc.file, tc.data)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if at.ContentType != tc.want || strings.ContainsAny(at.Name, "/\\") || at.Size != len(tc.data) {
			t.Errorf("%s: %+v", tc.name, at)
		}
		got, b, err := f.svc.Attachment(ctx, alice, c.ID, at.ID)
		if err != nil || !bytes.Equal(b, tc.data) || got.SHA256 != at.SHA256 || at.ID != "a"+string(rune('1'+i)) {
			t.Errorf("%s: read back %v %+v", tc.name, err, got)
		}
	}
	if _, _, err := f.svc.Attach(ctx, alice, c.ID, "big", make([]byte, 1<<10+1)); err == nil {
		t.Error("an attachment over the limit")
	}
	if _, _, err := f.svc.Attach(ctx, alice, c.ID, "empty", nil); err == nil {
		t.Error("an empty attachment")
	}
	if _, _, err := f.svc.Attachment(ctx, carol, c.ID, "a1"); !errors.Is(err, cases.ErrNotFound) {
		t.Errorf("carol read an attachment: %v", err)
	}
}

func TestFreezes(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	c := f.create(t, alice, cases.NewCase{Reference: "F-1", Title: "t"})
	requested, _ := chain.ParseAmount("115792089237316195423570985008687907853269984665640564039457584007913129639935") // 2^256-1
	frozen, _ := chain.ParseAmount("18446744073709551617")                                                              // 2^64+1
	_, fr, err := f.svc.DraftFreeze(ctx, alice, c.ID, cases.FreezeDraft{Service: "Exchange 12", Chain: "eth", Address: theft, Requested: requested})
	if err != nil {
		t.Fatal(err)
	}
	if fr.Status != cases.FreezeDrafted || fr.Address != strings.ToLower(theft) || fr.ID != "f1" {
		t.Errorf("draft %+v", fr)
	}
	move := func(status string, amount chain.Amount) error {
		_, got, err := f.svc.MoveFreeze(ctx, alice, c.ID, fr.ID, cases.FreezeMove{Status: status, Amount: amount, Reference: "EX-77"})
		if err == nil {
			fr = got
		}
		return err
	}
	zero := chain.Amount{}
	steps := []struct {
		status string
		amount chain.Amount
		ok     bool
	}{
		{"frozen", frozen, false}, // not sent yet
		{"released", zero, false},
		{"sent", frozen, false}, // an amount only with frozen or released
		{"sent", zero, true},
		{"sent", zero, false},
		{"acknowledged", zero, true},
		{"frozen", zero, false}, // the amount is required
		{"frozen", frozen, true},
		{"released", requested, false}, // more than frozen
		{"drafted", zero, false},
		{"paused", zero, false},
		{"released", zero, true}, // all of it
		{"released", zero, false},
	}
	for i, s := range steps {
		if err := move(s.status, s.amount); (err == nil) != s.ok {
			t.Errorf("step %d (%s): %v", i, s.status, err)
		}
	}
	if fr.Status != cases.FreezeReleased || fr.Frozen.String() != "18446744073709551617" || fr.Released.String() != "18446744073709551617" ||
		fr.Requested.Cmp(requested) != 0 || len(fr.History) != 5 || fr.Reference != "EX-77" {
		t.Errorf("final %+v", fr)
	}
	got, err := f.svc.Get(ctx, alice, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Freezes[0].Status != cases.FreezeReleased {
		t.Errorf("stored %+v", got.Freezes[0])
	}
	if _, _, err := f.svc.MoveFreeze(ctx, alice, c.ID, "f9", cases.FreezeMove{Status: "sent"}); !errors.Is(err, cases.ErrNotFound) {
		t.Errorf("a missing freeze request: %v", err)
	}
	if _, _, err := f.svc.DraftFreeze(ctx, alice, c.ID, cases.FreezeDraft{Service: "x", Chain: "eth", Address: theft}); err == nil {
		t.Error("a freeze request of nothing")
	}
}

// TestTimeline checks that the timeline is the audit log's entries about
// the case, and that the log verifies.
func TestTimeline(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	c := f.create(t, alice, cases.NewCase{Reference: "L-1", Title: "t"})
	other := f.create(t, bob, cases.NewCase{Reference: "L-2", Title: "t"})
	if _, err := f.svc.AddNote(ctx, alice, c.ID, "one"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.AddNote(ctx, bob, other.ID, "elsewhere"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Get(ctx, bob, c.ID); err == nil {
		t.Fatal("bob read alice's case")
	}
	if _, _, err := f.svc.Export(ctx, alice, c.ID, "html"); err != nil {
		t.Fatal(err)
	}
	tl, err := f.svc.Timeline(ctx, alice, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range tl {
		actions = append(actions, e.Actor+":"+e.Action)
	}
	if strings.Join(actions, " ") != "alice:case.create alice:case.note bob:case.denied alice:case.export" {
		t.Errorf("timeline %v", actions)
	}
	var all []audit.Entry
	if err := f.db.AuditEntries(ctx, 1, func(e audit.Entry) error { all = append(all, e); return nil }); err != nil {
		t.Fatal(err)
	}
	j := 0
	for _, e := range all {
		if e.Target == "case/"+c.ID {
			if j >= len(tl) || tl[j].Hash != e.Hash {
				t.Errorf("audit entry %d is not the timeline's %d", e.Seq, j)
			}
			j++
		}
	}
	if j != len(tl) {
		t.Errorf("%d audit entries about the case, %d in its timeline", j, len(tl))
	}
	if _, err := audit.Verify(ctx, f.db); err != nil {
		t.Error(err)
	}
}

func TestPublish(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	c := f.create(t, alice, cases.NewCase{Reference: "P-1", Title: "Bybit", TLP: intel.TLPGreen})
	if _, _, err := f.svc.Publish(ctx, alice, c.ID, "bybit"); err == nil {
		t.Error("published a case with nothing to share")
	}
	var err error
	if c, err = f.svc.AddAddress(ctx, alice, c.ID, cases.AddressIn{Chain: "eth", Address: theft, Role: "theft", Share: true}); err != nil {
		t.Fatal(err)
	}
	if c, err = f.svc.AddAddress(ctx, alice, c.ID, cases.AddressIn{Chain: "eth", Address: lazarus, Role: "victim"}); err != nil {
		t.Fatal(err)
	}
	c, objs, err := f.svc.Publish(ctx, alice, c.ID, "bybit")
	if err != nil {
		t.Fatal(err)
	}
	if f.pub.collection != "bybit" || len(f.pub.objs) != len(objs) || len(c.Shares) != 1 || c.Shares[0].TLP != intel.TLPGreen {
		t.Errorf("published to %q: %d objects; shares %+v", f.pub.collection, len(f.pub.objs), c.Shares)
	}
	ids := map[string]bool{}
	for _, o := range objs {
		if err := intel.Validate(o); err != nil {
			t.Error(err)
		}
		ids[o.ObjectID()] = true
		b, _ := json.Marshal(o)
		if strings.Contains(string(b), strings.ToLower(lazarus)) {
			t.Errorf("the victim's address was published: %s", b)
		}
		if o.ObjectType() == "indicator" && !strings.Contains(string(b), intel.MarkingTLP2Green) {
			t.Errorf("indicator not marked GREEN: %s", b)
		}
	}
	// Publishing again makes new versions of the same objects.
	_, again, err := f.svc.Publish(ctx, alice, c.ID, "bybit")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range again {
		if !ids[o.ObjectID()] {
			t.Errorf("republishing made a new object %s", o.ObjectID())
		}
	}
	// A failed post records no share.
	f.pub.fail = errors.New("collection is full")
	if got, _, err := f.svc.Publish(ctx, alice, c.ID, "bybit"); err == nil || len(got.Shares) != 0 {
		t.Errorf("failed publish: %v", err)
	}
	if got, _ := f.svc.Get(ctx, alice, c.ID); len(got.Shares) != 2 {
		t.Errorf("shares after a failed post: %d", len(got.Shares))
	}
	red := intel.TLPRed
	red2 := f.create(t, admin, cases.NewCase{Reference: "P-2", Title: "red", TLP: red})
	if _, err := cases.STIX(red2, intel.NewIdentity("x", "organization"), f.now); err == nil {
		t.Error("a RED case built STIX objects")
	}
}
