package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tracehound/tracehound/alert"
	"github.com/tracehound/tracehound/chain/registry"
	"github.com/tracehound/tracehound/detect/scorer"
	"github.com/tracehound/tracehound/node"
)

func newDetectCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "detect",
		Short: "Typology rules and the learned scorer, on demand",
		Long: `The typology rules (fan-out, fan-in, layering, peel chains, structuring,
mixer and bridge hopping ...) run on every block that "ingest --watch" and
"serve --follow-*" store, raising alerts of kind rule; "detect run" runs
them over what the graph already holds. The learned scorer rates an
account's behaviour illicit or not: "detect score" scores rows of
features or an address of the graph.`,
	}
	var chainName, since, until string
	var asJSON, raise bool
	run := &cobra.Command{
		Use:   "run",
		Short: "Run the typology rules over the stored graph and print what they find",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := registry.Lookup(chainName)
			if err != nil {
				return usageError("--chain: %v", err)
			}
			r := node.DetectRun{Chain: c, Raise: raise}
			if r.Since, err = parseWhen(since); err != nil {
				return usageError("--since: %v", err)
			}
			if r.Until, err = parseWhen(until); err != nil {
				return usageError("--until: %v", err)
			}
			return a.withNode(cmd.Context(), func(ctx context.Context, n *node.Node) error {
				as, err := n.Detect(ctx, r)
				if err != nil {
					return err
				}
				if asJSON {
					enc := json.NewEncoder(a.stdout)
					for _, al := range as {
						if err := enc.Encode(al); err != nil {
							return err
						}
					}
					return nil
				}
				printInboxAlerts(a.stdout, as)
				fmt.Fprintf(a.stdout, "%d findings", len(as))
				if raise {
					fmt.Fprint(a.stdout, " (in the inbox: GET /v1/alerts?kind=rule)")
				}
				fmt.Fprintln(a.stdout)
				return nil
			})
		},
	}
	run.Flags().StringVar(&chainName, "chain", "eth", "chain to scan: eth, btc or tron")
	run.Flags().StringVar(&since, "since", "", "first block time scanned (RFC 3339 or YYYY-MM-DD)")
	run.Flags().StringVar(&until, "until", "", "block time where the scan ends, excluded")
	run.Flags().BoolVar(&asJSON, "json", false, "print each finding's alert as JSON, one a line")
	run.Flags().BoolVar(&raise, "raise", false, "also put the findings into the inbox as alerts of kind rule")

	var featuresFile, out string
	score := &cobra.Command{
		Use:   "score [--features FILE.csv | CHAIN ADDRESS]",
		Short: "Score rows of features (train.csv's layout) or an address of the graph",
		Long: `With --features, score each row of a CSV file in the layout of the
training data (Farrugia et al.'s Ethereum fraud set: header names, FLAG
optional, blank cells missing) and print "address,score", a score of 0.5 or
more meaning illicit. With CHAIN ADDRESS, compute the address's features
from its transfers in the graph (its latest 10,000) and print its score and
the features that weighed most.`,
		Args: cobra.MaximumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (featuresFile == "") == (len(args) == 0) {
				return usageError("give --features FILE.csv or CHAIN ADDRESS")
			}
			if featuresFile != "" {
				return a.scoreFeatures(featuresFile, out)
			}
			if len(args) != 2 {
				return usageError("give CHAIN ADDRESS")
			}
			c, err := registry.Lookup(args[0])
			if err != nil {
				return usageError("%v", err)
			}
			return a.withNode(cmd.Context(), func(ctx context.Context, n *node.Node) error {
				s, err := n.AddressScore(ctx, c, args[1])
				if err != nil {
					return err
				}
				if s == nil {
					return fmt.Errorf("no score: the scorer rates Ethereum accounts, and the graph must hold transfers of the address")
				}
				if asJSON {
					return json.NewEncoder(a.stdout).Encode(s)
				}
				verdict := "licit"
				if s.Illicit {
					verdict = "illicit"
				}
				fmt.Fprintf(a.stdout, "%s %.4f %s\n", s.Address, s.Score, verdict)
				for _, t := range s.Top {
					fmt.Fprintf(a.stdout, "  %-55s %12.6g  %+.3f\n", t.Feature, t.Value, t.Margin)
				}
				if len(s.Missing) > 0 {
					fmt.Fprintf(a.stdout, "  missing (routed as missing, never zero): %s\n", strings.Join(s.Missing, ", "))
				}
				return nil
			})
		},
	}
	score.Flags().StringVar(&featuresFile, "features", "", "CSV of feature rows in train.csv's layout")
	score.Flags().StringVarP(&out, "out", "o", "", "write the scores to this file instead of standard output")
	score.Flags().BoolVar(&asJSON, "json", false, "print an address's score as JSON")
	cmd.AddCommand(run, score)
	return cmd
}

// scoreFeatures scores a feature file with the embedded model. A file
// that does not parse writes nothing.
func (a *app) scoreFeatures(path, out string) error {
	m, err := scorer.Default()
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var w io.Writer = a.stdout
	var buf strings.Builder
	if out != "" {
		w = &buf
	}
	if err := m.ScoreCSV(f, w); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if out != "" {
		return os.WriteFile(out, []byte(buf.String()), 0o644)
	}
	return nil
}

// parseWhen reads an RFC 3339 time or a date; "" is no bound.
func parseWhen(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: want RFC 3339 (2025-02-21T14:13:00Z) or a date (2025-02-21)", s)
	}
	return t, nil
}

// printInboxAlerts prints alerts of the inbox for people: kind,
// severity, typology and score, the addresses, the transactions and the
// explanation.
func printInboxAlerts(w io.Writer, as []alert.Alert) {
	for _, al := range as {
		head := fmt.Sprintf("ALERT %s %s %s", al.ID, al.Kind, al.Severity)
		if al.Typology != "" {
			head += " " + al.Typology
		}
		if al.Score > 0 {
			head += fmt.Sprintf(" score %.2f", al.Score)
		}
		fmt.Fprintf(w, "%s on %s\n", head, al.Chain)
		fmt.Fprintf(w, "  addresses: %s\n", clip(al.Addresses, 8))
		fmt.Fprintf(w, "  txs: %s\n", clip(al.Txs, 5))
		if al.Model != nil {
			fmt.Fprintf(w, "  scorer: %s %.3f\n", al.Model.Address, al.Model.Score)
		}
		fmt.Fprintf(w, "  %s\n", al.Explanation)
	}
}

func clip(ss []string, n int) string {
	if len(ss) <= n {
		return strings.Join(ss, " ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(ss[:n], " "), len(ss)-n)
}

// detected keeps the alerts detection raised: watch alerts print as
// printAlerts has them.
func detected(as []alert.Alert) []alert.Alert {
	var out []alert.Alert
	for _, a := range as {
		if a.Kind != alert.KindWatch {
			out = append(out, a)
		}
	}
	return out
}
