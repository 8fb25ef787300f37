package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/intel"
	"github.com/tracehound/tracehound/node"
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
			if share == "" && cmd.Flags().Changed("tlp") {
				return usageError("--tlp marks what --share publishes: give --share too")
			}
			var sh *watch.Share
			if share != "" {
				level, err := intel.ParseTLP(shareTLP)
				if err != nil {
					return usageError("--tlp: %v", err)
				}
				sh = &watch.Share{Collection: share, TLP: level}
			}
			spec := trace.Spec{Chain: args[1], Seeds: args[2:], Model: f.model, Hops: f.hops, Min: f.min, Since: f.since, Asset: f.asset, NoCluster: f.noCluster, NoSwaps: f.noSwaps}
			return a.withNode(cmd.Context(), func(ctx context.Context, n *node.Node) error {
				req, err := n.ReadTrace(spec)
				if err != nil {
					return err
				}
				w, found, err := n.AddWatch(ctx, args[0], req, sh)
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
	add.Flags().IntVar(&f.hops, "hops", trace.DefaultMaxHops, "most hops from a seed")
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
			return a.withNode(cmd.Context(), func(ctx context.Context, n *node.Node) error {
				ws, err := n.Watches(ctx)
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
			return a.withNode(cmd.Context(), func(ctx context.Context, n *node.Node) error {
				ok, err := n.DeleteWatch(ctx, args[0])
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
			return a.withNode(cmd.Context(), func(ctx context.Context, n *node.Node) error {
				n.OnAlerts(func(_ context.Context, alerts []watch.Alert) { printAlerts(a.stdout, alerts) })
				if webhook != "" {
					n.OnAlert(n.Webhook(webhook))
				}
				for _, c := range []chain.Chain{chain.Ethereum, chain.Bitcoin} {
					if _, err := n.CheckWatches(ctx, c); err != nil {
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
