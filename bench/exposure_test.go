package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/detect/exposure"
	"github.com/tracehound/tracehound/screen"
	"github.com/tracehound/tracehound/store/pebble"
	"github.com/tracehound/tracehound/tags"
)

// transfersPerBlock is the block size the exposure figures are set in.
const transfersPerBlock = 150

// flow is a synthetic Ethereum history: blocks of 150 transfers between
// addresses drawn from a Zipf distribution over a population, as real
// traffic is (a few hot wallets, a long tail); the 40 busiest are
// exchanges and a mixer, one address in a thousand of the rest is a
// source of stolen, sanctioned, darknet or scam money.
type flow struct {
	r      *rand.Rand
	z      *rand.Zipf
	pop    uint64
	height uint64
}

func newFlow(seed, population uint64) *flow {
	r := rand.New(rand.NewPCG(seed, 0x65787073))
	return &flow{r: r, z: rand.NewZipf(r, 1.1, 8, population-1), pop: population, height: 20_000_000}
}

func flowAddr(id uint64) string { return fmt.Sprintf("0x%040x", id+1) }

// sourceOf is the synthetic attribution.
func sourceOf(id uint64) tags.Category {
	switch {
	case id < 39:
		return tags.Exchange
	case id == 39:
		return tags.Mixer
	case id%1000 == 7:
		return []tags.Category{tags.Hack, tags.Sanctioned, tags.Darknet, tags.Scam}[(id/1000)%4]
	}
	return ""
}

// flowSources is the synthetic attribution as the engine reads it.
type flowSources struct{}

func (flowSources) Mask(_ chain.Chain, a string) exposure.Mask {
	id, err := strconv.ParseUint(a[2:], 16, 64)
	if err != nil {
		return 0
	}
	return exposure.Bit(sourceOf(id - 1))
}

// pick draws an address: the sender is Zipf-distributed, the receiver
// mostly a fresh-ish address from the tail.
func (f *flow) pick(sender bool) uint64 {
	if sender || f.r.IntN(4) == 0 {
		return f.z.Uint64()
	}
	return f.r.Uint64N(f.pop)
}

func (f *flow) next() *chain.Block {
	f.height++
	b := &chain.Block{Chain: chain.Ethereum, Height: f.height, Hash: fmt.Sprintf("0x%064x", f.height),
		Parent: fmt.Sprintf("0x%064x", f.height-1), Time: time.Unix(1_700_000_000+int64(f.height)*12, 0).UTC()}
	b.Txs = make([]chain.Tx, transfersPerBlock)
	for i := range b.Txs {
		tx := fmt.Sprintf("0x%056x%08x", f.height, i)
		from, to := flowAddr(f.pick(true)), flowAddr(f.pick(false))
		v := chain.NewAmount(1 + f.r.Uint64N(5e18))
		b.Txs[i] = chain.Tx{Hash: tx, Index: i, From: from, Fee: chain.NewAmount(21000 * 30e9),
			Transfers: []chain.Transfer{{Chain: chain.Ethereum, Tx: tx, Kind: chain.KindNative, Block: f.height, Time: b.Time, From: from, To: to, Amount: v}}}
	}
	return b
}

// exposureTransfers is the size of the history the screening figures are
// measured over: TRACEHOUND_BENCH_TRANSFERS, 2 million by default (10
// million needs about 6 GB of memory).
func exposureTransfers(b *testing.B) int {
	if s := os.Getenv("TRACEHOUND_BENCH_TRANSFERS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			b.Fatalf("TRACEHOUND_BENCH_TRANSFERS: %v", err)
		}
		return n
	}
	return 2_000_000
}

var (
	engineOnce sync.Once
	engine     *exposure.Engine
	engineAddr []chain.Address
)

// loadEngine replays the synthetic history into an engine and picks the
// queries: addresses the history touched, a third of them exposed.
func loadEngine(b *testing.B) (*exposure.Engine, []chain.Address) {
	engineOnce.Do(func() {
		n := exposureTransfers(b)
		f := newFlow(1, uint64(n/5))
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		e := exposure.NewEngine(chain.Ethereum, 0, flowSources{})
		start := time.Now()
		for range n / transfersPerBlock {
			e.Apply(f.next())
		}
		took := time.Since(start)
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.Logf("engine: %d transfers, %d accounts, built in %s, %d MB live, %d B an account", n, e.Accounts(), took.Round(time.Millisecond),
			(after.HeapAlloc-before.HeapAlloc)>>20, (after.HeapAlloc-before.HeapAlloc)/uint64(max(e.Accounts(), 1)))
		var exposed, clean []chain.Address
		for id := uint64(0); id < f.pop && len(exposed)+len(clean) < 200_000; id += 7 {
			a := chain.Address{Chain: chain.Ethereum, Network: chain.Mainnet, Kind: "account", Value: flowAddr(id)}
			if len(e.Exposure(a.Value)) > 0 {
				exposed = append(exposed, a)
			} else {
				clean = append(clean, a)
			}
		}
		var qs []chain.Address
		for i := 0; i < 100_000; i++ {
			if i%3 == 0 && len(exposed) > 0 {
				qs = append(qs, exposed[i%len(exposed)])
			} else {
				qs = append(qs, clean[i%len(clean)])
			}
		}
		engine, engineAddr = e, qs
	})
	return engine, engineAddr
}

// engineSource answers screening from the engine, as the node does.
type engineSource struct{ e *exposure.Engine }

func (s engineSource) Exposure(a chain.Address, paths bool) []exposure.Entry {
	if paths {
		return s.e.Exposure(a.Value)
	}
	return s.e.Rated(a.Value)
}

// BenchmarkExposureScreen: a screening verdict over the OFAC list and
// every tag, with and without exposure from a history of
// TRACEHOUND_BENCH_TRANSFERS transfers, on the same queries (a third of
// them exposed), one core. The sanctions-only run is the anchor.
//
//	go test ./bench -run '^$' -bench 'ExposureScreen' -cpu 1 -count 5
func BenchmarkExposureScreen(b *testing.B) {
	d := load(b)
	e, qs := loadEngine(b)
	raw := make([]string, len(qs))
	for i, a := range qs {
		raw[i] = a.Value
	}
	x := d.idx
	defer x.SetExposure(nil)
	for _, c := range []struct {
		name string
		src  screen.ExposureSource
	}{{"sanctions-only", nil}, {"with-exposure", engineSource{e}}} {
		b.Run("check/"+c.name, func(b *testing.B) {
			x.SetExposure(c.src)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, _, _, err := x.Check(raw[i%len(raw)], chain.Ethereum); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("screen/"+c.name, func(b *testing.B) {
			x.SetExposure(c.src)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if r := x.Screen(screen.Query{Address: raw[i%len(raw)], Chain: chain.Ethereum}); r.Error != nil {
					b.Fatal(r.Error)
				}
			}
		})
	}
}

// BenchmarkExposureKeep: keeping exposure current against storing the
// same blocks, in one run. apply is the engine's cost a block of 150
// transfers on an engine already holding a 2-million-transfer history;
// store is the transfer graph's write of the block (the ingest's own
// cost, the anchor).
//
//	go test ./bench -run '^$' -bench 'ExposureKeep' -cpu 1 -benchtime 2000x -count 3
func BenchmarkExposureKeep(b *testing.B) {
	f := newFlow(2, 400_000)
	e := exposure.NewEngine(chain.Ethereum, 0, flowSources{})
	for range 2_000_000 / transfersPerBlock {
		e.Apply(f.next())
	}
	// The same blocks for both.
	blocks := make([]*chain.Block, 4000)
	for i := range blocks {
		blocks[i] = f.next()
	}
	b.Run("apply", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			e.Apply(blocks[i%len(blocks)])
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Minutes(), "blocks/min")
	})
	b.Run("store", func(b *testing.B) {
		ctx := context.Background()
		db, err := pebble.Open(ctx, b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		g := db.Graph()
		next := 0
		for i := 0; b.Loop(); i++ {
			if next == len(blocks) {
				// Past the prepared blocks the heights repeat: a fresh
				// store for the next round.
				b.StopTimer()
				db.Close()
				if db, err = pebble.Open(ctx, b.TempDir()); err != nil {
					b.Fatal(err)
				}
				g, next = db.Graph(), 0
				b.StartTimer()
			}
			if err := g.WriteBlocks(ctx, chain.Ethereum, "bench", blocks[next:next+1]); err != nil {
				b.Fatal(err)
			}
			next++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Minutes(), "blocks/min")
	})
}

// BenchmarkExposureRebuild: what a change of sources (a list update, a
// partner's flag) costs today: the node rebuilds every engine from the
// stored blocks. The store holds TRACEHOUND_BENCH_TRANSFERS transfers (2
// million by default); reading the blocks back alone is the anchor.
//
//	go test ./bench -run '^$' -bench 'ExposureRebuild' -benchtime 1x -count 3
func BenchmarkExposureRebuild(b *testing.B) {
	ctx := context.Background()
	db, err := pebble.Open(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	g := db.Graph()
	n := exposureTransfers(b)
	f := newFlow(3, uint64(n/5))
	batch := make([]*chain.Block, 0, 100)
	for range n / transfersPerBlock {
		batch = append(batch, f.next())
		if len(batch) == cap(batch) {
			if err := g.WriteBlocks(ctx, chain.Ethereum, "bench", batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if len(batch) > 0 {
		if err := g.WriteBlocks(ctx, chain.Ethereum, "bench", batch); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("read", func(b *testing.B) {
		for b.Loop() {
			blocks := 0
			if err := g.Blocks(ctx, chain.Ethereum, 0, 1<<63, func(*chain.Block) bool { blocks++; return true }); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "transfers/s")
	})
	var e *exposure.Engine
	b.Run("rebuild", func(b *testing.B) {
		for b.Loop() {
			e = exposure.NewEngine(chain.Ethereum, 0, flowSources{})
			if err := g.Blocks(ctx, chain.Ethereum, 0, 1<<63, func(blk *chain.Block) bool { e.Apply(blk); return true }); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "transfers/s")
	})
	// The node's quick pass instead: a partner flags one busy sender
	// (Zipf rank 100 onwards, a new one each time) as a thief, and its
	// funds are followed forward through the graph's postings alone.
	b.Run("new-source", func(b *testing.B) {
		src := addedSources{base: flowSources{}, added: map[string]exposure.Mask{}}
		id := uint64(100)
		var affected, postings int
		for b.Loop() {
			for sourceOf(id) != "" {
				id++
			}
			a := flowAddr(id)
			id++
			src.added[a] = exposure.Bit(tags.Hack)
			st, err := e.AddSources(ctx, exposure.GraphPostings{G: g, C: chain.Ethereum}, map[string]exposure.Mask{a: exposure.Bit(tags.Hack)}, src)
			if err != nil {
				b.Fatal(err)
			}
			affected += st.Affected
			postings += st.Postings
		}
		b.ReportMetric(float64(affected)/float64(b.N), "affected/op")
		b.ReportMetric(float64(postings)/float64(b.N), "postings/op")
	})
}

// addedSources is the synthetic attribution with partners' flags on top.
type addedSources struct {
	base  exposure.Sources
	added map[string]exposure.Mask
}

func (s addedSources) Mask(c chain.Chain, a string) exposure.Mask {
	return s.base.Mask(c, a) | s.added[a]
}
