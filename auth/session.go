package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Browser sessions: a browser exchanges an API key for a session once
// (POST /v1/session) and from then on presents only a cookie holding a
// random session id, so that the key itself never stays in the browser.
// Sessions live in memory: a restart signs everyone out. A session ends
// after Idle without a request, at Max after it started, when its user
// signs out, and at once when its key is revoked (the keyring no longer
// holds it). Requests authenticated by the cookie that change anything
// must carry the session's CSRF token in X-CSRF-Token and, if the
// browser sends an Origin, come from the node's own.

// Session cookie names: the __Host- prefix binds the cookie to the host
// and to HTTPS, so a plain-HTTP node (on loopback) uses the bare name.
const (
	SessionCookie       = "th_session"
	SecureSessionCookie = "__Host-th_session"
	// CSRFHeader carries the session's CSRF token.
	CSRFHeader = "X-CSRF-Token"
)

// Default session lifetimes.
const (
	DefaultSessionIdle = 30 * time.Minute
	DefaultSessionMax  = 12 * time.Hour
	// DefaultSessionLimit bounds the sessions held in memory.
	DefaultSessionLimit = 10_000
)

// SessionOptions set up Sessions; zero values take the defaults.
type SessionOptions struct {
	Idle, Max time.Duration
	Limit     int
	Now       func() time.Time
}

// Sessions holds the browser sessions of a keyring's keys.
type Sessions struct {
	keys  *Keyring
	idle  time.Duration
	max   time.Duration
	limit int
	now   func() time.Time

	mu sync.Mutex
	// byID is keyed by the SHA-256 of the session id, so that the map
	// holds nothing a browser could present.
	byID map[[32]byte]*session
}

type session struct {
	keyHash string
	csrf    string
	created time.Time
	seen    time.Time
}

// Session is a started session, returned once to be set as a cookie.
type Session struct {
	ID   string
	CSRF string
	Key  *Key
	// Expires is when the session ends at the latest.
	Expires time.Time
}

// ErrSessionKey refuses to start a session for an unknown or revoked
// key.
var ErrSessionKey = errors.New("unknown or revoked API key")

// NewSessions returns an empty session table over keys.
func NewSessions(keys *Keyring, o SessionOptions) *Sessions {
	if o.Idle <= 0 {
		o.Idle = DefaultSessionIdle
	}
	if o.Max <= 0 {
		o.Max = DefaultSessionMax
	}
	if o.Limit <= 0 {
		o.Limit = DefaultSessionLimit
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Sessions{keys: keys, idle: o.Idle, max: o.Max, limit: o.Limit, now: o.Now, byID: make(map[[32]byte]*session)}
}

// Idle is how long a session lasts without a request.
func (s *Sessions) Idle() time.Duration { return s.idle }

// Start authenticates secret and starts a session for its key.
func (s *Sessions) Start(secret string) (Session, error) {
	k, ok := s.keys.Authenticate(secret)
	if !ok {
		return Session{}, ErrSessionKey
	}
	id, err := token()
	if err != nil {
		return Session{}, err
	}
	csrf, err := token()
	if err != nil {
		return Session{}, err
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.byID) >= s.limit {
		s.prune(now)
		if len(s.byID) >= s.limit {
			// Drop the session idle the longest rather than refuse a
			// sign-in.
			var oldest [32]byte
			var at time.Time
			for h, x := range s.byID {
				if at.IsZero() || x.seen.Before(at) {
					oldest, at = h, x.seen
				}
			}
			delete(s.byID, oldest)
		}
	}
	s.byID[sha256.Sum256([]byte(id))] = &session{keyHash: k.Hash, csrf: csrf, created: now, seen: now}
	return Session{ID: id, CSRF: csrf, Key: k, Expires: now.Add(s.max)}, nil
}

// token is 32 random bytes, URL-safe.
func token() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// Resolve returns the key of a live session and its CSRF token, and
// marks the session used. A session whose key the keyring no longer
// holds (revoked) ends here.
func (s *Sessions) Resolve(id string) (*Key, string, bool) {
	if id == "" || len(id) > 128 {
		return nil, "", false
	}
	h := sha256.Sum256([]byte(id))
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	x, ok := s.byID[h]
	if !ok {
		return nil, "", false
	}
	if now.Sub(x.seen) > s.idle || now.Sub(x.created) > s.max {
		delete(s.byID, h)
		return nil, "", false
	}
	k, ok := (*s.keys.byHash.Load())[x.keyHash]
	if !ok {
		delete(s.byID, h)
		return nil, "", false
	}
	x.seen = now
	return k, x.csrf, true
}

// End ends a session; false if there was none.
func (s *Sessions) End(id string) bool {
	h := sha256.Sum256([]byte(id))
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.byID[h]
	delete(s.byID, h)
	return ok
}

// Len is the number of sessions held, live or not yet pruned.
func (s *Sessions) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byID)
}

// prune drops expired sessions and those of revoked keys. s.mu is held.
func (s *Sessions) prune(now time.Time) {
	keys := *s.keys.byHash.Load()
	for h, x := range s.byID {
		if _, ok := keys[x.keyHash]; !ok || now.Sub(x.seen) > s.idle || now.Sub(x.created) > s.max {
			delete(s.byID, h)
		}
	}
}

// Cookie is the cookie that carries sess to the browser that sent r:
// HttpOnly, SameSite=Strict, Path=/, and Secure (with the __Host-
// prefix) when r came over TLS.
func (s *Sessions) Cookie(r *http.Request, sess Session) *http.Cookie {
	name, secure := cookieName(r)
	return &http.Cookie{Name: name, Value: sess.ID, Path: "/", HttpOnly: true, Secure: secure,
		SameSite: http.SameSiteStrictMode, Expires: sess.Expires, MaxAge: int(s.max.Seconds())}
}

// ClearCookie deletes the session cookie in the browser that sent r.
func ClearCookie(r *http.Request) *http.Cookie {
	name, secure := cookieName(r)
	return &http.Cookie{Name: name, Value: "", Path: "/", HttpOnly: true, Secure: secure, SameSite: http.SameSiteStrictMode, MaxAge: -1}
}

func cookieName(r *http.Request) (string, bool) {
	if r.TLS != nil {
		return SecureSessionCookie, true
	}
	return SessionCookie, false
}

// SessionID reads the session id from r's cookie, or "".
func SessionID(r *http.Request) string {
	for _, name := range []string{SecureSessionCookie, SessionCookie} {
		if c, err := r.Cookie(name); err == nil && c.Value != "" {
			return c.Value
		}
	}
	return ""
}

// SameOrigin reports whether a browser's request comes from the node's
// own pages: an Origin header, when present, must name r's host, and
// Sec-Fetch-Site, when present, must not say cross-site.
func SameOrigin(r *http.Request) bool {
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return false
	}
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" {
		return false // "null" and anything unparsable
	}
	if r.TLS != nil && u.Scheme != "https" {
		return false
	}
	return u.Host == r.Host
}

// safeMethod reports whether a method changes nothing.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// checkSession authenticates r by its session cookie: the session must
// be live and, for a request that changes anything, carry the CSRF token
// and come from the node's own origin.
func (g *Guard) checkSession(w http.ResponseWriter, r *http.Request, id string) (*http.Request, *Refusal) {
	k, csrf, ok := g.Sessions.Resolve(id)
	if !ok {
		http.SetCookie(w, ClearCookie(r))
		challenge(w, false, `error="invalid_token"`)
		return r, &Refusal{Status: http.StatusUnauthorized, Code: "unauthenticated", Message: "the session has ended (signed out, expired, or its key revoked): sign in again"}
	}
	if !safeMethod(r.Method) {
		sent := r.Header.Get(CSRFHeader)
		if !SameOrigin(r) || subtle.ConstantTimeCompare([]byte(sent), []byte(csrf)) != 1 {
			return r.WithContext(WithKey(r.Context(), k)), &Refusal{Status: http.StatusForbidden, Code: "csrf",
				Message: "a request that changes anything must come from the node's own pages with the session's " + CSRFHeader + " header"}
		}
	}
	return r.WithContext(WithKey(r.Context(), k)), nil
}

// Authenticate authenticates r as Check does, without requiring a role:
// by API key, or by session cookie where the guard keeps sessions.
func (g *Guard) Authenticate(w http.ResponseWriter, r *http.Request) (*http.Request, *Refusal) {
	return g.authenticate(w, r, false, "")
}
