package main

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/node"
	"github.com/tracehound/tracehound/screen"
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
	// reviewRisk is the risk at which a registered transfer alerts.
	reviewRisk string
	// memoryLimit is the process's soft memory limit, as --memory-limit
	// gave it ("" for none).
	memoryLimit string
	follow      followOptions
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
logged, audited and posted to --alert-webhook. A chain node that cannot be
reached does not stop the server: it is retried, and /healthz and /metrics
show the lag. Stopping the server stops the followers after a whole batch.`,
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
	cmd.Flags().StringVar(&o.reviewRisk, "review-risk", "high", "risk at and above which a registered transfer raises an alert, and a re-evaluation a retroactive one: low, medium, high or severe")
	cmd.Flags().StringVar(&o.memoryLimit, "memory-limit", "", "soft limit of the server's memory, e.g. 1GiB or 800MB: the garbage collector works harder near it (as GOMEMLIMIT); empty for none")
	o.follow.addFlags(cmd.Flags())
}

// checkMemoryLimit refuses a --memory-limit that is not a size.
func (o serveOptions) checkMemoryLimit() error {
	if o.memoryLimit == "" {
		return nil
	}
	if _, err := parseSize(o.memoryLimit); err != nil {
		return usageError("--memory-limit: %v", err)
	}
	return nil
}

// parseSize reads a byte count with an optional unit: B, KB, MB, GB
// (powers of 1000) or KiB, MiB, GiB (powers of 1024).
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	num, mult := strings.TrimSpace(s), int64(1)
	for _, u := range units {
		if v, ok := strings.CutSuffix(num, u.suffix); ok {
			num, mult = strings.TrimSpace(v), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("%q is not a size: want a positive whole number with an optional unit (B, KB, MB, GB, KiB, MiB, GiB)", s)
	}
	return n * mult, nil
}

// serve opens the node and serves until ctx ends. ready, if not nil,
// receives the listening address once serving.
func (a *app) serve(ctx context.Context, o serveOptions, ready func(addr string)) error {
	if o.alerts.MaxAge < 0 || o.alerts.PerWatch < 0 {
		return usageError("--alert-retention and --alert-limit cannot be negative")
	}
	if err := o.checkMemoryLimit(); err != nil {
		return err
	}
	var review screen.Risk // zero: the node's default, high
	if o.reviewRisk != "" {
		var err error
		if review, err = screen.ParseRisk(o.reviewRisk); err != nil || review == screen.Unknown {
			return usageError("--review-risk: want low, medium, high or severe")
		}
	}
	n, err := a.open(ctx, o.taxii, func(c *node.Config) { c.ReviewRisk = review })
	if err != nil {
		return err
	}
	defer n.Close()
	return usage(n.Serve(ctx, a.serveConfig(n, o, ready)))
}

// taxii sets the TAXII server's flags.
func (o serveOptions) taxii(c *node.Config) {
	c.TAXII = func(t *taxii.Config) { t.StatusRetention, t.StatusLimit = o.statusRetention, o.statusLimit }
}

// serveConfig is what the flags ask of the server; alerts raised by the
// followers' watches are printed to stdout and posted to the webhook.
func (a *app) serveConfig(n *node.Node, o serveOptions, ready func(addr string)) node.ServeConfig {
	n.OnAlerts(func(_ context.Context, alerts []watch.Alert) { printAlerts(a.syncedStdout(), alerts) })
	if o.follow.webhook != "" {
		n.OnAlert(n.Webhook(o.follow.webhook))
	}
	limit, _ := parseSize(o.memoryLimit) // checked by serve; 0 for none
	return node.ServeConfig{Addr: o.addr, TLSCert: o.tlsCert, TLSKey: o.tlsKey, ClientCA: o.clientCA, MaxBatch: o.maxBatch,
		Poll: o.poll, Alerts: o.alerts, Followers: o.follow.followers(), Ready: ready, MemoryLimit: limit}
}
