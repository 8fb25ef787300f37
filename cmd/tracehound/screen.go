package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/registry"
	"github.com/tracehound/tracehound/node"
	"github.com/tracehound/tracehound/screen"
)

type screenOptions struct {
	json    bool
	csv     bool
	file    string
	out     string
	chain   string
	server  string
	failOn  string
	noProgr bool
}

func newScreenCmd(a *app) *cobra.Command {
	var o screenOptions
	cmd := &cobra.Command{
		Use:   "screen [ADDRESS...]",
		Short: "Screen addresses against sanctions, attributions and shared intelligence",
		Long: `Screen addresses against sanctions, attributions and shared intelligence.

Addresses come from the arguments or from --file (one a line, or a CSV with
an "address" column and an optional "chain" column). The chain is detected
from the address unless --chain names it. With --server, addresses are
screened by a running tracehound serve (key in $TRACEHOUND_API_KEY);
otherwise the store in --data is opened directly.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.screenCmd(cmd.Context(), o, args)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.json, "json", false, "write JSON")
	f.BoolVar(&o.csv, "csv", false, "write CSV")
	f.StringVar(&o.file, "file", "", "read addresses from this file (- for standard input)")
	f.StringVarP(&o.out, "out", "o", "", "write results to this file instead of standard output")
	f.StringVar(&o.chain, "chain", "", "chain of every address (btc, eth, tron, or an asset code such as ltc, xmr, bsc)")
	f.StringVar(&o.server, "server", "", "screen through a running server at this URL")
	f.StringVar(&o.failOn, "fail-on", "", "exit with status 3 if any address is at this risk level or above (low, medium, high, severe)")
	f.BoolVar(&o.noProgr, "no-progress", false, "no progress bar")
	return cmd
}

func (a *app) screenCmd(ctx context.Context, o screenOptions, args []string) error {
	if o.json && o.csv {
		return usageError("--json and --csv exclude each other")
	}
	if len(args) == 0 && o.file == "" {
		return usageError("give addresses as arguments or --file")
	}
	var failOn screen.Risk
	if o.failOn != "" {
		var err error
		if failOn, err = screen.ParseRisk(o.failOn); err != nil {
			return usageError("--fail-on: %v", err)
		}
	}
	var hint chain.Chain
	if o.chain != "" {
		var err error
		if hint, err = registry.Lookup(o.chain); err != nil {
			return usageError("--chain: %v", err)
		}
	}
	qs := make([]screen.Query, 0, len(args))
	for _, s := range args {
		qs = append(qs, screen.Query{Address: s, Chain: hint})
	}
	if o.file != "" {
		fq, err := readQueryFile(o.file, hint)
		if err != nil {
			return err
		}
		qs = append(qs, fq...)
	}
	var bar *progressbar.ProgressBar
	if len(qs) >= 10_000 && !o.noProgr {
		bar = progressbar.NewOptions(len(qs), progressbar.OptionSetWriter(a.stderr), progressbar.OptionSetDescription("screening"),
			progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("addr"),
			progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
	}
	var results []screen.Result
	var err error
	if o.server != "" {
		results, err = screenRemote(ctx, o.server, qs, bar)
	} else {
		results, err = a.screenLocal(ctx, qs, bar)
	}
	if err != nil {
		return err
	}
	if bar != nil {
		_ = bar.Finish()
	}
	w := a.stdout
	if o.out != "" {
		f, err := os.Create(o.out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	switch {
	case o.json || (o.out != "" && isJSONPath(o.out) && !o.csv):
		err = writeResultsJSON(bw, results)
	case o.csv || (o.out != "" && strings.HasSuffix(strings.ToLower(o.out), ".csv")):
		err = screen.WriteCSV(bw, results)
	default:
		err = writeResultsText(bw, results)
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return err
	}
	if failOn != 0 {
		for _, r := range results {
			if r.Risk >= failOn {
				return &exitError{code: 3, err: fmt.Errorf("an address is at %s risk or above", failOn)}
			}
		}
	}
	for _, r := range results {
		for _, rs := range r.Reasons {
			if rs.Code == "no_list" {
				// Screening failed closed: say so, and not with status 0.
				return &exitError{code: 4, err: fmt.Errorf("%s; import one with `tracehound sanctions import`", rs.Message)}
			}
		}
	}
	return nil
}

// screenLocal screens against the node over the store in --data, in
// chunks so that the progress bar moves.
func (a *app) screenLocal(ctx context.Context, qs []screen.Query, bar *progressbar.ProgressBar) ([]screen.Result, error) {
	out := make([]screen.Result, 0, len(qs))
	err := a.withNode(ctx, func(ctx context.Context, n *node.Node) error {
		const chunk = 50_000
		for lo := 0; lo < len(qs); lo += chunk {
			rs, err := n.Screen(ctx, qs[lo:min(lo+chunk, len(qs))])
			if err != nil {
				return err
			}
			out = append(out, rs...)
			if bar != nil {
				_ = bar.Add(len(rs))
			}
		}
		return nil
	})
	return out, err
}

// screenRemote screens through a running server's POST /v1/screen.
func screenRemote(ctx context.Context, server string, qs []screen.Query, bar *progressbar.ProgressBar) ([]screen.Result, error) {
	c, err := remote(server)
	if err != nil {
		return nil, err
	}
	out := make([]screen.Result, 0, len(qs))
	const chunk = 100_000
	for lo := 0; lo < len(qs); lo += chunk {
		rs, err := c.Screen(ctx, qs[lo:min(lo+chunk, len(qs))])
		if err != nil {
			return nil, fmt.Errorf("screen via %s: %w", server, err)
		}
		out = append(out, rs...)
		if bar != nil {
			_ = bar.Add(len(rs))
		}
	}
	return out, nil
}

func writeResultsJSON(w io.Writer, results []screen.Result) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(results)
}

func writeResultsText(w io.Writer, results []screen.Result) error {
	for _, r := range results {
		if r.Error != nil {
			fmt.Fprintf(w, "%s  INVALID (%s)\n    %s\n", r.Input, r.Error.Reason, r.Error.Message)
			continue
		}
		flag := ""
		if r.Sanctioned {
			flag = "  SANCTIONED"
		}
		fmt.Fprintf(w, "%s  %s  %s%s  (rule %s)\n", r.Address, r.Chain, strings.ToUpper(r.Risk.String()), flag, r.RiskRule)
		for _, rs := range r.Reasons {
			fmt.Fprintf(w, "    [%s] %s\n", rs.Risk, rs.Message)
		}
		for i := range r.Exposure {
			fmt.Fprintf(w, "    exposure: %s\n", screen.ExposureText(&r.Exposure[i]))
		}
	}
	return nil
}

// readQueryFile reads the addresses of --file (- for standard input).
func readQueryFile(path string, hint chain.Chain) ([]screen.Query, error) {
	var r io.Reader = os.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	return screen.ReadQueries(r, path, hint)
}
