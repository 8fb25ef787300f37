package main

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
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/taxii"
	"github.com/tracehound/tracehound/watch"
)

type serveOptions struct {
	addr     string
	tlsCert  string
	tlsKey   string
	clientCA string
	maxBatch int
	poll     time.Duration
	// statusRetention and statusLimit bound the TAXII statuses kept.
	statusRetention time.Duration
	statusLimit     int
	// alerts bounds the watch alerts kept; zero keeps them all.
	alerts watch.Retention
	follow followOptions
}

func newServeCmd(a *app) *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the API from the store in --data, optionally following nodes and rerunning watches",
		Long: `Serve the screening, trace and watch API from the store in --data.

With --follow-eth or --follow-btc the server ingests the node's new blocks
itself (the store is open in one process only), reruns the saved watches
after each batch and raises their alerts: stored for GET /v1/alerts,
logged, audited and posted to --alert-webhook. Ingest progress is in
/metrics. Stopping the server stops the followers after a whole batch.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.serve(cmd.Context(), o, nil)
		},
	}
	addServeFlags(cmd, &o)
	return cmd
}

func addServeFlags(cmd *cobra.Command, o *serveOptions) {
	cmd.Flags().StringVar(&o.addr, "addr", "127.0.0.1:8080", "listen address")
	cmd.Flags().StringVar(&o.tlsCert, "tls-cert", "", "TLS certificate file (PEM); serve HTTPS when set with --tls-key")
	cmd.Flags().StringVar(&o.tlsKey, "tls-key", "", "TLS private key file (PEM)")
	cmd.Flags().StringVar(&o.clientCA, "tls-client-ca", "", "require partners to present a client certificate signed by a CA in this PEM file (mutual TLS), in addition to their API key")
	cmd.Flags().IntVar(&o.maxBatch, "max-batch", api.DefaultMaxBatch, "most addresses in one screening request")
	cmd.Flags().DurationVar(&o.poll, "poll", 30*time.Second, "how often to pull each peer's collection (tracehound intel peer add)")
	cmd.Flags().DurationVar(&o.statusRetention, "taxii-status-retention", taxii.DefaultStatusRetention, "how long partners can read the status of a TAXII add request")
	cmd.Flags().IntVar(&o.statusLimit, "taxii-status-limit", taxii.DefaultStatusLimit, "most TAXII statuses kept; the oldest go first")
	cmd.Flags().DurationVar(&o.alerts.MaxAge, "alert-retention", 0, "delete watch alerts raised longer ago than this (0 keeps them)")
	cmd.Flags().IntVar(&o.alerts.PerWatch, "alert-limit", 0, "most alerts kept per watch; the oldest go first (0 keeps them all)")
	o.follow.addFlags(cmd.Flags())
}

// serve opens the store, loads the index and serves until ctx ends.
// ready, if not nil, receives the listening address once serving.
func (a *app) serve(ctx context.Context, o serveOptions, ready func(addr string)) error {
	start := time.Now()
	db, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	svc, err := newService(ctx, db, a.log)
	if err != nil {
		return err
	}
	return a.serveService(ctx, svc, o, start, ready)
}

// serveService serves the API over an open service until ctx ends.
func (a *app) serveService(ctx context.Context, svc *service, o serveOptions, start time.Time, ready func(addr string)) error {
	if o.alerts.MaxAge < 0 || o.alerts.PerWatch < 0 {
		return usageError("--alert-retention and --alert-limit cannot be negative")
	}
	keys, err := svc.db.Keys(ctx)
	if err != nil {
		return err
	}
	keyring := auth.NewKeyring(keys)
	if len(keys) == 0 {
		a.log.Warn("no API keys: every endpoint but /healthz will answer 401; create one with `tracehound keys create NAME`")
	}
	srv := api.New(api.Config{Index: svc.index, Keys: keyring, Logger: a.log, MaxBatch: o.maxBatch, Admin: svc, Tracer: svc, Watcher: svc})
	// One TAXII server for partners and for what the node publishes
	// itself; set before anything that publishes runs.
	tx := svc.newTAXII(func(c *taxii.Config) { c.StatusRetention, c.StatusLimit = o.statusRetention, o.statusLimit })
	svc.tx = tx
	tx.Register(srv)
	if err := svc.reloadIntel(ctx); err != nil {
		return err
	}
	if o.poll <= 0 {
		o.poll = 30 * time.Second
	}
	pctx, stopPollers := context.WithCancel(ctx)
	var pruner sync.WaitGroup
	defer pruner.Wait()
	wait, err := svc.startPollers(pctx, tx, o.poll)
	defer func() { stopPollers(); wait() }()
	if err != nil {
		return err
	}
	retention := o.statusRetention
	if retention <= 0 {
		retention = taxii.DefaultStatusRetention
	}
	pruner.Go(func() { svc.pruneStatuses(pctx, tx, max(min(retention/4, time.Hour), time.Second)) })
	if !o.alerts.IsZero() {
		pruner.Go(func() { svc.pruneAlerts(pctx, o.alerts, alertPruneEvery(o.alerts), time.Now) })
	}
	fctx, stopFollowers := context.WithCancel(ctx)
	waitFollowers, err := a.startFollowers(fctx, svc, o.follow, srv.Registerer(), &syncWriter{w: a.stdout})
	if err != nil {
		stopFollowers()
		return err
	}
	// The followers finish their batch before the caller closes the store.
	defer func() { stopFollowers(); waitFollowers() }()
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.addr, err)
	}
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	if o.clientCA != "" {
		if o.tlsCert == "" {
			return usageError("--tls-client-ca needs --tls-cert and --tls-key")
		}
		pem, err := os.ReadFile(o.clientCA)
		if err != nil {
			return fmt.Errorf("--tls-client-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("--tls-client-ca %s: no PEM certificates", o.clientCA)
		}
		hs.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}
	}
	st := svc.index.Stats()
	scheme := "http"
	if o.tlsCert != "" {
		scheme = "https"
	}
	a.log.Info("serving", "url", scheme+"://"+ln.Addr().String(), "startup", time.Since(start).Round(time.Millisecond).String(),
		"sanctioned_addresses", st.SanctionedAddresses, "tagged_addresses", st.TaggedAddresses, "tags", st.Tags, "keys", len(keys))
	if ready != nil {
		ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() {
		if o.tlsCert != "" || o.tlsKey != "" {
			errc <- hs.ServeTLS(ln, o.tlsCert, o.tlsKey)
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve: %w", err)
		}
		return nil
	case <-ctx.Done():
	}
	a.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return hs.Shutdown(sctx)
}
