package taxii_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracehound/tracehound/intel"
	"github.com/tracehound/tracehound/taxii"
	"github.com/tracehound/tracehound/taxii/taxiitest"
)

// nodeID is the node's own identity in these tests.
var nodeID = taxiitest.ID("identity", 900)

// newTrustNode is a node that knows its identity, with a collection
// "open" that alice, bob, the analyst and admin write and everyone reads
// (bob by name).
func newTrustNode(t *testing.T, configure func(*taxii.Config)) *node {
	t.Helper()
	n := newNode(t, func(c *taxii.Config) {
		c.NodeIdentity = func(context.Context) (string, error) { return nodeID, nil }
		if configure != nil {
			configure(c)
		}
	})
	c := taxii.Collection{ID: "open", Title: "Open", CanRead: []string{taxii.Everyone, "bob"}, CanWrite: []string{"alice", "bob", "analyst", "admin"}}
	if err := n.store.PutTAXIICollection(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return n
}

// indicator is indicator n at version modified, with extra properties
// (JSON members, without the leading comma) and markings.
func indicator(n int, modified time.Time, extra string, markings ...string) []byte {
	refs, _ := json.Marshal(markings)
	if markings == nil {
		refs = []byte("[]")
	}
	if extra != "" {
		extra = "," + extra
	}
	return fmt.Appendf(nil, `{"type":"indicator","spec_version":"2.1","id":%q,"created":%q,"modified":%q,"name":"wallet %d","description":"seen at an exchange","pattern":"[cryptocurrency-wallet:value = 'bc1q%d']","pattern_type":"stix","valid_from":%q,"object_marking_refs":%s%s}`,
		taxiitest.ID("indicator", n), taxii.FormatTimestamp(taxiitest.Created()), taxii.FormatTimestamp(modified), n, n, taxii.FormatTimestamp(taxiitest.Created()), refs, extra)
}

func identity(id, name string) []byte {
	c := taxii.FormatTimestamp(taxiitest.Created())
	return fmt.Appendf(nil, `{"type":"identity","spec_version":"2.1","id":%q,"created":%q,"modified":%q,"name":%q,"identity_class":"organization"}`, id, c, c, name)
}

// send posts objects as partner and returns the status, whatever it says.
func (n *node) send(coll, partner string, objs ...[]byte) taxii.Status {
	n.t.Helper()
	r := n.do("POST", root+"collections/"+coll+"/objects/", partner, envelope(objs...))
	if r.code != http.StatusAccepted {
		n.t.Fatalf("post as %s: %d %s", partner, r.code, r.body)
	}
	var st taxii.Status
	r.json(n.t, &st)
	return st
}

// accepted checks that every object of a status was accepted.
func accepted(t *testing.T, what string, st taxii.Status) {
	t.Helper()
	if st.FailureCount != 0 || st.SuccessCount != st.TotalCount {
		t.Fatalf("%s: refused: %+v", what, st.Failures)
	}
}

// refused checks that every object of a status was refused, with a
// message saying want.
func refused(t *testing.T, what string, st taxii.Status, want string) {
	t.Helper()
	if st.SuccessCount != 0 || st.FailureCount != st.TotalCount {
		t.Fatalf("%s: accepted: %+v", what, st)
	}
	for _, f := range st.Failures {
		if !strings.Contains(f.Message, want) {
			t.Errorf("%s: failure %q does not say %q", what, f.Message, want)
		}
	}
}

// current returns the last version of an object as partner sees it, or
// nil if it sees none.
func (n *node) current(coll, id, partner string) map[string]any {
	n.t.Helper()
	r := n.get(root+"collections/"+coll+"/objects/"+id+"/", partner)
	if r.code == http.StatusNotFound {
		return nil
	}
	var p struct {
		Objects []map[string]any `json:"objects"`
	}
	r.json(n.t, &p)
	if r.code != http.StatusOK || len(p.Objects) != 1 {
		n.t.Fatalf("object %s: %d %s", id, r.code, r.body)
	}
	return p.Objects[0]
}

// TestOwnership: only the writer of an object adds its versions, revokes
// or deletes it, and no version outlives its revocation or is dated
// beyond the clock's skew.
func TestOwnership(t *testing.T) {
	n := newTrustNode(t, nil)
	ctx := context.Background()
	c := taxiitest.Created()
	green := intel.MarkingTLP2Green
	byNode := `"created_by_ref":"` + nodeID + `"`
	x := taxiitest.ID("indicator", 1)

	// The node's analyst publishes X in the node's name.
	accepted(t, "the node's indicator", n.send("open", "analyst", indicator(1, c, byNode, green)))

	// bob leaves out created_by_ref to revoke, rename or post-date it, or
	// claims to be the node.
	for name, raw := range map[string][]byte{
		"revoked":          indicator(1, c.Add(time.Minute), `"revoked":true`, green),
		"renamed":          bytes.Replace(indicator(1, c.Add(time.Minute), "", green), []byte("wallet 1"), []byte("harmless"), 1),
		"dated 2261":       indicator(1, time.Date(2261, 1, 1, 0, 0, 0, 0, time.UTC), "", green),
		"claims the node":  indicator(1, c.Add(time.Minute), byNode+`,"revoked":true`, green),
		"older version":    indicator(1, c.Add(-time.Minute), "", green),
		"same version too": indicator(1, c, `"revoked":true`, green),
	} {
		st := n.send("open", "bob", raw)
		if name == "same version too" {
			// The version is stored: adding it again changes nothing.
			if got := n.current("open", x, "carol"); got["revoked"] != nil {
				t.Errorf("%s: revoked", name)
			}
			continue
		}
		if st.FailureCount != 1 {
			t.Errorf("bob's %s version of the node's indicator was accepted", name)
		}
	}
	if got := n.current("open", x, "carol"); got["modified"] != taxii.FormatTimestamp(c) || got["revoked"] != nil || got["name"] != "wallet 1" {
		t.Errorf("the node's indicator is served as %v", got)
	}
	// The same through a peer's objects that the node pulls.
	if st, err := n.taxii.AddObjectsFrom(ctx, "open", "bob", []json.RawMessage{indicator(1, c.Add(time.Minute), `"revoked":true`, green)}); err != nil || st.FailureCount != 1 {
		t.Errorf("a peer revoked the node's indicator: %+v %v", st, err)
	}

	// The node revokes it; after that, no version is added, not even by
	// the node, but a version stored already may be sent again.
	accepted(t, "revocation", n.send("open", "analyst", indicator(1, c.Add(2*time.Minute), byNode+`,"revoked":true`, green)))
	refused(t, "a version after the revocation", n.send("open", "analyst", indicator(1, c.Add(3*time.Minute), byNode, green)), "revoked")
	refused(t, "an older version after the revocation", n.send("open", "analyst", indicator(1, c.Add(time.Second), byNode, green)), "revoked")
	accepted(t, "the revocation again", n.send("open", "analyst", indicator(1, c.Add(2*time.Minute), byNode+`,"revoked":true`, green)))
	if got := n.current("open", x, "carol"); got["revoked"] != true {
		t.Errorf("after the revocation: %v", got)
	}

	// Post-dated versions are refused, the owner's too; within the skew
	// they pass.
	now := time.Now().UTC().Truncate(time.Millisecond)
	refused(t, "an hour ahead", n.send("open", "alice", indicator(2, now.Add(time.Hour), "", green)), "future")
	accepted(t, "a minute ahead", n.send("open", "alice", indicator(2, now.Add(time.Minute), "", green)))

	// Without created_by_ref, what alice writes is alice's.
	y := taxiitest.ID("indicator", 2)
	owners, err := n.store.TAXIIOwners(ctx, []string{x, y, taxiitest.ID("indicator", 99)})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(owners); got != fmt.Sprintf("map[%s:{(local) true} %s:{alice false}]", x, y) {
		t.Errorf("owners: %s", got)
	}
	refused(t, "bob's version of alice's", n.send("open", "bob", indicator(2, now.Add(2*time.Minute), "", green)), "not yours")
	accepted(t, "alice's own version", n.send("open", "alice", indicator(2, now.Add(2*time.Minute), "", green)))
	// An upper-case id is the same object.
	upper := bytes.Replace(indicator(2, now.Add(3*time.Minute), "", green), []byte(y), []byte("indicator--"+strings.ToUpper(y[len("indicator--"):])), 1)
	refused(t, "bob's upper-case id", n.send("open", "bob", upper), "not yours")

	// Observables have no versions: anyone may send one, which changes
	// nothing once stored.
	accepted(t, "bob's observable", n.send("open", "bob", taxiitest.Observable(5)))
	accepted(t, "alice's same observable", n.send("open", "alice", taxiitest.Observable(5)))

	// The fixed TLP marking definitions are nobody's.
	tlp := []byte(`{"type":"marking-definition","spec_version":"2.1","id":"` + intel.MarkingTLP1Green + `","created":"2017-01-20T00:00:00.000Z","definition_type":"tlp","name":"TLP:GREEN","definition":{"tlp":"green"}}`)
	accepted(t, "alice's TLP:GREEN", n.send("open", "alice", tlp))
	accepted(t, "bob's TLP:GREEN", n.send("open", "bob", tlp))
}

// TestIdentityClaims: ids compare as STIX ids, not strings, and each
// identity is claimed by one key only; the node's by the node.
func TestIdentityClaims(t *testing.T) {
	n := newTrustNode(t, nil)
	ctx := context.Background()
	c := taxiitest.Created()
	upperNode := "identity--" + strings.ToUpper(nodeID[len("identity--"):])
	for name, raw := range map[string][]byte{
		"upper-case creator":    indicator(1, c, `"created_by_ref":"`+upperNode+`"`),
		"trailing space":        indicator(2, c, `"created_by_ref":"`+nodeID+` "`),
		"leading space":         indicator(3, c, `"created_by_ref":" `+nodeID+`"`),
		"upper-case type":       indicator(4, c, `"created_by_ref":"IDENTITY--`+nodeID[len("identity--"):]+`"`),
		"not an identity":       indicator(5, c, `"created_by_ref":"`+taxiitest.ID("indicator", 900)+`"`),
		"identity of the node":  identity(nodeID, "not the node"),
		"upper-case node":       identity(upperNode, "not the node"),
		"node's in a reference": bytes.Replace(taxiitest.Indicator(6, c), []byte(`"name"`), []byte(`"created_by_ref":"`+nodeID+`","name"`), 1),
	} {
		if st := n.send("open", "alice", raw); st.FailureCount != 1 {
			t.Errorf("%s: accepted", name)
		}
	}

	// alice claims her identity first, by posting it; then it is hers.
	a := taxiitest.ID("identity", 1)
	accepted(t, "alice's identity", n.send("open", "alice", identity(a, "Alice")))
	accepted(t, "alice's indicator", n.send("open", "alice", indicator(10, c, `"created_by_ref":"`+a+`"`)))
	upperA := "identity--" + strings.ToUpper(a[len("identity--"):])
	refused(t, "bob as alice", n.send("open", "bob", indicator(11, c, `"created_by_ref":"`+a+`"`)), "belongs to another")
	refused(t, "bob as upper-case alice", n.send("open", "bob", indicator(12, c, `"created_by_ref":"`+upperA+`"`)), "belongs to another")
	// bob claims his by a reference, in the same request as its use.
	b := taxiitest.ID("identity", 2)
	accepted(t, "bob's claims", n.send("open", "bob", indicator(13, c, `"created_by_ref":"`+b+`"`), identity(b, "Bob")))
	refused(t, "alice as bob", n.send("open", "alice", indicator(14, c, `"created_by_ref":"`+b+`"`)), "belongs to another")

	got, err := n.store.TAXIIIdentities(ctx, []string{nodeID, upperA, b, taxiitest.ID("identity", 3)})
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("map[%s:alice %s:bob %s:(local)]", a, b, nodeID); fmt.Sprint(got) != want {
		t.Errorf("bindings %v, want %s", got, want)
	}
	// The node's identity stays the node's, even if bound otherwise
	// before the node knew it.
	if err := n.store.BindTAXIIIdentity(ctx, nodeID, "alice"); err != nil {
		t.Fatal(err)
	}
	refused(t, "alice as the node", n.send("open", "alice", indicator(15, c, `"created_by_ref":"`+nodeID+`"`)), "belongs to another")
	accepted(t, "the node", n.send("open", "analyst", indicator(16, c, `"created_by_ref":"`+nodeID+`"`)))
	// The node's own producers claim nothing: what they relay keeps its
	// creator free for the creator's key.
	c3 := taxiitest.ID("identity", 3)
	if st, err := n.taxii.AddObjects(ctx, "open", []json.RawMessage{indicator(17, c, `"created_by_ref":"`+c3+`"`)}); err != nil || st.SuccessCount != 1 {
		t.Fatalf("the node relays: %+v %v", st, err)
	}
	if ids, err := n.store.TAXIIIdentities(ctx, []string{c3}); err != nil || len(ids) != 0 {
		t.Errorf("relayed creator bound: %v %v", ids, err)
	}
	accepted(t, "the creator's key", n.send("open", "bob", indicator(18, c, `"created_by_ref":"`+c3+`"`)))
}

// errorBody is an error message without what differs between requests.
func errorBody(t *testing.T, r response) string {
	t.Helper()
	var e taxii.Error
	r.json(t, &e)
	e.ErrorID = ""
	b, _ := json.Marshal(e)
	return fmt.Sprintf("%d %s", r.code, b)
}

// TestDeleteOwnerOnly: a partner deletes only its own objects, and cannot
// tell a hidden object from a missing one.
func TestDeleteOwnerOnly(t *testing.T) {
	n := newTrustNode(t, nil)
	c := taxiitest.Created()
	red, green, missing := taxiitest.ID("indicator", 1), taxiitest.ID("indicator", 2), taxiitest.ID("indicator", 3)
	accepted(t, "alice's", n.send("open", "alice", indicator(1, c, "", intel.MarkingTLP2Red), indicator(2, c, "", intel.MarkingTLP2Green)))
	path := func(id string) string { return root + "collections/open/objects/" + id + "/" }

	// bob cannot see the RED one: deleting it or reading it answers as
	// for an id that does not exist, word for word.
	absent := errorBody(t, n.do("DELETE", path(missing), "bob", nil))
	if !strings.HasPrefix(absent, "404 ") {
		t.Fatalf("delete of a missing object: %s", absent)
	}
	if got := errorBody(t, n.do("DELETE", path(red), "bob", nil)); got != absent {
		t.Errorf("delete of a hidden object: %s\nmissing: %s", got, absent)
	}
	for _, suffix := range []string{"", "versions/"} {
		if a, h := errorBody(t, n.get(path(missing)+suffix, "bob")), errorBody(t, n.get(path(red)+suffix, "bob")); a != h {
			t.Errorf("GET %s: hidden %s, missing %s", suffix, h, a)
		}
	}
	// bob sees the GREEN one but it is not his.
	wantError(t, n.do("DELETE", path(green), "bob", nil), http.StatusForbidden)
	if n.current("open", green, "bob") == nil || len(n.audit.find(taxii.ActionDeleted, "bob")) != 0 {
		t.Fatal("bob deleted alice's indicator")
	}
	if n.current("open", red, "alice") != nil {
		t.Fatal("RED served")
	}
	// Its owner and an administrator may.
	if r := n.do("DELETE", path(green), "alice", nil); r.code != http.StatusOK {
		t.Errorf("alice deletes hers: %d %s", r.code, r.body)
	}
	if r := n.do("DELETE", path(red), "admin", nil); r.code != http.StatusOK {
		t.Errorf("admin deletes: %d %s", r.code, r.body)
	}
	p, err := n.store.TAXIIObjects(context.Background(), "open", taxii.Filter{Versions: taxii.VersionFilter{All: true}}, 10)
	if err != nil || len(p.Objects) != 0 {
		t.Errorf("left: %d %v", len(p.Objects), err)
	}
}

// TestOnChange: every add or delete that changes a collection tells the
// node once.
func TestOnChange(t *testing.T) {
	var mu sync.Mutex
	var calls []string
	n := newTrustNode(t, func(c *taxii.Config) {
		c.OnChange = func(_ context.Context, coll string) {
			mu.Lock()
			defer mu.Unlock()
			calls = append(calls, coll)
		}
	})
	got := func() string {
		mu.Lock()
		defer mu.Unlock()
		s := fmt.Sprint(calls)
		calls = nil
		return s
	}
	c := taxiitest.Created()
	n.send("open", "alice", indicator(1, c, ""), indicator(2, c, ""), indicator(3, c, ""))
	if s := got(); s != "[open]" {
		t.Errorf("after adding three: %s", s)
	}
	n.send("open", "alice", indicator(1, c, "")) // nothing new
	n.send("open", "bob", indicator(2, c.Add(time.Minute), ""))
	if s := got(); s != "[]" {
		t.Errorf("after adding nothing: %s", s)
	}
	if r := n.do("DELETE", root+"collections/open/objects/"+taxiitest.ID("indicator", 1)+"/", "alice", nil); r.code != http.StatusOK {
		t.Fatalf("delete: %d %s", r.code, r.body)
	}
	if s := got(); s != "[open]" {
		t.Errorf("after deleting: %s", s)
	}
	if _, err := n.taxii.AddObjects(context.Background(), "shared", []json.RawMessage{taxiitest.Observable(1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.taxii.AddObjectsFrom(context.Background(), "private", "peer", []json.RawMessage{taxiitest.Observable(2)}); err != nil {
		t.Fatal(err)
	}
	if s := got(); s != "[shared private]" {
		t.Errorf("after the node's adds: %s", s)
	}
}

// TestGranularMarkings: a property marked beyond what a reader may see
// is withheld from it, and an object that cannot do without it is
// withheld whole, on every path.
func TestGranularMarkings(t *testing.T) {
	n := newTrustNode(t, nil)
	c := taxiitest.Created()
	granular := func(ref string, selectors ...string) string {
		b, _ := json.Marshal(map[string]any{"marking_ref": ref, "selectors": selectors})
		return string(b)
	}
	green := intel.MarkingTLP2Green
	accepted(t, "granular", n.send("open", "alice",
		indicator(1, c, `"granular_markings":[`+granular(intel.MarkingTLP2Red, "description")+`,`+granular(intel.MarkingTLP2Amber, "name")+`]`, green),
		indicator(2, c, `"granular_markings":[`+granular(intel.MarkingTLP2Red, "pattern")+`]`, green),
		indicator(3, c, `"granular_markings":[`+granular(intel.MarkingTLP1Red, "id")+`]`, green),
		indicator(4, c, `"granular_markings":[`+granular(intel.MarkingTLP2Red, "external_references.[0].url")+`],"external_references":[{"source_name":"x","url":"https://x.test/secret"}]`, green),
		indicator(5, c, `"granular_markings":[`+granular(intel.MarkingTLP2Red, "object_marking_refs")+`]`, green),
		indicator(6, c, "", green),
	))
	one := taxiitest.ID("indicator", 1)
	// carol reads as everyone: neither the RED description nor the AMBER
	// name; bob, named, gets the name.
	for partner, want := range map[string]string{"carol": "[]", "bob": "[name]"} {
		o := n.current("open", one, partner)
		if o == nil {
			t.Fatalf("%s does not get indicator 1", partner)
		}
		if _, ok := o["description"]; ok {
			t.Errorf("%s gets the RED description", partner)
		}
		var kept []string
		if _, ok := o["name"]; ok {
			kept = append(kept, "name")
		}
		if fmt.Sprint(kept) != want {
			t.Errorf("%s gets %v, want %s", partner, kept, want)
		}
		if b, _ := json.Marshal(o); bytes.Contains(b, []byte(intel.MarkingTLP2Red)) || o["pattern"] == nil || o["id"] != one {
			t.Errorf("%s gets %s", partner, b)
		}
	}
	if o := n.current("open", taxiitest.ID("indicator", 4), "bob"); o == nil || o["external_references"] != nil {
		t.Errorf("indicator 4 as bob: %v", o)
	}
	// 2, 3 and 5 cannot lose the marked property: nobody gets them.
	ids, _, _ := n.objects("open", "bob", "")
	if want := []string{one, taxiitest.ID("indicator", 4), taxiitest.ID("indicator", 6)}; !slices.Equal(ids, want) {
		t.Errorf("objects: %v, want %v", ids, want)
	}
	r := n.get(root+"collections/open/manifest/", "bob")
	for _, k := range []int{2, 3, 5} {
		id := taxiitest.ID("indicator", k)
		if bytes.Contains(r.body, []byte(id)) {
			t.Errorf("the manifest lists %s", id)
		}
		wantError(t, n.get(root+"collections/open/objects/"+id+"/", "bob"), http.StatusNotFound)
		wantError(t, n.get(root+"collections/open/objects/"+id+"/versions/", "bob"), http.StatusNotFound)
	}
	if ids, _, _ := n.objects("open", "bob", "match[version]=all&match[id]="+taxiitest.ID("indicator", 2)); len(ids) != 0 {
		t.Errorf("match[id] serves %v", ids)
	}
}

// TestTLPByContent: a marking definition says TLP:RED by what it holds,
// whatever its id, in any collection of the node.
func TestTLPByContent(t *testing.T) {
	n := newTrustNode(t, nil)
	c := taxiitest.Created()
	md := func(k int, body string) (string, []byte) {
		id := taxiitest.ID("marking-definition", k)
		return id, fmt.Appendf(nil, `{"type":"marking-definition","spec_version":"2.1","id":%q,"created":"2024-01-01T00:00:00.000Z",%s}`, id, body)
	}
	m1, tlp1 := md(1, `"definition_type":"tlp","definition":{"tlp":"red"}`)
	m2, tlp2 := md(2, `"name":"restricted","extensions":{"`+intel.TLP2ExtensionID+`":{"extension_type":"property-extension","tlp_2_0":"red"}}`)
	m3, opencti := md(3, `"definition_type":"statement","definition":{"statement":"Internal"},"x_opencti_definition_type":"TLP","x_opencti_definition":"TLP:RED"`)
	m4, misp := md(4, `"definition_type":"statement","definition":{"statement":"tlp:red"}`)
	_, statement := md(5, `"definition_type":"statement","definition":{"statement":"Copyright 2025"}`)
	canonicalRed := []byte(`{"type":"marking-definition","spec_version":"2.1","id":"` + intel.MarkingTLP1Red + `","created":"2017-01-20T00:00:00.000Z","definition_type":"tlp","name":"TLP:RED","definition":{"tlp":"red"}}`)
	canonicalGreen := []byte(`{"type":"marking-definition","spec_version":"2.1","id":"` + intel.MarkingTLP1Green + `","created":"2017-01-20T00:00:00.000Z","definition_type":"tlp","name":"TLP:GREEN","definition":{"tlp":"green"}}`)
	// m1 is defined only in a collection bob cannot read.
	accepted(t, "private definitions", n.send("private", "alice", tlp1))
	accepted(t, "objects", n.send("open", "alice", tlp2, opencti, misp, statement, canonicalRed, canonicalGreen,
		indicator(1, c, "", m1), indicator(2, c, "", m2, intel.MarkingTLP2Green), indicator(3, c, "", m3),
		indicator(4, c, "", m4), indicator(5, c, `"labels":["tlp:red"]`, intel.MarkingTLP2Green),
		indicator(6, c, "", intel.MarkingTLP2Green), indicator(7, c, `"granular_markings":[{"marking_ref":"`+m1+`","selectors":["description"]}]`, intel.MarkingTLP2Green)))
	served := map[string]bool{}
	ids, _, _ := n.objects("open", "bob", "")
	for _, id := range ids {
		served[id] = true
	}
	for _, id := range []string{m1, m2, m3, m4, intel.MarkingTLP1Red} {
		if served[id] {
			t.Errorf("RED marking definition %s served", id)
		}
	}
	for k := 1; k <= 5; k++ {
		if id := taxiitest.ID("indicator", k); served[id] {
			t.Errorf("indicator %d, RED by content, served", k)
		}
	}
	for _, id := range []string{taxiitest.ID("indicator", 6), intel.MarkingTLP1Green, taxiitest.ID("marking-definition", 5)} {
		if !served[id] {
			t.Errorf("%s withheld", id)
		}
	}
	if o := n.current("open", taxiitest.ID("indicator", 7), "bob"); o == nil || o["description"] != nil {
		t.Errorf("indicator 7: %v", o)
	}
	// A definition added later applies at once.
	m8, later := md(8, `"definition_type":"tlp","definition":{"tlp":"red"}`)
	accepted(t, "indicator 8", n.send("open", "alice", indicator(8, c, "", m8)))
	if n.current("open", taxiitest.ID("indicator", 8), "bob") == nil {
		t.Fatal("indicator 8 (unknown marking, AMBER by default) withheld from bob, who is named")
	}
	accepted(t, "definition 8", n.send("private", "alice", later))
	if n.current("open", taxiitest.ID("indicator", 8), "bob") != nil {
		t.Error("indicator 8 served after its marking was defined RED")
	}
}

// TestPagingCountsVisible: pages hold what the reader may see, and
// neither their number nor more nor next say how much it may not.
func TestPagingCountsVisible(t *testing.T) {
	n := newTrustNode(t, nil)
	c := taxiitest.Created()
	// Runs of withheld objects longer than the server reads at once.
	var objs [][]byte
	g1, g2 := 150, 301
	for i := range 450 {
		marking := intel.MarkingTLP2Red
		if i == g1 || i == g2 {
			marking = intel.MarkingTLP2Green
		}
		objs = append(objs, indicator(i, c, "", marking))
	}
	accepted(t, "objects", n.send("open", "alice", objs...))
	for _, resource := range []string{"objects", "manifest"} {
		var pages [][]string
		q := "limit=1"
		for len(pages) < 20 {
			r := n.get(root+"collections/open/"+resource+"/?"+q, "carol")
			var p struct {
				More    bool   `json:"more"`
				Next    string `json:"next"`
				Objects []struct {
					ID string `json:"id"`
				} `json:"objects"`
			}
			r.json(t, &p)
			var ids []string
			for _, o := range p.Objects {
				ids = append(ids, o.ID)
			}
			pages = append(pages, ids)
			if !p.More {
				if p.Next != "" {
					t.Errorf("%s: next on the last page", resource)
				}
				break
			}
			q = "limit=1&next=" + url.QueryEscape(p.Next)
		}
		if want := fmt.Sprint([][]string{{taxiitest.ID("indicator", g1)}, {taxiitest.ID("indicator", g2)}}); fmt.Sprint(pages) != want {
			t.Errorf("%s pages: %v, want %s", resource, pages, want)
		}
	}
	// A reader who may see nothing gets one empty page.
	accepted(t, "reds", n.send("private", "alice", indicator(20, c, "", intel.MarkingTLP2Red), indicator(21, c, "", intel.MarkingTLP2Red)))
	if ids, p, _ := n.objects("private", "alice", "limit=1"); len(ids) != 0 || p.More || p.Next != "" {
		t.Errorf("all withheld: %v %+v", ids, p)
	}
}

// TestStatusBounds: a huge request of bad objects keeps a small status,
// and statuses together stay under a byte budget.
func TestStatusBounds(t *testing.T) {
	n := newTrustNode(t, func(c *taxii.Config) {
		c.StatusDetails = 5
		c.StatusMaxBytes = 8 << 10
	})
	long := strings.Repeat("x", 4000)
	var bad [][]byte
	for i := range 50 {
		bad = append(bad, fmt.Appendf(nil, `{"type":"indicator","id":"indicator--%s%d","spec_version":"2.1","created":"2025-01-01T00:00:00Z","modified":"%s"}`, long, i, long))
	}
	st := n.send("open", "alice", bad...)
	if st.TotalCount != 50 || st.FailureCount != 50 || len(st.Failures) != 5 {
		t.Fatalf("status: total %d, %d failures, %d kept", st.TotalCount, st.FailureCount, len(st.Failures))
	}
	for _, f := range st.Failures {
		if len(f.ID) > 300 || len(f.Message) > taxii.MaxStatusMessage {
			t.Errorf("failure of %d+%d bytes", len(f.ID), len(f.Message))
		}
	}
	var good [][]byte
	for i := range 20 {
		good = append(good, taxiitest.Observable(i))
	}
	if st := n.send("open", "alice", good...); st.SuccessCount != 20 || len(st.Successes) != 5 {
		t.Errorf("successes: %d, %d kept", st.SuccessCount, len(st.Successes))
	}
	// Each status is a few KB: of ten, only the newest fit in 8 KB.
	var ids []string
	for i := range 10 {
		ids = append(ids, n.send("open", "alice", bad[i:i+5]...).ID)
	}
	if r := n.get(root+"status/"+ids[0]+"/", "alice"); r.code != http.StatusNotFound {
		t.Errorf("the oldest status is kept: %d", r.code)
	}
	if r := n.get(root+"status/"+ids[9]+"/", "alice"); r.code != http.StatusOK {
		t.Errorf("the newest status is gone: %d", r.code)
	}
}

// TestDefaultStatusBounds: the defaults bound a status too.
func TestDefaultStatusBounds(t *testing.T) {
	n := newTrustNode(t, nil)
	var bad [][]byte
	for i := range taxii.DefaultStatusDetails + 10 {
		bad = append(bad, fmt.Appendf(nil, `{"type":"x","n":%d}`, i))
	}
	st := n.send("open", "alice", bad...)
	if st.FailureCount != len(bad) || len(st.Failures) != taxii.DefaultStatusDetails {
		t.Errorf("%d failures, %d kept", st.FailureCount, len(st.Failures))
	}
}

// TestAddPulledFrom: objects as a client decoded them are held to the
// same checks, owned and versioned the same, as their JSON sent to
// AddObjectsFrom: valid and invalid ones, a revoked version, a creator
// claimed, and an object made by hand rather than pulled.
func TestAddPulledFrom(t *testing.T) {
	c := taxiitest.Created()
	other := taxiitest.ID("identity", 7)
	raws := [][]byte{
		identity(other, "Other"),
		indicator(1, c, fmt.Sprintf(`"created_by_ref":%q`, other), intel.MarkingTLP1Green),
		indicator(1, c.Add(time.Minute), `"revoked":true`, intel.MarkingTLP1Green),
		indicator(1, c.Add(2*time.Minute), "", intel.MarkingTLP1Green), // revoked: no new version
		indicator(2, c, `"created_by_ref":"indicator--6ba7b810-9dad-41d1-80b4-00c04fd430c8"`),
		indicator(3, c, `"revoked":"yes"`),
		indicator(4, c, fmt.Sprintf(`"created_by_ref":%q`, nodeID)), // forged
		[]byte(`{"type":"ipv4-addr","spec_version":"2.0","id":"ipv4-addr--6ba7b810-9dad-41d1-80b4-00c04fd430c8"}`),
		[]byte(`{"type":"indicator","spec_version":"2.1","id":"indicator--6ba7b810-9dad-41d1-80b4-00c04fd430c8","created":"2025-01-02T00:00:00Z","modified":"2025-01-01T00:00:00Z"}`),
		[]byte(`{"type":"indicator","id":"indicator--6ba7b810-9dad-41d1-80b4-00c04fd430c9","created":"2025-01-02T00:00:00Z","modified":"2025-01-02T00:00:00Z"}`),
		taxiitest.Observable(5),
	}
	body := string(envelope(raws...))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", taxii.MediaType)
		w.Write([]byte(body))
	}))
	defer srv.Close()
	var pulled []taxii.Object
	if _, err := taxii.NewClient(srv.URL, "tracehound", "k", nil).ObjectsStream(context.Background(), "c", taxii.Query{}, 100, func(objs []taxii.Object) error {
		pulled = append(pulled, objs...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	byHand, err := taxii.ParseObject(taxiitest.Observable(6))
	if err != nil {
		t.Fatal(err)
	}
	pulled = append(pulled, byHand)
	raws = append(raws, taxiitest.Observable(6))

	ctx := context.Background()
	fromRaw, fromPulled := newTrustNode(t, nil), newTrustNode(t, nil)
	jraws := make([]json.RawMessage, len(raws))
	for i, r := range raws {
		jraws[i] = r
	}
	want, err := fromRaw.taxii.AddObjectsFrom(ctx, "open", "bob", jraws)
	if err != nil {
		t.Fatal(err)
	}
	got, err := fromPulled.taxii.AddPulledFrom(ctx, "open", "bob", pulled)
	if err != nil {
		t.Fatal(err)
	}
	if want.SuccessCount != 5 || want.FailureCount != 7 {
		t.Fatalf("from JSON: %d stored, %d failed: %+v", want.SuccessCount, want.FailureCount, want.Failures)
	}
	// An observable's version is its date_added: each node's own clock.
	details := func(st taxii.Status) string {
		var out []string
		for _, d := range append(st.Successes, st.Failures...) {
			if strings.HasPrefix(d.ID, "ipv4-addr--0") {
				d.Version = "-"
			}
			out = append(out, fmt.Sprintf("%+v", d))
		}
		return strings.Join(out, "\n")
	}
	if g, w := details(got), details(want); g != w {
		t.Errorf("pulled:\n%s\nwant\n%s", g, w)
	}
	stored := func(n *node) string {
		p, err := n.store.TAXIIObjects(ctx, "open", taxii.Filter{Versions: taxii.VersionFilter{All: true}}, 100)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, o := range p.Objects {
			out = append(out, fmt.Sprintf("%s %s revoked=%v %s", o.ID, versionOf(o), o.Revoked, o.Raw))
		}
		ids := []string{taxiitest.ID("indicator", 1), other}
		own, err := n.store.TAXIIOwners(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		bound, err := n.store.TAXIIIdentities(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(out, own, bound)
	}
	if g, w := stored(fromPulled), stored(fromRaw); g != w {
		t.Errorf("stored from pulled objects:\n%s\nwant\n%s", g, w)
	}

	// The hooks see exactly what is stored: Vetted the objects kept,
	// before the store (a failure there stores nothing), Stored the same
	// once committed.
	hooked := newTrustNode(t, nil)
	refuse := errors.New("crashed")
	if _, err := hooked.taxii.AddPulledFromHooks(ctx, "open", "bob", pulled, taxii.AddHooks{Vetted: func([]int) error { return refuse }}); !errors.Is(err, refuse) {
		t.Fatalf("a failing Vetted: %v", err)
	}
	if p, err := hooked.store.TAXIIObjects(ctx, "open", taxii.Filter{}, 100); err != nil || len(p.Objects) != 0 {
		t.Fatalf("stored after Vetted failed: %d %v", len(p.Objects), err)
	}
	var vetted, committed []string
	var prev time.Time
	got, err = hooked.taxii.AddPulledFromHooks(ctx, "open", "bob", pulled, taxii.AddHooks{
		Vetted: func(kept []int) error {
			for _, i := range kept {
				vetted = append(vetted, pulled[i].ID+" "+versionOf(pulled[i]))
			}
			return nil
		},
		Stored: func(p time.Time, objs []taxii.Object) {
			prev = p
			for _, o := range objs {
				committed = append(committed, o.ID+" "+versionOf(o))
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var succeeded []string
	for _, d := range got.Successes {
		succeeded = append(succeeded, d.ID+" "+d.Version)
	}
	// An observable's version is its date_added, set after Vetted.
	unversion := func(s []string) string {
		for i, v := range s {
			if strings.HasPrefix(v, "ipv4-addr--") {
				s[i] = v[:strings.IndexByte(v, ' ')]
			}
		}
		return strings.Join(s, "\n")
	}
	if v, c, w := unversion(vetted), unversion(committed), unversion(succeeded); v != w || c != w {
		t.Errorf("vetted:\n%s\ncommitted:\n%s\nwant the successes:\n%s", v, c, w)
	}
	if !prev.IsZero() {
		t.Errorf("prev %s, want zero: the collection was empty", prev)
	}
}

func versionOf(o taxii.Object) string {
	if !o.Versioned() {
		return "-"
	}
	return taxii.FormatTimestamp(o.Version)
}
