package taxii_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/intel"
	"github.com/tracehound/tracehound/taxii"
	"github.com/tracehound/tracehound/taxii/taxiitest"
)

const root = "/taxii2/tracehound/"

// recorder is an Auditor that keeps the events.
type recorder struct {
	mu     sync.Mutex
	events []taxii.Event
	fail   bool
}

func (r *recorder) Record(_ context.Context, e taxii.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return errors.New("audit log unavailable")
	}
	r.events = append(r.events, e)
	return nil
}

func (r *recorder) find(action, partner string) []taxii.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []taxii.Event
	for _, e := range r.events {
		if e.Action == action && e.Partner == partner {
			out = append(out, e)
		}
	}
	return out
}

// node is a tracehound API server with TAXII registered on it.
type node struct {
	t     *testing.T
	srv   *httptest.Server
	store *taxii.MemStore
	taxii *taxii.Server
	audit *recorder
	keys  map[string]string // partner name to secret
}

// Partners: alice writes, bob and carol read, eve may only screen; the
// node's analyst publishes in its name and admin administers it.
func newNode(t *testing.T, configure func(*taxii.Config)) *node {
	t.Helper()
	n := &node{t: t, store: taxii.NewMemStore(), audit: &recorder{}, keys: map[string]string{}}
	var keys []auth.Key
	for name, roles := range map[string][]auth.Role{
		"alice":   {taxii.RoleRead, taxii.RoleWrite},
		"bob":     {taxii.RoleRead, taxii.RoleWrite},
		"carol":   {taxii.RoleRead},
		"eve":     {auth.RoleScreen},
		"analyst": {taxii.RoleRead, taxii.RoleWrite, auth.RoleTAXIIPublish},
		"admin":   {auth.RoleAdmin},
	} {
		k, secret, err := auth.NewKey(name, roles, 0, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
		n.keys[name] = secret
	}
	as := api.New(api.Config{Keys: auth.NewKeyring(keys)})
	cfg := taxii.Config{Store: n.store, Auditor: n.audit, PageSize: 20, MaxPageSize: 20, Title: "test node"}
	if configure != nil {
		configure(&cfg)
	}
	n.taxii = taxii.New(cfg)
	n.taxii.Register(as)
	n.srv = httptest.NewServer(as)
	t.Cleanup(n.srv.Close)
	for _, c := range []taxii.Collection{
		{ID: "shared", Title: "Shared", CanRead: []string{taxii.Everyone}, CanWrite: []string{"alice"}},
		{ID: "amber", Title: "Amber", CanRead: []string{"alice", "bob"}, CanWrite: []string{"alice"}},
		{ID: "private", Title: "Private", CanRead: []string{"alice"}, CanWrite: []string{"alice"}},
		{ID: "mixed", Title: "Mixed", CanRead: []string{taxii.Everyone, "bob"}, CanWrite: []string{"alice"}},
	} {
		if err := n.store.PutTAXIICollection(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	return n
}

type response struct {
	code   int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// do sends a request as partner with TAXII's headers, which hdr may
// override ("" removes one).
func (n *node) do(method, path, partner string, body []byte, hdr ...string) response {
	n.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, n.srv.URL+path, rd)
	if err != nil {
		n.t.Fatal(err)
	}
	req.Header.Set("Accept", taxii.MediaType)
	if body != nil {
		req.Header.Set("Content-Type", taxii.MediaType)
	}
	if partner != "" {
		req.Header.Set("Authorization", "Bearer "+n.keys[partner])
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	resp, err := n.srv.Client().Do(req)
	if err != nil {
		n.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		n.t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, b}
}

func (n *node) get(path, partner string) response { return n.do("GET", path, partner, nil) }

func envelope(objs ...[]byte) []byte {
	return fmt.Appendf(nil, `{"objects":[%s]}`, bytes.Join(objs, []byte(",")))
}

// post adds objects as alice and checks that all succeeded.
func (n *node) post(coll string, objs ...[]byte) taxii.Status {
	n.t.Helper()
	r := n.do("POST", root+"collections/"+coll+"/objects/", "alice", envelope(objs...))
	if r.code != http.StatusAccepted {
		n.t.Fatalf("post: %d %s", r.code, r.body)
	}
	var st taxii.Status
	r.json(n.t, &st)
	if st.FailureCount != 0 {
		n.t.Fatalf("post failures: %+v", st.Failures)
	}
	return st
}

type page struct {
	More    bool              `json:"more"`
	Next    string            `json:"next"`
	Objects []json.RawMessage `json:"objects"`
}

// objects lists a collection as partner and returns the ids.
func (n *node) objects(coll, partner, query string) ([]string, page, response) {
	n.t.Helper()
	r := n.get(root+"collections/"+coll+"/objects/?"+query, partner)
	if r.code != http.StatusOK {
		n.t.Fatalf("objects %s?%s: %d %s", coll, query, r.code, r.body)
	}
	var p page
	r.json(n.t, &p)
	var ids []string
	for _, o := range p.Objects {
		var h struct {
			ID       string `json:"id"`
			Modified string `json:"modified"`
		}
		json.Unmarshal(o, &h)
		ids = append(ids, h.ID)
	}
	return ids, p, r
}

func wantError(t *testing.T, r response, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("status %d, want %d: %s", r.code, code, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != taxii.MediaType {
		t.Errorf("error Content-Type %q", ct)
	}
	var e taxii.Error
	r.json(t, &e)
	if e.Title == "" || e.HTTPStatus != fmt.Sprint(code) || e.ErrorID == "" {
		t.Errorf("error message %+v", e)
	}
}

func TestDiscovery(t *testing.T) {
	n := newNode(t, nil)
	r := n.get("/taxii2/", "carol")
	if r.code != http.StatusOK || r.header.Get("Content-Type") != taxii.MediaType {
		t.Fatalf("discovery: %d %q %s", r.code, r.header.Get("Content-Type"), r.body)
	}
	var d struct {
		Title    string   `json:"title"`
		Default  string   `json:"default"`
		APIRoots []string `json:"api_roots"`
	}
	r.json(t, &d)
	if d.Title != "test node" || d.Default != root || !slices.Equal(d.APIRoots, []string{root}) {
		t.Errorf("discovery: %+v", d)
	}
	r = n.get(root, "carol")
	var ar struct {
		Versions         []string `json:"versions"`
		MaxContentLength int64    `json:"max_content_length"`
	}
	r.json(t, &ar)
	if r.code != http.StatusOK || !slices.Equal(ar.Versions, []string{taxii.MediaType}) || ar.MaxContentLength != taxii.DefaultMaxContentLength {
		t.Errorf("API root: %d %+v", r.code, ar)
	}
	wantError(t, n.get("/taxii2/other/", "carol"), http.StatusNotFound)
	wantError(t, n.get("/taxii2/other/collections/", "carol"), http.StatusNotFound)
	// The API server's own authentication guards every endpoint.
	if r := n.get(root, ""); r.code != http.StatusUnauthorized {
		t.Errorf("no key: %d", r.code)
	}
	if r := n.get(root, "eve"); r.code != http.StatusForbidden {
		t.Errorf("key without a TAXII role: %d", r.code)
	}
}

func TestMediaTypes(t *testing.T) {
	n := newNode(t, nil)
	for accept, want := range map[string]int{
		"application/taxii+json;version=2.1":      200,
		"application/taxii+json; version=2.1":     200,
		"application/taxii+json":                  200,
		"*/*":                                     200,
		"text/html, application/taxii+json;q=0.5": 200,
		"application/json":                        406,
		"application/taxii+json;version=2.0":      406,
		"application/taxii+json;version=2.1;q=0":  406,
		"application/stix+json;version=2.1":       406,
	} {
		r := n.do("GET", root+"collections/", "bob", nil, "Accept", accept)
		if r.code != want {
			t.Errorf("Accept %q: %d, want %d", accept, r.code, want)
		}
		if want == 406 {
			wantError(t, r, 406)
		}
	}
	obj := taxiitest.Indicator(1, taxiitest.Created(), intel.MarkingTLP2Green)
	for ct, want := range map[string]int{
		"application/taxii+json;version=2.1": 202,
		"application/taxii+json":             202,
		"application/json":                   415,
		"application/stix+json;version=2.1":  415,
		"application/taxii+json;version=2.0": 415,
	} {
		r := n.do("POST", root+"collections/shared/objects/", "alice", envelope(obj), "Content-Type", ct)
		if r.code != want {
			t.Errorf("Content-Type %q: %d, want %d: %s", ct, r.code, want, r.body)
		}
		if want == 415 {
			wantError(t, r, 415)
		}
	}
}

func TestCollectionsAccess(t *testing.T) {
	n := newNode(t, nil)
	list := func(partner string) map[string][2]bool {
		r := n.get(root+"collections/", partner)
		var body struct {
			Collections []taxii.CollectionResource `json:"collections"`
		}
		r.json(t, &body)
		out := map[string][2]bool{}
		for _, c := range body.Collections {
			out[c.ID] = [2]bool{c.CanRead, c.CanWrite}
			if !slices.Equal(c.MediaTypes, []string{taxii.StixMediaType}) {
				t.Errorf("media types %v", c.MediaTypes)
			}
		}
		return out
	}
	if got := fmt.Sprint(list("alice")); got != "map[amber:[true true] mixed:[true true] private:[true true] shared:[true true]]" {
		t.Errorf("alice sees %s", got)
	}
	if got := fmt.Sprint(list("bob")); got != "map[amber:[true false] mixed:[true false] shared:[true false]]" {
		t.Errorf("bob sees %s", got)
	}
	if got := fmt.Sprint(list("carol")); got != "map[mixed:[true false] shared:[true false]]" {
		t.Errorf("carol sees %s", got)
	}
	var c taxii.CollectionResource
	r := n.get(root+"collections/amber/", "bob")
	r.json(t, &c)
	if r.code != 200 || c.ID != "amber" || !c.CanRead || c.CanWrite {
		t.Errorf("bob's view of amber: %d %+v", r.code, c)
	}
	wantError(t, n.get(root+"collections/nope/", "bob"), http.StatusNotFound)
	wantError(t, n.get(root+"collections/nope/objects/", "bob"), http.StatusNotFound)

	// Carol may not read amber at all; bob may read but not write.
	wantError(t, n.get(root+"collections/amber/", "carol"), http.StatusForbidden)
	wantError(t, n.get(root+"collections/amber/objects/", "carol"), http.StatusForbidden)
	wantError(t, n.get(root+"collections/amber/manifest/", "carol"), http.StatusForbidden)
	wantError(t, n.get(root+"collections/amber/objects/"+taxiitest.ID("indicator", 1)+"/versions/", "carol"), http.StatusForbidden)
	wantError(t, n.do("POST", root+"collections/amber/objects/", "bob", envelope(taxiitest.Observable(1))), http.StatusForbidden)
	wantError(t, n.do("DELETE", root+"collections/amber/objects/"+taxiitest.ID("ipv4-addr", 1)+"/", "bob", nil), http.StatusForbidden)

	denied := n.audit.find(taxii.ActionDenied, "carol")
	if len(denied) != 4 || denied[0].Collection != "amber" || denied[1].Resource != "objects" || denied[2].Resource != "manifest" || denied[0].Reason == "" {
		t.Errorf("carol's denials: %+v", denied)
	}
	if denied := n.audit.find(taxii.ActionDenied, "bob"); len(denied) != 2 || denied[0].Reason != "no write access" {
		t.Errorf("bob's denials: %+v", denied)
	}
	if len(n.audit.find(taxii.ActionServed, "carol")) != 0 {
		t.Error("something was served to carol")
	}
}

func TestAddAndStatus(t *testing.T) {
	n := newNode(t, nil)
	good := [][]byte{
		taxiitest.Indicator(1, taxiitest.Created(), intel.MarkingTLP2Green),
		taxiitest.Observable(2),
		[]byte(`{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da","created":"2017-01-20T00:00:00.000Z","definition_type":"tlp","name":"TLP:GREEN","definition":{"tlp":"green"}}`),
		[]byte(`{"type":"x-acme-thing","spec_version":"2.1","id":"x-acme-thing--6ba7b810-9dad-11d1-80b4-00c04fd430c8","created":"2025-01-01T00:00:00Z","modified":"2025-01-02T00:00:00Z"}`),
	}
	bad := map[string][]byte{
		"type is required":                  []byte(`{"id":"indicator--6ba7b810-9dad-41d1-80b4-00c04fd430c8"}`),
		"not a UUID":                        []byte(`{"type":"indicator","spec_version":"2.1","id":"indicator--123","created":"2025-01-01T00:00:00Z","modified":"2025-01-01T00:00:00Z"}`),
		"must be malware--<uuid>":           []byte(`{"type":"malware","spec_version":"2.1","id":"indicator--6ba7b810-9dad-41d1-80b4-00c04fd430c8","created":"2025-01-01T00:00:00Z","modified":"2025-01-01T00:00:00Z"}`),
		"spec_version is required":          []byte(`{"type":"malware","id":"malware--6ba7b810-9dad-41d1-80b4-00c04fd430c8","created":"2025-01-01T00:00:00Z","modified":"2025-01-01T00:00:00Z"}`),
		"only 2.1":                          []byte(`{"type":"malware","spec_version":"2.0","id":"malware--6ba7b810-9dad-41d1-80b4-00c04fd430c8","created":"2025-01-01T00:00:00Z","modified":"2025-01-01T00:00:00Z"}`),
		"created and modified are required": []byte(`{"type":"malware","spec_version":"2.1","id":"malware--6ba7b810-9dad-41d1-80b4-00c04fd430c8","created":"2025-01-01T00:00:00Z"}`),
		"not an RFC 3339":                   []byte(`{"type":"malware","spec_version":"2.1","id":"malware--6ba7b810-9dad-41d1-80b4-00c04fd430c8","created":"yesterday","modified":"2025-01-01T00:00:00Z"}`),
		"wrong JSON type":                   []byte(`{"type":7}`),
		"not a JSON object":                 []byte(`[1,2]`),
	}
	all := slices.Clone(good)
	for _, b := range bad {
		all = append(all, b)
	}
	// amber names alice as a reader, so she may read back the unmarked.
	r := n.do("POST", root+"collections/amber/objects/", "alice", envelope(all...))
	if r.code != http.StatusAccepted || r.header.Get("Content-Type") != taxii.MediaType {
		t.Fatalf("post: %d %s", r.code, r.body)
	}
	var st taxii.Status
	r.json(t, &st)
	if st.Status != "complete" || st.TotalCount != len(all) || st.SuccessCount != len(good) || st.FailureCount != len(bad) || st.PendingCount != 0 || st.ID == "" {
		t.Fatalf("status: %s", r.body)
	}
	if st.Successes[0].ID != taxiitest.ID("indicator", 1) || st.Successes[0].Version != "2025-03-01T12:00:00.000Z" {
		t.Errorf("first success: %+v", st.Successes[0])
	}
	for want := range bad {
		if !slices.ContainsFunc(st.Failures, func(d taxii.StatusDetail) bool { return strings.Contains(d.Message, want) }) {
			t.Errorf("no failure says %q: %+v", want, st.Failures)
		}
	}
	ids, _, _ := n.objects("amber", "alice", "match[version]=all")
	if len(ids) != len(good) {
		t.Errorf("stored %d objects, want %d", len(ids), len(good))
	}

	r = n.get(root+"status/"+st.ID+"/", "alice")
	var again taxii.Status
	r.json(t, &again)
	if r.code != 200 || again.ID != st.ID || again.SuccessCount != len(good) || len(again.Failures) != len(bad) {
		t.Errorf("status later: %d %s", r.code, r.body)
	}
	wantError(t, n.get(root+"status/"+st.ID+"/", "bob"), http.StatusNotFound)
	wantError(t, n.get(root+"status/nope/", "alice"), http.StatusNotFound)

	// A STIX bundle is accepted as an envelope.
	bundle := fmt.Appendf(nil, `{"type":"bundle","id":"bundle--6ba7b810-9dad-41d1-80b4-00c04fd430c8","objects":[%s]}`, taxiitest.Observable(3))
	if r := n.do("POST", root+"collections/shared/objects/", "alice", bundle); r.code != http.StatusAccepted {
		t.Errorf("bundle: %d %s", r.code, r.body)
	}
	if added := n.audit.find(taxii.ActionAdded, "alice"); len(added) != 2 || len(added[0].ObjectIDs) != len(good) {
		t.Errorf("adds audited: %+v", added)
	}

	// The node's own producers add through the same checks.
	local, err := n.taxii.AddObjects(context.Background(), "shared", []json.RawMessage{taxiitest.Observable(4), json.RawMessage(`{"type":"x"}`)})
	if err != nil || local.SuccessCount != 1 || local.FailureCount != 1 {
		t.Errorf("local add: %+v %v", local, err)
	}
	if len(n.audit.find(taxii.ActionAdded, taxii.LocalPartner)) != 1 {
		t.Error("local add not audited")
	}
	if _, err := n.taxii.AddObjects(context.Background(), "nope", nil); err == nil {
		t.Error("added to a missing collection")
	}
}

func TestMalformedAndTooLarge(t *testing.T) {
	n := newNode(t, func(c *taxii.Config) { c.MaxContentLength = 2048 })
	for _, body := range []string{`not json`, `{"objects":5}`, `{"objects":[]}`, `{}`, `{"objects":[{"type":"indicator"}]`} {
		wantError(t, n.do("POST", root+"collections/shared/objects/", "alice", []byte(body)), http.StatusBadRequest)
	}
	var objs [][]byte
	for i := range 40 {
		objs = append(objs, taxiitest.Observable(i))
	}
	big := envelope(objs...)
	if len(big) <= 2048 {
		t.Fatalf("test body is only %d bytes", len(big))
	}
	wantError(t, n.do("POST", root+"collections/shared/objects/", "alice", big), http.StatusRequestEntityTooLarge)

	// Without a Content-Length, the limit applies while reading.
	req, _ := http.NewRequest("POST", n.srv.URL+root+"collections/shared/objects/", io.MultiReader(bytes.NewReader(big)))
	req.Header.Set("Content-Type", taxii.MediaType)
	req.Header.Set("Authorization", "Bearer "+n.keys["alice"])
	req.ContentLength = -1
	resp, err := n.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked: %d", resp.StatusCode)
	}
	if ids, _, _ := n.objects("shared", "alice", ""); len(ids) != 0 {
		t.Errorf("%d objects stored from refused requests", len(ids))
	}

	for _, q := range []string{"limit=0", "limit=x", "added_after=yesterday", "next=garbage", "match[version]=newest", "limit=1&limit=2"} {
		wantError(t, n.get(root+"collections/shared/objects/?"+q, "bob"), http.StatusBadRequest)
	}
}

func TestPagination(t *testing.T) {
	n := newNode(t, nil)
	var objs [][]byte
	for i := range 45 {
		if i%5 == 0 {
			objs = append(objs, taxiitest.Observable(i))
		} else {
			objs = append(objs, taxiitest.Indicator(i, taxiitest.Created(), intel.MarkingTLP2Clear))
		}
	}
	// Unmarked observables are AMBER by default: bob is named in mixed.
	n.post("mixed", objs...)

	// Follow next: MaxPageSize caps the limit at 20.
	var got []string
	var lasts []string
	q := "limit=100"
	for i := 0; ; i++ {
		ids, p, r := n.objects("mixed", "bob", q)
		if len(ids) > 20 {
			t.Fatalf("page of %d", len(ids))
		}
		first, last := r.header.Get("X-TAXII-Date-Added-First"), r.header.Get("X-TAXII-Date-Added-Last")
		if first == "" || last == "" || first > last || (len(lasts) > 0 && first <= lasts[len(lasts)-1]) {
			t.Fatalf("page %d: date headers %q %q after %v", i, first, last, lasts)
		}
		lasts = append(lasts, last)
		got = append(got, ids...)
		if !p.More {
			if p.Next != "" {
				t.Error("next on the last page")
			}
			break
		}
		if p.Next == "" {
			t.Fatal("more without next")
		}
		q = "limit=100&next=" + url.QueryEscape(p.Next)
	}
	if len(got) != 45 || len(lasts) != 3 {
		t.Fatalf("paged %d objects in %d pages", len(got), len(lasts))
	}
	for i, id := range got {
		if !strings.Contains(id, fmt.Sprintf("%012x", i)) {
			t.Fatalf("object %d is %s: not in date_added order", i, id)
		}
	}

	// added_after from the first page's last date gives the rest.
	ids, p, _ := n.objects("mixed", "bob", "limit=10&added_after="+url.QueryEscape(lasts[0]))
	if len(ids) != 10 || !p.More || ids[0] != got[20] {
		t.Errorf("added_after: %d objects from %s, more %v", len(ids), ids[0], p.More)
	}
	if ids, p, r := n.objects("mixed", "bob", "added_after="+url.QueryEscape(lasts[2])); len(ids) != 0 || p.More || r.header.Get("X-TAXII-Date-Added-First") != "" {
		t.Errorf("after the end: %v %+v", ids, p)
	}

	// Filters.
	if ids, _, _ := n.objects("mixed", "bob", "match[type]=ipv4-addr"); len(ids) != 9 {
		t.Errorf("match[type]: %d", len(ids))
	}
	if ids, _, _ := n.objects("mixed", "bob", "match[type]=ipv4-addr,indicator&limit=5"); len(ids) != 5 {
		t.Errorf("match[type] two types: %d", len(ids))
	}
	id3, id7 := taxiitest.ID("indicator", 3), taxiitest.ID("indicator", 7)
	if ids, _, _ := n.objects("mixed", "bob", "match[id]="+id7+","+id3); !slices.Equal(ids, []string{id3, id7}) {
		t.Errorf("match[id]: %v", ids)
	}
	if ids, _, _ := n.objects("mixed", "bob", "match[id]="+id3+"&match[id]="+id7); len(ids) != 2 {
		t.Errorf("match[id] repeated: %v", ids)
	}
	if ids, _, _ := n.objects("mixed", "bob", "match[spec_version]=2.0"); len(ids) != 0 {
		t.Errorf("match[spec_version]=2.0: %d", len(ids))
	}
	if ids, _, _ := n.objects("mixed", "bob", "match[spec_version]=2.1&match[type]=ipv4-addr"); len(ids) != 9 {
		t.Errorf("match[spec_version]=2.1: %d", len(ids))
	}

	// The manifest pages the same way.
	r := n.get(root+"collections/mixed/manifest/?limit=5&match[type]=indicator", "bob")
	var m struct {
		More    bool   `json:"more"`
		Next    string `json:"next"`
		Objects []struct {
			ID        string `json:"id"`
			DateAdded string `json:"date_added"`
			Version   string `json:"version"`
			MediaType string `json:"media_type"`
		} `json:"objects"`
	}
	r.json(t, &m)
	if r.code != 200 || len(m.Objects) != 5 || !m.More || m.Next == "" || m.Objects[0].ID != taxiitest.ID("indicator", 1) ||
		m.Objects[0].Version != "2025-03-01T12:00:00.000Z" || m.Objects[0].MediaType != taxii.StixMediaType ||
		r.header.Get("X-TAXII-Date-Added-First") != m.Objects[0].DateAdded {
		t.Errorf("manifest: %d %s", r.code, r.body)
	}
	r = n.get(root+"collections/mixed/manifest/?limit=5&match[type]=indicator&next="+url.QueryEscape(m.Next), "bob")
	r.json(t, &m)
	if len(m.Objects) != 5 || m.Objects[0].ID != taxiitest.ID("indicator", 7) {
		t.Errorf("manifest page 2: %s", r.body)
	}

	if served := n.audit.find(taxii.ActionServed, "bob"); len(served) == 0 || len(served[0].ObjectIDs) != 20 || served[0].Collection != "mixed" || served[0].Resource != "objects" {
		t.Errorf("served batches audited: %+v", served)
	}
}

func TestVersionsAndReplay(t *testing.T) {
	n := newNode(t, nil)
	c := taxiitest.Created()
	v1, v2, v3 := c.Add(time.Minute), c.Add(2*time.Minute), c.Add(3*time.Minute)
	ind := func(v time.Time) []byte { return taxiitest.Indicator(1, v, intel.MarkingTLP2Green) }
	id := taxiitest.ID("indicator", 1)
	n.post("shared", ind(v2), taxiitest.Indicator(2, v1, intel.MarkingTLP2Green))
	n.post("shared", ind(v3))
	_, _, r := n.objects("shared", "bob", "")
	afterV3 := r.header.Get("X-TAXII-Date-Added-Last")
	// A partner replays an older version, and v3 again.
	st := n.post("shared", ind(v1), ind(v3))
	if st.SuccessCount != 2 {
		t.Errorf("replay status: %+v", st)
	}

	modified := func(q string) []string {
		r := n.get(root+"collections/shared/objects/"+id+"/?"+q, "bob")
		if r.code != http.StatusOK {
			t.Fatalf("object ?%s: %d %s", q, r.code, r.body)
		}
		var p page
		r.json(t, &p)
		var out []string
		for _, o := range p.Objects {
			var h struct {
				Modified string `json:"modified"`
			}
			json.Unmarshal(o, &h)
			out = append(out, h.Modified[14:16])
		}
		return out
	}
	for q, want := range map[string]string{
		"":                          "[03]",
		"match[version]=last":       "[03]",
		"match[version]=first":      "[01]",
		"match[version]=all":        "[02 03 01]",
		"match[version]=first,last": "[03 01]",
		"match[version]=" + url.QueryEscape(taxii.FormatTimestamp(v2)): "[02]",
		"match[version]=2025-03-01T12:02:00Z":                          "[02]",
		"match[version]=all&limit=2":                                   "[02 03]",
	} {
		if got := fmt.Sprint(modified(q)); got != want {
			t.Errorf("?%s: %s, want %s", q, got, want)
		}
	}
	// Listing: the last version only, even though v1 was added last.
	ids, _, _ := n.objects("shared", "bob", "")
	if len(ids) != 2 {
		t.Errorf("objects: %v", ids)
	}
	if ids, _, _ := n.objects("shared", "bob", "added_after="+url.QueryEscape(afterV3)); len(ids) != 0 {
		t.Errorf("the replayed old version was listed as new: %v", ids)
	}
	if ids, _, _ := n.objects("shared", "bob", "match[version]=all"); len(ids) != 4 {
		t.Errorf("all versions: %d, want 4 (v3 not stored twice)", len(ids))
	}

	r = n.get(root+"collections/shared/objects/"+id+"/versions/", "bob")
	var vs struct {
		More     bool     `json:"more"`
		Versions []string `json:"versions"`
	}
	r.json(t, &vs)
	want := []string{taxii.FormatTimestamp(v1), taxii.FormatTimestamp(v2), taxii.FormatTimestamp(v3)}
	if r.code != 200 || vs.More || !slices.Equal(vs.Versions, want) || r.header.Get("X-TAXII-Date-Added-First") == "" {
		t.Errorf("versions: %d %s", r.code, r.body)
	}
	r = n.get(root+"collections/shared/objects/"+id+"/versions/?limit=2", "bob")
	var vp struct {
		More     bool     `json:"more"`
		Next     string   `json:"next"`
		Versions []string `json:"versions"`
	}
	r.json(t, &vp)
	if !vp.More || len(vp.Versions) != 2 {
		t.Fatalf("versions page: %s", r.body)
	}
	r = n.get(root+"collections/shared/objects/"+id+"/versions/?limit=2&next="+url.QueryEscape(vp.Next), "bob")
	r.json(t, &vp)
	if vp.More || !slices.Equal(vp.Versions, want[2:]) {
		t.Errorf("versions page 2: %s", r.body)
	}
	wantError(t, n.get(root+"collections/shared/objects/"+taxiitest.ID("indicator", 99)+"/versions/", "bob"), http.StatusNotFound)
	wantError(t, n.get(root+"collections/shared/objects/"+taxiitest.ID("indicator", 99)+"/", "bob"), http.StatusNotFound)
}

func TestDelete(t *testing.T) {
	n := newNode(t, nil)
	c := taxiitest.Created()
	id := taxiitest.ID("indicator", 1)
	n.post("shared", taxiitest.Indicator(1, c, intel.MarkingTLP2Green), taxiitest.Indicator(1, c.Add(time.Minute), intel.MarkingTLP2Green))
	path := root + "collections/shared/objects/" + id + "/"
	if r := n.do("DELETE", path+"?match[version]=last", "alice", nil); r.code != http.StatusOK {
		t.Fatalf("delete last: %d %s", r.code, r.body)
	}
	r := n.get(path, "bob")
	var p page
	r.json(t, &p)
	if r.code != 200 || len(p.Objects) != 1 || !bytes.Contains(p.Objects[0], []byte(`"modified":"2025-03-01T12:00:00.000Z"`)) {
		t.Errorf("after deleting the last version: %d %s", r.code, r.body)
	}
	if r := n.do("DELETE", path, "alice", nil); r.code != http.StatusOK {
		t.Fatalf("delete: %d %s", r.code, r.body)
	}
	wantError(t, n.get(path, "bob"), http.StatusNotFound)
	wantError(t, n.do("DELETE", path, "alice", nil), http.StatusNotFound)
	// Two deletes changed the collection; the refused one did not.
	if d := n.taxii.Deletions(); d != 2 {
		t.Errorf("%d deletions counted", d)
	}
	if d := n.audit.find(taxii.ActionDeleted, "alice"); len(d) != 2 || d[0].ObjectIDs[0] != id {
		t.Errorf("deletes audited: %+v", d)
	}
}

func TestTLP(t *testing.T) {
	n := newNode(t, nil)
	c := taxiitest.Created()
	marked := map[string][]string{
		"red":          {intel.MarkingTLP2Red},
		"red1":         {intel.MarkingTLP1Red},
		"green+red":    {intel.MarkingTLP2Green, intel.MarkingTLP2Red},
		"amber":        {intel.MarkingTLP2Amber},
		"amber1":       {intel.MarkingTLP1Amber},
		"amber+strict": {intel.MarkingTLP2AmberStrict},
		"unmarked":     nil,
		"green":        {intel.MarkingTLP2Green},
		"green1":       {intel.MarkingTLP1Green},
		"clear":        {intel.MarkingTLP2Clear},
		"white":        {intel.MarkingTLP1White},
		"other":        {"marking-definition--6ba7b810-9dad-41d1-80b4-00c04fd430c8"},
	}
	names := make([]string, 0, len(marked))
	for name := range marked {
		names = append(names, name)
	}
	slices.Sort(names)
	byID := map[string]string{}
	var objs [][]byte
	for i, name := range names {
		objs = append(objs, taxiitest.Indicator(i, c, marked[name]...))
		byID[taxiitest.ID("indicator", i)] = name
	}
	n.post("mixed", objs...)
	n.post("shared", objs...)

	served := func(coll, partner string) string {
		ids, _, _ := n.objects(coll, partner, "")
		var out []string
		for _, id := range ids {
			out = append(out, byID[id])
		}
		slices.Sort(out)
		return fmt.Sprint(out)
	}
	// bob is named in mixed; carol reads it only as everyone.
	for _, c := range []struct{ coll, partner, want string }{
		{"mixed", "bob", "[amber amber+strict amber1 clear green green1 other unmarked white]"},
		{"mixed", "carol", "[clear green green1 white]"},
		{"shared", "bob", "[clear green green1 white]"},
		{"mixed", "alice", "[clear green green1 white]"}, // alice writes mixed but is not named in CanRead
	} {
		if got := served(c.coll, c.partner); got != c.want {
			t.Errorf("%s to %s: %s, want %s", c.coll, c.partner, got, c.want)
		}
	}
	redID := taxiitest.ID("indicator", slices.Index(names, "red"))
	wantError(t, n.get(root+"collections/mixed/objects/"+redID+"/", "bob"), http.StatusNotFound)
	wantError(t, n.get(root+"collections/mixed/objects/"+redID+"/versions/", "bob"), http.StatusNotFound)
	r := n.get(root+"collections/mixed/manifest/", "bob")
	if r.code != 200 || bytes.Contains(r.body, []byte(redID)) {
		t.Errorf("manifest shows RED: %s", r.body)
	}

	// Nothing RED was ever served, and every withholding was audited.
	n.audit.mu.Lock()
	defer n.audit.mu.Unlock()
	withheld := 0
	for _, e := range n.audit.events {
		for _, id := range e.ObjectIDs {
			name := byID[id]
			if e.Action == taxii.ActionServed && strings.Contains(name, "red") {
				t.Errorf("%s served to %s", name, e.Partner)
			}
			if e.Action == taxii.ActionWithheld && e.Partner == "carol" {
				withheld++
			}
		}
	}
	if withheld != 8 {
		t.Errorf("%d objects withheld from carol audited, want 8", withheld)
	}
}

func TestTLPPolicyUnmarked(t *testing.T) {
	coll := taxii.Collection{ID: "c", Title: "c", CanRead: []string{taxii.Everyone, "bob"}}
	o := taxii.Object{}
	ctx := context.Background()
	if (taxii.TLPPolicy{}).Allow(ctx, "carol", coll, o) || !(taxii.TLPPolicy{}).Allow(ctx, "bob", coll, o) {
		t.Error("unmarked objects are not AMBER by default")
	}
	if !(taxii.TLPPolicy{Unmarked: intel.TLPGreen}).Allow(ctx, "carol", coll, o) {
		t.Error("Unmarked: GREEN does not serve everyone")
	}
	if (taxii.TLPPolicy{Unmarked: intel.TLPRed}).Allow(ctx, "bob", coll, o) {
		t.Error("Unmarked: RED serves")
	}
	if (taxii.TLPPolicy{}).Allow(ctx, "mallory", coll, taxii.Object{Markings: []string{intel.MarkingTLP2Clear}}) != true {
		t.Error("CLEAR not served to a reader admitted by *")
	}
	if (taxii.TLPPolicy{}).Allow(ctx, "x", taxii.Collection{ID: "c", CanWrite: []string{"x"}}, taxii.Object{Markings: []string{intel.MarkingTLP2Clear}}) {
		t.Error("CLEAR served to a partner that cannot read the collection")
	}
}

// TestDateAddedMonotonic stops the clock: date_added must still increase.
func TestDateAddedMonotonic(t *testing.T) {
	frozen := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	n := newNode(t, func(c *taxii.Config) { c.Now = func() time.Time { return frozen } })
	for i := range 3 {
		n.post("mixed", taxiitest.Observable(2*i), taxiitest.Observable(2*i+1))
	}
	r := n.get(root+"collections/mixed/manifest/", "bob")
	var m struct {
		Objects []struct {
			DateAdded string `json:"date_added"`
		} `json:"objects"`
	}
	r.json(t, &m)
	if len(m.Objects) != 6 {
		t.Fatalf("manifest: %s", r.body)
	}
	for i := 1; i < len(m.Objects); i++ {
		if m.Objects[i].DateAdded <= m.Objects[i-1].DateAdded {
			t.Fatalf("date_added not increasing: %s", r.body)
		}
	}
	if m.Objects[0].DateAdded != "2025-06-01T00:00:00.000000Z" {
		t.Errorf("first date_added %s", m.Objects[0].DateAdded)
	}
}

// TestAuditFailure: what cannot be audited is not served.
func TestAuditFailure(t *testing.T) {
	n := newNode(t, nil)
	n.post("shared", taxiitest.Indicator(1, taxiitest.Created(), intel.MarkingTLP2Green))
	n.audit.fail = true
	r := n.get(root+"collections/shared/objects/", "bob")
	if r.code != http.StatusInternalServerError || bytes.Contains(r.body, []byte("indicator--")) {
		t.Errorf("served without audit: %d %s", r.code, r.body)
	}
	if r := n.get(root+"collections/amber/objects/", "carol"); r.code != http.StatusInternalServerError {
		t.Errorf("denial without audit: %d", r.code)
	}
}

func TestParseObject(t *testing.T) {
	for _, c := range []struct {
		raw string
		ok  bool
	}{
		{`{"type":"ipv4-addr","id":"ipv4-addr--6ba7b810-9dad-41d1-80b4-00c04fd430c8","value":"1.2.3.4"}`, true},
		{`{"type":"ipv4-addr","spec_version":"2.0","id":"ipv4-addr--6ba7b810-9dad-41d1-80b4-00c04fd430c8"}`, false},
		{`{"type":"cryptocurrency-wallet","spec_version":"2.1","id":"cryptocurrency-wallet--6ba7b810-9dad-51d1-80b4-00c04fd430c8","value":"bc1q"}`, true},
		{`{"type":"indicator","spec_version":"2.1","id":"indicator--6ba7b810-9dad-41d1-80b4-00c04fd430c8","created":"2025-01-02T00:00:00Z","modified":"2025-01-01T00:00:00Z"}`, false},
		{`{"type":"In-dicator","id":"In-dicator--6ba7b810-9dad-41d1-80b4-00c04fd430c8"}`, false},
		{`{"type":"a--b","id":"a--b--6ba7b810-9dad-41d1-80b4-00c04fd430c8"}`, false},
		{`{"type":"bundle","id":"bundle--6ba7b810-9dad-41d1-80b4-00c04fd430c8"}`, false},
		{`{"type":"indicator","spec_version":"2.1","id":"indicator--6ba7b810-9dad-41d1-80b4-00c04fd430c8","created":"0001-01-01T00:00:00Z","modified":"2025-01-01T00:00:00Z"}`, false},
	} {
		if _, err := taxii.ParseObject([]byte(c.raw)); (err == nil) != c.ok {
			t.Errorf("%s: %v", c.raw, err)
		}
	}
}
