package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/tracehound/tracehound/alert"
	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/detect/rules"
	"github.com/tracehound/tracehound/ingest"
	"github.com/tracehound/tracehound/sanctions"
	"github.com/tracehound/tracehound/screen"
	"github.com/tracehound/tracehound/sim"
)

// cpuTime is the process's user and system CPU time in nanoseconds: on a
// shared machine it moves less with the other tenants' load than wall
// time does.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkDetectBlock150 measures the typology rules on the ingest
// path: blocks of 150 transfers of a simulated Ethereum chain (150,000
// ordinary transfers and a laundered theft), stored in the node's graph
// first, its services tagged in the screening index, after 200 blocks of
// warm-up. "wiring" is the node's engine (the labeler over the screening
// index, the history over the graph), the goal under 2 ms a block;
// "anchor" is the bare engine with a label map and no history, as
// detect/rules' BenchmarkSimBlock150 runs it; "batch" is the whole of
// what an ingest batch of one block runs after the write: rules, the
// subjects' scores, the alerts stored and audited.
//
//	go test ./node -run '^$' -bench DetectBlock150 -benchtime 600x
func BenchmarkDetectBlock150(b *testing.B) {
	ctx := context.Background()
	cfg := sim.DefaultConfig()
	cfg.Background, cfg.Addresses, cfg.DepositAddresses, cfg.TxsPerBlock = 150_000, 150_000/8, 2000, 150
	sc, err := sim.Generate(cfg)
	if err != nil {
		b.Fatal(err)
	}
	var blocks []*chain.Block
	for {
		blk, err := sc.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		blocks = append(blocks, blk)
	}
	n, err := Open(ctx, Config{DataDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	if _, err := n.Ingest(ctx, Ingest{Chain: chain.Ethereum, Stream: &blockList{blocks: blocks}, Options: ingest.Options{From: cfg.StartHeight}}); err != nil {
		b.Fatal(err)
	}
	if err := n.db.ReplacePack(ctx, "sim", sc.Truth.Tags()); err != nil {
		b.Fatal(err)
	}
	if _, err := n.Index(ctx); err != nil {
		b.Fatal(err)
	}
	labels := rules.LabelMap{}
	for _, tg := range sc.Truth.Tags() {
		labels[tg.Address.Key()] = string(tg.Category)
	}
	const warm = 200
	if len(blocks) < warm+100 {
		b.Fatalf("%d blocks", len(blocks))
	}
	type runner struct {
		reset func()
		block func(blk *chain.Block) int
	}
	variants := []struct {
		name string
		r    runner
	}{
		{"wiring", runner{
			reset: func() { n.mon.detect.engines = map[chain.Chain]*chainEngine{} },
			block: func(blk *chain.Block) int {
				fs, err := n.runRules(ctx, chain.Ethereum, []*chain.Block{blk})
				if err != nil {
					b.Fatal(err)
				}
				return len(fs)
			}}},
		{"anchor", func() runner {
			var e *rules.Engine
			return runner{
				reset: func() { e, _ = rules.NewEngine(rules.DefaultConfig(), rules.WithLabeler(labels)) },
				block: func(blk *chain.Block) int { return len(e.Block(blk)) },
			}
		}()},
		{"batch", func() runner {
			tap := &blockTap{Store: n.db.Graph()}
			return runner{
				reset: func() { n.mon.detect.engines = map[chain.Chain]*chainEngine{} },
				block: func(blk *chain.Block) int {
					tap.pending = []*chain.Block{blk}
					if err := n.detectBatch(ctx, chain.Ethereum, tap); err != nil {
						b.Fatal(err)
					}
					return 0
				}}
		}()},
	}
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			v.r.reset()
			for _, blk := range blocks[:warm] {
				v.r.block(blk)
			}
			next, transfers, findings := warm, 0, 0
			b.ReportAllocs()
			cpu0 := cpuTime()
			b.ResetTimer()
			for range b.N {
				if next == len(blocks) {
					b.StopTimer()
					v.r.reset()
					for _, blk := range blocks[:warm] {
						v.r.block(blk)
					}
					next = warm
					b.StartTimer()
				}
				transfers += len(rules.TransfersOf(blocks[next]))
				findings += v.r.block(blocks[next])
				next++
			}
			b.StopTimer()
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(transfers)/float64(b.N), "transfers/block")
			if v.name != "batch" {
				b.ReportMetric(float64(findings)/float64(b.N), "findings/block")
			}
		})
	}
}

// BenchmarkReevaluate measures a re-evaluation after a change of the
// screening index that concerns one of N registered counterparties: the
// pass over every registered address (look-up and fingerprint), the one
// re-screened, its retroactive alert stored and audited. "rescreen" is
// the alternative it replaces: screening every registered address again
// in one batch (ScreenBatch), without comparing or storing anything.
//
//	go test ./node -run '^$' -bench Reevaluate -benchtime 10x
func BenchmarkReevaluate(b *testing.B) {
	for _, size := range []int{100_000, 1_000_000} {
		ctx := context.Background()
		n, err := Open(ctx, Config{DataDir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := n.Index(ctx); err != nil {
			b.Fatal(err)
		}
		if err := n.loadTransfers(ctx); err != nil {
			b.Fatal(err)
		}
		// A sanctions layer, so that screening rates addresses low.
		n.index.SetSanctions(sanctionsFor(1000))
		now := time.Now()
		ti := &n.mon.transfers
		qs := make([]screen.Query, 0, size)
		for i := range size {
			a := chain.Address{Chain: chain.Ethereum, Network: chain.Mainnet, Kind: "account", Value: fmt.Sprintf("0x%040x", 0xc0000000+i)}
			w := ti.entryLocked(a)
			w.ids = []string{fmt.Sprintf("T-%d", i)}
			w.verdict = verdictOf(a, n.index.Screen(screen.Query{Address: a.Value, Chain: a.Chain}), fingerprint(n.index, n.index.Lookup(a)), now)
			qs = append(qs, screen.Query{Address: a.Value, Chain: a.Chain})
		}
		flagged := 0
		runtime.GC() // the setup's garbage is not the pass's
		b.Run(fmt.Sprintf("registered=%d", size), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				// The transfer of the address the next change flags.
				i := flagged
				flagged++
				a := chain.Address{Chain: chain.Ethereum, Network: chain.Mainnet, Kind: "account", Value: fmt.Sprintf("0x%040x", 0xc0000000+i)}
				t := alert.Transfer{ID: fmt.Sprintf("T-%d", i), Customer: "C", Chain: chain.Ethereum, Tx: fmt.Sprintf("0x%064x", i), Counterparty: a.Value,
					Amount: chain.NewAmount(1), Direction: alert.Deposit, Registered: now, Decision: alert.Decision{Action: alert.Accept, Risk: screen.Low}}
				if err := n.db.PutTransfers(ctx, []alert.Transfer{t}, nil); err != nil {
					b.Fatal(err)
				}
				n.index.SetIntel([]screen.IntelEntry{{Address: a, Flag: screen.IntelFlag{Partner: "us-agency", Indicator: fmt.Sprintf("indicator--%d", i), Risk: screen.High}}})
				b.StartTimer()
				c, err := n.reevaluate(ctx)
				if err != nil || c != 1 {
					b.Fatalf("%d alerts, %v", c, err)
				}
			}
		})
		b.Run(fmt.Sprintf("rescreen/registered=%d", size), func(b *testing.B) {
			for b.Loop() {
				if _, err := n.index.ScreenBatch(ctx, qs); err != nil {
					b.Fatal(err)
				}
			}
		})
		n.Close()
	}
}

// sanctionsFor lists k made-up Ethereum addresses.
func sanctionsFor(k int) []sanctions.Entry {
	out := make([]sanctions.Entry, k)
	for i := range out {
		out[i] = sanctions.Entry{Asset: "ETH", Address: fmt.Sprintf("0x%040x", 0xf0000000+i), Source: "test", Party: sanctions.Party{Name: "P"}}
	}
	return out
}
