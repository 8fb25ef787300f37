//go:build integration

package bench

import (
	"context"
	"crypto/rand"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/tracehound/tracehound/ingest"
	"github.com/tracehound/tracehound/ingest/ethrpc"
	"github.com/tracehound/tracehound/nodetest"
	"github.com/tracehound/tracehound/store/pebble"
)

// BenchmarkIngestGeth ingests a geth --dev chain of about 1,000 blocks of
// payments (traces on) into a fresh store per iteration, and reports
// blocks/s, transfers/s and the share of the run spent waiting on RPC.
//
//	go test -tags integration ./bench -run '^$' -bench IngestGeth -benchtime 3x
func BenchmarkIngestGeth(b *testing.B) {
	// Tracing old blocks needs their state: an archive node.
	g := nodetest.StartGeth(b, nodetest.GethOptions{Args: []string{"--gcmode", "archive", "--state.scheme", "hash"}})
	ctx := context.Background()
	var last common.Hash
	for i := range 3000 {
		var to common.Address
		rand.Read(to[:])
		h, err := g.Pay(ctx, to, big.NewInt(int64(i+1)))
		if err != nil {
			b.Fatal(err)
		}
		last = h
	}
	if _, err := g.Mined(ctx, last); err != nil {
		b.Fatal(err)
	}
	head, err := g.Client.BlockNumber(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var st ingest.Stats
	for b.Loop() {
		b.StopTimer()
		db, err := pebble.Open(ctx, b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		src, err := ethrpc.NewSource(ctx, g.URL, ethrpc.SourceOptions{})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		st, err = ingest.RunNode(ctx, db.Graph(), src, ingest.Options{To: &head})
		b.StopTimer()
		src.Close()
		db.Close()
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(st.Blocks), "blocks")
	b.ReportMetric(st.BlocksPerSecond(), "blocks/s")
	b.ReportMetric(st.TransfersPerSecond(), "transfers/s")
	b.ReportMetric(100*st.SourceWait.Seconds()/max(st.Elapsed.Seconds(), time.Nanosecond.Seconds()), "%rpc-wait")
}
