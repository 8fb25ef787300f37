package node

import (
	"context"

	"github.com/tracehound/tracehound/screen"
)

// Screen screens addresses against the sanctions lists, the attributions,
// the shared intelligence and their exposure in the graph, as the API
// does: one index, one answer.
func (n *Node) Screen(ctx context.Context, qs []screen.Query) ([]screen.Result, error) {
	if err := n.Exposure(ctx); err != nil {
		return nil, err
	}
	idx, err := n.Index(ctx)
	if err != nil {
		return nil, err
	}
	rs, err := idx.ScreenBatch(ctx, qs)
	if err != nil || len(rs) > scoredBatch {
		return rs, err
	}
	// A few addresses, as an analyst screens them: each with its score.
	for i := range rs {
		if rs[i].Error != nil {
			continue
		}
		if rs[i].Score, err = n.addressScore(ctx, rs[i].Chain, rs[i].Address); err != nil {
			return nil, err
		}
	}
	return rs, nil
}

// scoredBatch is the most addresses a command-line screening scores: a
// score reads the address's history from the graph.
const scoredBatch = 100
