package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tracehound/tracehound/node"
)

func newAddressCmd(a *app) *cobra.Command {
	var asJSON bool
	var limit int
	var asset string
	cmd := &cobra.Command{
		Use:   "address CHAIN ADDRESS",
		Short: "Show an address's totals, first and last seen, sanctions and recent transfers",
		Long: `Show what the transfer graph holds for an address: totals received and
sent per asset in base units (satoshi, wei, token units), fees paid, first
and last seen, any sanctions designation, and the most recent transfers,
newest first.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withNode(cmd.Context(), func(ctx context.Context, n *node.Node) error {
				rep, err := n.Address(ctx, node.AddressQuery{Chain: args[0], Address: args[1], Asset: asset, Limit: limit})
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(a.stdout, rep)
				}
				a.printAddress(rep)
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "write JSON")
	cmd.Flags().IntVar(&limit, "limit", 20, "recent transfers to show")
	cmd.Flags().StringVar(&asset, "asset", "", "only transfers of this token contract (eth); \"native\" for the coin")
	return cmd
}

func (a *app) printAddress(rep *node.AddressReport) {
	w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	defer w.Flush()
	fmt.Fprintf(w, "%s\t%s\n", rep.Address.Chain, rep.Address.Value)
	for _, e := range rep.Sanctions {
		fmt.Fprintf(w, "SANCTIONED\t%s: %s (%s, list of %s)\n", e.Source, e.Party.Name, e.Asset, e.ListDate.Format(time.DateOnly))
	}
	if !rep.Found {
		fmt.Fprintf(w, "not in the transfer graph\t\n")
		return
	}
	t := rep.Totals
	fmt.Fprintf(w, "first seen\t%s\n", t.FirstSeen.Format(time.RFC3339))
	fmt.Fprintf(w, "last seen\t%s\n", t.LastSeen.Format(time.RFC3339))
	fmt.Fprintf(w, "transfers\t%d in, %d out\n", t.Incoming, t.Outgoing)
	fmt.Fprintf(w, "fees paid\t%s\n", t.FeesPaid)
	for _, as := range t.Assets {
		name := string(as.Asset)
		if name == "" {
			name = "native"
		}
		fmt.Fprintf(w, "%s\treceived %s, sent %s (base units)\n", name, as.Received, as.Sent)
	}
	if len(rep.Recent) > 0 {
		fmt.Fprintf(w, "\nrecent transfers, newest first\t\n")
		for _, p := range rep.Recent {
			dir, arrow := "in ", "<-"
			if !p.Incoming {
				dir, arrow = "out", "->"
			}
			asset := string(p.Asset)
			if asset == "" {
				asset = "native"
			}
			fmt.Fprintf(w, "%s\t%s\t%s %s\t%s %s\tblock %d\ttx %s\n", p.Time.Format(time.RFC3339), dir, arrow, p.Counterparty, p.Amount, asset, p.Block, p.Tx)
		}
	}
}
