package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/store/pebble"
	"github.com/tracehound/tracehound/tags"
)

func newTagsCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "tags", Short: "Import attribution tags (GraphSense TagPacks, Etherscan labels)"}
	imp := &cobra.Command{
		Use:   "import PATH...",
		Short: "Import TagPack .yaml and label .json files, or directories of them",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return a.withStore(ctx, func(db *pebble.DB) error {
				p := newAddressParser()
				for _, path := range args {
					rep, err := tags.Import(ctx, db, p, path, tags.ImportOptions{})
					if err != nil {
						return err
					}
					fmt.Fprintf(a.stdout, "%s: %s in %s\n", path, rep, rep.Elapsed.Round(time.Millisecond))
					for i, pr := range rep.Problems {
						if i == 20 {
							fmt.Fprintf(a.stdout, "  ... %d more skipped\n", rep.Skipped-20)
							break
						}
						fmt.Fprintf(a.stdout, "  skipped %s\n", pr)
					}
					for _, f := range rep.Failed {
						fmt.Fprintf(a.stdout, "  failed %s\n", f)
					}
				}
				return nil
			})
		},
	}
	var asJSON bool
	var hint string
	show := &cobra.Command{
		Use:   "show ADDRESS",
		Short: "Show the tags on an address",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			addr, err := newAddressParser().Parse(args[0], chain.ParseChain(hint))
			if err != nil {
				return err
			}
			return a.withStore(ctx, func(db *pebble.DB) error {
				all, err := db.AllTags(ctx)
				if err != nil {
					return err
				}
				var out []tags.Tag
				for _, t := range all {
					if t.Address.Key() == addr.Key() {
						out = append(out, t)
					}
				}
				if asJSON {
					return json.NewEncoder(a.stdout).Encode(out)
				}
				for _, t := range out {
					fmt.Fprintf(a.stdout, "%s\t%s\t%s\t%s\tconfidence %d (%s)\t%s\n", t.Entity, t.Label, t.Category, t.Source, t.Confidence, t.ConfidenceLevel, t.Pack)
				}
				if len(out) == 0 {
					fmt.Fprintln(a.stdout, "no tags on", addr)
				}
				return nil
			})
		},
	}
	show.Flags().BoolVar(&asJSON, "json", false, "JSON output")
	show.Flags().StringVar(&hint, "chain", "", "chain or asset code, if the address's shape is ambiguous")
	cmd.AddCommand(imp, show)
	return cmd
}
