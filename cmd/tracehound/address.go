package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/sanctions"
	"github.com/tracehound/tracehound/store/graph"
	"github.com/tracehound/tracehound/store/pebble"
)

// addressReport is what `address` prints: the graph's view of one address.
type addressReport struct {
	Address   chain.Address     `json:"address"`
	Found     bool              `json:"found"`
	Totals    *graph.Totals     `json:"totals,omitempty"`
	Sanctions []sanctions.Entry `json:"sanctions,omitempty"`
	Recent    []graph.Posting   `json:"recent"`
}

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
			c := chain.ParseChain(args[0])
			if c != chain.Bitcoin && c != chain.Ethereum {
				return usageError("chain %q: the graph holds btc and eth", args[0])
			}
			addr, err := newAddressParser().Parse(args[1], c)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			db, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			rep, err := addressInfo(ctx, db, addr, chain.Asset(strings.ToLower(asset)), limit)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			a.printAddress(rep)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "write JSON")
	cmd.Flags().IntVar(&limit, "limit", 20, "recent transfers to show")
	cmd.Flags().StringVar(&asset, "asset", "", "only transfers of this token contract (eth); \"native\" for the coin")
	return cmd
}

func addressInfo(ctx context.Context, db *pebble.DB, addr chain.Address, asset chain.Asset, limit int) (*addressReport, error) {
	rep := &addressReport{Address: addr, Recent: []graph.Posting{}}
	tot, ok, err := db.Graph().AddressTotals(ctx, addr.Chain, addr.Value)
	if err != nil {
		return nil, err
	}
	if ok {
		rep.Found, rep.Totals = true, &tot
	}
	entries, err := db.CurrentSanctions(ctx)
	if err != nil {
		return nil, err
	}
	p := newAddressParser()
	for _, e := range entries {
		if sa, err := p.Parse(e.Address, chain.ParseChain(e.Asset)); err == nil && sa.Key() == addr.Key() {
			rep.Sanctions = append(rep.Sanctions, e)
		}
	}
	if !ok || limit <= 0 {
		return rep, nil
	}
	// Views, so that an asset filter on a busy address skips the
	// postings it does not show without turning them into text.
	err = db.Graph().PostingViews(ctx, addr.Chain, addr.Value, graph.PostingQuery{}, func(v *graph.PostingView) bool {
		switch {
		case asset == "":
		case asset == "native" && v.IsAsset(chain.Native):
		case v.IsAsset(asset):
		default:
			return true
		}
		rep.Recent = append(rep.Recent, v.Posting())
		return len(rep.Recent) < limit
	})
	return rep, err
}

func (a *app) printAddress(rep *addressReport) {
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
