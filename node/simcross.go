package node

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/tracehound/tracehound/ingest"
	"github.com/tracehound/tracehound/sim"
)

// SimulateCross generates the cross-chain scenario (stolen ETH swapped
// through THORChain into Bitcoin and USDT on Tron, peeled and deposited
// at exchanges on all three chains), ingests each chain with its bridge
// events, tags the exchanges' hot wallets and the thief's deposit
// addresses on every chain and THORChain's router and vaults, and writes
// the ground truth. The stats are the chains' together.
func (n *Node) SimulateCross(ctx context.Context, s Simulation) (*sim.CrossTruth, ingest.Stats, error) {
	cfg := sim.DefaultCrossConfig()
	cfg.Seed = s.Seed
	if s.Background > 0 {
		cfg.Background = s.Background
	}
	var all ingest.Stats
	sc, err := sim.GenerateCross(cfg)
	if err != nil {
		return nil, all, err
	}
	start := time.Now()
	for _, c := range sc.Chains() {
		src := sc.Source(c)
		if _, held, err := n.db.Graph().Tip(ctx, c); err != nil {
			return nil, all, err
		} else if held {
			return nil, all, fmt.Errorf("simulate: the store holds %s data: simulate into a new store", c)
		}
		st, err := n.Ingest(ctx, Ingest{Chain: c, Stream: src, Options: ingest.Options{From: src.First(), Progress: s.Progress}})
		if err != nil {
			return nil, all, fmt.Errorf("simulate %s: %w", c, err)
		}
		all.Blocks += st.Blocks
		all.Transfers += st.Transfers
	}
	all.Elapsed = time.Since(start)
	truth := sc.Truth
	n.mu.Lock()
	err = n.db.ReplacePack(ctx, fmt.Sprintf("simulation-cross-%d", s.Seed), truth.Tags())
	if err == nil {
		err = n.reloadTags(ctx)
	}
	n.mu.Unlock()
	if err != nil {
		return nil, all, err
	}
	if s.TruthPath != "" {
		b, err := json.MarshalIndent(truth, "", "  ")
		if err != nil {
			return nil, all, err
		}
		if err := os.WriteFile(s.TruthPath, b, 0o644); err != nil {
			return nil, all, err
		}
	}
	return &truth, all, nil
}
