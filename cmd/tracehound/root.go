package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/btc"
	"github.com/tracehound/tracehound/chain/eth"
	"github.com/tracehound/tracehound/chain/tron"
	"github.com/tracehound/tracehound/store/pebble"
)

// app is what every command shares: flags, output streams, the logger.
type app struct {
	dataDir  string
	logLevel string
	stdout   io.Writer
	stderr   io.Writer
	log      *slog.Logger
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

// openStore opens the embedded store in --data.
func (a *app) openStore(ctx context.Context) (*pebble.DB, error) {
	return pebble.Open(ctx, a.dataDir)
}

// withStore runs fn on the store in --data and closes it. Closing flushes
// what fn wrote, so its error is the command's when fn succeeded.
func (a *app) withStore(ctx context.Context, fn func(db *pebble.DB) error) (err error) {
	db, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := db.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("close store: %w", cerr)
		}
	}()
	return fn(db)
}

// newAddressParser returns the parser over every chain tracehound decodes.
func newAddressParser() *chain.Parser {
	return chain.NewParser(eth.Codec{}, tron.Codec{}, btc.Codec{})
}

// usageError marks a command-line mistake: exit status 2.
func usageError(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, args...)}
}

func isJSONPath(p string) bool { return strings.HasSuffix(strings.ToLower(p), ".json") }
