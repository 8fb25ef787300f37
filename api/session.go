package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/intel"
)

// workspaceRoutes adds the investigators' workspace: cases, browser
// sessions, and the web interface with everything the API does not
// serve falling back to it.
func (s *Server) workspaceRoutes() {
	s.guard.Sessions = auth.NewSessions(s.cfg.Keys, auth.SessionOptions{})
	s.casesRoutes()
	s.handle("POST /v1/session", "", s.startSession)
	s.handle("GET /v1/session", "", s.whoami)
	s.handle("DELETE /v1/session", "", s.endSession)
	s.handle("/", "", s.fallback)
}

// Sessions are the browser sessions the server keeps.
func (s *Server) Sessions() *auth.Sessions { return s.guard.Sessions }

// sessionView says who a request acts as.
type sessionView struct {
	Name      string      `json:"name"`
	Roles     []auth.Role `json:"roles"`
	Clearance intel.TLP   `json:"clearance"`
	// Via is "session" for a browser session, "key" for a key sent with
	// the request.
	Via string `json:"via"`
	// CSRFToken goes in the X-CSRF-Token header of every request of the
	// session that changes anything.
	CSRFToken   string    `json:"csrf_token,omitempty"`
	Expires     time.Time `json:"expires,omitzero"`
	IdleSeconds int       `json:"idle_seconds,omitempty"`
}

func viewOf(k *auth.Key) sessionView {
	return sessionView{Name: k.Name, Roles: k.Roles, Clearance: k.MaxTLP()}
}

// startSession exchanges an API key, sent in the body as {"key": ...},
// for a session cookie.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	// A page elsewhere must not sign a browser in under its own key.
	if !auth.SameOrigin(r) {
		writeError(w, r, http.StatusForbidden, "csrf", "sign in from the node's own pages")
		return
	}
	var in struct {
		Key string `json:"key"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil || strings.TrimSpace(in.Key) == "" {
		writeError(w, r, http.StatusBadRequest, "bad_request", `send {"key": "<API key>"}`)
		return
	}
	sess, err := s.guard.Sessions.Start(strings.TrimSpace(in.Key))
	if errors.Is(err, auth.ErrSessionKey) {
		s.log.WarnContext(r.Context(), "sign-in refused", "remote", r.RemoteAddr)
		writeError(w, r, http.StatusUnauthorized, "unauthenticated", "unknown or revoked API key")
		return
	}
	if err != nil {
		s.internalError(w, r, "start session", err)
		return
	}
	s.log.InfoContext(r.Context(), "session started", "key", sess.Key.ID, "remote", r.RemoteAddr)
	http.SetCookie(w, s.guard.Sessions.Cookie(r, sess))
	v := viewOf(sess.Key)
	v.Via, v.CSRFToken, v.Expires, v.IdleSeconds = "session", sess.CSRF, sess.Expires, int(s.guard.Sessions.Idle().Seconds())
	writeJSON(w, http.StatusCreated, v)
}

// whoami answers who the request acts as: the key's name, roles and
// clearance, and for a session its CSRF token (a page reloaded has lost
// it; another origin cannot read this answer).
func (s *Server) whoami(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	r, f := s.guard.Authenticate(w, r)
	if f != nil {
		writeError(w, r, f.Status, f.Code, f.Message)
		return
	}
	k := auth.KeyFrom(r.Context())
	v := viewOf(k)
	v.Via = "key"
	if id := auth.SessionID(r); id != "" && r.Header.Get("Authorization") == "" && r.Header.Get("X-API-Key") == "" {
		if _, csrf, ok := s.guard.Sessions.Resolve(id); ok {
			v.Via, v.CSRFToken, v.IdleSeconds = "session", csrf, int(s.guard.Sessions.Idle().Seconds())
		}
	}
	writeJSON(w, http.StatusOK, v)
}

// endSession signs a browser out.
func (s *Server) endSession(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	id := auth.SessionID(r)
	if id == "" {
		writeError(w, r, http.StatusBadRequest, "bad_request", "no session to end")
		return
	}
	r, f := s.guard.Authenticate(w, r)
	if f != nil {
		writeError(w, r, f.Status, f.Code, f.Message)
		return
	}
	s.guard.Sessions.End(id)
	http.SetCookie(w, auth.ClearCookie(r))
	w.WriteHeader(http.StatusNoContent)
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
	switch p {
	case "/v1", "/taxii2", "/metrics", "/healthz":
		return true
	}
	return strings.HasPrefix(p, "/v1/") || strings.HasPrefix(p, "/taxii2/")
}
