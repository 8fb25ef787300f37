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
	return idx.ScreenBatch(ctx, qs)
}
