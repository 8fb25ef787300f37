package api_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/auth"
)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestHandleWith(t *testing.T) {
	now := time.Now()
	k, secret, err := auth.NewKey("acme", []auth.Role{auth.RoleTAXIIRead}, 0, now)
	if err != nil {
		t.Fatal(err)
	}
	other, otherSecret, err := auth.NewKey("globex", []auth.Role{auth.RoleScreen}, 0, now)
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	s := api.New(api.Config{Keys: auth.NewKeyring([]auth.Key{k, other}), Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	var refusals []auth.Refusal
	o := auth.RouteOptions{Basic: true, Refuse: func(w http.ResponseWriter, r *http.Request, f auth.Refusal) {
		refusals = append(refusals, f)
		who := ""
		if k := auth.KeyFrom(r.Context()); k != nil {
			who = k.Name
		}
		w.Header().Set("Content-Type", "text/x-feed")
		w.WriteHeader(f.Status)
		fmt.Fprintf(w, "refused %d %s %s", f.Status, f.Role, who)
	}}
	s.HandleWith(o, "GET /feed/", auth.RoleTAXIIRead, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "hello "+auth.KeyFrom(r.Context()).Name)
	})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)

	get := func(path string, set func(*http.Request)) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest("GET", srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		set(req)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, string(b)
	}

	for name, set := range map[string]func(*http.Request){
		"bearer":    func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+secret) },
		"x-api-key": func(r *http.Request) { r.Header.Set("X-API-Key", secret) },
		"basic":     func(r *http.Request) { r.SetBasicAuth("acme", secret) },
	} {
		if resp, body := get("/feed/", set); resp.StatusCode != 200 || body != "hello acme" {
			t.Errorf("%s: %s %q", name, resp.Status, body)
		}
	}
	for name, set := range map[string]func(*http.Request){
		"nothing":         func(*http.Request) {},
		"basic wrong key": func(r *http.Request) { r.SetBasicAuth("acme", secret+"x") },
		"basic by id":     func(r *http.Request) { r.SetBasicAuth(k.ID, secret) },
		"basic other":     func(r *http.Request) { r.SetBasicAuth("globex", secret) },
	} {
		resp, body := get("/feed/", set)
		if resp.StatusCode != 401 || resp.Header.Get("Content-Type") != "text/x-feed" || body != "refused 401 taxii:read " {
			t.Errorf("%s: %s %q %q", name, resp.Status, resp.Header.Get("Content-Type"), body)
		}
		if ch := resp.Header.Values("WWW-Authenticate"); len(ch) != 2 || !strings.HasPrefix(ch[1], "Basic ") {
			t.Errorf("%s: challenges %q", name, ch)
		}
	}
	resp, body := get("/feed/", func(r *http.Request) { r.SetBasicAuth("globex", otherSecret) })
	if resp.StatusCode != 403 || body != "refused 403 taxii:read globex" {
		t.Errorf("globex: %s %q", resp.Status, body)
	}
	if len(refusals) != 5 || refusals[0].Code != "unauthenticated" || refusals[4].Code != "forbidden" {
		t.Errorf("refusals %+v", refusals)
	}
	// Routes without options keep Bearer only and the API's format.
	resp, _ = get("/v1/index", func(r *http.Request) { r.SetBasicAuth("globex", otherSecret) })
	if resp.StatusCode != 401 || resp.Header.Get("Content-Type") != "application/json" || len(resp.Header.Values("WWW-Authenticate")) != 1 {
		t.Errorf("API route with basic: %s %q %q", resp.Status, resp.Header.Get("Content-Type"), resp.Header.Values("WWW-Authenticate"))
	}
	// Secrets never reach the log; the key id does.
	log := logs.String()
	for _, s := range []string{secret, otherSecret, "Basic "} {
		if strings.Contains(log, s) {
			t.Errorf("the log holds %q:\n%s", s, log)
		}
	}
	if !strings.Contains(log, k.ID) {
		t.Errorf("the log lacks the key id:\n%s", log)
	}
}
