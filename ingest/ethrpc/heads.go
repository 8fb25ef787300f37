package ethrpc

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/rpc"
)

// ErrNoSubscriptions is WatchHeads' error for a node that offers no
// eth_subscribe: an HTTP endpoint without SourceOptions.HeadsURL, or a
// node (or provider) that refuses the method.
var ErrNoSubscriptions = errors.New("the node offers no eth_subscribe")

// subscribeTimeout bounds setting a subscription up; the subscription
// itself lasts until the context of WatchHeads ends.
const subscribeTimeout = 10 * time.Second

// WatchHeads subscribes to the node's new heads (eth_subscribe
// "newHeads") over WebSocket: over the source's own connection when its
// URL is ws or wss, else over SourceOptions.HeadsURL. It sends each new
// head's height until ctx ends or the subscription breaks (the
// connection drops, the node restarts), then closes the channel. A
// reader that falls behind gets the latest head, not every one. It
// implements ingest.HeadWatcher; an error wrapping ErrNoSubscriptions
// means the node has no subscriptions to offer, and polling is the way.
func (s *Source) WatchHeads(ctx context.Context) (<-chan uint64, error) {
	c, closeC, err := s.headsClient(ctx)
	if err != nil {
		return nil, err
	}
	type header struct {
		Number hexutil.Uint64 `json:"number"`
	}
	in := make(chan header, 16)
	sctx, cancel := context.WithTimeout(ctx, subscribeTimeout)
	sub, err := c.EthSubscribe(sctx, in, "newHeads")
	cancel()
	if err != nil {
		closeC()
		var re rpc.Error
		if errors.Is(err, rpc.ErrNotificationsUnsupported) || errors.As(err, &re) {
			return nil, fmt.Errorf("eth source %s: subscribe to new heads: %w (%v)", s.node, ErrNoSubscriptions, err)
		}
		return nil, fmt.Errorf("eth source %s: subscribe to new heads: %w", s.node, err)
	}
	out := make(chan uint64, 1)
	go func() {
		defer close(out)
		defer closeC()
		defer sub.Unsubscribe()
		for {
			select {
			case <-ctx.Done():
				return
			case <-sub.Err():
				// Closed on Unsubscribe, or with the error that broke it:
				// either way the reader falls back to polling.
				return
			case h := <-in:
				// One pending head is enough to wake the reader, which
				// asks for the head anyway: replace it with the newest.
				select {
				case <-out:
				default:
				}
				out <- uint64(h.Number)
			}
		}
	}()
	return out, nil
}

// headsClient is the client to subscribe with, and how to let it go.
func (s *Source) headsClient(ctx context.Context) (*rpc.Client, func(), error) {
	if s.opts.HeadsURL == "" {
		if !s.ws {
			return nil, nil, fmt.Errorf("eth source %s: %w over http; give a WebSocket URL for heads", s.node, ErrNoSubscriptions)
		}
		return s.c, func() {}, nil
	}
	node := redactURL(s.opts.HeadsURL)
	c, err := rpc.DialContext(ctx, s.opts.HeadsURL)
	if err != nil {
		return nil, nil, fmt.Errorf("eth heads %s: %w", node, err)
	}
	// Heads from another chain's node would wake the follower for
	// nothing, or not at all: make sure it is the same network.
	var id hexutil.Big
	cctx, cancel := context.WithTimeout(ctx, subscribeTimeout)
	err = c.CallContext(cctx, &id, "eth_chainId")
	cancel()
	if err != nil {
		c.Close()
		return nil, nil, fmt.Errorf("eth heads %s: eth_chainId: %w", node, err)
	}
	if got := "eth:" + id.ToInt().String(); got != s.id {
		c.Close()
		return nil, nil, fmt.Errorf("eth heads %s: chain %s, but the source is %s", node, got, s.id)
	}
	return c, c.Close, nil
}

// isWebSocket reports whether a node URL speaks WebSocket.
func isWebSocket(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "ws" || u.Scheme == "wss")
}
