package bench

import (
	"context"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/tracehound/tracehound/chain/chaintest"
	"github.com/tracehound/tracehound/ingest"
	"github.com/tracehound/tracehound/ingest/blkfile"
	"github.com/tracehound/tracehound/store/pebble"
)

// BenchmarkIngestBlockFile decodes all 14,132 blocks of the real mainnet
// block file, resolves their inputs and stores them in a fresh store.
//
//	go test ./bench -run '^$' -bench IngestBlockFile -benchtime 5x
func BenchmarkIngestBlockFile(b *testing.B) {
	file := chaintest.SharedData(b, "btc", chaintest.Blk14131)
	ctx := context.Background()
	var st ingest.Stats
	for b.Loop() {
		b.StopTimer()
		db, err := pebble.Open(ctx, b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		src, err := blkfile.OpenFiles(file, &chaincfg.MainNetParams)
		if err != nil {
			b.Fatal(err)
		}
		st, err = ingest.RunStream(ctx, db.Graph(), src, ingest.Options{})
		src.Close()
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		db.Close()
		b.StartTimer()
	}
	if st.Blocks != 14132 {
		b.Fatalf("%d blocks", st.Blocks)
	}
	b.ReportMetric(float64(st.Blocks)/st.Elapsed.Seconds(), "blocks/s")
}
