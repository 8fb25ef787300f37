package rules

import (
	"syscall"
	"testing"
	"time"

	"github.com/tracehound/tracehound/chain"
)

// blocksOf cuts transfers into blocks of n, one every 12 seconds, as an
// Ethereum chain would deliver them.
func blocksOf(ts []chain.Transfer, n int) [][]chain.Transfer {
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var out [][]chain.Transfer
	for i := 0; i+n <= len(ts); i += n {
		blk := make([]chain.Transfer, n)
		copy(blk, ts[i:i+n])
		h := uint64(len(out))
		for j := range blk {
			blk[j].Block = h
			blk[j].Time = base.Add(time.Duration(h) * 12 * time.Second)
			blk[j].Chain = chain.Ethereum
		}
		out = append(out, blk)
	}
	return out
}

// BenchmarkBlock150 runs every rule with the default configuration over
// blocks of 150 transfers taken from the AMLSim fan-in graph (re-timed to
// a block every 12 s, so every transfer stays within the rules' windows),
// after 300 blocks of warm-up so that the engine holds a full history.
// The goal is under 2 ms a block.
//
//	go test ./detect/rules -run '^$' -bench Block150 -benchtime 400x
func BenchmarkBlock150(b *testing.B) { benchAMLSimBlocks(b, DefaultConfig()) }

// BenchmarkBlock150Smurfing is BenchmarkBlock150 with the smurfing rule,
// off by default, turned on over 72 hours: the graph's split payments
// make it work on every block.
//
//	go test ./detect/rules -run '^$' -bench Block150Smurfing -benchtime 400x
func BenchmarkBlock150Smurfing(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Smurfing.Window = 72 * time.Hour
	benchAMLSimBlocks(b, cfg)
}

func benchAMLSimBlocks(b *testing.B, cfg Config) {
	g := openAMLSim(b, "20K_fanin200")
	blocks := blocksOf(g.Transfers, 150)
	const warm = 300
	labels := LabelMap{}
	// A few services, so that the hopping rules have work to do.
	for i, blk := range blocks[:40] {
		labels[chain.Key{Chain: chain.Ethereum, Value: blk[0].To}] = []string{CategoryMixer, CategoryBridge}[i%2]
	}
	newEngine := func() *Engine {
		e, err := NewEngine(cfg, WithLabeler(labels))
		if err != nil {
			b.Fatal(err)
		}
		for _, blk := range blocks[:warm] {
			e.Transfers(blk)
		}
		return e
	}
	e := newEngine()
	next := warm
	findings := 0
	b.ReportAllocs()
	// The machine is shared: beside wall time, report the CPU time the
	// process spent per block (user and system, GC included), which other
	// tenants' load does not inflate as much.
	cpu0 := cpuTime()
	b.ResetTimer()
	for range b.N {
		if next == len(blocks) {
			b.StopTimer()
			e, next = newEngine(), warm
			b.StartTimer()
		}
		findings += len(e.Transfers(blocks[next]))
		next++
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(findings)/float64(b.N), "findings/block")
}

// cpuTime is the process's user and system CPU time in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkSimBlock150 runs every rule with the default configuration
// over a simulated Ethereum chain: blocks of 150 ordinary transfers (and
// the laundering of a theft among them), after 200 blocks of warm-up,
// with the scenario's services labelled.
//
//	go test ./detect/rules -run '^$' -bench SimBlock150 -benchtime 600x
func BenchmarkSimBlock150(b *testing.B) {
	_, blocks, labels := simScenario(b, 150_000, 150)
	const warm = 200
	newEngine := func() *Engine {
		e, err := NewEngine(DefaultConfig(), WithLabeler(labels))
		if err != nil {
			b.Fatal(err)
		}
		for _, blk := range blocks[:warm] {
			e.Block(blk)
		}
		return e
	}
	e := newEngine()
	next, transfers, findings := warm, 0, 0
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for range b.N {
		if next == len(blocks) {
			b.StopTimer()
			e, next = newEngine(), warm
			b.StartTimer()
		}
		ts := TransfersOf(blocks[next])
		transfers += len(ts)
		findings += len(e.Transfers(ts))
		next++
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(transfers)/float64(b.N), "transfers/block")
	b.ReportMetric(float64(findings)/float64(b.N), "findings/block")
}
