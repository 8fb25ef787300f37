package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/cases"
	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/intel"
	"github.com/tracehound/tracehound/trace"
)

// caseCmd holds what every case command shares: the node it goes
// through and how it prints.
type caseCmd struct {
	a      *app
	server string
	json   bool
}

func newCaseCmd(a *app) *cobra.Command {
	cc := &caseCmd{a: a}
	cmd := &cobra.Command{
		Use:     "case",
		Aliases: []string{"cases"},
		Short:   "Investigations: open a case, add seeds, addresses, notes, traces and freeze requests, export a report",
		Long: `Cases keep investigations in a running node (docs/web.md): seeds, saved
traces, addresses of interest, notes, linked alerts and watches, freeze
requests, attachments, and a timeline drawn from the audit log. The case
commands go through the node's API (--server URL, key with the trace role
in $TRACEHOUND_API_KEY), acting as that key: the case's keys and TLP
decide who sees it. CASE is a case's id or its reference.`,
	}
	cmd.PersistentFlags().StringVar(&cc.server, "server", "", "the running node at this URL (required)")
	cmd.PersistentFlags().BoolVar(&cc.json, "json", false, "print the case (or list) as JSON")

	var address string
	list := &cobra.Command{
		Use:   "list",
		Short: "List the cases this key may see, most recently changed first",
		Args:  cobra.NoArgs,
		RunE: cc.run(func(ctx context.Context, c *api.Client, _ []string) error {
			l, err := c.Cases(ctx, address)
			if err != nil {
				return err
			}
			if cc.json {
				return writeJSON(cc.a.stdout, l)
			}
			tw := tabwriter.NewWriter(cc.a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tREFERENCE\tTITLE\tTLP\tSTATUS\tCREATOR\tADDRESSES\tFREEZES\tFROZEN\tUPDATED")
			for _, s := range l {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\n", s.ID, s.Reference, s.Title, s.TLP, s.Status, s.Creator, s.Addresses, s.Freezes, s.Frozen, s.Updated.Format(time.RFC3339))
			}
			return tw.Flush()
		}),
	}
	list.Flags().StringVar(&address, "address", "", "only the cases that name this address")

	var n cases.NewCase
	var tlp string
	open := &cobra.Command{
		Use:   "open REFERENCE",
		Short: "Open a case under a reference of your own (e.g. BYBIT-2025)",
		Args:  cobra.ExactArgs(1),
		RunE: cc.run(func(ctx context.Context, c *api.Client, args []string) error {
			n.Reference = args[0]
			if tlp != "" {
				level, err := intel.ParseTLP(tlp)
				if err != nil {
					return usageError("--tlp: %v", err)
				}
				n.TLP = level
			}
			cs, err := c.CreateCase(ctx, n)
			return cc.print(cs, err)
		}),
	}
	open.Flags().StringVar(&n.Title, "title", "", "title (required)")
	open.Flags().StringVar(&n.Summary, "summary", "", "summary")
	open.Flags().StringVar(&tlp, "tlp", "", "TLP of the case: clear, green, amber (default), amber+strict or red")
	open.Flags().StringSliceVar(&n.Keys, "key", nil, "API key names allowed on the case besides its creator")

	show := &cobra.Command{
		Use:   "show CASE",
		Short: "Print a case",
		Args:  cobra.ExactArgs(1),
		RunE: cc.onCase(func(ctx context.Context, c *api.Client, id string, _ []string) (cases.Case, error) {
			return c.Case(ctx, id)
		}),
	}

	note := &cobra.Command{
		Use:   "note CASE TEXT",
		Short: "Add a note",
		Args:  cobra.ExactArgs(2),
		RunE: cc.onCase(func(ctx context.Context, c *api.Client, id string, args []string) (cases.Case, error) {
			return c.AddCaseNote(ctx, id, args[0])
		}),
	}

	var in cases.AddressIn
	addr := &cobra.Command{
		Use:   "address CASE CHAIN ADDRESS",
		Short: "Add an address of interest, or change its role, note and share flag",
		Args:  cobra.ExactArgs(3),
		RunE: cc.onCase(func(ctx context.Context, c *api.Client, id string, args []string) (cases.Case, error) {
			in.Chain, in.Address = args[0], args[1]
			return c.AddCaseAddress(ctx, id, in)
		}),
	}
	addr.Flags().StringVar(&in.Role, "role", "", "its role, e.g. thief, laundering, deposit, victim")
	addr.Flags().StringVar(&in.Note, "note", "", "a note on it")
	addr.Flags().BoolVar(&in.Share, "share", false, "share it when the case is published")

	var seedNote string
	seed := &cobra.Command{
		Use:   "seed CASE CHAIN SEED",
		Short: "Add a seed: an address or transaction the stolen funds start from",
		Args:  cobra.ExactArgs(3),
		RunE: cc.onCase(func(ctx context.Context, c *api.Client, id string, args []string) (cases.Case, error) {
			return c.AddCaseSeed(ctx, id, cases.SeedIn{Chain: args[0], Seed: args[1], Note: seedNote})
		}),
	}
	seed.Flags().StringVar(&seedNote, "note", "", "a note on it")

	var linkWatch, linkAlert string
	link := &cobra.Command{
		Use:   "link CASE (--watch NAME | --alert ID)",
		Short: "Link a watch or an alert of the inbox to a case",
		Args:  cobra.ExactArgs(1),
		RunE: cc.onCase(func(ctx context.Context, c *api.Client, id string, _ []string) (cases.Case, error) {
			switch {
			case (linkWatch == "") == (linkAlert == ""):
				return cases.Case{}, usageError("give one of --watch and --alert")
			case linkWatch != "":
				return c.LinkCaseWatch(ctx, id, linkWatch)
			default:
				return c.LinkCaseAlert(ctx, id, linkAlert)
			}
		}),
	}
	link.Flags().StringVar(&linkWatch, "watch", "", "the watch's name")
	link.Flags().StringVar(&linkAlert, "alert", "", "the alert's id (al-...)")

	var tf traceFlags
	var traceName string
	tr := &cobra.Command{
		Use:   "trace CASE CHAIN SEED...",
		Short: "Run a trace on the node and save its request and result in the case",
		Args:  cobra.MinimumNArgs(3),
		RunE: cc.run(func(ctx context.Context, c *api.Client, args []string) error {
			id, err := resolveCase(ctx, c, args[0])
			if err != nil {
				return err
			}
			spec := trace.Spec{Chain: args[1], Seeds: args[2:], Model: tf.model, Hops: tf.hops, Min: tf.min, Since: tf.since, Until: tf.until,
				Asset: tf.asset, NoCluster: tf.noCluster, NoSwaps: tf.noSwaps}
			if tf.backward {
				spec.Direction = "backward"
			}
			cs, v, err := c.SaveCaseTrace(ctx, id, traceName, spec)
			if err != nil {
				return err
			}
			if !cc.json {
				s := v.Summary
				fmt.Fprintf(cc.a.stdout, "trace saved as version %d: %s base units tainted, %d addresses, %d transfers, %d endpoints (through block %d)\n",
					v.Version, s.Tainted, s.Nodes, s.Edges, s.Endpoints, s.Through)
			}
			return cc.print(cs, nil)
		}),
	}
	tr.Flags().StringVar(&traceName, "name", "", "the trace's name in the case")
	tr.Flags().StringVar(&tf.model, "model", "haircut", "taint model: poison, haircut or fifo")
	tr.Flags().IntVar(&tf.hops, "hops", trace.DefaultMaxHops, "most hops from a seed")
	tr.Flags().StringVar(&tf.min, "min", "0", "dust limit in base units")
	tr.Flags().StringVar(&tf.since, "since", "", "first block time considered (RFC 3339 or YYYY-MM-DD)")
	tr.Flags().StringVar(&tf.until, "until", "", "block time after the window")
	tr.Flags().StringVar(&tf.asset, "asset", "", "token contract to trace")
	tr.Flags().BoolVar(&tf.noCluster, "no-cluster", false, "do not recognise deposit addresses by their sweeps")
	tr.Flags().BoolVar(&tf.noSwaps, "no-swaps", false, "end the trace at DeFi venues")
	tr.Flags().BoolVar(&tf.backward, "backward", false, "trace backwards")

	var fd cases.FreezeDraft
	freeze := &cobra.Command{
		Use:   "freeze CASE SERVICE CHAIN ADDRESS AMOUNT",
		Short: "Draft a freeze request to a service (an exchange) for AMOUNT base units at a deposit address",
		Args:  cobra.ExactArgs(5),
		RunE: cc.onCase(func(ctx context.Context, c *api.Client, id string, args []string) (cases.Case, error) {
			amt, err := chain.ParseAmount(args[3])
			if err != nil {
				return cases.Case{}, usageError("AMOUNT: %v", err)
			}
			fd.Service, fd.Chain, fd.Address, fd.Requested = args[0], args[1], args[2], amt
			cs, f, err := c.DraftCaseFreeze(ctx, id, fd)
			if err == nil && !cc.json {
				fmt.Fprintf(cc.a.stdout, "freeze request %s to %s drafted\n", f.ID, f.Service)
			}
			return cs, err
		}),
	}
	freeze.Flags().StringVar((*string)(&fd.Asset), "asset", "", "token contract, if the funds are a token")
	freeze.Flags().StringVar(&fd.Note, "note", "", "a note")

	var fm cases.FreezeMove
	var fmAmount string
	freezeStatus := &cobra.Command{
		Use:   "freeze-status CASE FREEZE STATUS",
		Short: "Move a freeze request on: sent, acknowledged, frozen (--amount), released",
		Args:  cobra.ExactArgs(3),
		RunE: cc.onCase(func(ctx context.Context, c *api.Client, id string, args []string) (cases.Case, error) {
			fm.Status = args[1]
			if fmAmount != "" {
				amt, err := chain.ParseAmount(fmAmount)
				if err != nil {
					return cases.Case{}, usageError("--amount: %v", err)
				}
				fm.Amount = amt
			}
			cs, _, err := c.MoveCaseFreeze(ctx, id, args[0], fm)
			return cs, err
		}),
	}
	freezeStatus.Flags().StringVar(&fmAmount, "amount", "", "base units frozen (for frozen) or released (for released; default all)")
	freezeStatus.Flags().StringVar(&fm.Reference, "reference", "", "the service's reference")
	freezeStatus.Flags().StringVar(&fm.Note, "note", "", "a note")

	attach := &cobra.Command{
		Use:   "attach CASE FILE",
		Short: "Attach a file (a subpoena, an exchange's answer, a screenshot)",
		Args:  cobra.ExactArgs(2),
		RunE: cc.onCase(func(ctx context.Context, c *api.Client, id string, args []string) (cases.Case, error) {
			f, err := os.Open(args[0])
			if err != nil {
				return cases.Case{}, err
			}
			defer f.Close()
			cs, _, err := c.AttachToCase(ctx, id, filepath.Base(args[0]), f)
			return cs, err
		}),
	}

	timeline := &cobra.Command{
		Use:   "timeline CASE",
		Short: "Print the case's timeline: its entries of the audit log",
		Args:  cobra.ExactArgs(1),
		RunE: cc.run(func(ctx context.Context, c *api.Client, args []string) error {
			id, err := resolveCase(ctx, c, args[0])
			if err != nil {
				return err
			}
			tl, err := c.CaseTimeline(ctx, id)
			if err != nil {
				return err
			}
			if cc.json {
				return writeJSON(cc.a.stdout, tl)
			}
			for _, e := range tl {
				fmt.Fprintf(cc.a.stdout, "%d\t%s\t%s\t%s\n", e.Seq, e.Time.Format(time.RFC3339), e.Actor, e.Action)
			}
			return nil
		}),
	}

	var format, out string
	rep := &cobra.Command{
		Use:   "report CASE",
		Short: "Export the case as a printable HTML page or a PDF (the export is audited)",
		Args:  cobra.ExactArgs(1),
		RunE: cc.run(func(ctx context.Context, c *api.Client, args []string) error {
			if format != "html" && format != "pdf" {
				return usageError("--format: html or pdf")
			}
			id, err := resolveCase(ctx, c, args[0])
			if err != nil {
				return err
			}
			var w io.Writer = cc.a.stdout
			if out != "" {
				f, err := os.Create(out)
				if err != nil {
					return err
				}
				defer f.Close()
				w = f
			}
			if err := c.CaseReport(ctx, id, format, w); err != nil {
				return err
			}
			if f, ok := w.(*os.File); ok && out != "" {
				return f.Close()
			}
			return nil
		}),
	}
	rep.Flags().StringVar(&format, "format", "html", "html or pdf")
	rep.Flags().StringVarP(&out, "out", "o", "", "write to this file instead of standard output")

	publish := &cobra.Command{
		Use:   "publish CASE COLLECTION",
		Short: "Share the case's addresses marked --share as a STIX report under the case's TLP",
		Args:  cobra.ExactArgs(2),
		RunE: cc.onCase(func(ctx context.Context, c *api.Client, id string, args []string) (cases.Case, error) {
			cs, objs, err := c.PublishCase(ctx, id, args[0])
			if err == nil && !cc.json {
				fmt.Fprintf(cc.a.stdout, "%d objects published in %s as %s\n", objs, args[0], cs.TLP)
			}
			return cs, err
		}),
	}

	var u struct{ title, summary, tlp, status string }
	var keys []string
	var update *cobra.Command
	update = &cobra.Command{
		Use:   "update CASE",
		Short: "Change a case's title, summary, TLP, keys or status (open, closed)",
		Args:  cobra.ExactArgs(1),
		RunE: cc.onCase(func(ctx context.Context, c *api.Client, id string, _ []string) (cases.Case, error) {
			cur, err := c.Case(ctx, id)
			if err != nil {
				return cases.Case{}, err
			}
			up := cases.Update{Version: cur.Version}
			fl := update.Flags()
			if fl.Changed("title") {
				up.Title = &u.title
			}
			if fl.Changed("summary") {
				up.Summary = &u.summary
			}
			if fl.Changed("status") {
				up.Status = &u.status
			}
			if fl.Changed("key") {
				up.Keys = &keys
			}
			if fl.Changed("tlp") {
				level, err := intel.ParseTLP(u.tlp)
				if err != nil {
					return cases.Case{}, usageError("--tlp: %v", err)
				}
				up.TLP = &level
			}
			return c.UpdateCase(ctx, id, up)
		}),
	}
	update.Flags().StringVar(&u.title, "title", "", "new title")
	update.Flags().StringVar(&u.summary, "summary", "", "new summary")
	update.Flags().StringVar(&u.tlp, "tlp", "", "new TLP")
	update.Flags().StringVar(&u.status, "status", "", "open or closed")
	update.Flags().StringSliceVar(&keys, "key", nil, "the API key names allowed on the case, replacing the list")

	cmd.AddCommand(list, open, show, note, addr, seed, link, tr, freeze, freezeStatus, attach, timeline, rep, publish, update)
	return cmd
}

// run makes a case command's RunE: the client of --server, then fn.
func (cc *caseCmd) run(fn func(ctx context.Context, c *api.Client, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if cc.server == "" {
			return usageError("cases live in a running node: give --server URL (key in $%s)", apiKeyEnv)
		}
		c, err := remote(cc.server)
		if err != nil {
			return err
		}
		return fn(cmd.Context(), c, args)
	}
}

// onCase makes the RunE of a command on one case (its first argument, an
// id or a reference), printing the case it returns.
func (cc *caseCmd) onCase(fn func(ctx context.Context, c *api.Client, id string, rest []string) (cases.Case, error)) func(*cobra.Command, []string) error {
	return cc.run(func(ctx context.Context, c *api.Client, args []string) error {
		id, err := resolveCase(ctx, c, args[0])
		if err != nil {
			return err
		}
		cs, err := fn(ctx, c, id, args[1:])
		return cc.print(cs, err)
	})
}

// resolveCase finds the id of the case named by its id or its reference
// among those the key may see.
func resolveCase(ctx context.Context, c *api.Client, name string) (string, error) {
	l, err := c.Cases(ctx, "")
	if err != nil {
		return "", err
	}
	for _, s := range l {
		if s.ID == name || strings.EqualFold(s.Reference, name) {
			return s.ID, nil
		}
	}
	return "", fmt.Errorf("no case %q that this key may see (give its id or its reference; tracehound case list)", name)
}

// print prints a case, or passes err on.
func (cc *caseCmd) print(cs cases.Case, err error) error {
	if err != nil {
		return err
	}
	if cc.json {
		return writeJSON(cc.a.stdout, cs)
	}
	w := cc.a.stdout
	fmt.Fprintf(w, "case %s %s: %s (%s, %s, version %d)\n", cs.ID, cs.Reference, cs.Title, cs.TLP, cs.Status, cs.Version)
	fmt.Fprintf(w, "  created by %s %s; keys %s\n", cs.Creator, cs.Created.Format(time.RFC3339), orNone(strings.Join(cs.Keys, ", ")))
	if cs.Summary != "" {
		fmt.Fprintf(w, "  %s\n", cs.Summary)
	}
	for _, s := range cs.Seeds {
		fmt.Fprintf(w, "  seed %s %s %s\n", s.Chain, s.Seed, s.Note)
	}
	for _, a := range cs.Addresses {
		share := ""
		if a.Share {
			share = " (shared on publication)"
		}
		fmt.Fprintf(w, "  address %s %s %s%s %s\n", a.Chain, a.Address, a.Role, share, a.Note)
	}
	for _, t := range cs.Traces {
		if len(t.Versions) == 0 {
			continue
		}
		v := t.Versions[len(t.Versions)-1]
		fmt.Fprintf(w, "  trace %s %q version %d: %d endpoints, %s base units tainted (through block %d)\n", t.ID, t.Name, v.Version, v.Summary.Endpoints, v.Summary.Tainted, v.Summary.Through)
	}
	for _, f := range cs.Freezes {
		fmt.Fprintf(w, "  freeze %s to %s: %s %s requested %s, frozen %s, %s\n", f.ID, f.Service, f.Chain, f.Address, f.Requested, f.Frozen, f.Status)
	}
	for _, wt := range cs.Watches {
		fmt.Fprintf(w, "  watch %s\n", wt)
	}
	for _, al := range cs.Alerts {
		fmt.Fprintf(w, "  alert %s\n", al.ID)
	}
	for _, at := range cs.Attachments {
		fmt.Fprintf(w, "  attachment %s %s (%s, %d bytes)\n", at.ID, at.Name, at.ContentType, at.Size)
	}
	for _, n := range cs.Notes {
		fmt.Fprintf(w, "  note %s by %s: %s\n", n.Time.Format(time.RFC3339), n.By, n.Text)
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
