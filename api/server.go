// Package api is tracehound's HTTP API: screening, administration and
// metrics, every endpoint but the health check behind an API key.
package api

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tracehound/tracehound/screen"
)

//go:embed openapi.yaml
var openapiSpec []byte

// Config sets up a Server.
type Config struct {
	Index  *screen.Index
	Keys   *Keyring
	Logger *slog.Logger
	// MaxBatch is the most addresses one POST /v1/screen may carry.
	MaxBatch int
	// MaxBody is the largest request body accepted, in bytes.
	MaxBody int64
	// Admin performs imports; nil disables the admin endpoints.
	Admin Admin
	// Tracer runs traces; nil disables POST /v1/traces.
	Tracer Tracer
	// Watcher keeps watches; nil disables /v1/watches and /v1/alerts.
	Watcher Watcher
}

// Admin performs the imports the admin endpoints expose. The server saves
// an upload to a file and hands over its path.
type Admin interface {
	ImportSanctions(ctx context.Context, path, name string) (any, error)
	ImportTags(ctx context.Context, path, name string) (any, error)
	SanctionsVersions(ctx context.Context) (any, error)
}

// Server serves the API.
type Server struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics
	mux     *http.ServeMux
	started time.Time
	jobs    jobs
}

// Default limits.
const (
	DefaultMaxBatch = 100_000
	DefaultMaxBody  = 32 << 20
)

// New returns a server over cfg.
func New(cfg Config) *Server {
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = DefaultMaxBatch
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Keys == nil {
		cfg.Keys = NewKeyring(nil)
	}
	s := &Server{cfg: cfg, log: cfg.Logger, metrics: newMetrics(cfg.Index), mux: http.NewServeMux(), started: time.Now()}
	s.routes()
	return s
}

func (s *Server) routes() {
	s.handle("GET /healthz", "", s.health)
	s.handle("GET /v1/openapi.yaml", RoleScreen, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(openapiSpec)
	})
	s.handle("POST /v1/screen", RoleScreen, s.screenBatch)
	s.handle("GET /v1/addresses/{chain}/{address}", RoleScreen, s.screenOne)
	s.handle("GET /v1/index", RoleScreen, s.indexStats)
	metricsHandler := promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})
	s.handle("GET /metrics", RoleMetrics, metricsHandler.ServeHTTP)
	if s.cfg.Admin != nil {
		s.handle("POST /v1/admin/sanctions", RoleAdmin, s.importSanctions)
		s.handle("GET /v1/sanctions/versions", RoleScreen, s.sanctionsVersions)
		s.handle("POST /v1/admin/tags", RoleAdmin, s.importTags)
	}
	if s.cfg.Tracer != nil {
		s.handle("POST /v1/traces", RoleTrace, s.runTrace)
		s.handle("GET /v1/traces/jobs/{id}", RoleTrace, s.traceJob)
		s.handle("DELETE /v1/traces/jobs/{id}", RoleTrace, s.traceJob)
	}
	if s.cfg.Watcher != nil {
		s.handle("POST /v1/watches", RoleTrace, s.addWatch)
		s.handle("GET /v1/watches", RoleTrace, s.listWatches)
		s.handle("GET /v1/watches/{id}", RoleTrace, s.getWatch)
		s.handle("DELETE /v1/watches/{id}", RoleTrace, s.deleteWatch)
		s.handle("GET /v1/alerts", RoleTrace, s.listAlerts)
	}
	s.handle("/", "", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, http.StatusNotFound, "not_found", "no such endpoint: "+r.Method+" "+r.URL.Path)
	})
}

// Handle adds a route of another domain (such as TAXII) behind the same
// authentication, logging and metrics.
func (s *Server) Handle(pattern, role string, h http.HandlerFunc) { s.handle(pattern, role, h) }

// Refusal is an authentication (401) or authorisation (403) failure of a
// request, for a domain that answers in its own format.
type Refusal struct {
	Status  int    // http.StatusUnauthorized or http.StatusForbidden
	Code    string // "unauthenticated" or "forbidden"
	Message string
	// Role is the role the route needs.
	Role string
}

// RouteOptions adapt the API's authentication to routes of another domain
// whose clients expect that domain's conventions (TAXII's error messages
// and HTTP Basic authentication, say).
type RouteOptions struct {
	// Refuse writes a refusal in the domain's format. The
	// WWW-Authenticate header of a 401 is set already; on a 403 the
	// request's context carries the key (KeyFrom). nil writes the API's
	// own error.
	Refuse func(w http.ResponseWriter, r *http.Request, f Refusal)
	// Basic also accepts Authorization: Basic, whose password is the API
	// key's secret and whose user name must be the key's name.
	Basic bool
}

// HandleWith adds a route of another domain as Handle does, with o.
func (s *Server) HandleWith(o RouteOptions, pattern, role string, h http.HandlerFunc) {
	s.handleWith(o, pattern, role, h)
}

type keyCtx struct{}

// KeyFrom returns the authenticated key of a request.
func KeyFrom(ctx context.Context) *Key {
	k, _ := ctx.Value(keyCtx{}).(*Key)
	return k
}

// realm names the node in WWW-Authenticate challenges.
const realm = "tracehound"

// handle wraps h with request ids, authentication, authorisation, metrics
// and logging. role "" means no authentication (the health check only).
func (s *Server) handle(pattern, role string, h http.HandlerFunc) {
	s.handleWith(RouteOptions{}, pattern, role, h)
}

func (s *Server) handleWith(o RouteOptions, pattern, role string, h http.HandlerFunc) {
	route := pattern
	refuse := o.Refuse
	if refuse == nil {
		refuse = func(w http.ResponseWriter, r *http.Request, f Refusal) { writeError(w, r, f.Status, f.Code, f.Message) }
	}
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 64 {
			id = newRequestID()
		}
		rw.Header().Set("X-Request-Id", id)
		var keyID string
		defer func() {
			d := time.Since(start)
			s.metrics.requests.WithLabelValues(route, strconv.Itoa(rw.status)).Inc()
			s.metrics.duration.WithLabelValues(route).Observe(d.Seconds())
			lvl := slog.LevelDebug
			if rw.status >= 500 {
				lvl = slog.LevelError
			} else if rw.status == http.StatusUnauthorized || rw.status == http.StatusForbidden {
				lvl = slog.LevelWarn
			}
			s.log.LogAttrs(r.Context(), lvl, "request",
				slog.String("id", id), slog.String("method", r.Method), slog.String("route", route),
				slog.Int("status", rw.status), slog.Duration("duration", d),
				slog.String("key", keyID), slog.String("remote", r.RemoteAddr))
		}()
		if role != "" {
			c := readCredentials(r, o.Basic)
			if c.secret == "" {
				challenge(rw, o.Basic, "")
				want := "an API key is required: Authorization: Bearer <key> or X-API-Key"
				if o.Basic {
					want = "an API key is required: Authorization: Bearer <key>, X-API-Key, or Basic with the key's name as user name and the key as password"
				}
				refuse(rw, r, Refusal{Status: http.StatusUnauthorized, Code: "unauthenticated", Message: want, Role: role})
				return
			}
			k, ok := s.cfg.Keys.Authenticate(c.secret)
			// The user name of Basic must name the key too, compared in
			// constant time: it is checked only once the secret matched,
			// so a user name alone proves nothing.
			if ok && c.basic && subtle.ConstantTimeCompare([]byte(c.user), []byte(k.Name)) != 1 {
				ok = false
			}
			if !ok {
				challenge(rw, o.Basic, `error="invalid_token"`)
				msg := "unknown or revoked API key"
				if c.basic {
					msg = "unknown or revoked API key, or a user name that is not the key's name"
				}
				refuse(rw, r, Refusal{Status: http.StatusUnauthorized, Code: "unauthenticated", Message: msg, Role: role})
				return
			}
			keyID = k.ID
			r = r.WithContext(context.WithValue(r.Context(), keyCtx{}, k))
			if !k.Has(role) {
				refuse(rw, r, Refusal{Status: http.StatusForbidden, Code: "forbidden", Message: "this key lacks the " + role + " role", Role: role})
				return
			}
		}
		h(rw, r)
	})
}

// challenge sets the WWW-Authenticate challenges of a 401 (RFC 9110
// section 11.6.1), with a parameter for the Bearer one.
func challenge(w http.ResponseWriter, basic bool, param string) {
	bearer := `Bearer realm="` + realm + `"`
	if param != "" {
		bearer += ", " + param
	}
	w.Header().Set("WWW-Authenticate", bearer)
	if basic {
		w.Header().Add("WWW-Authenticate", `Basic realm="`+realm+`", charset="UTF-8"`)
	}
}

// credentials are what a request presents to authenticate.
type credentials struct {
	secret string
	user   string // the user name of Basic
	basic  bool
}

// readCredentials reads the key from Authorization: Bearer, X-API-Key or,
// if basic, Authorization: Basic.
func readCredentials(r *http.Request, basic bool) credentials {
	if basic {
		if user, pass, ok := r.BasicAuth(); ok {
			return credentials{secret: pass, user: user, basic: true}
		}
	}
	return credentials{secret: bearer(r)}
}

// bearer reads the key from Authorization: Bearer or X-API-Key.
func bearer(r *http.Request) string {
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return strings.TrimSpace(r.Header.Get("X-API-Key"))
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Registerer is where other domains running in the server (an ingest
// following a node, say) register their metrics, so that GET /metrics
// serves them too.
func (s *Server) Registerer() prometheus.Registerer { return s.metrics.reg }

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "uptime_seconds": int(time.Since(s.started).Seconds())})
}

func (s *Server) indexStats(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.cfg.Index.Stats())
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
