package node

import (
	"context"
	"io"
	"math/big"
	"testing"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/detect/exposure"
	"github.com/tracehound/tracehound/ingest"
	"github.com/tracehound/tracehound/screen"
	"github.com/tracehound/tracehound/sim"
	"github.com/tracehound/tracehound/tags"
)

// firstBlocks ends a stream after its first n blocks.
type firstBlocks struct {
	ingest.StreamSource
	n int
}

func (f *firstBlocks) Next(ctx context.Context) (*chain.Block, error) {
	if f.n == 0 {
		return nil, io.EOF
	}
	f.n--
	return f.StreamSource.Next(ctx)
}

func scenario(t *testing.T) *sim.Scenario {
	t.Helper()
	cfg := sim.DefaultConfig()
	cfg.Seed, cfg.Background = 7, 3000
	sc, err := sim.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func find(es []exposure.Entry, c tags.Category) *exposure.Entry {
	for i := range es {
		if es[i].Category == c && es[i].Direction == exposure.Incoming {
			return &es[i]
		}
	}
	return nil
}

// TestExposureFollowsStore: exposure is built from the store, advanced by
// each ingested batch to exactly what a rebuild gives, and rebuilt when a
// tag makes the thief a source: every split wallet then shows what it
// received from the thief, to the wei.
func TestExposureFollowsStore(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n, err := Open(ctx, Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()

	sc := scenario(t)
	truth := sc.Truth
	// Half the chain first, with the services tagged.
	if _, err := n.Ingest(ctx, Ingest{Chain: chain.Ethereum, Stream: &firstBlocks{sc.Source(), 40}, Options: ingest.Options{From: sim.DefaultConfig().StartHeight}}); err != nil {
		t.Fatal(err)
	}
	if err := n.db.ReplacePack(ctx, "simulation", truth.Tags()); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Index(ctx); err != nil {
		t.Fatal(err)
	}
	if err := n.Exposure(ctx); err != nil {
		t.Fatal(err)
	}
	// The rebuilder stops before the store closes.
	rebuilt := make(chan struct{})
	go func() { n.exp.rebuildOnChange(ctx); close(rebuilt) }()
	defer func() { cancel(); <-rebuilt }()
	n.mu.Lock()
	err = n.reloadTags(ctx)
	n.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	// The rest, through the ingest hook.
	if _, err := n.Ingest(ctx, Ingest{Chain: chain.Ethereum, Stream: scenario(t).Source()}); err != nil {
		t.Fatal(err)
	}
	screenOne := func(addr string) screen.Result {
		t.Helper()
		rs, err := n.Screen(ctx, []screen.Query{{Address: addr, Chain: chain.Ethereum}})
		if err != nil {
			t.Fatal(err)
		}
		return rs[0]
	}
	waitFor := func(what string, ok func() bool) time.Duration {
		t.Helper()
		start := time.Now()
		for !ok() {
			if time.Since(start) > 30*time.Second {
				t.Fatalf("%s: not after 30s", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
		return time.Since(start)
	}

	// Mixer withdrawals carry the mixer's category at one hop.
	mixerOuts := 0
	for addr, a := range truth.Accounts {
		if a.Role != sim.RoleMixerOut {
			continue
		}
		mixerOuts++
		waitFor("mixer exposure", func() bool { return find(screenOne(addr).Exposure, tags.Mixer) != nil })
		e := find(screenOne(addr).Exposure, tags.Mixer)
		if e.Hops != 1 || e.Direct.IsZero() || e.Source != truth.Services.Mixer {
			t.Errorf("mixer-out %s: %+v", addr, e)
		}
	}
	if mixerOuts == 0 {
		t.Fatal("the scenario has no mixer withdrawals")
	}

	// Incremental equals rebuilt, for every laundering address.
	before := map[string][]exposure.Entry{}
	for addr := range truth.Accounts {
		before[addr] = screenOne(addr).Exposure
	}
	if err := n.exp.rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	for addr := range truth.Accounts {
		if got, want := before[addr], screenOne(addr).Exposure; !sameEntries(got, want) {
			t.Errorf("%s: advanced %+v, rebuilt %+v", addr, got, want)
		}
	}

	// A tag on the thief: the splits show it, exactly, once rebuilt.
	if find(screenOne(truth.Splits[0]).Exposure, tags.Hack) != nil {
		t.Fatal("hack exposure before the thief is tagged")
	}
	tagThief(t, ctx, n, truth.Thief)
	took := waitFor("hack exposure", func() bool { return find(screenOne(truth.Splits[0]).Exposure, tags.Hack) != nil })
	t.Logf("a new tag reached the splits' exposure in %s", took)
	for _, s := range truth.Splits {
		r := screenOne(s)
		e := find(r.Exposure, tags.Hack)
		if e == nil || e.Hops != 1 || e.Source != truth.Thief || e.Direct.Cmp(truth.Accounts[s].Received) != 0 {
			t.Errorf("split %s: %+v, received %s", s, e, truth.Accounts[s].Received)
			continue
		}
		if r.Risk != screen.Severe || r.RiskRule != "hack-in-direct" {
			t.Errorf("split %s: risk %s by %s", s, r.Risk, r.RiskRule)
		}
		// A few addresses screened as an analyst does carry the
		// learned scorer's judgement of their history.
		if r.Score == nil || r.Score.Address != s || r.Score.Score < 0 || r.Score.Score > 1 || len(r.Score.Top) == 0 {
			t.Errorf("split %s: score %+v", s, r.Score)
		}
	}
}

// tagThief tags thief as a hack, as an analyst's import does.
func tagThief(t *testing.T, ctx context.Context, n *Node, thief string) {
	t.Helper()
	n.mu.Lock()
	err := n.db.ReplacePack(ctx, "case", []tags.Tag{{Address: chain.Address{Chain: chain.Ethereum, Network: chain.Mainnet, Kind: "account", Value: thief},
		Entity: "thief", Category: tags.Hack, Source: "test", Confidence: 100}})
	if err == nil {
		err = n.reloadTags(ctx)
	}
	n.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
}

func sameEntries(a, b []exposure.Entry) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Category != y.Category || x.Direction != y.Direction || x.Hops != y.Hops || x.Asset != y.Asset ||
			x.Amount.Cmp(y.Amount) != 0 || x.Direct.Cmp(y.Direct) != 0 || x.Share != y.Share || x.Source != y.Source {
			return false
		}
	}
	return true
}

// TestExposureNewSourcesQuickPass: a new source shows in screening from
// the quick forward pass alone, before any rebuild: the splits exactly,
// everything downstream at the rebuild's hops and within the bound the
// pass documents (fees it cannot see).
func TestExposureNewSourcesQuickPass(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n, err := Open(ctx, Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	sc := scenario(t)
	truth := sc.Truth
	if _, err := n.Ingest(ctx, Ingest{Chain: chain.Ethereum, Stream: sc.Source(), Options: ingest.Options{From: sim.DefaultConfig().StartHeight}}); err != nil {
		t.Fatal(err)
	}
	if err := n.db.ReplacePack(ctx, "simulation", truth.Tags()); err != nil {
		t.Fatal(err)
	}
	n.mu.Lock()
	err = n.reloadTags(ctx)
	n.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Exposure(ctx); err != nil {
		t.Fatal(err)
	}
	hack := func(addr string) *exposure.Entry {
		return find(n.exp.Exposure(chain.Address{Chain: chain.Ethereum, Value: addr}, false), tags.Hack)
	}
	if hack(truth.Splits[0]) != nil {
		t.Fatal("hack exposure before the thief is tagged")
	}
	tagThief(t, ctx, n, truth.Thief)
	if err := n.exp.addSources(ctx); err != nil {
		t.Fatal(err)
	}
	quick := map[string]*exposure.Entry{}
	for addr := range truth.Accounts {
		quick[addr] = hack(addr)
	}
	for _, s := range truth.Splits {
		if e := quick[s]; e == nil || e.Hops != 1 || e.Direct.Cmp(truth.Accounts[s].Received) != 0 {
			t.Errorf("split %s after the quick pass: %+v, received %s", s, e, truth.Accounts[s].Received)
		}
	}
	if err := n.exp.rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	reached := 0
	for addr := range truth.Accounts {
		q, r := quick[addr], hack(addr)
		if (q == nil) != (r == nil) {
			t.Errorf("%s: quick pass %+v, rebuild %+v", addr, q, r)
			continue
		}
		if q == nil {
			continue
		}
		reached++
		if q.Hops != r.Hops || q.Source != r.Source {
			t.Errorf("%s: quick pass %d hops from %s, rebuild %d from %s", addr, q.Hops, q.Source, r.Hops, r.Source)
		}
		// Within 2 % of the exact amount.
		diff := new(big.Int).Abs(new(big.Int).Sub(q.Amount.Big(), r.Amount.Big()))
		if diff.Mul(diff, big.NewInt(50)).Cmp(r.Amount.Big()) > 0 {
			t.Errorf("%s: quick pass %s, rebuild %s", addr, q.Amount, r.Amount)
		}
	}
	if reached < len(truth.Splits) {
		t.Errorf("the thief's funds reached %d laundering addresses", reached)
	}
}

// TestExposureRebuildsSpaced: a rebuild waits its spacing (times its own
// duration) after the last one, while a new source shows at once through
// the quick pass: changes that come faster than rebuilds take do not
// keep a core rebuilding.
func TestExposureRebuildsSpaced(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n, err := Open(ctx, Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	sc := scenario(t)
	if _, err := n.Ingest(ctx, Ingest{Chain: chain.Ethereum, Stream: sc.Source(), Options: ingest.Options{From: sim.DefaultConfig().StartHeight}}); err != nil {
		t.Fatal(err)
	}
	if err := n.db.ReplacePack(ctx, "simulation", sc.Truth.Tags()); err != nil {
		t.Fatal(err)
	}
	if err := n.Exposure(ctx); err != nil {
		t.Fatal(err)
	}
	// So long a spacing that no second rebuild can come during the test:
	// a rebuild takes milliseconds at least.
	n.exp.spacing = 10_000
	rebuilt := make(chan struct{})
	go func() { n.exp.rebuildOnChange(ctx); close(rebuilt) }()
	defer func() { cancel(); <-rebuilt }()
	wait := func(what string, ok func() bool) {
		t.Helper()
		for start := time.Now(); !ok(); time.Sleep(5 * time.Millisecond) {
			if time.Since(start) > 30*time.Second {
				t.Fatalf("%s: not after 30s", what)
			}
		}
	}
	first := n.exp.set.Load()
	n.exp.sourcesChanged()
	wait("the first rebuild", func() bool { return n.exp.set.Load() != first })
	second := n.exp.set.Load()

	split := sc.Truth.Splits[0]
	hack := func() bool {
		rs, err := n.Screen(ctx, []screen.Query{{Address: split, Chain: chain.Ethereum}})
		return err == nil && find(rs[0].Exposure, tags.Hack) != nil
	}
	if hack() {
		t.Fatal("hack exposure before the thief is tagged")
	}
	tagThief(t, ctx, n, sc.Truth.Thief)
	wait("the quick pass", hack)
	time.Sleep(500 * time.Millisecond) // five times the burst's wait
	if n.exp.set.Load() != second {
		t.Error("the engines were rebuilt again before the spacing passed")
	}
}
