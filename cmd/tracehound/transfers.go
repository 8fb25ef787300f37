package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/tracehound/tracehound/alert"
	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/node"
	"github.com/tracehound/tracehound/screen"
)

func newTransfersCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "transfers",
		Short: "Monitor customers' deposits and withdrawals: register them for a risk decision and re-evaluation",
		Long: `An exchange registers each customer deposit and withdrawal with the node:
the counterparty is screened, the transfer checked against the chain where
the node ingests it, and the decision answered (accept, review, block).
Registered transfers are re-evaluated whenever the node learns something
new about their counterparties (a partner's flag, a list update, a tag
import, a rule or scorer finding): a retroactive alert names them.

With --server the transfers go through a running node's API (key with the
screen role in $TRACEHOUND_API_KEY); otherwise the store in --data is
opened directly.`,
	}
	var server string
	var reviewRisk string
	var asJSON bool
	register := &cobra.Command{
		Use:   "register FILE.csv",
		Short: "Register the transfers of a CSV file and print their decisions",
		Long: `Register the transfers of a CSV file, one a row, columns found by their
header names: id, customer, chain, tx, index (output or log index;
required on bitcoin), counterparty (or address), asset (empty for the
coin), amount (base units), direction (deposit or withdrawal) and time
(RFC 3339, optional). A row registered before with the same content
prints its stored decision; one whose id is taken by other content, or
that does not read, is reported with its line and the others go on.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			reqs, err := readTransfersCSV(args[0])
			if err != nil {
				return usageError("%v", err)
			}
			var risk screen.Risk
			if reviewRisk != "" {
				if risk, err = screen.ParseRisk(reviewRisk); err != nil || risk == screen.Unknown {
					return usageError("--review-risk: want low, medium, high or severe")
				}
			}
			if server != "" {
				if risk != 0 {
					return usageError("--review-risk applies to the local store; a server keeps its own")
				}
				c, err := remote(server)
				if err != nil {
					return err
				}
				return a.registerAll(cmd.Context(), args[0], reqs, asJSON, c.RegisterTransfer)
			}
			n, err := a.open(cmd.Context(), func(c *node.Config) { c.ReviewRisk = risk })
			if err != nil {
				return err
			}
			defer n.Close()
			ctx := node.AsActor(cmd.Context(), "cli")
			return usage(a.registerAll(ctx, args[0], reqs, asJSON, n.RegisterTransfer))
		},
	}
	register.Flags().StringVar(&server, "server", "", "register through a running node at this URL")
	register.Flags().StringVar(&reviewRisk, "review-risk", "", "risk at and above which a transfer raises an alert (default high)")
	register.Flags().BoolVar(&asJSON, "json", false, "print each transfer with its decision as JSON, one a line")
	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show a registered transfer with its decision, chain check and alerts",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var t alert.Transfer
			var ok bool
			var err error
			if server != "" {
				var c *api.Client
				if c, err = remote(server); err != nil {
					return err
				}
				t, ok, err = c.Transfer(cmd.Context(), args[0])
			} else {
				err = a.withNode(cmd.Context(), func(ctx context.Context, n *node.Node) error {
					t, ok, err = n.Transfer(ctx, args[0])
					return err
				})
			}
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("no transfer %q", args[0])
			}
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(t)
			}
			printTransfer(a.stdout, t)
			return nil
		},
	}
	show.Flags().StringVar(&server, "server", "", "read through a running node at this URL")
	show.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(register, show)
	return cmd
}

// readTransfersCSV reads a registration file whole (api.ReadTransferCSV),
// so that a file that does not read registers nothing.
func readTransfersCSV(path string) ([]api.TransferRow, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return api.ReadTransferCSV(f, path)
}

// registerAll registers each request, printing a line per transfer; a
// row that fails is reported with its line and the rest go on.
func (a *app) registerAll(ctx context.Context, file string, reqs []api.TransferRow, asJSON bool,
	register func(context.Context, api.TransferRequest) (alert.Transfer, bool, error)) error {
	w := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	if !asJSON {
		fmt.Fprintln(w, "ID\tCUSTOMER\tDIRECTION\tACTION\tRISK\tCHAIN CHECK\tALERT\tNOTE")
	}
	enc := json.NewEncoder(a.stdout)
	failed := 0
	for _, r := range reqs {
		t, created, err := register(ctx, r.Request)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			var ie *api.InputError
			var ce *api.ConflictError
			var cle *api.ClientError
			if !errors.As(err, &ie) && !errors.As(err, &ce) && !(errors.As(err, &cle) && cle.Status < 500) {
				w.Flush()
				return fmt.Errorf("%s:%d: %w", file, r.Line, err)
			}
			failed++
			fmt.Fprintf(a.stderr, "%s:%d: transfer %s: %v\n", file, r.Line, r.Request.ID, err)
			continue
		}
		if asJSON {
			if err := enc.Encode(t); err != nil {
				return err
			}
			continue
		}
		note := ""
		if !created {
			note = "registered before"
		}
		if len(t.Flags) > 0 {
			note = strings.TrimPrefix(note+"; "+strings.Join(t.Flags, ","), "; ")
		}
		al := "-"
		if len(t.Alerts) > 0 {
			al = t.Alerts[0]
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Customer, t.Direction, t.Decision.Action, t.Decision.Risk, t.Check.Status, al, note)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d transfers not registered (see above)", failed, len(reqs))
	}
	return nil
}

func printTransfer(w io.Writer, t alert.Transfer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	idx := "-"
	if t.Index != nil {
		idx = strconv.FormatUint(uint64(*t.Index), 10)
	}
	asset := string(t.Asset)
	if asset == "" {
		asset = "native"
	}
	rows := [][2]string{
		{"id", t.ID}, {"customer", t.Customer}, {"direction", string(t.Direction)}, {"chain", string(t.Chain)},
		{"tx", t.Tx}, {"index", idx}, {"counterparty", t.Counterparty}, {"asset", asset}, {"amount", t.Amount.String() + " base units"},
		{"registered", t.Registered.Format("2006-01-02 15:04:05 UTC") + " by " + t.RegisteredBy},
		{"decision", fmt.Sprintf("%s (risk %s)", t.Decision.Action, t.Decision.Risk)},
		{"chain check", string(t.Check.Status)},
	}
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\n", r[0], r[1])
	}
	for _, m := range t.Check.Mismatches {
		fmt.Fprintf(tw, "\t%s\n", m)
	}
	for _, r := range t.Decision.Reasons {
		fmt.Fprintf(tw, "reason\t%s: %s\n", r.Risk, r.Message)
	}
	if t.Decision.Model != nil {
		fmt.Fprintf(tw, "scorer\t%.3f\n", t.Decision.Model.Score)
	}
	if t.Current != nil {
		fmt.Fprintf(tw, "now\t%s (risk %s, re-evaluated %s)\n", t.Current.Action, t.Current.Risk, t.Current.Evaluated.Format("2006-01-02 15:04:05 UTC"))
		for _, r := range t.Current.Reasons {
			fmt.Fprintf(tw, "reason now\t%s: %s\n", r.Risk, r.Message)
		}
	}
	if len(t.Flags) > 0 {
		fmt.Fprintf(tw, "flags\t%s\n", strings.Join(t.Flags, ", "))
	}
	for _, al := range t.Alerts {
		fmt.Fprintf(tw, "alert\t%s\n", al)
	}
	tw.Flush()
}
