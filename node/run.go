package node

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"time"

	"github.com/oklog/run"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/ingest"
	"github.com/tracehound/tracehound/taxii"
	"github.com/tracehound/tracehound/watch"
	"github.com/tracehound/tracehound/web"
)

// ServeConfig says how the node serves.
type ServeConfig struct {
	// Addr is the listen address.
	Addr string
	// TLSCert and TLSKey serve HTTPS; ClientCA, if set, requires
	// partners to present a client certificate it signed (mutual TLS), in
	// addition to their API key.
	TLSCert, TLSKey, ClientCA string
	// MaxBatch is the most addresses one screening request may carry.
	MaxBatch int
	// Poll is how often each peer's collection is pulled.
	Poll time.Duration
	// Alerts bounds the watch alerts kept; zero keeps them all.
	Alerts watch.Retention
	// Followers keep chains current from their nodes.
	Followers []Follower
	// Limits bound what clients may hold of the server.
	Limits Limits
	// MemoryLimit, if positive, is the soft limit of the process's memory
	// (runtime/debug.SetMemoryLimit, as GOMEMLIMIT): under it the garbage
	// collector works harder rather than let the heap grow to twice
	// what is live when batches arrive together.
	MemoryLimit int64
	// Ready, if set, is called with the listening address once serving.
	Ready func(addr string)
}

// Limits bound the connections and requests clients may hold open.
type Limits struct {
	// MaxConns and MaxConnsPerIP cap open connections, in all and from
	// one client address; connections beyond are closed at once.
	MaxConns, MaxConnsPerIP int
	// ReadHeader bounds the time to read a request's headers, Read the
	// whole request, body included; Idle a kept-alive connection's wait.
	ReadHeader, Read, Idle time.Duration
}

// DefaultLimits are sized for a node serving exchanges and partners: a
// slow client cannot hold a connection past Read, and a few thousand
// slow clients cannot exhaust the process's file descriptors.
var DefaultLimits = Limits{MaxConns: 4096, MaxConnsPerIP: 256, ReadHeader: 10 * time.Second, Read: 60 * time.Second, Idle: 120 * time.Second}

// Serve loads the screening index, serves the API and TAXII, pulls the
// peers, follows the chains, reruns the watches and prunes what expires,
// until ctx ends. Every part starts and stops here, in one run group:
// when one stops (ctx ends, or the listener fails) the others are
// interrupted, and Serve returns once all have returned; followers end
// after a whole batch, so the caller can close the node then.
func (n *Node) Serve(ctx context.Context, c ServeConfig) error {
	start := time.Now()
	if c.Alerts.MaxAge < 0 || c.Alerts.PerWatch < 0 {
		return inputErr(errors.New("alert retention and limit cannot be negative"))
	}
	if c.Limits == (Limits{}) {
		c.Limits = DefaultLimits
	}
	if c.Poll <= 0 {
		c.Poll = 30 * time.Second
	}
	if c.MemoryLimit > 0 {
		// The process is the server: its memory is the server's to bound.
		debug.SetMemoryLimit(c.MemoryLimit)
	}
	idx, err := n.Index(ctx)
	if err != nil {
		return err
	}
	if err := n.Exposure(ctx); err != nil {
		return err
	}
	// A replaced audit key would sign heads partners cannot match: refuse
	// to serve with it. Serving also starts from a signed head.
	if _, err := n.audit.CurrentHead(ctx); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	if n.keys.Len() == 0 {
		n.log.Warn("no API keys: every endpoint but /healthz will answer 401; create one with `tracehound keys create NAME`")
	}
	follow := &followState{}
	srv := api.New(api.Config{Index: idx, Parser: n.parser, Keys: n.keys, Logger: n.log, MaxBatch: c.MaxBatch,
		Admin: n, Tracer: n, Watcher: n, Explorer: n, Inbox: n, Transfers: n, Events: n, Scorer: n, Cases: n.cases, Web: web.Handler(), Health: func() any { return n.health(follow) }})
	n.tx.Register(srv)
	srv.Registerer().MustRegister(n.mon.inbox)
	hs, ln, err := n.listen(c, srv)
	if err != nil {
		return err
	}

	var g run.Group
	gctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Live event streams end with the context, before the HTTP server
	// waits for its connections to go idle.
	context.AfterFunc(gctx, n.mon.events.closeAll)
	// The context: its end stops everything.
	g.Add(func() error {
		<-gctx.Done()
		return nil
	}, func(error) { cancel() })
	// The HTTP server.
	g.Add(func() error {
		var err error
		if c.TLSCert != "" || c.TLSKey != "" {
			err = hs.ServeTLS(ln, c.TLSCert, c.TLSKey)
		} else {
			err = hs.Serve(ln)
		}
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("serve: %w", err)
	}, func(error) {
		n.log.Info("shutting down")
		sctx, done := context.WithTimeout(context.Background(), 10*time.Second)
		defer done()
		hs.Shutdown(sctx)
	})
	// Shared intelligence into screening as it arrives, and exposure
	// rebuilt when its sources change.
	n.actor(&g, gctx, n.reloadOnChange)
	n.actor(&g, gctx, n.exp.rebuildOnChange)
	// Registered transfers re-evaluated as screening changes.
	n.actor(&g, gctx, n.reevaluateLoop)
	pollers, err := n.pollers(gctx, c.Poll)
	if err != nil {
		ln.Close()
		return err
	}
	for _, p := range pollers {
		n.actor(&g, gctx, func(ctx context.Context) {
			if err := p.Run(ctx); err != nil && ctx.Err() == nil {
				n.log.Error("poller stopped", "err", err)
			}
		})
	}
	n.actor(&g, gctx, func(ctx context.Context) { n.pruneStatuses(ctx, statusPruneEvery(n.tx)) })
	if !c.Alerts.IsZero() {
		n.actor(&g, gctx, func(ctx context.Context) { n.pruneAlerts(ctx, c.Alerts, alertPruneEvery(c.Alerts)) })
	}
	if len(c.Followers) > 0 {
		metrics := ingest.NewMetrics(srv.Registerer())
		for _, f := range c.Followers {
			f.Metrics, f.Log = metrics, n.log
			n.actor(&g, gctx, func(ctx context.Context) { n.follow(ctx, f, follow) })
		}
	}

	// The traversal layout opens in the background (its segments'
	// checksums take a while on a large store), so that the first trace
	// does not wait for it and readiness does not either.
	n.actor(&g, gctx, func(ctx context.Context) {
		n.openTraversal(ctx)
		<-ctx.Done()
	})

	st := idx.Stats()
	scheme := "http"
	if c.TLSCert != "" {
		scheme = "https"
	}
	n.log.Info("serving", "url", scheme+"://"+ln.Addr().String(), "startup", time.Since(start).Round(time.Millisecond).String(),
		"sanctioned_addresses", st.SanctionedAddresses, "tagged_addresses", st.TaggedAddresses, "tags", st.Tags, "keys", n.keys.Len())
	if c.Ready != nil {
		c.Ready(ln.Addr().String())
	}
	return g.Run()
}

// actor adds a part that runs until its context ends.
func (n *Node) actor(g *run.Group, parent context.Context, f func(context.Context)) {
	ctx, cancel := context.WithCancel(parent)
	g.Add(func() error {
		f(ctx)
		return nil
	}, func(error) { cancel() })
}

// statusPruneEvery prunes TAXII statuses often enough that none outlives
// its retention by much more than a quarter of it.
func statusPruneEvery(tx *taxii.Server) time.Duration {
	r := tx.StatusRetention()
	return max(min(r/4, time.Hour), time.Second)
}

// listen opens the listener and the HTTP server, with the limits and the
// TLS configuration.
func (n *Node) listen(c ServeConfig, h http.Handler) (*http.Server, net.Listener, error) {
	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: c.Limits.ReadHeader,
		ReadTimeout:       c.Limits.Read,
		IdleTimeout:       c.Limits.Idle,
		ErrorLog:          slog.NewLogLogger(n.log.Handler(), slog.LevelWarn),
	}
	if c.ClientCA != "" {
		if c.TLSCert == "" {
			return nil, nil, inputErr(errors.New("a client CA needs a TLS certificate and key"))
		}
		pem, err := os.ReadFile(c.ClientCA)
		if err != nil {
			return nil, nil, fmt.Errorf("client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, nil, fmt.Errorf("client CA %s: no PEM certificates", c.ClientCA)
		}
		hs.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}
	}
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen on %s: %w", c.Addr, err)
	}
	return hs, limitListener(ln, c.Limits.MaxConns, c.Limits.MaxConnsPerIP), nil
}

// Health is what GET /healthz reports beyond "ok": the followers' state
// and lag, and whether screening has lists to screen against.
type Health struct {
	Status    string         `json:"status"`
	Followers []FollowStatus `json:"followers,omitempty"`
	// SanctionsLoaded is false while no sanctions list is imported:
	// screening then answers "unknown", never "low".
	SanctionsLoaded bool     `json:"sanctions_loaded"`
	Warnings        []string `json:"warnings,omitempty"`
}

func (n *Node) health(follow *followState) any {
	h := Health{Status: "ok", Followers: follow.snapshot()}
	st := n.index.Stats()
	h.SanctionsLoaded = st.SanctionedAddresses > 0
	if !h.SanctionsLoaded {
		h.Status = "degraded"
		h.Warnings = append(h.Warnings, "no sanctions list is loaded: screening cannot say an address is not sanctioned")
	}
	for _, f := range h.Followers {
		if !f.Connected {
			h.Status = "degraded"
			h.Warnings = append(h.Warnings, fmt.Sprintf("%s follower: %s", f.Chain, f.LastError))
		}
	}
	return h
}
