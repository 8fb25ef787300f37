package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/tracehound/tracehound/node"
	"github.com/tracehound/tracehound/trace"
	"github.com/tracehound/tracehound/trace/report"
)

type traceFlags struct {
	model, asset, since, until, min string
	hops, maxAddresses              int
	json, csv, noCluster, backward  bool
	noSwaps                         bool
	freeze, caseRef                 string
}

func newTraceCmd(a *app) *cobra.Command {
	var f traceFlags
	cmd := &cobra.Command{
		Use:   "trace CHAIN SEED...",
		Short: "Follow tainted funds forward from addresses or transactions to the services that hold them",
		Long: `Follow tainted funds forward from seeds (addresses, or transaction hashes)
hop by hop through the transfer graph, under the poison, haircut or FIFO
taint model, to the services (exchanges, mixers, bridges) they reached.

An address seed taints everything it received in the window (--since,
--until); a transaction seed taints everything the transaction moved.
A seed can be narrowed: TX:N is one output of a Bitcoin transaction,
TX:ADDRESS what the transaction paid that address; SEED=AMOUNT taints
only AMOUNT base units of what the seed received, oldest first; and
SEED@TIME counts the seed's arrivals from TIME on (RFC 3339 or
YYYY-MM-DD), e.g. 0xthief=401346000000000000000000@2025-02-21T14:13:00Z.
Exchange deposit addresses are recognised from their sweeps to a tagged
hot wallet, and Bitcoin addresses by the tagged addresses they were spent
together with (multi-input clustering, CoinJoins excluded), unless
--no-cluster. Taint that enters a DeFi venue (a DEX pool or router,
tagged defi) continues in the asset the venue paid out in the same
transaction, unless --no-swaps. With --freeze DIR, a freeze request per
exchange is written there as CSV and as a printable HTML page.`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.traceCmd(cmd.Context(), f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.model, "model", "haircut", "taint model: poison, haircut or fifo")
	fl.IntVar(&f.hops, "hops", trace.DefaultMaxHops, "most hops from a seed")
	fl.StringVar(&f.min, "min", "0", "drop branches carrying less than this many base units (dust)")
	fl.StringVar(&f.since, "since", "", "first block time considered (RFC 3339 or YYYY-MM-DD)")
	fl.StringVar(&f.until, "until", "", "block time after the window (RFC 3339 or YYYY-MM-DD)")
	fl.StringVar(&f.asset, "asset", "", "token contract to trace instead of the chain's coin")
	fl.IntVar(&f.maxAddresses, "max-addresses", trace.DefaultMaxAddresses, "stop with an error past this many tainted addresses")
	fl.BoolVar(&f.json, "json", false, "write the whole result as JSON")
	fl.BoolVar(&f.csv, "csv", false, "write the tainted transfers as CSV")
	fl.BoolVar(&f.noCluster, "no-cluster", false, "do not recognise deposit addresses by their sweeps")
	fl.BoolVar(&f.noSwaps, "no-swaps", false, "end the trace at DeFi venues instead of following swaps into other assets")
	fl.BoolVar(&f.backward, "backward", false, "trace backwards: where did what the seed address received come from")
	fl.StringVar(&f.freeze, "freeze", "", "write freeze requests, one per exchange, into this directory")
	fl.StringVar(&f.caseRef, "case", "", "case reference printed on freeze requests")
	return cmd
}

func (a *app) traceCmd(ctx context.Context, f traceFlags, args []string) error {
	if f.json && f.csv {
		return usageError("--json and --csv exclude each other")
	}
	spec := trace.Spec{Chain: args[0], Seeds: args[1:], Model: f.model, Hops: f.hops, Min: f.min, Since: f.since, Until: f.until,
		Asset: f.asset, NoCluster: f.noCluster, NoSwaps: f.noSwaps}
	if f.backward {
		spec.Direction = "backward"
	}
	return a.withNode(ctx, func(ctx context.Context, n *node.Node) error {
		req, err := n.ReadTrace(spec)
		if err != nil {
			return err
		}
		req.MaxAddresses = f.maxAddresses
		if req.Backward {
			res, err := n.TraceBack(ctx, req)
			if err != nil {
				return err
			}
			if f.json {
				return writeJSON(a.stdout, res)
			}
			return report.WriteBackSummary(a.stdout, res, n.Units())
		}
		res, err := n.Trace(ctx, req)
		if err != nil {
			return err
		}
		if f.freeze != "" {
			reqs, err := n.Freeze(ctx, res.ID, f.caseRef)
			if err != nil {
				return err
			}
			files, err := report.WriteDir(f.freeze, reqs)
			for _, file := range files {
				fmt.Fprintln(a.stderr, "wrote", file)
			}
			if err != nil {
				return err
			}
		}
		switch {
		case f.json:
			return writeJSON(a.stdout, res)
		case f.csv:
			return report.WriteEdgesCSV(a.stdout, res)
		}
		return report.WriteSummary(a.stdout, res, n.Units())
	})
}

// writeJSON writes v indented.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
