package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/tracehound/tracehound/ingest"
	"github.com/tracehound/tracehound/node"
)

func newSimulateCmd(a *app) *cobra.Command {
	var (
		seed       uint64
		background int
		truthPath  string
		noProgress bool
		cross      bool
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
address, and every deposit address with the stolen wei it received.

With --cross it generates a cross-chain laundering instead: the stolen ETH
split and swapped through THORChain's router into Bitcoin and USDT on Tron,
peeled and deposited at exchanges on all three chains, written with the
bridge events that link them; the truth lists every swap with its payout
and every deposit in its own chain's asset.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withNode(cmd.Context(), func(ctx context.Context, n *node.Node) error {
				var progress func(ingest.Progress)
				if !noProgress {
					p := ingest.NewProgressLine(a.stderr)
					progress = p.Update
					defer p.Done()
				}
				if cross {
					bg := background
					if !cmd.Flags().Changed("background") {
						bg = 0
					}
					truth, st, err := n.SimulateCross(ctx, node.Simulation{Seed: seed, Background: bg, TruthPath: truthPath, Progress: progress})
					if err != nil {
						return err
					}
					fmt.Fprintf(a.stdout, "simulated %d blocks, %d transfers on eth, btc and tron in %s; %s wei stolen from %s by %s in tx %s (block %d); %d THORChain swaps; %d deposit addresses received stolen funds\n",
						st.Blocks, st.Transfers, st.Elapsed.Round(time.Millisecond), truth.Theft, truth.Victim, truth.Thief, truth.TheftTx, truth.TheftBlock, len(truth.Swaps), len(truth.Deposits))
					fmt.Fprintf(a.stdout, "trace it:\n  tracehound --data %s trace eth %s --hops 40\n", a.dataDir, truth.TheftTx)
					return nil
				}
				truth, st, err := n.Simulate(ctx, node.Simulation{Seed: seed, Background: background, TruthPath: truthPath, Progress: progress})
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
	cmd.Flags().IntVar(&background, "background", 1_000_000, "ordinary background transfers (with --cross, on each chain; 20,000 if not given)")
	cmd.Flags().BoolVar(&cross, "cross", false, "a cross-chain laundering through THORChain into Bitcoin and Tron")
	cmd.Flags().StringVar(&truthPath, "truth", "", "write the ground truth as JSON to this file")
	cmd.Flags().BoolVar(&noProgress, "no-progress", false, "no progress line")
	return cmd
}
