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
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/sanctions"
	"github.com/tracehound/tracehound/screen"
	"github.com/tracehound/tracehound/tags"
)

//go:embed openapi.yaml
var openapiSpec []byte

// Config sets up a Server.
type Config struct {
	Index *screen.Index
	// Scorer, if set, scores the address of a single-address answer from
	// its history in the graph.
	Scorer Scorer
	// Parser reads the addresses of trace and watch requests.
	Parser *chain.Parser
	Keys   *auth.Keyring
	Logger *slog.Logger
	// MaxBatch is the most addresses one POST /v1/screen may carry.
	MaxBatch int
	// MaxBody is the largest request body accepted, in bytes.
	MaxBody int64
	// MaxInFlight bounds the request bytes all requests with a body may
	// hold at once (their Content-Length, or MaxBody when unknown): a
	// request waits for room, for up to a few seconds, then is answered
	// 503, so that many large batches at once cannot exhaust memory.
	MaxInFlight int64
	// Admin performs imports; nil disables the admin endpoints.
	Admin Admin
	// Tracer runs traces; nil disables POST /v1/traces.
	Tracer Tracer
	// Watcher keeps watches; nil disables /v1/watches.
	Watcher Watcher
	// Explorer shows the graph's addresses and the intelligence feed to
	// investigators; nil disables those endpoints.
	Explorer Explorer
	// Inbox keeps the alerts of every kind; nil serves GET /v1/alerts
	// from the Watcher's alerts alone, and disables the rest of
	// /v1/alerts.
	Inbox Inbox
	// Transfers registers customers' transfers for monitoring; nil
	// disables /v1/transfers.
	Transfers Transfers
	// Events is the live event stream; nil disables GET /v1/events.
	Events Events
	// Health, if set, is what GET /healthz answers (without a key).
	Health func() any
	// Cases keeps investigations; nil disables /v1/cases. Web serves the
	// investigators' interface at / (nil: / is a 404). See session.go.
	Cases Cases
	Web   http.Handler
}

// Admin performs the imports the admin endpoints expose. The server saves
// an upload to a file and hands over its path.
type Admin interface {
	ImportSanctionsFile(ctx context.Context, path, name string) (sanctions.ImportResult, error)
	ImportTags(ctx context.Context, path, name string) (tags.Report, error)
	SanctionsVersions(ctx context.Context) ([]sanctions.Version, error)
}

// Server serves the API.
type Server struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics
	mux     *http.ServeMux
	started time.Time
	jobs    jobs
	guard   *auth.Guard
	// inflight bounds the request bytes held at once.
	inflight *inflight
	// refusedLog samples the log lines of refused requests.
	refusedLog sampler
}

// Default limits.
const (
	DefaultMaxBatch    = 100_000
	DefaultMaxBody     = 32 << 20
	DefaultMaxInFlight = 64 << 20
)

// New returns a server over cfg.
func New(cfg Config) *Server {
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = DefaultMaxBatch
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Keys == nil {
		cfg.Keys = auth.NewKeyring(nil)
	}
	s := &Server{cfg: cfg, log: cfg.Logger, metrics: newMetrics(cfg.Index), mux: http.NewServeMux(), started: time.Now(), guard: &auth.Guard{Keys: cfg.Keys},
		inflight: newInflight(cfg.MaxInFlight)}
	s.refusedLog.per = 20
	s.routes()
	return s
}

func (s *Server) routes() {
	s.handle("GET /healthz", "", s.health)
	s.handle("GET /v1/openapi.yaml", auth.RoleScreen, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(openapiSpec)
	})
	s.handle("POST /v1/screen", auth.RoleScreen, s.screenBatch)
	s.handle("GET /v1/addresses/{chain}/{address}", auth.RoleScreen, s.screenOne)
	s.handle("GET /v1/index", auth.RoleScreen, s.indexStats)
	metricsHandler := promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})
	s.handle("GET /metrics", auth.RoleMetrics, metricsHandler.ServeHTTP)
	if s.cfg.Admin != nil {
		s.handle("POST /v1/admin/sanctions", auth.RoleAdmin, s.importSanctions)
		s.handle("GET /v1/sanctions/versions", auth.RoleScreen, s.sanctionsVersions)
		s.handle("POST /v1/admin/tags", auth.RoleAdmin, s.importTags)
	}
	if s.cfg.Tracer != nil {
		s.handle("POST /v1/traces", auth.RoleTrace, s.runTrace)
		s.handle("GET /v1/traces/{id}", auth.RoleTrace, s.getTrace)
		// One pattern for a trace's parts: "{id}/freeze" and "jobs/{id}"
		// would each match /v1/traces/jobs/freeze, which ServeMux refuses.
		s.handle("GET /v1/traces/{id}/{part}", auth.RoleTrace, s.tracePart)
		s.handle("GET /v1/traces/jobs/{id}", auth.RoleTrace, s.traceJob)
		s.handle("DELETE /v1/traces/jobs/{id}", auth.RoleTrace, s.traceJob)
	}
	if s.cfg.Explorer != nil {
		s.handle("GET /v1/addresses/{chain}/{address}/totals", auth.RoleTrace, s.addressTotals)
		s.handle("GET /v1/addresses/{chain}/{address}/transfers", auth.RoleTrace, s.addressTransfers)
		s.handle("GET /v1/intel/feed", auth.RoleTrace, s.intelFeed)
	}
	if s.cfg.Watcher != nil {
		s.handle("POST /v1/watches", auth.RoleTrace, s.addWatch)
		s.handle("GET /v1/watches", auth.RoleTrace, s.listWatches)
		s.handle("GET /v1/watches/{id}", auth.RoleTrace, s.getWatch)
		s.handle("DELETE /v1/watches/{id}", auth.RoleTrace, s.deleteWatch)
	}
	if s.cfg.Watcher != nil || s.cfg.Inbox != nil {
		s.handle("GET /v1/alerts", auth.RoleTrace, s.listAlerts)
	}
	if s.cfg.Inbox != nil {
		s.handle("GET /v1/alerts/{id}", auth.RoleTrace, s.getAlert)
		s.handle("PATCH /v1/alerts/{id}", auth.RoleTrace, s.updateAlert)
		s.handle("GET /v1/alerts/{id}/report", auth.RoleTrace, s.alertReport)
	}
	if s.cfg.Events != nil {
		s.handle("GET /v1/events", auth.RoleTrace, s.streamEvents)
	}
	if s.cfg.Transfers != nil {
		s.handle("POST /v1/transfers", auth.RoleScreen, s.registerTransfer)
		s.handle("GET /v1/transfers/{id}", auth.RoleScreen, s.getTransfer)
	}
	s.workspaceRoutes()
}

// Handle adds a route of another domain (such as TAXII) behind the same
// authentication, logging and metrics.
func (s *Server) Handle(pattern string, role auth.Role, h http.HandlerFunc) {
	s.handle(pattern, role, h)
}

// HandleWith adds a route of another domain as Handle does, with o.
func (s *Server) HandleWith(o auth.RouteOptions, pattern string, role auth.Role, h http.HandlerFunc) {
	s.handleWith(o, pattern, role, s.withBody(h))
}

// handle wraps h with request ids, authentication, authorisation, metrics
// and logging. role "" means no authentication (the health check only).
func (s *Server) handle(pattern string, role auth.Role, h http.HandlerFunc) {
	s.handleWith(auth.RouteOptions{}, pattern, role, h)
}

func (s *Server) handleWith(o auth.RouteOptions, pattern string, role auth.Role, h http.HandlerFunc) {
	route := pattern
	refuse := o.Refuse
	if refuse == nil {
		refuse = func(w http.ResponseWriter, r *http.Request, f auth.Refusal) {
			writeError(w, r, f.Status, f.Code, f.Message)
		}
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
				if !s.refusedLog.allow(start) {
					// A flood of refusals: the metrics count them all.
					return
				}
			}
			s.log.LogAttrs(r.Context(), lvl, "request",
				slog.String("id", id), slog.String("method", r.Method), slog.String("route", route),
				slog.Int("status", rw.status), slog.Duration("duration", d),
				slog.String("key", keyID), slog.String("remote", r.RemoteAddr))
		}()
		if role != "" {
			var refusal *auth.Refusal
			r, refusal = s.guard.Check(rw, r, o.Basic, role)
			if k := auth.KeyFrom(r.Context()); k != nil {
				keyID = k.ID
			}
			if refusal != nil {
				// The body, if any, is never read: close the connection
				// rather than drain a body an unknown client may send
				// slowly, byte by byte. net/http drains up to 256 KB of
				// an unread body after the handler returns, even on a
				// connection it then closes: a read deadline already
				// past ends that at once.
				rw.Header().Set("Connection", "close")
				refuse(rw, r, *refusal)
				_ = http.NewResponseController(rw).SetReadDeadline(time.Now())
				return
			}
		}
		h(rw, r)
	})
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
	if s.cfg.Health != nil {
		writeJSON(w, http.StatusOK, s.cfg.Health())
		return
	}
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
