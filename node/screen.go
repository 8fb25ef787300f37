package node

import (
	"context"

	"github.com/tracehound/tracehound/screen"
)

// Screen screens addresses against the sanctions lists, the attributions
// and the shared intelligence, as the API does: one index, one answer.
func (n *Node) Screen(ctx context.Context, qs []screen.Query) ([]screen.Result, error) {
	idx, err := n.Index(ctx)
	if err != nil {
		return nil, err
	}
	return idx.ScreenBatch(ctx, qs)
}
