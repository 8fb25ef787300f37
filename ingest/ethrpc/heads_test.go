package ethrpc_test

import (
	"context"
	"errors"
	"math/big"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/tracehound/tracehound/ingest/ethrpc"
)

// plainEth is a node's eth namespace without subscriptions.
type plainEth struct{ id int64 }

func (e *plainEth) ChainId() *hexutil.Big { return (*hexutil.Big)(big.NewInt(e.id)) }

// subEth is an eth namespace that announces the heights sent on heads.
type subEth struct {
	plainEth
	heads chan uint64
}

func (e *subEth) NewHeads(ctx context.Context) (*rpc.Subscription, error) {
	n, ok := rpc.NotifierFromContext(ctx)
	if !ok {
		return nil, rpc.ErrNotificationsUnsupported
	}
	sub := n.CreateSubscription()
	go func() {
		for {
			select {
			case h := <-e.heads:
				_ = n.Notify(sub.ID, map[string]any{"number": hexutil.Uint64(h), "hash": "0x00"})
			case <-sub.Err():
				return
			}
		}
	}()
	return sub, nil
}

// fakeNode serves eth over HTTP and WebSocket and returns both URLs.
func fakeNode(t *testing.T, eth any) (httpURL, wsURL string, stop func()) {
	t.Helper()
	srv := rpc.NewServer()
	if err := srv.RegisterName("eth", eth); err != nil {
		t.Fatal(err)
	}
	h := httptest.NewServer(srv)
	w := httptest.NewServer(srv.WebsocketHandler([]string{"*"}))
	stop = func() { w.CloseClientConnections(); w.Close(); h.Close(); srv.Stop() }
	t.Cleanup(stop)
	return h.URL, "ws" + strings.TrimPrefix(w.URL, "http"), stop
}

func newSource(t *testing.T, url string, opts ethrpc.SourceOptions) *ethrpc.Source {
	t.Helper()
	opts.Traces, opts.Retries = ethrpc.TracesOff, -1
	s, err := ethrpc.NewSource(context.Background(), url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// TestWatchHeadsRefused: a node over HTTP, or over WebSocket without
// eth_subscribe, offers no subscription, and says so with
// ErrNoSubscriptions: the follower then polls.
func TestWatchHeadsRefused(t *testing.T) {
	ctx := context.Background()
	httpURL, wsURL, _ := fakeNode(t, &plainEth{id: 1337})
	for _, s := range []*ethrpc.Source{
		newSource(t, httpURL, ethrpc.SourceOptions{}),
		newSource(t, wsURL, ethrpc.SourceOptions{}),
		newSource(t, httpURL, ethrpc.SourceOptions{HeadsURL: wsURL}),
	} {
		heads, err := s.WatchHeads(ctx)
		if !errors.Is(err, ethrpc.ErrNoSubscriptions) || heads != nil {
			t.Errorf("%s: %v, want ErrNoSubscriptions", s.ID(), err)
		}
	}
	if _, err := ethrpc.NewSource(ctx, httpURL, ethrpc.SourceOptions{Traces: ethrpc.TracesOff, HeadsURL: httpURL}); err == nil || !strings.Contains(err.Error(), "ws or wss") {
		t.Errorf("an http heads URL: %v", err)
	}
}

// TestWatchHeads: heads announced over WebSocket reach the reader, on
// the source's own connection or on HeadsURL beside an HTTP one; heads of
// another network are refused; the channel closes when the node goes.
func TestWatchHeads(t *testing.T) {
	ctx := context.Background()
	eth := &subEth{plainEth{id: 1337}, make(chan uint64)}
	httpURL, wsURL, stop := fakeNode(t, eth)
	_, otherWS, _ := fakeNode(t, &subEth{plainEth{id: 1}, make(chan uint64)})

	for _, s := range []*ethrpc.Source{
		newSource(t, wsURL, ethrpc.SourceOptions{}),
		newSource(t, httpURL, ethrpc.SourceOptions{HeadsURL: wsURL}),
	} {
		wctx, cancel := context.WithCancel(ctx)
		heads, err := s.WatchHeads(wctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range []uint64{7, 8} {
			eth.heads <- h
			select {
			case got := <-heads:
				if got != h {
					t.Errorf("head %d announced as %d", h, got)
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("head %d not announced", h)
			}
		}
		cancel()
		for range heads {
		}
	}

	s := newSource(t, httpURL, ethrpc.SourceOptions{HeadsURL: otherWS})
	if _, err := s.WatchHeads(ctx); err == nil || !strings.Contains(err.Error(), "eth:1,") {
		t.Errorf("heads of another chain: %v", err)
	}

	s = newSource(t, httpURL, ethrpc.SourceOptions{HeadsURL: wsURL})
	heads, err := s.WatchHeads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stop()
	select {
	case _, ok := <-heads:
		if ok {
			t.Error("a head from a stopped node")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the subscription outlived its node")
	}
}
