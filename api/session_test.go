package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/audit"
	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/cases"
	"github.com/tracehound/tracehound/intel"
	"github.com/tracehound/tracehound/store/pebble"
)

// browser is an HTTP client with a cookie jar, as a browser signs in.
type browser struct {
	t      *testing.T
	base   string
	client *http.Client
	csrf   string
	origin string
}

func (b *browser) do(method, path, body string) (*http.Response, string) {
	b.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, b.base+path, rd)
	if b.csrf != "" {
		req.Header.Set(auth.CSRFHeader, b.csrf)
	}
	if b.origin != "" {
		req.Header.Set("Origin", b.origin)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp, string(out)
}

func TestBrowserSession(t *testing.T) {
	db, err := pebble.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc, _ := cases.NewService(cases.Config{Store: db, Audit: audit.New(db)})
	k, secret, _ := auth.NewKey("alice", []auth.Role{auth.RoleTrace, auth.RoleScreen}, intel.TLPRed, time.Now())
	ring := auth.NewKeyring([]auth.Key{k})
	web := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "app "+r.URL.Path) })
	srv := httptest.NewServer(api.New(api.Config{Keys: ring, Cases: svc, Web: web}))
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	b := &browser{t: t, base: srv.URL, client: &http.Client{Jar: jar}}

	// Another origin cannot sign the browser in.
	b.origin = "https://evil.example"
	if resp, _ := b.do("POST", "/v1/session", `{"key":"`+secret+`"}`); resp.StatusCode != 403 {
		t.Errorf("sign-in from another origin: %s", resp.Status)
	}
	b.origin = srv.URL
	if resp, _ := b.do("POST", "/v1/session", `{"key":"th_wrong"}`); resp.StatusCode != 401 {
		t.Errorf("sign-in with a wrong key: %s", resp.Status)
	}
	resp, body := b.do("POST", "/v1/session", `{"key":"`+secret+`"}`)
	if resp.StatusCode != 201 {
		t.Fatalf("sign-in: %s %s", resp.Status, body)
	}
	sc := resp.Header.Get("Set-Cookie")
	if !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Strict") || !strings.Contains(sc, "Path=/") || strings.Contains(sc, secret) {
		t.Errorf("cookie %q", sc)
	}
	var v struct {
		Name      string      `json:"name"`
		Roles     []auth.Role `json:"roles"`
		Clearance intel.TLP   `json:"clearance"`
		Via       string      `json:"via"`
		CSRF      string      `json:"csrf_token"`
	}
	json.Unmarshal([]byte(body), &v)
	if v.Name != "alice" || v.Clearance != intel.TLPRed || v.CSRF == "" || v.Via != "session" || strings.Contains(body, secret) {
		t.Errorf("session %s", body)
	}
	csrf := v.CSRF
	// Reads need only the cookie; a reloaded page gets its token back.
	resp, body = b.do("GET", "/v1/session", "")
	json.Unmarshal([]byte(body), &v)
	if resp.StatusCode != 200 || v.CSRF != csrf || len(v.Roles) != 2 {
		t.Errorf("whoami: %s %s", resp.Status, body)
	}
	if resp, _ := b.do("GET", "/v1/cases", ""); resp.StatusCode != 200 {
		t.Errorf("list cases by cookie: %s", resp.Status)
	}
	// Writes need the token.
	newCase := `{"reference":"S-1","title":"by cookie"}`
	if resp, body := b.do("POST", "/v1/cases", newCase); resp.StatusCode != 403 || !strings.Contains(body, `"csrf"`) {
		t.Errorf("write without the token: %s %s", resp.Status, body)
	}
	b.csrf = csrf
	if resp, body := b.do("POST", "/v1/cases", newCase); resp.StatusCode != 201 {
		t.Errorf("write with the token: %s %s", resp.Status, body)
	}
	b.origin = "https://evil.example"
	if resp, _ := b.do("POST", "/v1/cases", `{"reference":"S-2","title":"x"}`); resp.StatusCode != 403 {
		t.Errorf("write from another origin: %s", resp.Status)
	}
	b.origin = srv.URL
	// The web interface answers outside the API's paths, for GET only.
	if resp, body := b.do("GET", "/cases/abc", ""); resp.StatusCode != 200 || body != "app /cases/abc" {
		t.Errorf("deep link: %s %q", resp.Status, body)
	}
	for _, p := range []string{"/v1/nothing", "/v1", "/metricsx/"} {
		resp, body := b.do("GET", p, "")
		if p == "/metricsx/" {
			if body != "app /metricsx/" {
				t.Errorf("%s: %q", p, body)
			}
			continue
		}
		if resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: %s %q", p, resp.Status, body)
		}
	}
	if resp, _ := b.do("POST", "/cases/abc", "x"); resp.StatusCode != 404 {
		t.Errorf("POST to the app: %s", resp.Status)
	}
	// Revoking the key ends the session at once.
	k.Revoked = true
	ring.Reload([]auth.Key{k})
	if resp, _ := b.do("GET", "/v1/session", ""); resp.StatusCode != 401 {
		t.Errorf("after revocation: %s", resp.Status)
	}
	k.Revoked = false
	ring.Reload([]auth.Key{k})
	if resp, _ := b.do("GET", "/v1/session", ""); resp.StatusCode != 401 {
		t.Errorf("a revoked session came back with its key: %s", resp.Status)
	}
	// Sign in again, then out.
	b.csrf = ""
	_, body = b.do("POST", "/v1/session", `{"key":"`+secret+`"}`)
	json.Unmarshal([]byte(body), &v)
	if resp, _ := b.do("DELETE", "/v1/session", ""); resp.StatusCode != 403 {
		t.Errorf("sign-out without the token: %s", resp.Status)
	}
	b.csrf = v.CSRF
	if resp, _ := b.do("DELETE", "/v1/session", ""); resp.StatusCode != 204 {
		t.Errorf("sign-out: %s", resp.Status)
	}
	if resp, _ := b.do("GET", "/v1/cases", ""); resp.StatusCode != 401 {
		t.Errorf("after sign-out: %s", resp.Status)
	}
}
