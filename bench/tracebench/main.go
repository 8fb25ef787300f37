// Command tracebench measures a forward haircut trace on a large store: a
// theft of 18 ETH fans out over six hops to about 10,000 addresses (a tree of fan-out
// ten, as when stolen funds are split and split again), ends at exchange
// deposit addresses that sweep to tagged hot wallets, and is interleaved
// with a background of ordinary Zipf-distributed transfers (10 million by
// default). It reports the trace's time warm (the store's caches filled by
// a first run) and cold (the store reopened: Pebble's block cache empty;
// the operating system's page cache is not dropped).
package main

import (
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"log"
	mrand "math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"syscall"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/cluster"
	"github.com/tracehound/tracehound/sim"
	"github.com/tracehound/tracehound/store/pebble"
	"github.com/tracehound/tracehound/trace"
)

type labels map[string]trace.Label

func (l labels) Label(_ context.Context, _ chain.Chain, a string) (trace.Label, bool, error) {
	x, ok := l[a]
	return x, ok, nil
}

func main() {
	var (
		dir        = flag.String("dir", "", "store directory; an existing one built by this command is reused")
		background = flag.Int("transfers", 10_000_000, "background transfers")
		pool       = flag.Int("addresses", 2_000_000, "background addresses")
		runs       = flag.Int("runs", 10, "warm runs")
		pgBin      = flag.String("postgres", "", "also load the transfers into a throwaway PostgreSQL from this bin directory (e.g. /usr/lib/postgresql/15/bin) and time the recursive query there")
		pgPort     = flag.Int("postgres-port", 55432, "port of the throwaway PostgreSQL")
		cpuprof    = flag.String("cpuprofile", "", "profile the cached warm runs into this file")
		memprof    = flag.String("memprofile", "", "write the allocations of the whole run, by site, to this file")
	)
	flag.Parse()
	ctx := context.Background()
	if *dir == "" {
		d, err := os.MkdirTemp("", "tracebench")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	thief, hot := name(1, 0), []string{name(2, 0), name(2, 1), name(2, 2), name(2, 3), name(2, 4)}
	db, err := pebble.Open(ctx, *dir)
	if err != nil {
		log.Fatal(err)
	}
	if _, ok, _ := db.Graph().Tip(ctx, chain.Ethereum); !ok {
		start := time.Now()
		n, err := build(ctx, db, *background, *pool, thief, hot, nil)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("built: %d transfers in %s\n", n, time.Since(start).Round(time.Second))
		if _, err := db.Graph().Settle(ctx); err != nil {
			log.Fatal(err)
		}
	}
	l := labels{}
	for i, h := range hot {
		l[h] = trace.Label{Entity: fmt.Sprintf("Exchange %d", i), Category: "exchange"}
	}
	opts := trace.Options{Chain: chain.Ethereum, Model: trace.Haircut, MaxHops: 6, Labels: &cluster.Deposits{Graph: db.Graph(), Base: l}}
	seeds := []trace.Seed{{Address: thief}}
	// The process's CPU time per trace (garbage collection included) is
	// steadier than wall time on a shared machine.
	var cpuSpent []time.Duration
	one := func(g trace.Graph, model trace.Model) (*trace.Result, time.Duration) {
		o := opts
		o.Model = model
		o.Labels = &cluster.Deposits{Graph: g.(cluster.Graph), Base: l}
		t, c := time.Now(), cpuTime()
		r, err := trace.Run(ctx, g, seeds, o)
		d := time.Since(t)
		cpuSpent = append(cpuSpent, cpuTime()-c)
		if err != nil {
			log.Fatal(err)
		}
		if err := r.Check(); err != nil {
			log.Fatal(err)
		}
		return r, d
	}
	db.Close()
	db, err = pebble.Open(ctx, *dir)
	if err != nil {
		log.Fatal(err)
	}
	r, cold := one(db.Graph(), trace.Haircut)
	var total chain.Amount
	for _, e := range r.Endpoints {
		total, _ = total.Add(e.Amount)
	}
	fmt.Printf("trace: %d addresses, %d tainted transfers, %d endpoints holding %s of %s wei\n", len(r.Nodes), len(r.Edges), len(r.Endpoints), total, r.Tainted)
	median := func(ds []time.Duration) time.Duration { slices.Sort(ds); return ds[len(ds)/2] }
	repeat := func(g trace.Graph, m trace.Model) []time.Duration {
		// Each series starts with the garbage of the one before collected,
		// so that none pays for another's.
		runtime.GC()
		var ds []time.Duration
		for range *runs {
			_, d := one(g, m)
			ds = append(ds, d)
		}
		slices.Sort(ds)
		return ds
	}
	warm := repeat(db.Graph(), trace.Haircut)
	poison := repeat(db.Graph(), trace.Poison)
	// The server's trace cache: the first trace fills it.
	cg := trace.NewCachedGraph(db.Graph(), 2_000_000)
	_, fill := one(cg, trace.Haircut)
	if *cpuprof != "" {
		f, err := os.Create(*cpuprof)
		if err != nil {
			log.Fatal(err)
		}
		pprof.StartCPUProfile(f)
	}
	cpuSpent = nil
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	cached := repeat(cg, trace.Haircut)
	runtime.ReadMemStats(&ms1)
	pprof.StopCPUProfile()
	cachedCPU := slices.Sorted(slices.Values(cpuSpent))
	cachedPoison := repeat(cg, trace.Poison)
	if *memprof != "" {
		f, err := os.Create(*memprof)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			log.Fatal(err)
		}
		f.Close()
	}
	db.Close()
	fmt.Printf("6-hop haircut trace, store only: cold %s; warm min %s, median %s, max %s (%d runs)\n",
		cold.Round(time.Millisecond), warm[0].Round(time.Millisecond), median(warm).Round(time.Millisecond), warm[len(warm)-1].Round(time.Millisecond), len(warm))
	fmt.Printf("6-hop poison trace, store only: warm median %s\n", median(poison).Round(time.Millisecond))
	fmt.Printf("with the trace cache: first trace %s; haircut warm median %s (min %s, max %s), poison warm median %s\n",
		fill.Round(time.Millisecond), median(cached).Round(time.Microsecond*100), cached[0].Round(time.Microsecond*100), cached[len(cached)-1].Round(time.Microsecond*100), median(cachedPoison).Round(time.Microsecond*100))
	fmt.Printf("CPU time of the process per cached haircut trace (GC included): median %s, min %s; %.1f MB allocated and %.1f collections a trace\n",
		median(cachedCPU).Round(time.Microsecond*100), cachedCPU[0].Round(time.Microsecond*100),
		float64(ms1.TotalAlloc-ms0.TotalAlloc)/1e6/float64(len(cached)), float64(ms1.NumGC-ms0.NumGC)/float64(len(cached)))
	if *pgBin == "" {
		return
	}
	pg, err := startPostgres(ctx, *pgBin, *pgPort)
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
	load, err := pg.load(ctx, *background, *pool, thief, hot)
	if err != nil {
		fatal(err)
	}
	fmt.Printf("postgres: loaded and indexed in %s\n", load.Round(time.Second))
	ds, reached, err := pg.trace(ctx, thief, hot, 3)
	if err != nil {
		fatal(err)
	}
	med := ds[len(ds)/2]
	fmt.Printf("postgres recursive CTE (reachability only): %s addresses reached; execution min %s, median %s (%d runs)\n", reached, ds[0].Round(time.Millisecond), med.Round(time.Millisecond), len(ds))
	fmt.Printf("ratio (medians): store only, haircut %.1fx and poison %.1fx faster; with the trace cache, haircut %.1fx and poison %.1fx faster\n",
		float64(med)/float64(median(warm)), float64(med)/float64(median(poison)), float64(med)/float64(median(cached)), float64(med)/float64(median(cachedPoison)))
}

// name is a deterministic address: a kind byte and a number.
func name(kind byte, n uint64) string {
	var b [20]byte
	b[0] = kind
	for i := 0; i < 8; i++ {
		b[19-i] = byte(n >> (8 * i))
	}
	return "0x" + hex.EncodeToString(b[:])
}

// build writes the background with the laundering tree woven in, into db
// if it is not nil, and to emit if it is not nil.
func build(ctx context.Context, db *pebble.DB, background, pool int, thief string, hot []string, emit func(from, to string, amount uint64, at time.Time) error) (int, error) {
	rng := mrand.New(mrand.NewPCG(7, 11))
	zipf := mrand.NewZipf(rng, 1.1, 1, uint64(pool-1))
	const perBlock, batch = 150, 100
	ether := uint64(1_000_000_000_000_000_000)
	laundering := sim.FanOut(thief, hot, 18*ether, name)
	// Spread the laundering evenly through the background.
	total := background + len(laundering)
	every := total / len(laundering)
	t0 := time.Unix(1_740_000_000, 0)
	height := uint64(1)
	written, li := 0, 0
	for written < total {
		var blocks []*chain.Block
		for range batch {
			if written >= total {
				break
			}
			bt := t0.Add(time.Duration(height) * 12 * time.Second)
			b := &chain.Block{Chain: chain.Ethereum, Height: height, Hash: hashOf(height, 0), Time: bt}
			for i := 0; i < perBlock && written < total; i++ {
				var p sim.Payment
				if li < len(laundering) && (written%every == 0 || total-written <= len(laundering)-li) {
					p = laundering[li]
					li++
				} else {
					p = sim.Payment{From: name(9, zipf.Uint64()), To: name(9, zipf.Uint64()), Amount: rng.Uint64N(ether)}
				}
				th := hashOf(height, uint64(i+1))
				if emit != nil {
					if err := emit(p.From, p.To, p.Amount, bt); err != nil {
						return written, err
					}
				}
				b.Txs = append(b.Txs, chain.Tx{Hash: th, Index: i, From: p.From, Transfers: []chain.Transfer{{
					Chain: chain.Ethereum, Tx: th, Kind: chain.KindNative, Block: height, Time: bt, From: p.From, To: p.To, Amount: chain.NewAmount(p.Amount)}}})
				written++
			}
			blocks = append(blocks, b)
			height++
		}
		if db == nil {
			continue
		}
		if err := db.Graph().WriteBlocks(ctx, chain.Ethereum, "tracebench", blocks); err != nil {
			return written, err
		}
	}
	return written, nil
}

func hashOf(height, i uint64) string {
	var b [32]byte
	for k := 0; k < 8; k++ {
		b[7-k] = byte(height >> (8 * k))
		b[15-k] = byte(i >> (8 * k))
	}
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
