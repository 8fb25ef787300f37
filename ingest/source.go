// Package ingest moves blocks from a source (a node's RPC, raw block
// files, CSV exports) into the transfer graph: in order, in batches,
// resumable from a checkpoint, following the chain head with a
// confirmation depth, and rolling back exactly the blocks a reorg orphans.
package ingest

import (
	"context"

	"github.com/tracehound/tracehound/chain"
)

// NodeSource reads blocks by height from a node.
type NodeSource interface {
	Chain() chain.Chain
	// ID names the source for checkpoints and metrics, e.g. "eth:1337"
	// (the network's chain id) or "btc:simnet".
	ID() string
	// Head is the node's latest block height.
	Head(ctx context.Context) (uint64, error)
	// Blocks returns blocks from..to inclusive, in height order. Sources
	// batch and parallelise requests and retry transient failures.
	Blocks(ctx context.Context, from, to uint64) ([]*chain.Block, error)
	// HashAt is the hash of the node's block at height, to find where a
	// reorganised chain forks from the stored one.
	HashAt(ctx context.Context, height uint64) (string, error)
}

// HeadWatcher is a NodeSource that can say the moment its node has a new
// head, so that a follower ingests a block as soon as it exists rather
// than at its next poll.
type HeadWatcher interface {
	// WatchHeads sends the height of each new head the node announces
	// until ctx ends or the subscription breaks, then closes the channel.
	// Heads may be coalesced: a reader that falls behind gets the latest.
	// An error means the node offers no subscription: the follower
	// polls.
	WatchHeads(ctx context.Context) (<-chan uint64, error)
}

// StreamSource yields blocks in chain order from files; Next returns io.EOF
// at the end.
type StreamSource interface {
	Chain() chain.Chain
	ID() string
	Next(ctx context.Context) (*chain.Block, error)
}
