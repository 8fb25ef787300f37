//go:build integration

package ethrpc_test

import (
	"context"
	"errors"
	"math/big"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/ingest"
	"github.com/tracehound/tracehound/ingest/ethrpc"
	"github.com/tracehound/tracehound/nodetest"
	"github.com/tracehound/tracehound/store/pebble"
)

// followGeth follows the dev node's chain into a fresh store in the
// background and returns the heights stored, as they are stored.
func followGeth(t *testing.T, src ingest.NodeSource, poll time.Duration) (*pebble.DB, <-chan uint64) {
	t.Helper()
	db, err := pebble.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stored := make(chan uint64, 1000)
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
		db.Close()
	})
	return db, stored
}

// payAndIngest pays a fresh address on the dev node and returns how long
// after the transaction's receipt the follower stored its block, failing
// after within.
func payAndIngest(t *testing.T, g *nodetest.Geth, db *pebble.DB, stored <-chan uint64, within time.Duration) time.Duration {
	t.Helper()
	ctx := context.Background()
	key, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	to := crypto.PubkeyToAddress(key.PublicKey)
	h, err := g.Pay(ctx, to, big.NewInt(1_000_001))
	if err != nil {
		t.Fatal(err)
	}
	mctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	r, err := g.Mined(mctx, h)
	if err != nil {
		t.Fatal(err)
	}
	mined := time.Now()
	height := r.BlockNumber.Uint64()
	deadline := time.After(within)
	for {
		select {
		case got := <-stored:
			if got < height {
				continue
			}
			took := time.Since(mined)
			tot, ok, err := db.Graph().AddressTotals(ctx, chain.Ethereum, strings.ToLower(to.Hex()))
			if err != nil || !ok || len(tot.Assets) != 1 || tot.Assets[0].Received.String() != "1000001" {
				t.Fatalf("block %d stored without its payment: %+v %v %v", height, tot, ok, err)
			}
			return took
		case <-deadline:
			t.Fatalf("block %d not stored within %s of its receipt", height, within)
		}
	}
}

// TestFollowHeadsAgainstGeth: a follower subscribed to geth's new heads
// over WebSocket stores a new block without waiting for its poll, an
// hour here; beside the same node's HTTP endpoint without the WebSocket
// one, it polls.
func TestFollowHeadsAgainstGeth(t *testing.T) {
	wsPort, err := nodetest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	g := nodetest.StartGeth(t, nodetest.GethOptions{Args: []string{"--ws", "--ws.addr", "127.0.0.1", "--ws.port", strconv.Itoa(wsPort), "--ws.api", "eth"}})
	ctx := context.Background()
	ws := "ws://127.0.0.1:" + strconv.Itoa(wsPort)

	src, err := ethrpc.NewSource(ctx, g.URL, ethrpc.SourceOptions{HeadsURL: ws, Traces: ethrpc.TracesOff})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	db, stored := followGeth(t, src, time.Hour)
	for i := range 3 {
		took := payAndIngest(t, g, db, stored, 30*time.Second)
		t.Logf("subscribed: block %d stored %s after its receipt", i, took)
	}

	// Over HTTP alone there is nothing to subscribe to: the follower
	// polls, and still keeps up.
	plain, err := ethrpc.NewSource(ctx, g.URL, ethrpc.SourceOptions{Traces: ethrpc.TracesOff})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if _, err := plain.WatchHeads(ctx); !errors.Is(err, ethrpc.ErrNoSubscriptions) {
		t.Fatalf("subscribed over http: %v", err)
	}
	db, stored = followGeth(t, plain, 100*time.Millisecond)
	took := payAndIngest(t, g, db, stored, 30*time.Second)
	t.Logf("polling every 100ms: block stored %s after its receipt", took)
}
