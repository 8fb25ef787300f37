package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tracehound/tracehound/node"
	"github.com/tracehound/tracehound/trace"
	"github.com/tracehound/tracehound/trace/report"
)

// remoteTraceFlags are the trace flags a running node's API takes; any
// other given with --server is refused rather than silently ignored.
var remoteTraceFlags = []string{"server", "model", "hops", "min", "since", "until", "asset", "json", "csv",
	"no-cluster", "no-swaps", "backward", "freeze", "case"}

// withRemoteTrace adds --server to the trace command: the trace then runs
// on a running node (POST /v1/traces), whose store this process cannot
// open, and prints as a local trace does.
func withRemoteTrace(a *app, cmd *cobra.Command) *cobra.Command {
	var server string
	cmd.Flags().StringVar(&server, "server", "", "trace through a running node's API at this URL (key with the trace role in $TRACEHOUND_API_KEY)")
	local := cmd.RunE
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if server == "" {
			return local(cmd, args)
		}
		return a.remoteTrace(cmd.Context(), server, cmd.LocalFlags(), args)
	}
	return cmd
}

func (a *app) remoteTrace(ctx context.Context, server string, fl *pflag.FlagSet, args []string) error {
	var unsupported []string
	fl.VisitAll(func(f *pflag.Flag) {
		if f.Changed && !slices.Contains(remoteTraceFlags, f.Name) {
			unsupported = append(unsupported, "--"+f.Name)
		}
	})
	if len(unsupported) > 0 {
		return usageError("%s: not with --server (the node applies its own limits)", strings.Join(unsupported, ", "))
	}
	str := func(name string) string { v, _ := fl.GetString(name); return v }
	flag := func(name string) bool { v, _ := fl.GetBool(name); return v }
	hops, _ := fl.GetInt("hops")
	asJSON, asCSV := flag("json"), flag("csv")
	if asJSON && asCSV {
		return usageError("--json and --csv exclude each other")
	}
	spec := trace.Spec{Chain: args[0], Seeds: args[1:], Model: str("model"), Hops: hops, Min: str("min"), Since: str("since"), Until: str("until"),
		Asset: str("asset"), NoCluster: flag("no-cluster"), NoSwaps: flag("no-swaps")}
	c, err := remote(server)
	if err != nil {
		return err
	}
	if flag("backward") {
		if str("freeze") != "" || asCSV {
			return usageError("--freeze and --csv apply to forward traces")
		}
		res, err := c.TraceBack(ctx, spec)
		if err != nil {
			return err
		}
		if asJSON {
			return writeJSON(a.stdout, res)
		}
		return report.WriteBackSummary(a.stdout, res, node.KnownUnits())
	}
	res, err := c.Trace(ctx, spec)
	if err != nil {
		return err
	}
	if dir := str("freeze"); dir != "" {
		reqs, err := c.Freeze(ctx, res.ID, str("case"))
		if err != nil {
			return fmt.Errorf("freeze requests of trace %s: %w", res.ID, err)
		}
		files, err := report.WriteDir(dir, reqs)
		for _, file := range files {
			fmt.Fprintln(a.stderr, "wrote", file)
		}
		if err != nil {
			return err
		}
	}
	switch {
	case asJSON:
		return writeJSON(a.stdout, res)
	case asCSV:
		return report.WriteEdgesCSV(a.stdout, res)
	}
	return report.WriteSummary(a.stdout, res, node.KnownUnits())
}
