package auth_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/intel"
)

func TestRolesAreClosed(t *testing.T) {
	for _, ok := range []string{"screen", "trace", "admin", "metrics", "taxii:read", "taxii:write", "taxii:publish", " Screen "} {
		if _, err := auth.ParseRole(ok); err != nil {
			t.Errorf("ParseRole(%q): %v", ok, err)
		}
	}
	// Any "domain:verb" string used to pass; only the documented roles do now.
	for _, bad := range []string{"", "intel:read", "feed:read", "taxii:admin", "screen,trace", "root"} {
		if _, err := auth.ParseRole(bad); err == nil {
			t.Errorf("ParseRole(%q) accepted an unknown role", bad)
		} else if !strings.Contains(err.Error(), "taxii:publish") {
			t.Errorf("ParseRole(%q): error does not list the roles: %v", bad, err)
		}
	}
	if _, _, err := auth.NewKey("p", []auth.Role{"intel:read"}, 0, time.Now()); err == nil {
		t.Error("NewKey accepted an unknown role")
	}
	if _, _, err := auth.NewKey("p", []auth.Role{auth.RoleScreen}, intel.TLP(9), time.Now()); err == nil {
		t.Error("NewKey accepted a clearance that is no TLP level")
	}
}

func TestClearance(t *testing.T) {
	cases := []struct {
		roles []auth.Role
		set   intel.TLP
		want  intel.TLP
	}{
		{[]auth.Role{auth.RoleScreen}, 0, intel.TLPGreen},
		{[]auth.Role{auth.RoleTAXIIRead, auth.RoleTAXIIWrite}, 0, intel.TLPGreen},
		{[]auth.Role{auth.RoleScreen, auth.RoleTrace}, 0, intel.TLPAmber},
		{[]auth.Role{auth.RoleAdmin}, 0, intel.TLPAmber},
		{[]auth.Role{auth.RoleScreen}, intel.TLPRed, intel.TLPRed},
		{[]auth.Role{auth.RoleAdmin}, intel.TLPClear, intel.TLPClear},
	}
	for _, c := range cases {
		k, _, err := auth.NewKey("k", c.roles, c.set, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if got := k.MaxTLP(); got != c.want {
			t.Errorf("roles %v clearance %v: MaxTLP %v, want %v", c.roles, c.set, got, c.want)
		}
	}
}

func TestGuard(t *testing.T) {
	now := time.Now()
	screen, screenSecret, err := auth.NewKey("exchange", []auth.Role{auth.RoleScreen}, 0, now)
	if err != nil {
		t.Fatal(err)
	}
	gone, goneSecret, err := auth.NewKey("gone", []auth.Role{auth.RoleScreen}, 0, now)
	if err != nil {
		t.Fatal(err)
	}
	gone.Revoked = true
	ring := auth.NewKeyring([]auth.Key{screen, gone})
	if ring.Len() != 1 {
		t.Fatalf("keyring holds %d active keys, want 1", ring.Len())
	}
	g := &auth.Guard{Keys: ring}
	check := func(basic bool, role auth.Role, set func(*http.Request)) (*http.Request, *auth.Refusal, http.Header) {
		r := httptest.NewRequest("GET", "/x", nil)
		set(r)
		w := httptest.NewRecorder()
		r, f := g.Check(w, r, basic, role)
		return r, f, w.Header()
	}
	bearer := func(s string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+s) }
	}
	if r, f, _ := check(false, auth.RoleScreen, bearer(screenSecret)); f != nil || auth.KeyFrom(r.Context()).Name != "exchange" || auth.Actor(r.Context()) != "exchange" {
		t.Errorf("a valid key was refused: %+v", f)
	}
	if r, f, _ := check(false, auth.RoleTrace, bearer(screenSecret)); f == nil || f.Status != http.StatusForbidden || auth.KeyFrom(r.Context()) == nil {
		t.Errorf("a key without the role: %+v (a 403 carries the key)", f)
	}
	if _, f, h := check(false, auth.RoleScreen, bearer(goneSecret)); f == nil || f.Status != http.StatusUnauthorized || !strings.Contains(h.Get("WWW-Authenticate"), "invalid_token") {
		t.Errorf("a revoked key: %+v %v", f, h)
	}
	if r, f, _ := check(false, auth.RoleScreen, func(*http.Request) {}); f == nil || f.Status != http.StatusUnauthorized || auth.KeyFrom(r.Context()) != nil || auth.Actor(r.Context()) != "unknown" {
		t.Errorf("no key: %+v", f)
	}
	// Basic: the user name must be the key's name, and Basic counts only
	// where the route allows it.
	if _, f, _ := check(true, auth.RoleScreen, func(r *http.Request) { r.SetBasicAuth("exchange", screenSecret) }); f != nil {
		t.Errorf("Basic with the key's name: %+v", f)
	}
	if _, f, _ := check(true, auth.RoleScreen, func(r *http.Request) { r.SetBasicAuth("someone", screenSecret) }); f == nil || f.Status != http.StatusUnauthorized {
		t.Errorf("Basic with another user name: %+v", f)
	}
	if _, f, _ := check(false, auth.RoleScreen, func(r *http.Request) { r.SetBasicAuth("exchange", screenSecret) }); f == nil {
		t.Error("Basic accepted on a route that does not take it")
	}
}
