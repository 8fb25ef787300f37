package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/audit"
	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/ingest"
	"github.com/tracehound/tracehound/store/pebble"
	"github.com/tracehound/tracehound/trace"
	"github.com/tracehound/tracehound/watch"
)

func newWatchCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "watch",
		Short: "Live traces: rerun as blocks are ingested, alerting when stolen funds reach a new service",
		Long: `A watch is a saved forward trace. "ingest ... --watch" reruns the watches
after each batch of blocks and raises an alert (log, audit entry, optional
webhook) when the funds reach an endpoint they had not reached, or more of
them arrive there. A watch added with --share also publishes each deposit
address it finds as a STIX indicator in a TAXII collection of this node,
for partners polling it to flag.`,
	}
	var f traceFlags
	var share, shareTLP string
	add := &cobra.Command{
		Use:   "add NAME CHAIN SEED...",
		Short: "Save a trace as a watch and record what it finds now",
		Args:  cobra.MinimumNArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return a.withStore(ctx, func(db *pebble.DB) error {
				svc, err := newService(ctx, db, a.log)
				if err != nil {
					return err
				}
				req := api.WatchRequest{Name: args[0], TraceRequest: api.TraceRequest{Chain: args[1], Seeds: args[2:], Model: f.model, Hops: f.hops, Min: f.min, Since: f.since, Asset: f.asset, NoCluster: f.noCluster, NoSwaps: f.noSwaps}}
				if share != "" {
					req.Share = &api.ShareRequest{Collection: share, TLP: shareTLP}
				} else if cmd.Flags().Changed("tlp") {
					return usageError("--tlp marks what --share publishes: give --share too")
				}
				w, found, err := svc.addWatch(ctx, "cli", req)
				var ie *api.InputError
				if errors.As(err, &ie) {
					return usageError("%v", ie.Err)
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "watch %s saved; %d endpoints now (through block %d)\n", w.Name, len(found), w.Through)
				if w.Share != nil {
					fmt.Fprintf(a.stdout, "new deposit addresses will be published in collection %s as %s\n", w.Share.Collection, w.Share.TLP)
				}
				printAlerts(a.stdout, found)
				return nil
			})
		},
	}
	add.Flags().StringVar(&f.model, "model", "haircut", "taint model: poison, haircut or fifo")
	add.Flags().IntVar(&f.hops, "hops", 6, "most hops from a seed")
	add.Flags().StringVar(&f.min, "min", "0", "dust limit in base units")
	add.Flags().StringVar(&f.since, "since", "", "first block time considered")
	add.Flags().StringVar(&f.asset, "asset", "", "token contract to trace")
	add.Flags().BoolVar(&f.noCluster, "no-cluster", false, "do not recognise deposit addresses by their sweeps")
	add.Flags().BoolVar(&f.noSwaps, "no-swaps", false, "end the trace at DeFi venues instead of following swaps into other assets")
	add.Flags().StringVar(&share, "share", "", "publish each new deposit address the watch finds as a STIX indicator in this TAXII collection of the node (needs `intel identity`)")
	add.Flags().StringVar(&shareTLP, "tlp", "amber", "TLP marking of what --share publishes: clear, green, amber or amber+strict (red never leaves the node, so it is refused)")
	list := &cobra.Command{
		Use:   "list",
		Short: "List watches and what they last found",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			return a.withStore(ctx, func(db *pebble.DB) error {
				ws, err := db.Watches(ctx)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tCHAIN\tMODEL\tSEEDS\tENDPOINTS\tCHECKED\tTHROUGH\tSHARE")
				for _, w := range ws {
					share := "-"
					if w.Share != nil {
						share = w.Share.Collection + " " + w.Share.TLP.String()
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%d\t%s\n", w.Name, w.Chain, w.Model, len(w.Seeds), len(w.Endpoints), w.Checked.Format(time.RFC3339), w.Through, share)
				}
				return tw.Flush()
			})
		},
	}
	rm := &cobra.Command{
		Use:   "rm NAME",
		Short: "Delete a watch",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return a.withStore(ctx, func(db *pebble.DB) error {
				// Deleting needs the watches and the audit log, not the
				// screening index a service loads.
				ok, err := watch.NewService(db, audit.New(db), nil).Delete(ctx, "cli", args[0])
				if err == nil && !ok {
					err = fmt.Errorf("no watch %q", args[0])
				}
				return err
			})
		},
	}
	var webhook string
	check := &cobra.Command{
		Use:   "check",
		Short: "Rerun every watch now and print the alerts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			return a.withStore(ctx, func(db *pebble.DB) error {
				svc, err := newService(ctx, db, a.log)
				if err != nil {
					return err
				}
				wa := &watcher{svc: svc, out: a.stdout, log: a.log, webhook: webhook}
				for _, c := range []chain.Chain{chain.Ethereum, chain.Bitcoin} {
					if err := wa.check(ctx, c); err != nil {
						return err
					}
				}
				return nil
			})
		},
	}
	check.Flags().StringVar(&webhook, "alert-webhook", "", "also POST each alert as JSON to this URL")
	cmd.AddCommand(add, list, rm, check)
	return cmd
}

func printAlerts(w io.Writer, alerts []watch.Alert) {
	for _, al := range alerts {
		via := ""
		if al.Label.Heuristic != "" {
			via = " (" + al.Label.Heuristic + ")"
		}
		shared := ""
		if al.Shared != nil {
			shared = fmt.Sprintf("; shared in %s as %s (%s)", al.Shared.Collection, al.Shared.Indicator, al.Shared.TLP)
		}
		fmt.Fprintf(w, "ALERT %s: %s %s%s at %s now holds %s (was %s); last arrival %s, txs %v%s\n", al.Watch, al.Label.Entity, al.Label.Category, via,
			al.Address, al.Amount, al.Previous, al.Last.Format(time.RFC3339), al.Txs, shared)
	}
}

// watcher reruns a chain's watches as an ingest stores its blocks and
// reports the alerts they raise: printed, logged and posted to the
// webhook (the watch service has stored and audited them). ingest --watch
// and serve --follow-* share it.
type watcher struct {
	svc     *service
	out     io.Writer
	log     *slog.Logger
	webhook string
	every   time.Duration
	// keepGoing logs a failed check instead of stopping the ingest: a
	// server's follower must not stall on one watch that fails.
	keepGoing bool
	last      time.Time
	sinceRun  bool
}

// afterWrite reruns the chain's watches, once the ingest has dropped the
// histories it changed from the trace cache: at most every w.every while catching up,
// after every batch once at the node's head, where a skipped check could
// wait long for the next block.
func (w *watcher) afterWrite(c chain.Chain) func(context.Context, ingest.Progress) error {
	return func(ctx context.Context, p ingest.Progress) error {
		w.sinceRun = true
		atHead := p.Target > 0 && p.Height >= p.Target
		if !atHead && time.Since(w.last) < w.every {
			return nil
		}
		return w.check(ctx, c)
	}
}

// finish runs the check a rate-limited batch left pending.
func (w *watcher) finish(ctx context.Context, c chain.Chain) error {
	if !w.sinceRun || ctx.Err() != nil {
		return nil
	}
	return w.check(ctx, c)
}

func (w *watcher) check(ctx context.Context, c chain.Chain) error {
	w.last, w.sinceRun = time.Now(), false
	_, clustered, err := w.svc.traceOptions(ctx, api.TraceRequest{Chain: string(c)}, 0)
	if err != nil {
		return err
	}
	_, plain, err := w.svc.traceOptions(ctx, api.TraceRequest{Chain: string(c), NoCluster: true}, 0)
	if err != nil {
		return err
	}
	labels := func(wt *watch.Watch) trace.Labeler {
		if wt.NoCluster {
			return plain.Labels
		}
		return clustered.Labels
	}
	alerts, err := w.svc.watches.CheckAll(ctx, w.svc.traceGraph(), labels, c, time.Now())
	w.report(ctx, alerts)
	if err != nil && w.keepGoing && ctx.Err() == nil {
		w.log.Error("watch check failed", "chain", string(c), "err", err)
		return nil
	}
	return err
}

func (w *watcher) report(ctx context.Context, alerts []watch.Alert) {
	printAlerts(w.out, alerts)
	for _, al := range alerts {
		w.log.Warn("watch alert", "watch", al.Watch, "chain", string(al.Chain), "address", al.Address, "entity", al.Label.Entity,
			"amount", al.Amount.String(), "previous", al.Previous.String(), "through_block", al.Through)
		if w.webhook != "" {
			// Delivered even while the server stops: postAlert bounds it.
			if err := postAlert(context.WithoutCancel(ctx), w.webhook, al); err != nil {
				// A webhook that is down must not stop the ingest: the
				// alert is stored, logged and audited.
				w.log.Error("alert webhook", "err", err)
			}
		}
	}
}

func postAlert(ctx context.Context, url string, al watch.Alert) error {
	body, err := json.Marshal(al)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("webhook answered %s", resp.Status)
	}
	return nil
}

// addWatch saves a watch from a request shaped like a trace's and returns
// it with the endpoints it finds now. A watch follows funds forward from
// now on, so it takes neither an end of window nor a direction.
func (s *service) addWatch(ctx context.Context, actor string, req api.WatchRequest) (watch.Watch, []watch.Alert, error) {
	bad := func(format string, args ...any) error { return &api.InputError{Err: fmt.Errorf(format, args...)} }
	if !validWatchName(req.Name) {
		return watch.Watch{}, nil, bad("name %q: want 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit", req.Name)
	}
	if req.Until != "" {
		return watch.Watch{}, nil, bad("a watch has no end of window (until)")
	}
	if req.Direction != "" && req.Direction != "forward" {
		return watch.Watch{}, nil, bad("a watch traces forward")
	}
	if len(req.Seeds) == 0 {
		return watch.Watch{}, nil, bad("a watch needs seeds")
	}
	seeds, o, err := s.traceOptions(ctx, req.TraceRequest, 0)
	if err != nil {
		return watch.Watch{}, nil, err
	}
	w := watch.Watch{Name: req.Name, Chain: o.Chain, Seeds: seeds, Model: o.Model, Hops: o.MaxHops, Min: o.MinAmount, Asset: o.Asset, Since: o.Since,
		NoCluster: req.NoCluster, NoSwaps: req.NoSwaps}
	if req.Share != nil {
		if w.Share, err = s.watchShare(ctx, req.Share); err != nil {
			return watch.Watch{}, nil, err
		}
	}
	found, err := s.watches.Add(ctx, actor, &w, s.traceGraph(), o.Labels, time.Now())
	if errors.Is(err, watch.ErrExists) {
		return watch.Watch{}, nil, &api.ConflictError{Err: err}
	}
	return w, found, err
}

// validWatchName keeps names safe in URLs, logs and store keys.
func validWatchName(name string) bool {
	if len(name) == 0 || len(name) > 64 {
		return false
	}
	for i, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || i > 0 && (r == '.' || r == '_' || r == '-')
		if !ok {
			return false
		}
	}
	return true
}

// AddWatch implements api.Watcher.
func (s *service) AddWatch(ctx context.Context, req api.WatchRequest) (watch.Watch, error) {
	w, _, err := s.addWatch(ctx, actorOf(ctx), req)
	return w, err
}

// Watches implements api.Watcher.
func (s *service) Watches(ctx context.Context) ([]watch.Watch, error) { return s.watches.Watches(ctx) }

// Watch implements api.Watcher.
func (s *service) Watch(ctx context.Context, name string) (watch.Watch, []watch.Alert, bool, error) {
	return s.watches.Watch(ctx, name)
}

// DeleteWatch implements api.Watcher.
func (s *service) DeleteWatch(ctx context.Context, name string) (bool, error) {
	return s.watches.Delete(ctx, actorOf(ctx), name)
}

// Alerts implements api.Watcher.
func (s *service) Alerts(ctx context.Context, q watch.AlertQuery) ([]watch.Alert, error) {
	return s.watches.Alerts(ctx, q)
}

// actorOf names the API key acting, for the audit trail.
func actorOf(ctx context.Context) string {
	if k := auth.KeyFrom(ctx); k != nil {
		return k.Name
	}
	return "unknown"
}

// alertPruneEvery is how often a server prunes alerts: often enough that
// none outlives the retention by much more than a quarter of it, and,
// with a count limit only, every ten minutes.
func alertPruneEvery(r watch.Retention) time.Duration {
	if r.MaxAge > 0 {
		return max(min(r.MaxAge/4, time.Hour), time.Second)
	}
	return 10 * time.Minute
}

// pruneAlerts deletes the alerts r no longer keeps, at start and then
// every so often until ctx ends. now is the clock, a parameter so that
// retention can be tested without waiting.
func (s *service) pruneAlerts(ctx context.Context, r watch.Retention, every time.Duration, now func() time.Time) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := s.watches.PruneAlerts(ctx, r, now()); err != nil && ctx.Err() == nil {
			s.log.Error("watch: prune alerts", "err", err)
		} else if n > 0 {
			s.log.Info("watch: pruned alerts", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
