//go:build integration

package btcrpc_test

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/ingest"
	"github.com/tracehound/tracehound/ingest/btcrpc"
	"github.com/tracehound/tracehound/nodetest"
	"github.com/tracehound/tracehound/store/pebble"
)

// storedAt is a height a follower stored, and when.
type storedAt struct {
	height uint64
	at     time.Time
}

// followBtcd follows the node's chain into a fresh store in the
// background and returns the heights stored, stamped as they are stored.
func followBtcd(tb testing.TB, src ingest.NodeSource, poll time.Duration) (*pebble.DB, <-chan storedAt) {
	tb.Helper()
	db, err := pebble.Open(context.Background(), tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stored := make(chan storedAt, 1000)
	done := make(chan error, 1)
	go func() {
		_, err := ingest.RunNode(ctx, db.Graph(), src, ingest.Options{Follow: true, Poll: poll, Batch: 1,
			Progress: func(p ingest.Progress) { stored <- storedAt{p.Height, time.Now()} }})
		done <- err
	}()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			tb.Error(err)
		}
		db.Close()
	})
	return db, stored
}

// waitHeight returns when height was stored, failing after within.
func waitHeight(tb testing.TB, stored <-chan storedAt, height uint64, within time.Duration) time.Time {
	tb.Helper()
	deadline := time.After(within)
	for {
		select {
		case s := <-stored:
			if s.height >= height {
				return s.at
			}
		case <-deadline:
			tb.Fatalf("block %d not stored within %s", height, within)
		}
	}
}

// mine mines one block and returns its height and hash, and when the
// node answered (the block is connected by then).
func mine(tb testing.TB, node *nodetest.Btcd) (uint64, string, time.Time) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	hashes, err := node.Generate(ctx, 1)
	if err != nil {
		tb.Fatal(err)
	}
	mined := time.Now()
	var height uint64
	raw, err := node.Call(ctx, "getblockcount")
	if err != nil {
		tb.Fatal(err)
	}
	if err := json.Unmarshal(raw, &height); err != nil {
		tb.Fatal(err)
	}
	return height, hashes[0], mined
}

// pollOnly is a source without WatchHeads: the follower polls.
type pollOnly struct{ ingest.NodeSource }

func newSource(tb testing.TB, node *nodetest.Btcd, cfg btcrpc.RPCConfig) *btcrpc.RPCSource {
	tb.Helper()
	cfg.URL, cfg.User, cfg.Pass, cfg.Params = node.URL, node.User, node.Pass, simnet
	src, err := btcrpc.NewRPCSource(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return src
}

// TestFollowHeadsAgainstBtcd: a follower whose poll is an hour stores
// each new simnet block as btcd mines it, heard through notifyblocks on
// btcd's WebSocket; with the WebSocket off, through the short poll of
// getbestblockhash that serves Bitcoin Core.
func TestFollowHeadsAgainstBtcd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	miner := newWallet(t, "p2pkh")
	node := nodetest.StartBtcd(t, nodetest.BtcdOptions{MiningAddr: miner.addr.EncodeAddress()})
	if _, err := node.Generate(ctx, 5); err != nil {
		t.Fatal(err)
	}

	// With the poll off, WatchHeads has only btcd's notifications.
	ws := newSource(t, node, btcrpc.RPCConfig{HeadPoll: -1})
	heads, err := ws.WatchHeads(ctx)
	if err != nil {
		t.Fatalf("btcd's WebSocket: %v", err)
	}
	h, _, _ := mine(t, node)
	select {
	case got := <-heads:
		if got != h {
			t.Fatalf("notified of %d, want %d", got, h)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no notification")
	}

	for _, c := range []struct {
		name string
		cfg  btcrpc.RPCConfig
	}{
		{"notifyblocks", btcrpc.RPCConfig{HeadPoll: -1}},
		{"getbestblockhash every 250ms", btcrpc.RPCConfig{NoWebSocket: true}},
	} {
		db, stored := followBtcd(t, newSource(t, node, c.cfg), time.Hour)
		head, err := ws.Head(ctx)
		if err != nil {
			t.Fatal(err)
		}
		waitHeight(t, stored, head, 30*time.Second)
		for range 3 {
			// Let the follower settle into its wait: a block mined as it
			// reads the head after storing the last one is no test.
			time.Sleep(100*time.Millisecond + rand.N(250*time.Millisecond))
			h, hash, mined := mine(t, node)
			at := waitHeight(t, stored, h, 30*time.Second)
			got, ok, err := db.Graph().BlockHash(ctx, chain.Bitcoin, h)
			if err != nil || !ok || got != hash {
				t.Fatalf("%s: stored %q %v %v at %d, want %s", c.name, got, ok, err, h, hash)
			}
			t.Logf("%s: block %d stored %s after it was mined", c.name, h, at.Sub(mined))
		}
	}
}

// BenchmarkTimeToStore: the time from a block mined (btcd's generate
// answering) to the block stored, by three followers of the same btcd
// in the same run: one hearing of blocks through notifyblocks, one
// polling getbestblockhash every 250 ms (Bitcoin Core's way), and the
// anchor, polling the head every second (ingest's default). A random
// pause before each block puts it anywhere in the polls' phases.
//
//	go test -tags integration -run '^$' -bench TimeToStore -benchtime 20x ./ingest/btcrpc/
func BenchmarkTimeToStore(b *testing.B) {
	miner := newWallet(b, "p2pkh")
	node := nodetest.StartBtcd(b, nodetest.BtcdOptions{MiningAddr: miner.addr.EncodeAddress()})
	ctx := context.Background()
	if _, err := node.Generate(ctx, 5); err != nil {
		b.Fatal(err)
	}
	ws := newSource(b, node, btcrpc.RPCConfig{HeadPoll: -1})
	if heads, err := ws.WatchHeads(b.Context()); err != nil || heads == nil {
		b.Fatalf("btcd's WebSocket: %v", err)
	}
	followers := []struct {
		name string
		src  ingest.NodeSource
		poll time.Duration
	}{
		{"heads", ws, time.Hour},
		{"hashpoll", newSource(b, node, btcrpc.RPCConfig{NoWebSocket: true}), time.Hour},
		{"poll1s", pollOnly{newSource(b, node, btcrpc.RPCConfig{})}, time.Second},
	}
	stored := make([]<-chan storedAt, len(followers))
	for i, f := range followers {
		_, stored[i] = followBtcd(b, f.src, f.poll)
		waitHeight(b, stored[i], 5, time.Minute)
	}
	took := make([][]time.Duration, len(followers))
	b.ResetTimer()
	for range b.N {
		// At least 50 ms, for the followers to settle into their wait.
		time.Sleep(50*time.Millisecond + rand.N(time.Second))
		h, _, mined := mine(b, node)
		for i := range followers {
			took[i] = append(took[i], waitHeight(b, stored[i], h, time.Minute).Sub(mined))
		}
	}
	b.StopTimer()
	med := make([]time.Duration, len(followers))
	for i, f := range followers {
		slices.Sort(took[i])
		n := len(took[i])
		med[i] = took[i][n/2]
		b.ReportMetric(float64(med[i].Microseconds())/1000, f.name+"-p50-ms")
		b.ReportMetric(float64(took[i][min(n-1, n*9/10)].Microseconds())/1000, f.name+"-p90-ms")
		b.ReportMetric(float64(took[i][n-1].Microseconds())/1000, f.name+"-max-ms")
	}
	if med[0] > 0 {
		b.ReportMetric(float64(med[2])/float64(med[0]), "anchor/heads")
		b.ReportMetric(float64(med[2])/float64(med[1]), "anchor/hashpoll")
	}
}
