package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/tracehound/tracehound/node"
	"github.com/tracehound/tracehound/tags"
)

func newTagsCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "tags", Short: "Import attribution tags (GraphSense TagPacks, Etherscan labels)"}
	var server string
	imp := &cobra.Command{
		Use:   "import PATH...",
		Short: "Import TagPack .yaml and label .json files, or directories of them",
		Args:  cobra.MinimumNArgs(1),
		Long: `Import TagPack .yaml and label .json files, or directories of them. Each
file is a pack named by its file name: importing it again replaces its
tags. With --server the files are uploaded one by one to a running node
(key with the admin role in $TRACEHOUND_API_KEY).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if server != "" {
				return a.remoteTags(cmd.Context(), server, args)
			}
			return a.withNode(cmd.Context(), func(ctx context.Context, n *node.Node) error {
				for _, path := range args {
					rep, err := n.ImportTagsPath(ctx, path)
					if err != nil {
						return err
					}
					a.printTagReport(path, rep)
				}
				return nil
			})
		},
	}
	imp.Flags().StringVar(&server, "server", "", "upload the files to a running node at this URL (key with the admin role in $TRACEHOUND_API_KEY)")
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

func (a *app) printTagReport(path string, rep tags.Report) {
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

// remoteTags uploads the tag files in paths (files, or directories walked
// for them) to a running node, one request a file.
func (a *app) remoteTags(ctx context.Context, server string, paths []string) error {
	c, err := remote(server)
	if err != nil {
		return err
	}
	for _, path := range paths {
		files, err := tags.Files(path)
		if err != nil {
			return err
		}
		if len(files) == 0 {
			return fmt.Errorf("%s: no TagPack (.yaml) or label (.json) files", path)
		}
		for _, file := range files {
			f, err := os.Open(file)
			if err != nil {
				return err
			}
			rep, err := c.ImportTags(ctx, filepath.Base(file), f)
			f.Close()
			if err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			a.printTagReport(file, rep)
		}
	}
	return nil
}
