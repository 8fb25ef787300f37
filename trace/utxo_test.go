package trace_test

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/chaintest"
	"github.com/tracehound/tracehound/ingest"
	"github.com/tracehound/tracehound/ingest/blkfile"
	"github.com/tracehound/tracehound/store/pebble"
	"github.com/tracehound/tracehound/trace"
)

var (
	mainnetOnce sync.Once
	mainnetDir  string
	mainnetDB   *pebble.DB
	mainnetErr  error
)

// TestMain removes the block file's store, 400 MB, that the package's
// tests share.
func TestMain(m *testing.M) {
	code := m.Run()
	if mainnetDB != nil {
		mainnetDB.Close()
	}
	if mainnetDir != "" {
		os.RemoveAll(mainnetDir)
	}
	os.Exit(code)
}

// mainnet is the real block file ingested once for the package's tests.
func mainnet(t *testing.T) *pebble.DB {
	t.Helper()
	file := chaintest.SharedData(t, "btc", chaintest.Blk14131)
	mainnetOnce.Do(func() {
		ctx := context.Background()
		dir, err := os.MkdirTemp("", "trace-mainnet")
		if err != nil {
			mainnetErr = err
			return
		}
		mainnetDir = dir
		if mainnetDB, mainnetErr = pebble.Open(ctx, dir); mainnetErr != nil {
			return
		}
		src, err := blkfile.OpenFiles(file, &chaincfg.MainNetParams)
		if err != nil {
			mainnetErr = err
			return
		}
		defer src.Close()
		_, mainnetErr = ingest.RunStream(ctx, mainnetDB.Graph(), src, ingest.Options{})
	})
	if mainnetErr != nil {
		t.Fatal(mainnetErr)
	}
	return mainnetDB
}

// TestBitcoinBlock170 traces the first payment between people: Satoshi's
// coinbase coin of block 9 spent in block 170, 10 BTC to Hal Finney and
// 40 BTC back as change.
func TestBitcoinBlock170(t *testing.T) {
	db := mainnet(t)
	ctx := context.Background()
	const (
		tx170 = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"
		hal   = "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3"
		sat   = "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"
	)
	for _, m := range []trace.Model{trace.Poison, trace.Haircut, trace.FIFO} {
		r, err := trace.Run(ctx, db.Graph(), []trace.Seed{{Tx: tx170}}, trace.Options{Chain: chain.Bitcoin, Model: m, MaxHops: 6})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Check(); err != nil {
			t.Errorf("%s: %v", m, err)
		}
		if r.Tainted.String() != "5000000000" {
			t.Errorf("%s: %s entered", m, r.Tainted)
		}
		// Hal's coin was never spent in these blocks: he holds it all.
		for _, n := range r.Nodes {
			if n.Address == hal && (n.Received.String() != "1000000000" || m != trace.Poison && n.Remaining.String() != "1000000000") {
				t.Errorf("%s: Hal received %s, holds %s", m, n.Received, n.Remaining)
			}
		}
		// The change was spent on: the next hops come from Satoshi.
		var next []string
		for _, e := range r.Edges {
			if e.Hop == 1 {
				next = append(next, e.From+">"+e.To+" "+e.Tainted.String())
			}
		}
		if len(next) == 0 || !strings.HasPrefix(next[0], sat+">") {
			t.Errorf("%s: first hop %v", m, next)
		}
		t.Logf("%s: %d addresses, %d edges, %s in fees, %d hops", m, len(r.Nodes), len(r.Edges), r.FeesTainted, len(r.Hops))
	}
}

// TestBitcoinConservation traces Satoshi's early coins forward and checks
// that under haircut and FIFO the taint that entered equals what the
// addresses still hold plus what went to fees, exactly.
func TestBitcoinConservation(t *testing.T) {
	db := mainnet(t)
	ctx := context.Background()
	for _, m := range []trace.Model{trace.Haircut, trace.FIFO} {
		r, err := trace.Run(ctx, db.Graph(), []trace.Seed{{Address: "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"}}, trace.Options{Chain: chain.Bitcoin, Model: m, MaxHops: 50})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Check(); err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		var held chain.Amount
		for _, n := range r.Nodes {
			held, _ = held.Add(n.Remaining)
		}
		total, _ := held.Add(r.FeesTainted)
		if total.Cmp(r.Tainted) != 0 {
			t.Errorf("%s: %s entered, %s held + %s fees", m, r.Tainted, held, r.FeesTainted)
		}
		t.Logf("%s: %s entered at the seed, %d addresses, %d transfers, fees %s", m, r.Tainted, len(r.Nodes), len(r.Edges), r.FeesTainted)
	}
}
