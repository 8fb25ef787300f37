package tron

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tracehound/tracehound/ingest"
	"github.com/tracehound/tracehound/store/pebble"
)

// grow adds a header-only block on top of the node's head and makes it
// the head.
func (n *node) grow() uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	parent, err := idOf(n.blocks[n.head])
	if err != nil {
		panic(err)
	}
	h := n.head + 1
	id := fmt.Sprintf("%016x%048x", h, h)
	n.blocks[h] = fmt.Appendf(nil, `{"blockID":%q,"block_header":{"raw_data":{"number":%d,"parentHash":%q,"timestamp":%d}}}`,
		id, h, parent, time.Now().UnixMilli())
	n.head = h
	return h
}

func idOf(block []byte) (string, error) {
	var b struct {
		BlockID string `json:"blockID"`
	}
	err := json.Unmarshal(block, &b)
	return b.BlockID, err
}

func watchSource(t *testing.T, n *node, poll, interval time.Duration) *Source {
	t.Helper()
	_, s := n.serve(t)
	s.opts.HeadPoll, s.blockInterval = poll, interval
	return s
}

func nextHead(t *testing.T, heads <-chan uint64, within time.Duration) uint64 {
	t.Helper()
	select {
	case h, ok := <-heads:
		if !ok {
			t.Fatal("the heads channel closed")
		}
		return h
	case <-time.After(within):
		t.Fatalf("no head announced within %s", within)
	}
	return 0
}

func waitCalls(t *testing.T, n *node, method string, atLeast int64) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); n.calls(method) < atLeast; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d %s calls, want %d", n.calls(method), method, atLeast)
		}
	}
}

// TestWatchHeads: each new block is announced from the latest header
// (getblock without detail, never the full getnowblock), and after a
// block the poll rests for most of a block interval.
func TestWatchHeads(t *testing.T) {
	n := newNode(t)
	s := watchSource(t, n, 5*time.Millisecond, 1500*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	heads, err := s.WatchHeads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The first answer is the head the follower looks at itself: not
	// announced, and a block was just made, so the poll rests.
	waitCalls(t, n, "getblock", 1)
	time.Sleep(300 * time.Millisecond)
	if c := n.calls("getblock"); c != 1 {
		t.Errorf("%d getblock calls in the rest after a block, want 1", c)
	}
	for range 2 {
		h := n.grow()
		start := time.Now()
		if got := nextHead(t, heads, 10*time.Second); got != h {
			t.Fatalf("announced %d, want %d", got, h)
		}
		// Due within the rest (1500-5-500 ms) and a poll, before a block
		// interval.
		if d := time.Since(start); d > 1400*time.Millisecond {
			t.Errorf("announced %s after the block", d)
		}
	}
	if c := n.calls("getnowblock"); c != 0 {
		t.Errorf("%d getnowblock calls", c)
	}
	cancel()
	for range heads {
	}
}

// TestWatchHeadsGetNowBlock: a node without getblock is asked
// getnowblock.
func TestWatchHeadsGetNowBlock(t *testing.T) {
	n := newNode(t)
	n.noGetBlock = true
	s := watchSource(t, n, 5*time.Millisecond, 0)
	heads, err := s.WatchHeads(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// The second request starts after the first answered.
	waitCalls(t, n, "getnowblock", 2)
	h := n.grow()
	if got := nextHead(t, heads, 10*time.Second); got != h {
		t.Fatalf("announced %d, want %d", got, h)
	}
	if c := n.calls("getblock"); c != 1 {
		t.Errorf("getblock asked %d times, want once", c)
	}
}

// TestWatchHeadsOff: with a negative HeadPoll there is nothing to watch.
func TestWatchHeadsOff(t *testing.T) {
	s := watchSource(t, newNode(t), -1, 0)
	if heads, err := s.WatchHeads(t.Context()); !errors.Is(err, ErrNoSubscriptions) || heads != nil {
		t.Fatalf("%v", err)
	}
}

// TestFollowHeads: a follower whose poll is an hour stores a new block
// as the watcher sees it.
func TestFollowHeads(t *testing.T) {
	n := newNode(t)
	n.head = recHeight
	s := watchSource(t, n, 5*time.Millisecond, 0)
	db, err := pebble.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithCancel(context.Background())
	stored := make(chan uint64, 10)
	done := make(chan error, 1)
	go func() {
		_, err := ingest.RunNode(ctx, db.Graph(), s, ingest.Options{From: recHeight, Follow: true, Poll: time.Hour, Batch: 1,
			Progress: func(p ingest.Progress) { stored <- p.Height }})
		done <- err
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Error(err)
		}
	}()
	if h := <-stored; h != recHeight {
		t.Fatalf("stored %d", h)
	}
	waitCalls(t, n, "getblock", 2)
	n.mu.Lock()
	n.head++
	n.mu.Unlock()
	select {
	case h := <-stored:
		if h != recHeight+1 {
			t.Fatalf("stored %d", h)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the new block was not stored: the follower waited for its poll")
	}
	checkStore(t, db.Graph())
}
