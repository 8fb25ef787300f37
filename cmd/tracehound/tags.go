package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/tracehound/tracehound/node"
)

func newTagsCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "tags", Short: "Import attribution tags (GraphSense TagPacks, Etherscan labels)"}
	imp := &cobra.Command{
		Use:   "import PATH...",
		Short: "Import TagPack .yaml and label .json files, or directories of them",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withNode(cmd.Context(), func(ctx context.Context, n *node.Node) error {
				for _, path := range args {
					rep, err := n.ImportTagsPath(ctx, path)
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
			return a.withNode(cmd.Context(), func(ctx context.Context, n *node.Node) error {
				out, err := n.Tags(ctx, args[0], hint)
				if err != nil {
					return err
				}
				if asJSON {
					return json.NewEncoder(a.stdout).Encode(out)
				}
				for _, t := range out {
					fmt.Fprintf(a.stdout, "%s\t%s\t%s\t%s\tconfidence %d (%s)\t%s\n", t.Entity, t.Label, t.Category, t.Source, t.Confidence, t.ConfidenceLevel, t.Pack)
				}
				if len(out) == 0 {
					fmt.Fprintln(a.stdout, "no tags on", args[0])
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
