// Command tracebench measures a forward 6-hop trace on a large store
// against the same question asked of PostgreSQL, in one run.
//
// The workload: a theft of 18 ETH fans out over six hops to about 10,000
// addresses (sim.FanOutMixed: a tree of fan-out ten, each address holding
// clean funds from the background before the stolen ones arrive, the
// last hop spending dust into the background), ends at exchange deposit
// addresses that also take customers' deposits and sweep to hot wallets
// that are the background's busiest addresses, all woven through a
// background of ordinary Zipf-distributed transfers (10 million by
// default). The store is written by the bulk load, as an import from
// files is, so that it holds its traversal segments.
//
// tracehound is measured in this process, which opened the store itself:
// the first trace is reported apart (cold: Pebble's block cache and the
// traversal's snapshots empty, the OS page cache as the open left it),
// then warm runs without and with the trace cache (the histories read
// kept in memory), and the same trace asked again as a node answers it
// (from its memo of results, which any change to the graph or the
// labels clears). PostgreSQL is loaded
// with the same transfers, tuned as its users would tune it (addresses
// as bytea, a covering index on (from_addr, ts) INCLUDE (to_addr,
// amount), VACUUM ANALYZE), restarted, and asked the same reachability
// question (each hop no earlier than the one before, dust excluded,
// stopping at the hot wallets), each address expanded once per hop: the
// first run apart, then as many warm runs as tracehound's.
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/cluster"
	"github.com/tracehound/tracehound/ingest"
	"github.com/tracehound/tracehound/sim"
	"github.com/tracehound/tracehound/store/graph"
	"github.com/tracehound/tracehound/store/pebble"
	"github.com/tracehound/tracehound/trace"
)

type labels map[string]trace.Label

func (l labels) Label(_ context.Context, _ chain.Chain, a string) (trace.Label, bool, error) {
	x, ok := l[a]
	return x, ok, nil
}

const (
	ether = uint64(1_000_000_000_000_000_000)
	// dust is the trace's MinAmount and the query's amount floor:
	// 0.00001 ETH. The tree's smallest tainted share is far above it,
	// the small spends into the background below it.
	dust  = uint64(10_000_000_000_000)
	spend = dust / 10
)

func main() {
	var (
		dir        = flag.String("dir", "", "store directory; an existing one built by this command is reused")
		background = flag.Int("transfers", 10_000_000, "background transfers")
		pool       = flag.Int("addresses", 2_000_000, "background addresses")
		runs       = flag.Int("runs", 20, "warm runs, on each side")
		pgBin      = flag.String("postgres", "", "also load the transfers into a throwaway PostgreSQL from this bin directory (e.g. /usr/lib/postgresql/15/bin) and time the recursive query there")
		pgPort     = flag.Int("postgres-port", 55432, "port of the throwaway PostgreSQL")
		pgDir      = flag.String("postgres-dir", "", "where the throwaway PostgreSQL keeps its data (default: a new directory beside -dir)")
		keep       = flag.Bool("keep", false, "keep a store made in a new directory")
		diskCold   = flag.Bool("disk-cold", false, "also trace once with the segments dropped from the OS page cache")
		storePath  = flag.Bool("pebble", true, "also time the trace read from Pebble alone (the store before the traversal layout), three runs")
		cpuprof    = flag.String("cpuprofile", "", "profile the warm runs from the store into this file")
		only       = flag.Bool("build-only", false, "build the store and exit")
		child      = flag.Bool("measure", false, "measure tracehound in this process (the command runs itself so)")
		compact    = flag.Bool("compact", false, "merge the store's traversal segments into one before measuring")
		against    = flag.String("against", "", "also measure tracehound on the store in this directory (built by this command, e.g. 10 times larger), in new processes, this store, that one, this one again, and report the ratio of the medians")
	)
	flag.Parse()
	ctx := context.Background()
	if *dir == "" {
		d, err := os.MkdirTemp("/work", "tracebench")
		if err != nil {
			log.Fatal(err)
		}
		if !*keep {
			defer os.RemoveAll(d)
		}
		*dir = d
	}
	w := newWorkload(*background, *pool)
	db, err := pebble.Open(ctx, *dir)
	if err != nil {
		log.Fatal(err)
	}
	if _, ok, _ := db.Graph().Tip(ctx, chain.Ethereum); !ok {
		start := time.Now()
		n, err := w.load(ctx, db)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("built: %d transfers (%d laundering) by the bulk load in %s\n", n, len(w.laundering), time.Since(start).Round(time.Second))
		if _, err := db.Graph().Settle(ctx); err != nil {
			log.Fatal(err)
		}
	}
	db.Close()
	if *only {
		return
	}
	if *child {
		res := measure(ctx, *dir, w, *runs, *diskCold, *storePath, *cpuprof, *compact)
		b, _ := json.Marshal(res)
		fmt.Printf("RESULT %s\n", b)
		return
	}
	// tracehound is measured in a new process: nothing of the build, or
	// of the Go runtime's warm-up, is left in it.
	res, err := inChild(*dir)
	if err != nil {
		log.Fatal(err)
	}
	if *against != "" {
		fmt.Printf("== the store in %s\n", *against)
		other, err := inChild(*against)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("== the store in %s again\n", *dir)
		again, err := inChild(*dir)
		if err != nil {
			log.Fatal(err)
		}
		base := min(median(res.Warm), median(again.Warm))
		fmt.Printf("scale: haircut warm median %s on %s (twice: %s, %s), %s on %s: %.2fx; first traces %s, %s, %s: %.2fx\n",
			ms(base), *dir, ms(median(res.Warm)), ms(median(again.Warm)), ms(median(other.Warm)), *against, ratio(median(other.Warm), base),
			ms(res.Cold), ms(other.Cold), ms(again.Cold), ratio(other.Cold, min(res.Cold, again.Cold)))
		return
	}
	if *pgBin == "" {
		return
	}
	pgd := *pgDir
	if pgd == "" {
		pgd = *dir + "-pg"
	}
	pg, err := startPostgres(ctx, *pgBin, pgd, *pgPort)
	if err != nil {
		log.Fatal(err)
	}
	// log.Fatal skips deferred calls: the server and its gigabytes of
	// data are removed before any exit.
	fatal := func(err error) {
		pg.stop(ctx)
		log.Fatal(err)
	}
	defer pg.stop(ctx)
	load, err := pg.load(ctx, w)
	if err != nil {
		fatal(err)
	}
	fmt.Printf("postgres: loaded, indexed and analysed in %s\n", load.Round(time.Second))
	if err := pg.restart(ctx); err != nil {
		fatal(err)
	}
	cold, warm, reached, err := pg.trace(ctx, w, *runs)
	if err != nil {
		fatal(err)
	}
	pmed := median(warm)
	fmt.Printf("postgres recursive query (reachability, each address once per hop): %s addresses reached; first run after a restart %s; warm min %s, median %s, max %s (%d runs)\n",
		reached, ms(cold), ms(warm[0]), ms(pmed), ms(warm[len(warm)-1]), len(warm))
	fmt.Printf("ratios, PostgreSQL's time over tracehound's, medians of warm runs: from the store haircut %.1fx, poison %.1fx; with the trace cache haircut %.1fx, poison %.1fx; asked again %.0fx; first runs: %.1fx\n",
		ratio(pmed, median(res.Warm)), ratio(pmed, median(res.Poison)), ratio(pmed, median(res.Cached)), ratio(pmed, median(res.CachedPoison)), ratio(pmed, median(res.Again)), ratio(cold, res.Cold))
}

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }

func median(ds []time.Duration) time.Duration {
	s := slices.Sorted(slices.Values(ds))
	return s[len(s)/2]
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

type results struct {
	Cold                               time.Duration
	Warm, Poison, Cached, CachedPoison []time.Duration
	// Again is the same trace asked again, answered from the memo.
	Again []time.Duration
}

// inChild runs this command again with -measure on the store in dir,
// passing its output through, and returns its results.
func inChild(dir string) (results, error) {
	exe, err := os.Executable()
	if err != nil {
		return results{}, err
	}
	args := append(append([]string{"-measure"}, os.Args[1:]...), "-dir", dir, "-against", "")
	cmd := exec.Command(exe, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return results{}, err
	}
	if err := cmd.Start(); err != nil {
		return results{}, err
	}
	var res results
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "RESULT "); ok {
			if err := json.Unmarshal([]byte(rest), &res); err != nil {
				return res, err
			}
			continue
		}
		fmt.Println(line)
	}
	if err := cmd.Wait(); err != nil {
		return res, fmt.Errorf("measuring process: %w", err)
	}
	return res, nil
}

// measure opens the store and its traversal in this process and times
// the traces.
func measure(ctx context.Context, dir string, w *workload, runs int, diskCold, viaPebble bool, cpuprof string, compact bool) results {
	start := time.Now()
	db, err := pebble.Open(ctx, dir)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	tr, err := db.Graph().Traversal(ctx, graph.TraversalOptions{MergeInterval: -1})
	if err != nil {
		log.Fatal(err)
	}
	defer tr.Close()
	fmt.Printf("opened the store and its traversal (checksums verified) in %s\n", time.Since(start).Round(time.Millisecond))
	if compact {
		t := time.Now()
		if err := tr.Compact(ctx, chain.Ethereum); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("segments merged into one in %s\n", time.Since(t).Round(time.Millisecond))
	}
	l := labels{}
	for i, h := range w.hot {
		l[h] = trace.Label{Entity: fmt.Sprintf("Exchange %d", i), Category: "exchange"}
	}
	seeds := []trace.Seed{{Address: w.thief}}
	var cpu []time.Duration
	one := func(g trace.Graph, model trace.Model) (*trace.Result, time.Duration) {
		o := trace.Options{Chain: chain.Ethereum, Model: model, MaxHops: 6, MinAmount: chain.NewAmount(dust),
			Labels: &cluster.Deposits{Graph: g.(cluster.Graph), Base: l}}
		t, c := time.Now(), cpuTime()
		r, err := trace.Run(ctx, g, seeds, o)
		d := time.Since(t)
		cpu = append(cpu, cpuTime()-c)
		if err != nil {
			log.Fatal(err)
		}
		if err := r.Check(); err != nil {
			log.Fatal(err)
		}
		return r, d
	}
	repeat := func(g trace.Graph, m trace.Model) []time.Duration {
		// Each series starts with the garbage of the one before collected,
		// so that none pays for another's.
		runtime.GC()
		var ds []time.Duration
		for range runs {
			_, d := one(g, m)
			ds = append(ds, d)
		}
		return ds
	}
	var res results
	r, cold := one(tr, trace.Haircut)
	res.Cold = cold
	var total, clean chain.Amount
	for _, e := range r.Endpoints {
		total, _ = total.Add(e.Amount)
	}
	for _, e := range r.Edges {
		clean, _ = clean.Add(sub(e.Amount, e.Tainted))
	}
	fmt.Printf("haircut trace: %d addresses, %d tainted transfers, %d endpoints holding %s of %s wei; the clean share of the tainted transfers %s wei\n",
		len(r.Nodes), len(r.Edges), len(r.Endpoints), total, r.Tainted, clean)
	rp, _ := one(tr, trace.Poison)
	fmt.Printf("poison trace: %d addresses, %d transfers\n", len(rp.Nodes), len(rp.Edges))
	if cpuprof != "" {
		f, err := os.Create(cpuprof)
		if err != nil {
			log.Fatal(err)
		}
		pprof.StartCPUProfile(f)
	}
	cpu = nil
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	res.Warm = repeat(tr, trace.Haircut)
	runtime.ReadMemStats(&ms1)
	pprof.StopCPUProfile()
	warmCPU := slices.Sorted(slices.Values(cpu))
	res.Poison = repeat(tr, trace.Poison)
	cg := trace.NewCachedGraph(tr, 2_000_000)
	one(cg, trace.Haircut)
	res.Cached = repeat(cg, trace.Haircut)
	res.CachedPoison = repeat(cg, trace.Poison)
	// As the node asks: the question's key, the memo, the walk on a miss.
	memo := trace.NewMemo(16, 500_000)
	asked := func() time.Duration {
		o := trace.Options{Chain: chain.Ethereum, Model: trace.Haircut, MaxHops: 6, MinAmount: chain.NewAmount(dust)}
		t := time.Now()
		key, ok := trace.MemoKey(seeds, o, false)
		if !ok {
			log.Fatal("the trace has no memo key")
		}
		if r, _, ok := memo.Get(key); ok && len(r.Nodes) > 0 {
			return time.Since(t)
		}
		gen := memo.Generation()
		r, _ := one(cg, trace.Haircut)
		memo.Put(gen, key, r, nil)
		return time.Since(t)
	}
	asked()
	for range runs {
		res.Again = append(res.Again, asked())
	}
	fmt.Printf("from the store (traversal layout): first trace %s; haircut warm min %s, median %s, max %s (%d runs); poison warm median %s\n",
		ms(res.Cold), ms(slices.Min(res.Warm)), ms(median(res.Warm)), ms(slices.Max(res.Warm)), runs, ms(median(res.Poison)))
	fmt.Printf("  process CPU a warm haircut trace (GC included): median %s; %.1f MB allocated and %.2f collections a trace\n",
		ms(median(warmCPU)), float64(ms1.TotalAlloc-ms0.TotalAlloc)/1e6/float64(runs), float64(ms1.NumGC-ms0.NumGC)/float64(runs))
	fmt.Printf("with the trace cache: haircut warm median %s (min %s, max %s), poison %s\n",
		ms(median(res.Cached)), ms(slices.Min(res.Cached)), ms(slices.Max(res.Cached)), ms(median(res.CachedPoison)))
	fmt.Printf("the same trace asked again (the node's memo of results): median %s, max %s\n", median(res.Again), slices.Max(res.Again))
	if diskCold {
		if err := tr.DropPageCache(); err != nil {
			log.Fatal(err)
		}
		tr.Close()
		tr2, err := db.Graph().Traversal(ctx, graph.TraversalOptions{MergeInterval: -1, NoVerify: true})
		if err != nil {
			log.Fatal(err)
		}
		if err := tr2.DropPageCache(); err != nil {
			log.Fatal(err)
		}
		_, d := one(tr2, trace.Haircut)
		fmt.Printf("disk-cold (segments dropped from the page cache, reopened without checksums): %s\n", ms(d))
		tr2.Close()
	}
	if viaPebble {
		var ds []time.Duration
		for range 3 {
			_, d := one(db.Graph(), trace.Haircut)
			ds = append(ds, d)
		}
		fmt.Printf("the same haircut trace read from Pebble alone (no traversal layout): %s, %s, %s\n", ms(ds[0]), ms(ds[1]), ms(ds[2]))
	}
	return res
}

func sub(a, b chain.Amount) chain.Amount {
	r, under := a.Sub(b)
	if under {
		return chain.Amount{}
	}
	return r
}

// workload is the deterministic transfer stream: background and
// laundering, the same for the store and for PostgreSQL.
type workload struct {
	background, pool int
	thief            string
	hot              []string
	laundering       []sim.Payment
}

func newWorkload(background, pool int) *workload {
	w := &workload{background: background, pool: pool, thief: name(1, 0)}
	// The exchanges' hot wallets are the background's five busiest
	// addresses.
	for i := range 5 {
		w.hot = append(w.hot, bgName(uint64(i)))
	}
	w.laundering = sim.FanOutMixed(w.thief, w.hot, 18*ether, name, sim.Mix{
		Clean: func(i uint64) string { return bgName(1000 + splitmix64(i)%uint64(pool-1000)) },
		Sink:  func(i uint64) string { return bgName(1000 + splitmix64(i^0xabcdef)%uint64(pool-1000)) },
		Spend: spend,
		Seed:  3,
	})
	return w
}

// name is a laundering address: a kind byte and a number.
func name(kind byte, n uint64) string {
	var b [20]byte
	b[0] = kind
	binary.BigEndian.PutUint64(b[12:], n)
	return "0x" + hex.EncodeToString(b[:])
}

// bgName is the background's address of Zipf rank i.
func bgName(i uint64) string { return name(9, i) }

func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// stream generates the blocks, calling emit for each transfer if set.
func (w *workload) stream(ctx context.Context, out chan<- []*chain.Block, emit func(from, to string, amount uint64, at time.Time) error) (int, error) {
	rng := mrand.New(mrand.NewPCG(7, 11))
	zipf := mrand.NewZipf(rng, 1.1, 1, uint64(w.pool-1))
	const perBlock, batch = 150, 100
	// Spread the laundering evenly through the background.
	total := w.background + len(w.laundering)
	every := total / len(w.laundering)
	t0 := time.Unix(1_740_000_000, 0)
	height := uint64(1)
	written, li := 0, 0
	for written < total {
		if err := ctx.Err(); err != nil {
			return written, err
		}
		blocks := make([]*chain.Block, 0, batch)
		for range batch {
			if written >= total {
				break
			}
			bt := t0.Add(time.Duration(height) * 12 * time.Second)
			b := &chain.Block{Chain: chain.Ethereum, Height: height, Hash: hashOf(height, 0), Time: bt, Txs: make([]chain.Tx, 0, perBlock)}
			trs := make([]chain.Transfer, 0, perBlock)
			for i := 0; i < perBlock && written < total; i++ {
				var p sim.Payment
				if li < len(w.laundering) && (written%every == 0 || total-written <= len(w.laundering)-li) {
					p = w.laundering[li]
					li++
				} else {
					p = sim.Payment{From: bgName(zipf.Uint64()), To: bgName(zipf.Uint64()), Amount: rng.Uint64N(ether)}
				}
				th := hashOf(height, uint64(i+1))
				if emit != nil {
					if err := emit(p.From, p.To, p.Amount, bt); err != nil {
						return written, err
					}
				}
				trs = append(trs, chain.Transfer{Chain: chain.Ethereum, Tx: th, Kind: chain.KindNative, Block: height, Time: bt, From: p.From, To: p.To, Amount: chain.NewAmount(p.Amount)})
				b.Txs = append(b.Txs, chain.Tx{Hash: th, Index: i, From: p.From, Transfers: trs[len(trs)-1 : len(trs) : len(trs)]})
				written++
			}
			blocks = append(blocks, b)
			height++
		}
		if out != nil {
			select {
			case out <- blocks:
			case <-ctx.Done():
				return written, ctx.Err()
			}
		}
	}
	return written, nil
}

// load writes the stream into db by the bulk load.
func (w *workload) load(ctx context.Context, db *pebble.DB) (int, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []*chain.Block, 4)
	go func() {
		defer close(batches)
		if _, err := w.stream(ctx, batches, nil); err != nil && ctx.Err() == nil {
			log.Print(err)
		}
	}()
	o := ingest.Options{From: 1, Batch: 100, Bulk: func(ctx context.Context, c chain.Chain, source string) (ingest.BulkLoader, error) {
		return db.Graph().NewBulkLoader(ctx, c, source, graph.BulkOptions{})
	}}
	st, err := ingest.RunStream(ctx, db.Graph(), &chanSource{ch: batches}, o)
	return st.Transfers, err
}

// chanSource is the generated blocks as a stream source.
type chanSource struct {
	ch  <-chan []*chain.Block
	cur []*chain.Block
}

func (s *chanSource) Chain() chain.Chain { return chain.Ethereum }
func (s *chanSource) ID() string         { return "tracebench" }

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

func hashOf(height, i uint64) string {
	var b [32]byte
	binary.BigEndian.PutUint64(b[:], height)
	binary.BigEndian.PutUint64(b[8:], i)
	b[31] = 1
	return "0x" + hex.EncodeToString(b[:])
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
