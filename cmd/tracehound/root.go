package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/node"
	"github.com/tracehound/tracehound/screen"
)

// app is what every command shares: flags, output streams, the logger.
type app struct {
	dataDir  string
	logLevel string
	policy   string
	stdout   io.Writer
	stderr   io.Writer
	log      *slog.Logger
	// stdoutSync serialises alerts printed by several followers.
	stdoutOnce sync.Once
	stdoutSync *syncWriter
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	a := &app{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "tracehound",
		Short:         "Screen, trace and share intelligence on crypto addresses tied to theft and sanctions",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			var lvl slog.Level
			if err := lvl.UnmarshalText([]byte(a.logLevel)); err != nil {
				return fmt.Errorf("--log-level: %w", err)
			}
			a.log = slog.New(slog.NewJSONHandler(a.stderr, &slog.HandlerOptions{Level: lvl}))
			return nil
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&a.dataDir, "data", defaultDataDir(), "data directory of the embedded store")
	root.PersistentFlags().StringVar(&a.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	root.PersistentFlags().StringVar(&a.policy, "policy", "", "risk policy file (YAML) screening rates by; the embedded exchange default if unset (see `tracehound policy show`)")
	root.AddCommand(
		newSanctionsCmd(a),
		newTagsCmd(a),
		newScreenCmd(a),
		newServeCmd(a),
		newDemoCmd(a),
		newKeysCmd(a),
		newIngestCmd(a),
		newAddressCmd(a),
		newTraceCmd(a),
		newIntelCmd(a),
		newWatchCmd(a),
		newSimulateCmd(a),
		newPolicyCmd(a),
		newTransfersCmd(a),
		newDetectCmd(a),
	)
	return root
}

// defaultDataDir is $XDG_DATA_HOME/tracehound or ~/.local/share/tracehound.
func defaultDataDir() string {
	if d := os.Getenv("TRACEHOUND_DATA"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "tracehound")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "share", "tracehound")
	}
	return "tracehound-data"
}

// open opens the node over the store in --data, for the command line:
// what it changes is audited as done by "cli".
func (a *app) open(ctx context.Context, configure ...func(*node.Config)) (*node.Node, error) {
	cfg := node.Config{DataDir: a.dataDir, Logger: a.log}
	if a.policy != "" {
		p, err := screen.LoadPolicy(a.policy)
		if err != nil {
			return nil, usageError("--policy: %v", err)
		}
		cfg.Policy = p
	}
	for _, f := range configure {
		f(&cfg)
	}
	return node.Open(ctx, cfg)
}

// withNode runs fn on the node over the store in --data and closes it.
// Closing flushes what fn wrote, so its error is the command's when fn
// succeeded.
func (a *app) withNode(ctx context.Context, fn func(ctx context.Context, n *node.Node) error) (err error) {
	n, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := n.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	return usage(fn(node.AsActor(ctx, "cli"), n))
}

// usage turns the node's input errors into command-line mistakes.
func usage(err error) error {
	var ie *api.InputError
	if errors.As(err, &ie) {
		return &exitError{code: 2, err: ie.Err}
	}
	return err
}

// usageError marks a command-line mistake: exit status 2.
func usageError(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, args...)}
}

func isJSONPath(p string) bool { return strings.HasSuffix(strings.ToLower(p), ".json") }
