package ingest_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/ingest"
)

// liveChain is a node whose chain grows while a run follows it: blocks
// above shown are not out yet. With watch set it is an ingest.HeadWatcher
// whose subscriptions are the channels in subs, in order.
type liveChain struct {
	mu    sync.Mutex
	all   []*chain.Block
	shown int
	subs  []chan uint64
	// refuse makes every subscription fail, as a node without
	// eth_subscribe does.
	refuse bool
	// mineOnWatch shows a block as a subscription is made, announced to
	// nobody: it came between the follower's look at the head and its
	// subscription.
	mineOnWatch bool
	watched     int // subscriptions asked for
}

func (l *liveChain) Chain() chain.Chain { return chain.Ethereum }
func (l *liveChain) ID() string         { return "eth:live" }
func (l *liveChain) Head(context.Context) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return uint64(l.shown - 1), nil
}
func (l *liveChain) HashAt(_ context.Context, h uint64) (string, error) {
	return l.all[h].Hash, nil
}
func (l *liveChain) Blocks(ctx context.Context, from, to uint64) ([]*chain.Block, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := memChain{blocks: l.all[:l.shown]}
	return m.Blocks(ctx, from, to)
}

// mine shows the next block.
func (l *liveChain) mine() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.shown++
	return uint64(l.shown - 1)
}

// watching is a liveChain that announces heads.
type watching struct{ *liveChain }

func (w watching) WatchHeads(ctx context.Context) (<-chan uint64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.watched++
	if w.mineOnWatch {
		w.shown++
	}
	if w.refuse || w.watched > len(w.subs) {
		return nil, errors.New("the method eth_subscribe does not exist/is not available")
	}
	return w.subs[w.watched-1], nil
}

// follow runs a following ingest of src in the background and returns
// the heights it stores, as they are stored.
func follow(t *testing.T, src ingest.NodeSource, poll time.Duration) <-chan uint64 {
	t.Helper()
	db := openDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	stored := make(chan uint64, 100)
	done := make(chan error, 1)
	go func() {
		_, err := ingest.RunNode(ctx, db.Graph(), src, ingest.Options{Follow: true, Poll: poll, Batch: 1,
			Progress: func(p ingest.Progress) { stored <- p.Height }})
		done <- err
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Error(err)
		}
	})
	return stored
}

// waitStored waits for height to be stored; within is far shorter than
// the poll interval of a test that wants the block without a poll.
func waitStored(t *testing.T, stored <-chan uint64, height uint64, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case h := <-stored:
			if h >= height {
				return
			}
		case <-deadline:
			t.Fatalf("block %d not stored within %s", height, within)
		}
	}
}

// TestRunNodeHeads: a follower whose node announces heads stores a new
// block when it is announced, although its poll interval is an hour; a
// subscription that breaks is made again.
func TestRunNodeHeads(t *testing.T) {
	first, second := make(chan uint64, 1), make(chan uint64, 1)
	l := &liveChain{all: branch(6, 6, "").blocks, shown: 3, subs: []chan uint64{first, second}}
	stored := follow(t, watching{l}, time.Hour)
	waitStored(t, stored, 2, 30*time.Second)

	first <- l.mine()
	waitStored(t, stored, 3, 30*time.Second)

	// The node restarts: the subscription ends, the follower asks the
	// head at once and subscribes again.
	l.mine()
	close(first)
	waitStored(t, stored, 4, 30*time.Second)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) {
		l.mu.Lock()
		n := l.watched
		l.mu.Unlock()
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d subscriptions, want 2", n)
		}
	}
	second <- l.mine()
	waitStored(t, stored, 5, 30*time.Second)
}

// TestRunNodeHeadsRefused: a node that refuses subscriptions is polled,
// and asked to subscribe only once.
func TestRunNodeHeadsRefused(t *testing.T) {
	l := &liveChain{all: branch(6, 6, "").blocks, shown: 3, refuse: true}
	stored := follow(t, watching{l}, 20*time.Millisecond)
	waitStored(t, stored, 2, 30*time.Second)
	for range 3 {
		waitStored(t, stored, l.mine(), 30*time.Second)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.watched != 1 {
		t.Errorf("asked to subscribe %d times, want once", l.watched)
	}
}

// TestRunNodeHeadsBeforeSubscribing: a block that came out while the
// follower subscribed, announced to nobody, is stored without waiting
// for the poll.
func TestRunNodeHeadsBeforeSubscribing(t *testing.T) {
	l := &liveChain{all: branch(6, 6, "").blocks, shown: 3, subs: []chan uint64{make(chan uint64)}, mineOnWatch: true}
	stored := follow(t, watching{l}, time.Hour)
	waitStored(t, stored, 3, 30*time.Second)
}

// TestRunNodeHeadsCoalesced: a watcher that announces only the latest of
// several new blocks (a reader fell behind, or a poll saw two at once)
// still has every block stored.
func TestRunNodeHeadsCoalesced(t *testing.T) {
	sub := make(chan uint64, 1)
	l := &liveChain{all: branch(7, 7, "").blocks, shown: 3, subs: []chan uint64{sub}}
	stored := follow(t, watching{l}, time.Hour)
	waitStored(t, stored, 2, 30*time.Second)
	l.mine()
	l.mine()
	sub <- l.mine()
	for h := uint64(3); h <= 5; h++ {
		waitStored(t, stored, h, 30*time.Second)
	}
}
