package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/tracehound/tracehound/ingest"
	"github.com/tracehound/tracehound/sim"
	"github.com/tracehound/tracehound/store/pebble"
)

func newSimulateCmd(a *app) *cobra.Command {
	var (
		seed       uint64
		background int
		truthPath  string
		noProgress bool
	)
	cmd := &cobra.Command{
		Use:   "simulate",
		Short: "Write a simulated laundering scenario with ground truth into the store",
		Long: `simulate generates an Ethereum theft laundered as in the Bybit case (the
theft split into wallets, peel chains, a mixer, a bridge, a swap into a
token, deposits at several exchanges) among ordinary background transfers,
ingests it into the store in --data, tags the exchanges' hot wallets, the
mixer, the bridge and the DEX pool (not the deposit addresses: clustering
must find those), and writes the ground truth as JSON: every laundering
address, and every deposit address with the stolen wei it received.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			return a.withStore(ctx, func(db *pebble.DB) error {
				var progress func(ingest.Progress)
				if !noProgress {
					p := newProgressLine(a.stderr)
					progress = p.update
					defer p.done()
				}
				truth, st, err := simulateInto(ctx, db, seed, background, truthPath, progress)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "simulated %d blocks, %d transfers in %s; %s wei stolen from %s by %s in tx %s (block %d); %d deposit addresses at %d exchanges received stolen funds\n",
					st.Blocks, st.Transfers, st.Elapsed.Round(time.Millisecond), truth.Theft, truth.Victim, truth.Thief, truth.TheftTx, truth.TheftBlock, len(truth.Deposits), len(truth.Services.Exchanges))
				fmt.Fprintf(a.stdout, "trace it:\n  tracehound --data %s trace eth %s --hops 30\n", a.dataDir, truth.TheftTx)
				return nil
			})
		},
	}
	cmd.Flags().Uint64Var(&seed, "seed", 1, "scenario seed: the same seed gives the same chain")
	cmd.Flags().IntVar(&background, "background", 1_000_000, "ordinary background transfers")
	cmd.Flags().StringVar(&truthPath, "truth", "", "write the ground truth as JSON to this file")
	cmd.Flags().BoolVar(&noProgress, "no-progress", false, "no progress line")
	return cmd
}

// simulateInto generates scenario seed with background ordinary
// transfers, ingests it into db, tags its services and, if truthPath is
// set, writes the ground truth there.
func simulateInto(ctx context.Context, db *pebble.DB, seed uint64, background int, truthPath string, progress func(ingest.Progress)) (*sim.Truth, ingest.Stats, error) {
	cfg := sim.DefaultConfig()
	cfg.Seed, cfg.Background = seed, background
	sc, err := sim.Generate(cfg)
	if err != nil {
		return nil, ingest.Stats{}, err
	}
	st, err := ingest.RunStream(ctx, db.Graph(), sc.Source(), ingest.Options{From: cfg.StartHeight, Progress: progress})
	if err != nil {
		return nil, st, fmt.Errorf("simulate: %w (simulate into a store without Ethereum data)", err)
	}
	truth := sc.Truth
	if err := db.ReplacePack(ctx, fmt.Sprintf("simulation-%d", seed), truth.Tags()); err != nil {
		return nil, st, err
	}
	if truthPath != "" {
		b, err := json.MarshalIndent(truth, "", "  ")
		if err != nil {
			return nil, st, err
		}
		if err := os.WriteFile(truthPath, b, 0o644); err != nil {
			return nil, st, err
		}
	}
	return &truth, st, nil
}
