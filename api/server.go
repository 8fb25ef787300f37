// Package api is tracehound's HTTP API: screening, administration and
// metrics, every endpoint but the health check behind an API key.
package api

import (
	"context"
	"crypto/rand"
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

type keyCtx struct{}

// KeyFrom returns the authenticated key of a request.
func KeyFrom(ctx context.Context) *Key {
	k, _ := ctx.Value(keyCtx{}).(*Key)
	return k
}

// handle wraps h with request ids, authentication, authorisation, metrics
// and logging. role "" means no authentication (the health check only).
func (s *Server) handle(pattern, role string, h http.HandlerFunc) {
	route := pattern
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
			secret := bearer(r)
			if secret == "" {
				rw.Header().Set("WWW-Authenticate", `Bearer realm="tracehound"`)
				writeError(rw, r, http.StatusUnauthorized, "unauthenticated", "an API key is required: Authorization: Bearer <key> or X-API-Key")
				return
			}
			k, ok := s.cfg.Keys.Authenticate(secret)
			if !ok {
				rw.Header().Set("WWW-Authenticate", `Bearer realm="tracehound", error="invalid_token"`)
				writeError(rw, r, http.StatusUnauthorized, "unauthenticated", "unknown or revoked API key")
				return
			}
			keyID = k.ID
			if !k.Has(role) {
				writeError(rw, r, http.StatusForbidden, "forbidden", "this key lacks the "+role+" role")
				return
			}
			r = r.WithContext(context.WithValue(r.Context(), keyCtx{}, k))
		}
		h(rw, r)
	})
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
