package taxii_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/tracehound/tracehound/taxii"
)

func basic(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// wantChallenge checks that a 401 says how to authenticate, Basic
// included, as TAXII 2.1 and RFC 9110 require.
func wantChallenge(t *testing.T, r response) {
	t.Helper()
	got := strings.Join(r.header.Values("WWW-Authenticate"), "; ")
	if !strings.Contains(got, `Basic realm=`) || !strings.Contains(got, `Bearer realm=`) {
		t.Errorf("WWW-Authenticate %q, want Basic and Bearer challenges", got)
	}
}

func TestRefusalsAreTAXIIErrors(t *testing.T) {
	n := newNode(t, nil)
	for _, tc := range []struct {
		name, method, path string
		hdr                []string
	}{
		{"no credentials", "GET", "/taxii2/", nil},
		{"no credentials on objects", "GET", root + "collections/shared/objects/", nil},
		{"unknown bearer key", "GET", root + "collections/", []string{"Authorization", "Bearer th_not-a-key"}},
		{"unknown X-API-Key", "POST", root + "collections/shared/objects/", []string{"X-API-Key", "th_not-a-key"}},
		{"malformed basic", "GET", root, []string{"Authorization", "Basic !!!"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := n.do(tc.method, tc.path, "", nil, tc.hdr...)
			wantError(t, r, http.StatusUnauthorized)
			wantChallenge(t, r)
			var e taxii.Error
			r.json(t, &e)
			if e.ErrorID != r.header.Get("X-Request-Id") || e.Description == "" {
				t.Errorf("error message %+v, request id %q", e, r.header.Get("X-Request-Id"))
			}
		})
	}

	// A key without the TAXII role is refused in TAXII's format, and the
	// refusal is audited under the partner's name.
	r := n.get(root+"collections/shared/objects/", "eve")
	wantError(t, r, http.StatusForbidden)
	if r.header.Get("WWW-Authenticate") != "" {
		t.Error("a 403 carries a challenge")
	}
	denied := n.audit.find(taxii.ActionDenied, "eve")
	if len(denied) != 1 || denied[0].Collection != "shared" || denied[0].Resource != "objects" || denied[0].Reason != "no "+string(taxii.RoleRead)+" role" {
		t.Errorf("eve's denials: %+v", denied)
	}
	// So is a read-only partner posting.
	wantError(t, n.do("POST", root+"collections/shared/objects/", "carol", envelope([]byte(`{}`))), http.StatusForbidden)
	if denied := n.audit.find(taxii.ActionDenied, "carol"); len(denied) != 1 || denied[0].Reason != "no "+string(taxii.RoleWrite)+" role" {
		t.Errorf("carol's denials: %+v", denied)
	}

	// A collection without can_read for the partner: TAXII format, audited.
	r = n.get(root+"collections/private/objects/", "bob")
	wantError(t, r, http.StatusForbidden)
	if denied := n.audit.find(taxii.ActionDenied, "bob"); len(denied) != 1 || denied[0].Collection != "private" || denied[0].Reason != "no read access" {
		t.Errorf("bob's denials: %+v", denied)
	}

	// An unknown path under /taxii2/ is a TAXII 404 once authenticated.
	wantError(t, n.get(root+"nothing/here/", "carol"), http.StatusNotFound)
	wantError(t, n.get("/taxii2/nothing", ""), http.StatusUnauthorized)

	// The rest of the API keeps its own format.
	r = n.get("/v1/index", "")
	if r.code != http.StatusUnauthorized || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("API refusal: %d %q", r.code, r.header.Get("Content-Type"))
	}
	var apiErr struct {
		Error struct{ Code string } `json:"error"`
	}
	if err := json.Unmarshal(r.body, &apiErr); err != nil || apiErr.Error.Code != "unauthenticated" {
		t.Errorf("API refusal body %s", r.body)
	}
}

func TestAuditedRefusalFailsClosed(t *testing.T) {
	n := newNode(t, nil)
	n.audit.fail = true
	r := n.get(root+"collections/", "eve")
	wantError(t, r, http.StatusInternalServerError)
}

func TestBasicAuth(t *testing.T) {
	n := newNode(t, nil)
	get := func(path, auth string) response {
		t.Helper()
		return n.do("GET", path, "", nil, "Authorization", auth)
	}
	// The partner's name and its key, as MISP or OpenCTI would send them.
	r := get(root+"collections/", basic("carol", n.keys["carol"]))
	var body struct {
		Collections []taxii.CollectionResource `json:"collections"`
	}
	r.json(t, &body)
	if r.code != http.StatusOK || len(body.Collections) != 2 {
		t.Fatalf("basic carol: %d %s", r.code, r.body)
	}
	// Writes too.
	if r := n.do("POST", root+"collections/shared/objects/", "", envelope([]byte(`{"type":"ipv4-addr","id":"ipv4-addr--ff000000-0000-4000-8000-000000000001","value":"10.9.9.9"}`)),
		"Authorization", basic("alice", n.keys["alice"])); r.code != http.StatusAccepted {
		t.Errorf("basic alice post: %d %s", r.code, r.body)
	}

	for name, auth := range map[string]string{
		"wrong password":          basic("carol", n.keys["carol"]+"x"),
		"password of another key": basic("carol", n.keys["bob"]),
		"unknown user":            basic("mallory", n.keys["carol"]),
		"another partner's name":  basic("alice", n.keys["carol"]),
		"user name alone":         basic("carol", ""),
		"key as user name":        basic(n.keys["carol"], ""),
		"name in wrong case":      basic("Carol", n.keys["carol"]),
	} {
		r := get(root+"collections/", auth)
		wantError(t, r, http.StatusUnauthorized)
		wantChallenge(t, r)
		if strings.Contains(string(r.body), n.keys["carol"]) {
			t.Errorf("%s: the key leaks into the response", name)
		}
	}
	if len(n.audit.find(taxii.ActionServed, "alice")) != 0 {
		t.Error("served to a borrowed name")
	}
	// Basic is TAXII's: the rest of the API does not take it.
	if r := get("/v1/index", basic("alice", n.keys["alice"])); r.code != http.StatusUnauthorized {
		t.Errorf("basic on the API: %d", r.code)
	}
}

func TestClientBasicAuth(t *testing.T) {
	n := newNode(t, nil)
	ctx := t.Context()
	cols, err := taxii.NewClient(n.srv.URL, taxii.DefaultAPIRoot, n.keys["carol"], n.srv.Client()).UseBasicAuth("carol").Collections(ctx)
	if err != nil || len(cols) != 2 {
		t.Fatalf("collections over basic: %+v %v", cols, err)
	}
	_, err = taxii.NewClient(n.srv.URL, taxii.DefaultAPIRoot, n.keys["carol"], n.srv.Client()).UseBasicAuth("bob").Collections(ctx)
	re, ok := errors.AsType[*taxii.ResponseError](err)
	if !ok || re.StatusCode != http.StatusUnauthorized || re.TAXII == nil || re.TAXII.HTTPStatus != "401" {
		t.Fatalf("basic with another partner's name: %v", err)
	}
}

func TestRefusalResources(t *testing.T) {
	n := newNode(t, nil)
	for path, want := range map[string]string{
		"/taxii2/":                            "discovery",
		root:                                  "api root",
		root + "collections/":                 "collections",
		root + "collections/shared/":          "collection",
		root + "collections/shared/manifest/": "manifest",
		root + "status/abc/":                  "status",
	} {
		wantError(t, n.get(path, "eve"), http.StatusForbidden)
		denied := n.audit.find(taxii.ActionDenied, "eve")
		if got := denied[len(denied)-1].Resource; got != want {
			t.Errorf("%s audited as %q, want %q", path, got, want)
		}
	}
}
