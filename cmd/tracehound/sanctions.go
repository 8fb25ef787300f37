package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tracehound/tracehound/node"
	"github.com/tracehound/tracehound/sanctions"
)

func newSanctionsCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "sanctions", Short: "Import official sanctions lists and see their versions"}
	var comments, date, server string
	var force bool
	parseOpts := func() (sanctions.ParseOptions, error) {
		o := sanctions.ParseOptions{Comments: comments}
		if date != "" {
			t, err := time.Parse(time.DateOnly, date)
			if err != nil {
				return o, usageError("--date: %v", err)
			}
			o.Date = t
		}
		return o, nil
	}
	imp := &cobra.Command{
		Use:   "import FILE",
		Short: "Import an SDN advanced XML (plain or .bz2) or SDN.CSV list as a new version",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			o, err := parseOpts()
			if err != nil {
				return err
			}
			start := time.Now()
			if server != "" {
				if comments != "" || date != "" || force {
					return usageError("--comments, --date and --force apply to the local store; a server imports SDN advanced XML files as they are")
				}
				c, err := remote(server)
				if err != nil {
					return err
				}
				f, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer f.Close()
				res, err := c.ImportSanctions(ctx, filepath.Base(args[0]), f)
				if err != nil {
					return fmt.Errorf("%s: %w", args[0], err)
				}
				fmt.Fprintf(a.stdout, "%s: %s (%s)\n", args[0], res, time.Since(start).Round(time.Millisecond))
				return nil
			}
			return a.withNode(ctx, func(ctx context.Context, n *node.Node) error {
				res, err := n.ImportSanctions(ctx, node.SanctionsImport{Path: args[0], ParseOptions: o, Force: force})
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "%s: %s (%s)\n", args[0], res, time.Since(start).Round(time.Millisecond))
				return nil
			})
		},
	}
	imp.Flags().StringVar(&comments, "comments", "", "SDN_COMMENTS.CSV continuing an SDN.CSV's remarks")
	imp.Flags().StringVar(&date, "date", "", "list date YYYY-MM-DD (SDN.CSV carries none)")
	imp.Flags().BoolVar(&force, "force", false, "import a list older than the current version")
	imp.Flags().StringVar(&server, "server", "", "upload the list to a running node at this URL (key with the admin role in $TRACEHOUND_API_KEY)")

	var asset string
	addrs := &cobra.Command{
		Use:   "addresses FILE",
		Short: "Print the addresses a list file names, exactly as written, without touching the store",
		Long:  "Prints one address a line in file order; without --asset each line is ASSET<TAB>ADDRESS.",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := parseOpts()
			if err != nil {
				return err
			}
			if o.Date.IsZero() {
				o.Date = time.Unix(0, 0) // the date does not matter here
			}
			l, err := sanctions.ParseFile(cmd.Context(), args[0], o)
			if err != nil {
				return err
			}
			for _, e := range l.Entries {
				switch {
				case asset == "":
					fmt.Fprintf(a.stdout, "%s\t%s\n", e.Asset, e.Address)
				case e.Asset == asset:
					fmt.Fprintln(a.stdout, e.Address)
				}
			}
			return nil
		},
	}
	addrs.Flags().StringVar(&asset, "asset", "", "only this asset code (XBT, ETH, USDT ...)")
	addrs.Flags().StringVar(&comments, "comments", "", "SDN_COMMENTS.CSV continuing an SDN.CSV's remarks")

	var asJSON bool
	versions := &cobra.Command{
		Use:   "versions",
		Short: "List the imported list versions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withNode(cmd.Context(), func(ctx context.Context, n *node.Node) error {
				vs, err := n.SanctionsVersions(ctx)
				if err != nil {
					return err
				}
				if asJSON {
					return json.NewEncoder(a.stdout).Encode(vs)
				}
				tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "SEQ\tLIST DATE\tIMPORTED\tADDRESSES\tADDED\tREMOVED\tFILE")
				for _, v := range vs {
					fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%d\t%s\n", v.Seq, v.ListDate.Format(time.DateOnly), v.ImportedAt.Format(time.RFC3339), v.Entries, v.Added, v.Removed, v.File)
				}
				return tw.Flush()
			})
		},
	}
	versions.Flags().BoolVar(&asJSON, "json", false, "JSON output")

	var seq int
	diff := &cobra.Command{
		Use:   "diff",
		Short: "Show the addresses a version added and removed (default: the latest)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withNode(cmd.Context(), func(ctx context.Context, n *node.Node) error {
				changes, err := n.SanctionsChanges(ctx, seq)
				if err != nil {
					return err
				}
				if asJSON {
					return json.NewEncoder(a.stdout).Encode(changes)
				}
				tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "CHANGE\tDATE\tASSET\tADDRESS\tPARTY\tPROGRAMS")
				for _, c := range changes {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%v\n", c.Kind, c.ListDate.Format(time.DateOnly), c.Entry.Asset, c.Entry.Address, c.Entry.Party.Name, c.Entry.Party.Programs)
				}
				return tw.Flush()
			})
		},
	}
	diff.Flags().IntVar(&seq, "version", 0, "version sequence number")
	diff.Flags().BoolVar(&asJSON, "json", false, "JSON output")

	var url string
	sync := &cobra.Command{
		Use:   "sync --url URL",
		Short: "Fetch a list over HTTP with a conditional request and import it if it changed",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if url == "" {
				return usageError("--url is required")
			}
			return a.withNode(cmd.Context(), func(ctx context.Context, n *node.Node) error {
				res, err := n.SyncSanctions(ctx, url)
				if err != nil {
					return err
				}
				fmt.Fprintln(a.stdout, res)
				return nil
			})
		},
	}
	sync.Flags().StringVar(&url, "url", "", "list URL")
	cmd.AddCommand(imp, addrs, versions, diff, sync)
	return cmd
}
