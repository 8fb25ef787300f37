package bench

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/ingest"
	"github.com/tracehound/tracehound/ingest/transfers"
	"github.com/tracehound/tracehound/store/graph"
	"github.com/tracehound/tracehound/store/pebble"
)

// transferExport writes a synthetic transfer list of n transfers in
// Dune's tokens.transfers spelling: blocks of 150 transactions of one
// transfer each between addresses drawn from a Zipf distribution over 2
// million (a few exchange-like hot addresses, a long tail), two thirds
// token transfers of 3 contracts with a log index, a third native.
func transferExport(tb testing.TB, n int) string {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), "transfers.csv")
	f, err := os.Create(p)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	r := rand.New(rand.NewPCG(7, 11))
	z := rand.NewZipf(r, 1.1, 4, 2_000_000-1)
	addr := func() string {
		var b [20]byte
		binary.BigEndian.PutUint64(b[12:], z.Uint64()*0x9e3779b97f4a7c15)
		return fmt.Sprintf("0x%x", b)
	}
	tokens := []string{"0xdac17f958d2ee523a2206206994597c13d831ec7", "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48", "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2"}
	fmt.Fprintln(w, "blockchain,block_time,block_number,tx_hash,evt_index,from,to,contract_address,symbol,amount_raw")
	t0 := time.Date(2025, 2, 21, 0, 0, 0, 0, time.UTC)
	for i := range n {
		blk := 20_000_000 + i/150
		at := t0.Add(time.Duration(i/150) * 12 * time.Second).Format("2006-01-02 15:04:05.000 UTC")
		var h [32]byte
		binary.BigEndian.PutUint64(h[:], uint64(i)*0x9e3779b97f4a7c15+1)
		contract, li, sym := "0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", "", "ETH"
		if i%3 != 0 {
			contract, li, sym = tokens[i%len(tokens)], fmt.Sprint(i%150), "TOK"
		}
		fmt.Fprintf(w, "ethereum,%s,%d,0x%x,%s,%s,%s,%s,%s,%d\n", at, blk, h, li, addr(), addr(), contract, sym, r.Uint64N(1e19)+1)
	}
	if err := errors.Join(w.Flush(), f.Close()); err != nil {
		tb.Fatal(err)
	}
	return p
}

const benchTransfers = 1_000_000

// BenchmarkTransfersParse reads a 1,000,000-transfer export into blocks:
// the parser alone.
//
//	go test ./bench -run '^$' -bench 'Transfers' -benchtime 3x
func BenchmarkTransfersParse(b *testing.B) {
	p := transferExport(b, benchTransfers)
	var n int
	cpu0 := cpuTime()
	for b.Loop() {
		src, err := transfers.Open(transfers.Options{Chain: chain.Ethereum}, p)
		if err != nil {
			b.Fatal(err)
		}
		n = 0
		for {
			blk, err := src.Next(context.Background())
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			for i := range blk.Txs {
				n += len(blk.Txs[i].Transfers)
			}
		}
		src.Close()
	}
	if n != benchTransfers {
		b.Fatalf("%d transfers", n)
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "transfers/s")
	b.ReportMetric((cpuTime()-cpu0).Seconds()*1e6/float64(n*b.N), "µs-cpu/transfer")
}

// cpuTime is the process's user and system CPU time: the machine's other
// tenants move the wall clock, not this.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkTransfersBulk reads the same export and loads it into a fresh
// store through ingest.RunStream and the store's bulk loader, as `ingest
// csv` does, until every block is committed.
func BenchmarkTransfersBulk(b *testing.B) {
	p := transferExport(b, benchTransfers)
	ctx := context.Background()
	var st ingest.Stats
	var total, cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		db, err := pebble.Open(ctx, b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		src, err := transfers.Open(transfers.Options{Chain: chain.Ethereum}, p)
		if err != nil {
			b.Fatal(err)
		}
		first, _ := src.First()
		b.StartTimer()
		t0, c0 := time.Now(), cpuTime()
		st, err = ingest.RunStream(ctx, db.Graph(), src, ingest.Options{From: first, Bulk: func(ctx context.Context, c chain.Chain, source string) (ingest.BulkLoader, error) {
			return db.Graph().NewBulkLoader(ctx, c, source, graph.BulkOptions{})
		}})
		total += time.Since(t0)
		cpu += cpuTime() - c0
		b.StopTimer()
		src.Close()
		if err != nil {
			b.Fatal(err)
		}
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	if st.Transfers != benchTransfers {
		b.Fatalf("%d transfers", st.Transfers)
	}
	b.ReportMetric(float64(st.Transfers)*float64(b.N)/total.Seconds(), "transfers/s")
	b.ReportMetric(cpu.Seconds()*1e6/float64(st.Transfers*b.N), "µs-cpu/transfer")
	b.ReportMetric(100*st.SourceWait.Seconds()/st.Elapsed.Seconds(), "%parse")
}
