package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tracehound/tracehound/api"
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
them arrive there.`,
	}
	var f traceFlags
	add := &cobra.Command{
		Use:   "add NAME CHAIN SEED...",
		Short: "Save a trace as a watch and record what it finds now",
		Args:  cobra.MinimumNArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			db, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			svc, err := newService(ctx, db, a.log)
			if err != nil {
				return err
			}
			req := api.TraceRequest{Chain: args[1], Seeds: args[2:], Model: f.model, Hops: f.hops, Min: f.min, Since: f.since, Asset: f.asset, NoCluster: f.noCluster}
			seeds, o, err := svc.traceOptions(ctx, req, 0)
			if err != nil {
				return err
			}
			w := watch.Watch{Name: args[0], Chain: o.Chain, Seeds: seeds, Model: o.Model, Hops: o.MaxHops, Min: o.MinAmount, Asset: o.Asset, Since: o.Since, Created: time.Now().UTC()}
			alerts, err := watch.Check(ctx, db, o.Labels, &w, time.Now())
			if err != nil {
				return err
			}
			if err := db.PutWatch(ctx, w); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "watch %s saved; %d endpoints now (through block %d)\n", w.Name, len(alerts), w.Through)
			printAlerts(a.stdout, alerts)
			return nil
		},
	}
	add.Flags().StringVar(&f.model, "model", "haircut", "taint model: poison, haircut or fifo")
	add.Flags().IntVar(&f.hops, "hops", 6, "most hops from a seed")
	add.Flags().StringVar(&f.min, "min", "0", "dust limit in base units")
	add.Flags().StringVar(&f.since, "since", "", "first block time considered")
	add.Flags().StringVar(&f.asset, "asset", "", "token contract to trace")
	add.Flags().BoolVar(&f.noCluster, "no-cluster", false, "do not recognise deposit addresses by their sweeps")
	list := &cobra.Command{
		Use:   "list",
		Short: "List watches and what they last found",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			db, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			ws, err := db.Watches(ctx)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tCHAIN\tMODEL\tSEEDS\tENDPOINTS\tCHECKED\tTHROUGH")
			for _, w := range ws {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%d\n", w.Name, w.Chain, w.Model, len(w.Seeds), len(w.Endpoints), w.Checked.Format(time.RFC3339), w.Through)
			}
			return tw.Flush()
		},
	}
	rm := &cobra.Command{
		Use:   "rm NAME",
		Short: "Delete a watch",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			db, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			ok, err := db.DeleteWatch(ctx, args[0])
			if err == nil && !ok {
				err = fmt.Errorf("no watch %q", args[0])
			}
			return err
		},
	}
	var webhook string
	check := &cobra.Command{
		Use:   "check",
		Short: "Rerun every watch now and print the alerts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			db, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			svc, err := newService(ctx, db, a.log)
			if err != nil {
				return err
			}
			wa := &watcher{a: a, db: db, svc: svc, webhook: webhook}
			for _, c := range []chain.Chain{chain.Ethereum, chain.Bitcoin} {
				if err := wa.check(ctx, c); err != nil {
					return err
				}
			}
			return nil
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
		fmt.Fprintf(w, "ALERT %s: %s %s%s at %s now holds %s (was %s); last arrival %s, txs %v\n", al.Watch, al.Label.Entity, al.Label.Category, via,
			al.Address, al.Amount, al.Previous, al.Last.Format(time.RFC3339), al.Txs)
	}
}

// watcher reruns watches for an ingest and reports alerts.
type watcher struct {
	a        *app
	db       *pebble.DB
	svc      *service
	webhook  string
	every    time.Duration
	last     time.Time
	sinceRun bool
}

// afterWrite reruns the chain's watches at most every w.every.
func (w *watcher) afterWrite(c chain.Chain) func(context.Context, ingest.Progress) error {
	return func(ctx context.Context, _ ingest.Progress) error {
		w.sinceRun = true
		if time.Since(w.last) < w.every {
			return nil
		}
		return w.check(ctx, c)
	}
}

func (w *watcher) check(ctx context.Context, c chain.Chain) error {
	w.last, w.sinceRun = time.Now(), false
	// The store grows between checks: each check gets a fresh cache.
	w.svc.graph = trace.NewCachedGraph(w.db, traceCacheBudget)
	_, o, err := w.svc.traceOptions(ctx, api.TraceRequest{Chain: string(c), Seeds: nil}, 0)
	if err != nil {
		return err
	}
	alerts, err := watch.CheckAll(ctx, w.db, w.svc.graph, o.Labels, c, time.Now())
	if err != nil {
		return err
	}
	printAlerts(w.a.stdout, alerts)
	for _, al := range alerts {
		w.a.log.Warn("watch alert", "watch", al.Watch, "chain", string(al.Chain), "address", al.Address, "entity", al.Label.Entity,
			"amount", al.Amount.String(), "previous", al.Previous.String(), "through_block", al.Through)
		if _, err := w.svc.audit.Record(ctx, "watch:"+al.Watch, "watch.alert", al.Address, map[string]string{
			"entity": al.Label.Entity, "amount": al.Amount.String(), "previous": al.Previous.String()}); err != nil {
			return err
		}
		if w.webhook != "" {
			if err := postAlert(ctx, w.webhook, al); err != nil {
				// A webhook that is down must not stop the ingest: the
				// alert is in the log and the audit trail.
				w.a.log.Error("alert webhook", "err", err)
			}
		}
	}
	return nil
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
