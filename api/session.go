package api

import (
	"net/http"
	"strings"
)

// workspaceRoutes adds the investigators' workspace: cases, browser
// sessions, and the web interface with everything the API does not
// serve falling back to it.
func (s *Server) workspaceRoutes() {
	s.casesRoutes()
	s.handle("/", "", s.fallback)
}

// fallback serves the web interface for any GET outside the API's own
// paths, so that a deep link (/cases/ID) loads the application; anything
// else is the API's 404.
func (s *Server) fallback(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Web != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) && !apiPath(r.URL.Path) {
		s.cfg.Web.ServeHTTP(w, r)
		return
	}
	writeError(w, r, http.StatusNotFound, "not_found", "no such endpoint: "+r.Method+" "+r.URL.Path)
}

// apiPath reports whether p belongs to the API rather than the web
// interface.
func apiPath(p string) bool {
	for _, pre := range []string{"/v1/", "/taxii2/", "/metrics", "/healthz"} {
		if p == strings.TrimSuffix(pre, "/") || strings.HasPrefix(p, pre) {
			return true
		}
	}
	return false
}
