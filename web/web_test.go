package web_test

import (
	"io"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/tracehound/tracehound/web"
)

func get(t *testing.T, path string) (int, string, map[string]string) {
	t.Helper()
	w := httptest.NewRecorder()
	web.Handler().ServeHTTP(w, httptest.NewRequest("GET", path, nil))
	b, _ := io.ReadAll(w.Result().Body)
	h := map[string]string{}
	for k := range w.Header() {
		h[k] = w.Header().Get(k)
	}
	return w.Code, string(b), h
}

func TestServe(t *testing.T) {
	code, page, h := get(t, "/")
	if code != 200 || !strings.Contains(page, `<div id="app">`) {
		t.Fatalf("/: %d %.200s", code, page)
	}
	for k, want := range map[string]string{"Content-Security-Policy": web.CSP, "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"} {
		if h[k] != want {
			t.Errorf("%s: %q, want %q", k, h[k], want)
		}
	}
	// Deep links get the application; a missing asset does not.
	for _, p := range []string{"/cases/0123", "/address/eth/0xabc", "/trace"} {
		if code, body, _ := get(t, p); code != 200 || body != page {
			t.Errorf("%s: %d", p, code)
		}
	}
	for _, p := range []string{"/assets/missing.js", "/x.js"} {
		if code, _, _ := get(t, p); code != 404 {
			t.Errorf("%s: %d", p, code)
		}
	}
	// The page loads only its own files, and holds no inline script or
	// style the CSP would refuse.
	if regexp.MustCompile(`<script(?:[^>]*)>[^<]+</script>|<style|\sstyle=|\son[a-z]+=`).MatchString(page) {
		t.Errorf("inline script or style in index.html:\n%s", page)
	}
	for _, m := range regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(page, -1) {
		ref := m[1]
		if !strings.HasPrefix(ref, "/") || strings.HasPrefix(ref, "//") {
			t.Errorf("the page loads %s from elsewhere", ref)
			continue
		}
		code, body, h := get(t, ref)
		if code != 200 || body == "" {
			t.Errorf("%s: %d", ref, code)
		}
		if strings.HasPrefix(ref, "/assets/") && !strings.Contains(h["Cache-Control"], "immutable") {
			t.Errorf("%s: cache %q", ref, h["Cache-Control"])
		}
		if strings.HasSuffix(ref, ".js") && !strings.Contains(h["Content-Type"], "javascript") {
			t.Errorf("%s: type %q", ref, h["Content-Type"])
		}
	}
	w := httptest.NewRecorder()
	web.Handler().ServeHTTP(w, httptest.NewRequest("POST", "/", nil))
	if w.Code != 405 {
		t.Errorf("POST: %d", w.Code)
	}
}

// TestNoHTMLFromData checks the built scripts for the ways data could be
// parsed as HTML: the sources build every element with textContent.
func TestNoHTMLFromData(t *testing.T) {
	_, page, _ := get(t, "/")
	for _, m := range regexp.MustCompile(`src="(/assets/[^"]+\.js)"`).FindAllStringSubmatch(page, -1) {
		_, js, _ := get(t, m[1])
		for _, bad := range []string{".innerHTML=", "insertAdjacentHTML", "document.write(", "outerHTML=", "eval("} {
			if strings.Contains(js, bad) {
				t.Errorf("%s uses %s", m[1], bad)
			}
		}
	}
}
