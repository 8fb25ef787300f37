// Command graphbench measures the transfer graph's write and read paths on
// a synthetic Ethereum-like stream: blocks of 150 transactions between
// addresses drawn from a Zipf distribution (a few exchange-like hot
// addresses, a long tail), one transfer each (native, token or internal).
// It writes -transfers transfers the way a bulk import from files does
// (ingest.RunStream with the store's bulk loader, in chunks of -chunk
// MiB), or with -batched through pebble.DB.WriteBlocks in batches of
// -batch blocks as a node's blocks are written; then it reads the -recent most recent transfers of hot
// addresses and reports latency percentiles and the process's peak RSS.
package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/ingest"
	"github.com/tracehound/tracehound/store/graph"
	"github.com/tracehound/tracehound/store/pebble"
)

func main() {
	var (
		dir       = flag.String("dir", "", "store directory (default: a new temporary one)")
		transfers = flag.Int("transfers", 10_000_000, "transfers to write")
		addrs     = flag.Int("addresses", 2_000_000, "distinct addresses")
		perBlock  = flag.Int("txs", 150, "transactions per block")
		batch     = flag.Int("batch", 100, "blocks per WriteBlocks call")
		recent    = flag.Int("recent", 1000, "transfers per read")
		reads     = flag.Int("reads", 10_000, "reads")
		cpuprof   = flag.String("cpuprofile", "", "write a CPU profile of the write phase to this file")
		memprof   = flag.String("memprofile", "", "write an allocation profile of the write phase to this file")
		readprof  = flag.String("readprofile", "", "write a CPU profile of the read phase to this file")
		reuse     = flag.Bool("reuse", false, "if -dir already holds the transfers, skip writing and only read")
		readAPI   = flag.String("read", "views", "read API: views (PostingViews, nothing formatted) or postings (Postings, every field as text)")
		batched   = flag.Bool("batched", false, "write through WriteBlocks batch by batch instead of a bulk load")
		lsm       = flag.Bool("lsm", false, "print the LSM tree's levels once compactions settle")
		chunk     = flag.Int("chunk", graph.DefaultBulkChunk>>20, "bulk load chunk in MiB")
		commit    = flag.Int("commit", 0, "commit the bulk load every this many transfers (0: at the loader's own bounds), so that every commit after the first lands in a store that holds data; the figure then waits for compaction debt to fall under -debt")
		debtMax   = flag.Int("debt", 100, "with -commit: the compaction debt, in MB, the store must be back under for the load to count as done")
		noTrav    = flag.Bool("no-traversal", false, "leave the traversal segments out of the bulk load")
	)
	flag.Parse()
	if *readAPI != "views" && *readAPI != "postings" {
		log.Fatalf("-read %q: want views or postings", *readAPI)
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "graphbench")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	ctx := context.Background()
	db, err := pebble.Open(ctx, *dir)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	// The pool's addresses are a function of their index, so that a store
	// written once can be read again with -reuse: the hot addresses are
	// the pool's first.
	hotAddrs := make([]string, min(200, *addrs))
	for i := range hotAddrs {
		hotAddrs[i] = string(appendAddress(nil, uint64(i)))
	}
	tokens := []chain.Asset{chain.Asset(randHex(20)), chain.Asset(randHex(20)), chain.Asset(randHex(20))}

	if *reuse {
		tip, ok, err := db.Graph().Tip(ctx, chain.Ethereum)
		if err != nil {
			log.Fatal(err)
		}
		want := uint64((*transfers + *perBlock - 1) / *perBlock)
		if ok && tip.Height != want {
			log.Fatalf("%s holds %d blocks, not the %d of %d transfers", *dir, tip.Height, want, *transfers)
		}
		if ok {
			fmt.Printf("reusing %s: %d blocks\n", *dir, tip.Height)
			read(ctx, db, hotAddrs, *readAPI, *recent, *reads, *readprof)
			return
		}
	}
	zipf := mrand.NewZipf(mrand.New(mrand.NewPCG(1, 2)), 1.1, 1, uint64(*addrs-1))

	// Blocks are generated on their own goroutine, as a node source
	// would deliver them; the figure is the store's write rate.
	batches := make(chan []*chain.Block, 4)
	go func() {
		defer close(batches)
		height := uint64(1)
		t0 := time.Unix(1_700_000_000, 0)
		// Hashes from a fast generator: the figure is the store's, and
		// crypto/rand cost a tenth of the write phase's CPU.
		hashes := mrand.New(mrand.NewPCG(7, 8))
		for n := 0; n < *transfers; {
			bs := make([]*chain.Block, 0, *batch)
			for range *batch {
				if n >= *transfers {
					break
				}
				b := &chain.Block{Chain: chain.Ethereum, Height: height, Hash: hash32(hashes), Parent: hash32(hashes), Time: t0.Add(time.Duration(height) * 12 * time.Second)}
				b.Txs = make([]chain.Tx, 0, *perBlock)
				// A source decodes a block's addresses into memory of its
				// own, just written when the store reads it. Strings taken
				// from a pool would make each address a miss of the cache
				// in the store's encoder: a cost of the harness.
				var picked strings.Builder
				picked.Grow(2 * *perBlock * 42)
				var addr [42]byte
				for range 2 * min(*perBlock, *transfers-n) {
					picked.Write(appendAddress(addr[:0], zipf.Uint64()))
				}
				addrs := picked.String()
				// One allocation for the block's transfers, as for its
				// transactions.
				trs := make([]chain.Transfer, 0, *perBlock)
				for i := 0; i < *perBlock && n < *transfers; i++ {
					from, to := addrs[2*i*42:(2*i+1)*42], addrs[(2*i+1)*42:(2*i+2)*42]
					tx := chain.Tx{Hash: hash32(hashes), Index: i, From: from, Fee: chain.NewAmount(21000 * 30_000_000_000)}
					tr := chain.Transfer{Chain: chain.Ethereum, Tx: tx.Hash, Block: height, Time: b.Time, From: from, To: to,
						Amount: chain.NewAmount(mrand.Uint64N(1e18))}
					switch i % 10 {
					case 0, 1, 2:
						tr.Kind, tr.Asset, tr.Pos = chain.KindToken, tokens[i%3], uint32(i)
					case 3:
						tr.Kind, tr.Pos = chain.KindInternal, 1
					default:
						tr.Kind = chain.KindNative
					}
					trs = append(trs, tr)
					tx.Transfers = trs[len(trs)-1 : len(trs) : len(trs)]
					b.Txs = append(b.Txs, tx)
					n++
				}
				bs = append(bs, b)
				height++
			}
			batches <- bs
		}
	}()

	if *cpuprof != "" {
		f, err := os.Create(*cpuprof)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
	}
	start := time.Now()
	var written int
	if *batched {
		written = writeBatched(ctx, db, batches, *transfers)
	} else {
		maxBlocks := 0
		if *commit > 0 {
			maxBlocks = (*commit + *perBlock - 1) / *perBlock
		}
		written = writeBulk(ctx, db, batches, *batch, *chunk<<20, *transfers, maxBlocks, *noTrav, start)
	}
	wall := time.Since(start)
	if *commit > 0 {
		// Readable is not done: the commits after the first left tables
		// in the upper levels that compactions must still merge.
		debt := db.Graph().CompactionDebt()
		fmt.Printf("write: %d transfers in %s (%.0f/s) until all were readable; compaction debt then %d MB\n", written, wall.Round(time.Millisecond), float64(written)/wall.Seconds(), debt>>20)
		// Pebble leaves some debt at rest (its estimate counts L0 and the
		// upper levels' bytes while every level's score is under 1, when
		// it starts no compaction): waiting for it to fall would never
		// end, so the wait ends when it falls or the tree is at rest.
		for db.Graph().CompactionDebt() > uint64(*debtMax)<<20 {
			called := time.Now()
			active, err := db.Graph().Settle(ctx)
			if err != nil {
				log.Fatal(err)
			}
			if debt := db.Graph().CompactionDebt(); debt > uint64(*debtMax)<<20 {
				// At rest since the last compaction seen, not since the
				// second of quiet that made sure of it.
				wall = called.Add(active).Sub(start)
				fmt.Printf("write: at rest %s after the start (the last compaction's end) with compaction debt %d MB, over %d MB: %.0f transfers/s including the compactions\n",
					wall.Round(time.Millisecond), debt>>20, *debtMax, float64(written)/wall.Seconds())
				fmt.Print(db.Graph().LSM())
				break
			}
		}
		if db.Graph().CompactionDebt() <= uint64(*debtMax)<<20 {
			wall = time.Since(start)
			fmt.Printf("write: compaction debt under %d MB %s after the start: %.0f transfers/s including it\n", *debtMax, wall.Round(time.Millisecond), float64(written)/wall.Seconds())
		}
	}
	fmt.Printf("write: %d transfers in %s: %.0f transfers/s until all were readable\n",
		written, wall.Round(time.Millisecond), float64(written)/wall.Seconds())

	// Sustained: until the last compaction the writes caused has ended
	// (seen to a tenth of a second), not until the second of quiet that
	// Settle waits to be sure of it.
	settled, err := db.Graph().Settle(ctx)
	if err != nil {
		log.Fatal(err)
	}
	pprof.StopCPUProfile()
	if *memprof != "" {
		writeAllocs(*memprof)
	}
	if *lsm {
		fmt.Print(db.Graph().LSM())
	}
	fmt.Printf("compactions ended %s after the last write: %.0f transfers/s sustained over %s\n",
		settled.Round(time.Millisecond), float64(written)/(wall+settled).Seconds(), (wall + settled).Round(time.Millisecond))
	// CPU time and the store's size do not depend on what else the
	// machine runs, unlike the rates: they make A/B comparisons stable.
	size := dirSize(*dir)
	fmt.Printf("CPU for writing and compacting: %s (%.1f µs a transfer); store on disk %d MiB (%.0f bytes a transfer)\n",
		cpuTime().Round(time.Millisecond), float64(cpuTime().Microseconds())/float64(written), size>>20, float64(size)/float64(written))
	read(ctx, db, hotAddrs, *readAPI, *recent, *reads, *readprof)
}

// writeBatched writes the batches through WriteBlocks.
func writeBatched(ctx context.Context, db *pebble.DB, batches <-chan []*chain.Block, transfers int) int {
	start := time.Now()
	written, last := 0, time.Now()
	for bs := range batches {
		if err := db.Graph().WriteBlocks(ctx, chain.Ethereum, "bench", bs); err != nil {
			log.Fatal(err)
		}
		for _, b := range bs {
			written += len(b.Txs)
		}
		if time.Since(last) > 5*time.Second {
			last = time.Now()
			progress(written, transfers, time.Since(start))
		}
	}
	return written
}

// writeBulk writes the batches as a bulk import does.
func writeBulk(ctx context.Context, db *pebble.DB, batches <-chan []*chain.Block, batch, chunk, transfers, maxBlocks int, noTrav bool, t0 time.Time) int {
	start, last := time.Now(), time.Now()
	var commit commitTimes
	commits := 0
	report := func(merged, total int64) {
		commit.report(merged, total)
		if maxBlocks > 0 && merged == total {
			commits++
			fmt.Printf("  commit %d done %s after the start; compaction debt %d MB\n", commits, time.Since(t0).Round(time.Millisecond), db.Graph().CompactionDebt()>>20)
		}
	}
	o := ingest.Options{
		From:  1,
		Batch: batch,
		Bulk: func(ctx context.Context, c chain.Chain, source string) (ingest.BulkLoader, error) {
			return db.Graph().NewBulkLoader(ctx, c, source, graph.BulkOptions{ChunkBytes: chunk, Progress: report, MaxBlocks: maxBlocks, NoTraversal: noTrav})
		},
		Progress: func(p ingest.Progress) {
			if time.Since(last) > 5*time.Second {
				last = time.Now()
				progress(p.Transfers, transfers, time.Since(start))
			}
		},
	}
	st, err := ingest.RunStream(ctx, db.Graph(), &chanSource{ch: batches}, o)
	if err != nil {
		log.Fatal(err)
	}
	if !commit.start.IsZero() {
		fmt.Fprintf(os.Stderr, "last commit: began %s after the start (CPU %s), merged %d MiB in %s (CPU %s)\n",
			commit.start.Sub(start).Round(time.Millisecond), commit.cpu.Round(time.Millisecond), commit.total>>20,
			commit.end.Sub(commit.start).Round(time.Millisecond), (cpuTime() - commit.cpu).Round(time.Millisecond))
	}
	return st.Transfers
}

// commitTimes times the bulk load's last commit, so that the load's
// two phases, encoding and merging, can be told apart.
type commitTimes struct {
	start, end time.Time
	cpu        time.Duration // the process's CPU time at the start
	total      int64
}

func (c *commitTimes) report(merged, total int64) {
	if merged == 0 {
		c.start, c.cpu = time.Now(), cpuTime()
	}
	c.total, c.end = total, time.Now()
}

func progress(written, transfers int, el time.Duration) {
	fmt.Fprintf(os.Stderr, "%d transfers, %.0f/s, ETA %s\n", written, float64(written)/el.Seconds(),
		time.Duration(float64(el)*float64(transfers-written)/float64(written)).Round(time.Second))
}

// chanSource is the generated blocks as a stream source.
type chanSource struct {
	ch  <-chan []*chain.Block
	cur []*chain.Block
}

func (s *chanSource) Chain() chain.Chain { return chain.Ethereum }
func (s *chanSource) ID() string         { return "bench" }

func (s *chanSource) Next(ctx context.Context) (*chain.Block, error) {
	for len(s.cur) == 0 {
		bs, ok := <-s.ch
		if !ok {
			return nil, io.EOF
		}
		s.cur = bs
	}
	b := s.cur[0]
	s.cur = s.cur[1:]
	return b, nil
}

// read reads the most recent transfers of the pool's hot addresses (the
// first two hundred, with thousands of transfers each) and
// reports the latency percentiles. With api "views" each posting is
// decoded and checked but its hashes and addresses stay bytes; with
// "postings" every field is made a string, as callers that keep the
// postings need.
func read(ctx context.Context, db *pebble.DB, candidates []string, api string, recent, reads int, prof string) {

	// Reads: the hottest addresses hold thousands of transfers.
	var hot []string
	for _, a := range candidates {
		tot, ok, err := db.Graph().AddressTotals(ctx, chain.Ethereum, a)
		if err != nil {
			log.Fatal(err)
		}
		if ok && tot.Incoming+tot.Outgoing >= uint64(recent) {
			hot = append(hot, a)
		}
	}
	if len(hot) == 0 {
		log.Fatalf("no address has %d transfers", recent)
	}
	if prof != "" {
		f, err := os.Create(prof)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
	}
	lat := make([]time.Duration, reads)
	// On-CPU time of each read, measured on the reading thread: on a
	// machine shared with other work the wall-clock tail is mostly time
	// spent waiting for a core, which this leaves out. Page faults and
	// GC assists are counted; background GC on other threads is not.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu := make([]time.Duration, reads)
	var firstCPU []time.Duration
	// The first read of each address finds its blocks outside the block
	// cache; those are reported apart as well as in the whole.
	var first, repeat []time.Duration
	seen := make(map[string]bool)
	rng := mrand.New(mrand.NewPCG(3, 4))
	for i := range lat {
		a := hot[rng.IntN(len(hot))]
		n := 0
		c0 := threadCPU()
		t := time.Now()
		q := graph.PostingQuery{Limit: recent}
		var err error
		if api == "views" {
			err = db.Graph().PostingViews(ctx, chain.Ethereum, a, q, func(*graph.PostingView) bool { n++; return true })
		} else {
			err = db.Graph().Postings(ctx, chain.Ethereum, a, q, func(graph.Posting) bool { n++; return true })
		}
		lat[i] = time.Since(t)
		cpu[i] = threadCPU() - c0
		if err != nil || n != recent {
			log.Fatalf("read %s: %d postings, %v", a, n, err)
		}
		if seen[a] {
			repeat = append(repeat, lat[i])
		} else {
			seen[a] = true
			first = append(first, lat[i])
			firstCPU = append(firstCPU, cpu[i])
		}
	}
	if prof != "" {
		pprof.StopCPUProfile()
	}
	pct := func(lat []time.Duration, p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[int(p*float64(len(lat)-1))]
	}
	for _, l := range [][]time.Duration{lat, first, repeat, cpu, firstCPU} {
		slices.Sort(l)
	}
	fmt.Printf("read (%s) %d most recent transfers of %d hot addresses, %d reads: p50 %s, p90 %s, p99 %s, max %s\n",
		api, recent, len(hot), len(lat), pct(lat, 0.5), pct(lat, 0.9), pct(lat, 0.99), lat[len(lat)-1])
	fmt.Printf("  first read of each address (%d): p50 %s, p90 %s, max %s; repeated reads (%d): p50 %s, p99 %s, max %s\n",
		len(first), pct(first, 0.5), pct(first, 0.9), pct(first, 1), len(repeat), pct(repeat, 0.5), pct(repeat, 0.99), pct(repeat, 1))
	fmt.Printf("  CPU time a read: p50 %s, p90 %s, p99 %s, max %s; first reads p50 %s, p90 %s\n",
		pct(cpu, 0.5), pct(cpu, 0.9), pct(cpu, 0.99), pct(cpu, 1), pct(firstCPU, 0.5), pct(firstCPU, 0.9))
	fmt.Printf("peak RSS: %s\n", peakRSS())
}

// appendAddress appends the pool's i-th address: "0x" and 20 bytes
// derived from i (SplitMix64) in hex. Computed rather than looked up in
// a table of two million, so that drawing the Zipf samples costs the
// harness no misses of the cache: the figure is the store's.
func appendAddress(b []byte, i uint64) []byte {
	var raw [24]byte
	for j := range uint64(3) {
		binary.BigEndian.PutUint64(raw[8*j:], splitmix64(3*i+j))
	}
	return hex.AppendEncode(append(b, "0x"...), raw[:20])
}

func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// hash32 is a random 32-byte hash in hex, made in one allocation.
func hash32(r *mrand.Rand) string {
	var raw [32]byte
	for i := 0; i < len(raw); i += 8 {
		binary.LittleEndian.PutUint64(raw[i:], r.Uint64())
	}
	var b [66]byte
	b[0], b[1] = '0', 'x'
	hex.Encode(b[2:], raw[:])
	return string(b[:])
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return "0x" + hex.EncodeToString(b)
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// peakRSS is VmHWM from /proc/self/status.
func peakRSS() string {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			return strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:"))
		}
	}
	return "unknown"
}

// writeAllocs writes the allocations made so far.
func writeAllocs(path string) {
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		log.Fatal(err)
	}
}
