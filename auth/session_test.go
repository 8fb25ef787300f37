package auth_test

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/auth"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestSessions(t *testing.T) {
	clk := &clock{t: time.Date(2025, 2, 21, 9, 0, 0, 0, time.UTC)}
	alice, aliceSecret, _ := auth.NewKey("alice", []auth.Role{auth.RoleTrace}, 0, clk.t)
	bob, bobSecret, _ := auth.NewKey("bob", []auth.Role{auth.RoleScreen}, 0, clk.t)
	ring := auth.NewKeyring([]auth.Key{alice, bob})
	s := auth.NewSessions(ring, auth.SessionOptions{Idle: 30 * time.Minute, Max: 2 * time.Hour, Limit: 3, Now: clk.now})
	if _, err := s.Start("th_nothing"); err != auth.ErrSessionKey {
		t.Errorf("unknown key: %v", err)
	}
	a, err := s.Start(aliceSecret)
	if err != nil {
		t.Fatal(err)
	}
	if a.ID == "" || a.CSRF == "" || a.ID == a.CSRF || strings.Contains(a.ID, aliceSecret) || a.Key.Name != "alice" {
		t.Fatalf("session %+v", a)
	}
	if k, csrf, ok := s.Resolve(a.ID); !ok || k.Name != "alice" || csrf != a.CSRF {
		t.Errorf("resolve: %v %v", k, ok)
	}
	if _, _, ok := s.Resolve(a.ID + "x"); ok {
		t.Error("a wrong id resolved")
	}
	// Idle expiry, kept off by activity; the absolute limit holds anyway.
	for range 4 {
		clk.t = clk.t.Add(25 * time.Minute)
		if _, _, ok := s.Resolve(a.ID); !ok {
			t.Fatalf("session ended while in use at %v", clk.t)
		}
	}
	clk.t = clk.t.Add(25 * time.Minute) // 125 minutes after the start
	if _, _, ok := s.Resolve(a.ID); ok {
		t.Error("a session outlived its maximum")
	}
	b, _ := s.Start(bobSecret)
	clk.t = clk.t.Add(31 * time.Minute)
	if _, _, ok := s.Resolve(b.ID); ok {
		t.Error("an idle session lived on")
	}
	// Revoking a key ends its sessions at the next request.
	a, _ = s.Start(aliceSecret)
	b, _ = s.Start(bobSecret)
	alice.Revoked = true
	ring.Reload([]auth.Key{alice, bob})
	if _, _, ok := s.Resolve(a.ID); ok {
		t.Error("a revoked key's session lived on")
	}
	if _, _, ok := s.Resolve(b.ID); !ok {
		t.Error("another key's session ended")
	}
	// A role taken away is taken away from the session too.
	bob.Roles = []auth.Role{auth.RoleMetrics}
	ring.Reload([]auth.Key{bob})
	if k, _, _ := s.Resolve(b.ID); k == nil || k.Has(auth.RoleScreen) {
		t.Errorf("session key after the reload: %+v", k)
	}
	if !s.End(b.ID) || s.End(b.ID) {
		t.Error("end")
	}
	// The table is bounded: the session idle longest goes first.
	var ids []string
	for range 4 {
		x, err := s.Start(bobSecret)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, x.ID)
		clk.t = clk.t.Add(time.Second)
	}
	if s.Len() != 3 {
		t.Errorf("%d sessions held, limit 3", s.Len())
	}
	if _, _, ok := s.Resolve(ids[0]); ok {
		t.Error("the oldest session survived the limit")
	}
	if _, _, ok := s.Resolve(ids[3]); !ok {
		t.Error("the newest session was dropped")
	}
}

func TestSessionCookie(t *testing.T) {
	k, secret, _ := auth.NewKey("alice", []auth.Role{auth.RoleTrace}, 0, time.Now())
	s := auth.NewSessions(auth.NewKeyring([]auth.Key{k}), auth.SessionOptions{})
	sess, _ := s.Start(secret)
	r := httptest.NewRequest("POST", "http://127.0.0.1:8080/v1/session", nil)
	c := s.Cookie(r, sess)
	if c.Name != auth.SessionCookie || !c.HttpOnly || c.Secure || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Value != sess.ID {
		t.Errorf("plain HTTP cookie %+v", c)
	}
	r.TLS = &tls.ConnectionState{}
	c = s.Cookie(r, sess)
	if c.Name != auth.SecureSessionCookie || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
		t.Errorf("TLS cookie %+v", c)
	}
	if cl := auth.ClearCookie(r); cl.MaxAge >= 0 || cl.Value != "" {
		t.Errorf("clear %+v", cl)
	}
}

func TestGuardSession(t *testing.T) {
	k, secret, _ := auth.NewKey("alice", []auth.Role{auth.RoleTrace}, 0, time.Now())
	ring := auth.NewKeyring([]auth.Key{k})
	s := auth.NewSessions(ring, auth.SessionOptions{})
	g := &auth.Guard{Keys: ring, Sessions: s}
	sess, _ := s.Start(secret)
	check := func(method string, role auth.Role, set func(*http.Request)) (*auth.Refusal, *httptest.ResponseRecorder) {
		r := httptest.NewRequest(method, "http://node.example/v1/cases", nil)
		r.AddCookie(&http.Cookie{Name: auth.SessionCookie, Value: sess.ID})
		set(r)
		w := httptest.NewRecorder()
		r, f := g.Check(w, r, false, role)
		if f == nil && auth.KeyFrom(r.Context()).Name != "alice" {
			t.Errorf("%s: no key in the context", method)
		}
		return f, w
	}
	none := func(*http.Request) {}
	token := func(r *http.Request) { r.Header.Set(auth.CSRFHeader, sess.CSRF) }
	for _, c := range []struct {
		name   string
		method string
		role   auth.Role
		set    func(*http.Request)
		status int
		code   string
	}{
		{"read", "GET", auth.RoleTrace, none, 0, ""},
		{"read without the role", "GET", auth.RoleAdmin, none, 403, "forbidden"},
		{"write without token", "POST", auth.RoleTrace, none, 403, "csrf"},
		{"write with a wrong token", "PATCH", auth.RoleTrace, func(r *http.Request) { r.Header.Set(auth.CSRFHeader, sess.CSRF[1:]) }, 403, "csrf"},
		{"write with token", "POST", auth.RoleTrace, token, 0, ""},
		{"write with token, same origin", "DELETE", auth.RoleTrace, func(r *http.Request) { token(r); r.Header.Set("Origin", "http://node.example") }, 0, ""},
		{"write with token, other origin", "POST", auth.RoleTrace, func(r *http.Request) { token(r); r.Header.Set("Origin", "https://evil.example") }, 403, "csrf"},
		{"write with token, null origin", "POST", auth.RoleTrace, func(r *http.Request) { token(r); r.Header.Set("Origin", "null") }, 403, "csrf"},
		{"write with token, cross-site fetch", "POST", auth.RoleTrace, func(r *http.Request) { token(r); r.Header.Set("Sec-Fetch-Site", "cross-site") }, 403, "csrf"},
		// A key sent with the request is checked as ever: no CSRF token
		// is needed, since no browser sends it by itself.
		{"bearer write", "POST", auth.RoleTrace, func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+secret) }, 0, ""},
		{"bad bearer with a good cookie", "GET", auth.RoleTrace, func(r *http.Request) { r.Header.Set("Authorization", "Bearer th_x") }, 401, "unauthenticated"},
	} {
		f, _ := check(c.method, c.role, c.set)
		switch {
		case c.status == 0 && f != nil:
			t.Errorf("%s: refused %+v", c.name, f)
		case c.status != 0 && (f == nil || f.Status != c.status || f.Code != c.code):
			t.Errorf("%s: %+v, want %d %s", c.name, f, c.status, c.code)
		}
	}
	s.End(sess.ID)
	f, w := check("GET", auth.RoleTrace, none)
	if f == nil || f.Status != 401 || !strings.Contains(w.Header().Get("Set-Cookie"), "Max-Age=0") {
		t.Errorf("ended session: %+v %v", f, w.Header())
	}
	// Without sessions the guard ignores cookies.
	plain := &auth.Guard{Keys: ring}
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(&http.Cookie{Name: auth.SessionCookie, Value: sess.ID})
	if _, f := plain.Check(httptest.NewRecorder(), r, false, auth.RoleTrace); f == nil || f.Status != 401 {
		t.Errorf("a guard without sessions: %+v", f)
	}
}
