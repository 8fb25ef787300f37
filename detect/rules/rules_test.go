package rules

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/chain"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

const eth = 1_000_000_000_000_000_000 // wei; fits in uint64 up to 18 ETH

// tr is a transfer of n wei (or token units) at t0 plus the offset.
func tr(from, to string, n uint64, at time.Duration) chain.Transfer {
	return chain.Transfer{Chain: chain.Ethereum, Tx: fmt.Sprintf("0x%s-%s-%d", from, to, at), Kind: chain.KindNative,
		Time: t0.Add(at), From: from, To: to, Amount: chain.NewAmount(n)}
}

func token(t chain.Transfer, asset chain.Asset) chain.Transfer {
	t.Asset = asset
	t.Kind = chain.KindToken
	return t
}

// only enables one typology.
func only(typ ...Typology) Config {
	c := DefaultConfig()
	c.Enabled = map[Typology]bool{}
	for _, t := range typ {
		c.Enabled[t] = true
	}
	return c
}

func scan(t *testing.T, cfg Config, ts []chain.Transfer, opts ...Option) []Finding {
	t.Helper()
	fs, err := Scan(context.Background(), cfg, ts, opts...)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		checkFinding(t, f)
	}
	return fs
}

// checkFinding checks what every finding must hold.
func checkFinding(t *testing.T, f Finding) {
	t.Helper()
	if f.Score < 0 || f.Score > 1 {
		t.Errorf("%s: score %v out of [0, 1]", f.Typology, f.Score)
	}
	if len(f.Addresses) == 0 || f.Addresses[0] != f.Subject {
		t.Errorf("%s: addresses %v do not start with the subject %s", f.Typology, f.Addresses, f.Subject)
	}
	if len(f.Txs) == 0 || f.Explanation == "" || f.End.Before(f.Start) {
		t.Errorf("%s: incomplete finding %+v", f.Typology, f)
	}
	seen := map[string]bool{}
	for _, a := range f.Addresses {
		if seen[a] {
			t.Errorf("%s: address %s twice", f.Typology, a)
		}
		seen[a] = true
	}
}

func findingsOf(fs []Finding, typ Typology) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Typology == typ {
			out = append(out, f)
		}
	}
	return out
}

func one(t *testing.T, fs []Finding, typ Typology) Finding {
	t.Helper()
	got := findingsOf(fs, typ)
	if len(got) != 1 {
		t.Fatalf("%d %s findings, want 1: %+v", len(got), typ, fs)
	}
	return got[0]
}

func none(t *testing.T, fs []Finding, typ Typology) {
	t.Helper()
	if got := findingsOf(fs, typ); len(got) != 0 {
		t.Fatalf("unexpected %s finding: %s", typ, got[0].Explanation)
	}
}

func hasAll(t *testing.T, f Finding, addrs ...string) {
	t.Helper()
	for _, a := range addrs {
		if !slices.Contains(f.Addresses, a) {
			t.Errorf("%s finding lacks %s: %v", f.Typology, a, f.Addresses)
		}
	}
}

func TestFanOut(t *testing.T) {
	var ts []chain.Transfer
	for i := range 10 {
		ts = append(ts, tr("hub", fmt.Sprintf("r%d", i), 1000+uint64(i)*10, time.Duration(i)*time.Minute))
	}
	f := one(t, scan(t, only(FanOut), ts), FanOut)
	if f.Subject != "hub" || len(f.Addresses) != 11 || f.Amount.String() != "10450" || len(f.Txs) != 10 {
		t.Fatalf("finding %+v", f)
	}
	if !strings.Contains(f.Explanation, "10 distinct addresses") {
		t.Errorf("explanation %q", f.Explanation)
	}
	none(t, scan(t, only(FanOut), ts[:9]), FanOut)
	// Payments of unrelated sizes are a busy payer, not a split.
	var mixed []chain.Transfer
	for i, x := range ts {
		x.Amount = chain.NewAmount(1000 << uint(i))
		mixed = append(mixed, x)
	}
	none(t, scan(t, only(FanOut), mixed), FanOut)
	// The same ten spread over ten days never have ten in one day.
	var slow []chain.Transfer
	for i, x := range ts {
		x.Time = t0.Add(time.Duration(i) * 26 * time.Hour)
		slow = append(slow, x)
	}
	none(t, scan(t, only(FanOut), slow), FanOut)
}

func TestFanInSimilar(t *testing.T) {
	cfg := only(FanIn)
	cfg.FanIn.MinCounterparties = 5
	cfg.FanIn.Similar = 0.2
	var like, mixed []chain.Transfer
	for i := range 6 {
		s := fmt.Sprintf("s%d", i)
		like = append(like, tr(s, "pool", 1000+uint64(i)*10, time.Duration(i)*time.Minute))
		mixed = append(mixed, tr(s, "pool", 1000<<uint(i), time.Duration(i)*time.Minute))
	}
	f := one(t, scan(t, cfg, like), FanIn)
	if f.Subject != "pool" || len(f.Addresses) != 6 {
		t.Fatalf("finding %+v", f)
	}
	none(t, scan(t, cfg, mixed), FanIn)
	cfg.FanIn.Similar = 0
	one(t, scan(t, cfg, mixed), FanIn)

	// Each sender paying in several like pieces.
	cfg.FanIn.MinCounterparties, cfg.FanIn.MinTransfers = 3, 2
	var pieces []chain.Transfer
	for i, s := range []string{"s0", "single1", "s1", "single2", "s2"} {
		at := time.Duration(i) * time.Hour
		pieces = append(pieces, tr(s, "pool", 400+uint64(i), at))
		if !strings.HasPrefix(s, "single") {
			pieces = append(pieces, tr(s, "pool", 390+uint64(i), at+time.Minute))
		}
	}
	for _, sim := range []float64{0, 0.5} {
		cfg.FanIn.Similar = sim
		f = one(t, scan(t, cfg, pieces), FanIn)
		if len(f.Addresses) != 4 || slices.Contains(f.Addresses, "single1") || len(f.Txs) != 6 {
			t.Errorf("similar %v: finding %+v", sim, f)
		}
		none(t, scan(t, cfg, pieces[:len(pieces)-1]), FanIn)
	}
	// Pieces out of the band do not count.
	cfg.FanIn.Similar = 0.01
	pieces[1].Amount = chain.NewAmount(100)
	none(t, scan(t, cfg, pieces), FanIn)
}

func TestScatterGather(t *testing.T) {
	var ts []chain.Transfer
	for i, m := range []string{"m1", "m2", "m3"} {
		ts = append(ts, tr("src", m, 100, time.Duration(i)*time.Minute))
	}
	for i, m := range []string{"m1", "m2", "m3"} {
		ts = append(ts, tr(m, "dst", 99, time.Hour+time.Duration(i)*time.Minute))
	}
	f := one(t, scan(t, only(ScatterGather), ts), ScatterGather)
	if f.Subject != "src" || f.Amount.String() != "300" {
		t.Fatalf("finding %+v", f)
	}
	hasAll(t, f, "dst", "m1", "m2", "m3")
	// Two intermediaries are not enough; nor is a third one that the
	// source never paid.
	none(t, scan(t, only(ScatterGather), append(slices.Clone(ts[:2]), ts[3], ts[4])), ScatterGather)
	alt := slices.Clone(ts)
	alt[2] = tr("src", "elsewhere", 100, 2*time.Minute)
	none(t, scan(t, only(ScatterGather), alt), ScatterGather)
}

func TestGatherScatter(t *testing.T) {
	var in, out []chain.Transfer
	for i := range 5 {
		in = append(in, tr(fmt.Sprintf("s%d", i), "hub", 100, time.Duration(i)*time.Minute))
		out = append(out, tr("hub", fmt.Sprintf("d%d", i), 98, time.Hour+time.Duration(i)*time.Minute))
	}
	f := one(t, scan(t, only(GatherScatter), append(slices.Clone(in), out...)), GatherScatter)
	if f.Subject != "hub" || len(f.Addresses) != 11 || f.Amount.String() != "490" {
		t.Fatalf("finding %+v", f)
	}
	// Sending out before the funds came in is not gather then scatter.
	var early []chain.Transfer
	for i, x := range out {
		x.Time = t0.Add(-time.Hour + time.Duration(i)*time.Minute)
		early = append(early, x)
	}
	none(t, scan(t, only(GatherScatter), append(early, in...)), GatherScatter)
	// A hub that keeps most of what it gathered passes nothing through.
	var keep []chain.Transfer
	for _, x := range out {
		x.Amount = chain.NewAmount(40)
		keep = append(keep, x)
	}
	none(t, scan(t, only(GatherScatter), append(slices.Clone(in), keep...)), GatherScatter)
}

func TestCycle(t *testing.T) {
	ring := []chain.Transfer{
		tr("a", "b", 1000, 0),
		tr("b", "c", 990, time.Hour),
		tr("c", "d", 985, 2*time.Hour),
		tr("d", "a", 980, 3*time.Hour),
	}
	f := one(t, scan(t, only(Cycle), ring), Cycle)
	if f.Subject != "a" || len(f.Addresses) != 4 || f.Amount.String() != "3955" {
		t.Fatalf("finding %+v", f)
	}
	if !strings.Contains(f.Explanation, "a → b → c → d → a") {
		t.Errorf("explanation %q", f.Explanation)
	}
	// Out of time order: no funds went round.
	shuffled := slices.Clone(ring)
	shuffled[1].Time, shuffled[3].Time = shuffled[3].Time, shuffled[1].Time
	none(t, scan(t, only(Cycle), shuffled), Cycle)
	cfg := only(Cycle)
	cfg.Cycle.Ordered = false
	one(t, scan(t, cfg, shuffled), Cycle)
	// An amount that does not carry on breaks the cycle.
	broken := slices.Clone(ring)
	broken[2].Amount = chain.NewAmount(500)
	none(t, scan(t, only(Cycle), broken), Cycle)
	// A round trip of two is a refund, below the minimum length.
	none(t, scan(t, only(Cycle), []chain.Transfer{tr("a", "b", 10, 0), tr("b", "a", 10, time.Hour)}), Cycle)
	// Outside the window.
	late := slices.Clone(ring)
	late[3].Time = t0.Add(8 * 24 * time.Hour)
	none(t, scan(t, only(Cycle), late), Cycle)
}

func TestStack(t *testing.T) {
	var ts []chain.Transfer
	for i := range 3 {
		b := fmt.Sprintf("b%d", i)
		ts = append(ts, tr("origin", b, 300, time.Duration(i)*time.Minute))
	}
	for i := range 3 {
		ts = append(ts, tr(fmt.Sprintf("b%d", i), fmt.Sprintf("c%d", i), 290, time.Hour+time.Duration(i)*time.Minute))
	}
	f := one(t, scan(t, only(Stack), ts), Stack)
	if f.Subject != "origin" || f.Amount.String() != "900" {
		t.Fatalf("finding %+v", f)
	}
	hasAll(t, f, "b0", "b1", "b2", "c0", "c1", "c2")
	// The second layer must be as wide as the first.
	narrow := slices.Clone(ts)
	narrow[5] = tr("b2", "c1", 290, time.Hour+2*time.Minute)
	none(t, scan(t, only(Stack), narrow), Stack)
	// The first layer must pass the funds on, not keep them.
	kept := slices.Clone(ts)
	for i := 3; i < 6; i++ {
		kept[i].Amount = chain.NewAmount(100)
	}
	none(t, scan(t, only(Stack), kept), Stack)
}

func TestPeelChain(t *testing.T) {
	ts := []chain.Transfer{tr("src", "x0", 100_000, 0)}
	amt := uint64(100_000)
	for i := range 3 {
		x, next := fmt.Sprintf("x%d", i), fmt.Sprintf("x%d", i+1)
		peel := amt / 20
		rest := amt - peel - 10 // a fee
		at := time.Duration(i+1) * time.Hour
		ts = append(ts, tr(x, fmt.Sprintf("shop%d", i), peel, at), tr(x, next, rest, at))
		amt = rest
	}
	f := one(t, scan(t, only(PeelChain), ts), PeelChain)
	if f.Subject != "x0" {
		t.Fatalf("finding %+v", f)
	}
	hasAll(t, f, "x0", "x1", "x2", "x3")
	// Two hops are not a chain yet.
	none(t, scan(t, only(PeelChain), ts[:5]), PeelChain)
	// An even split in three is not a peel.
	even := []chain.Transfer{tr("src", "x0", 90, 0)}
	for i := range 3 {
		x, at := fmt.Sprintf("x%d", i), time.Duration(i+1)*time.Hour
		even = append(even, tr(x, fmt.Sprintf("y%d", i), 30, at), tr(x, fmt.Sprintf("z%d", i), 30, at), tr(x, fmt.Sprintf("x%d", i+1), 30, at))
	}
	none(t, scan(t, only(PeelChain), even), PeelChain)
}

func TestPassThrough(t *testing.T) {
	in := tr("payer", "mule", 10*eth, 0)
	f := one(t, scan(t, only(PassThrough), []chain.Transfer{in, tr("mule", "next", 9*eth+eth/2, 5*time.Minute)}), PassThrough)
	if f.Subject != "mule" {
		t.Fatalf("finding %+v", f)
	}
	hasAll(t, f, "payer", "next")
	none(t, scan(t, only(PassThrough), []chain.Transfer{in, tr("mule", "next", 9*eth+eth/2, 2*time.Hour)}), PassThrough)
	none(t, scan(t, only(PassThrough), []chain.Transfer{in, tr("mule", "next", 5*eth, 5*time.Minute)}), PassThrough)
	// Below the minimum amount for the asset.
	none(t, scan(t, only(PassThrough), []chain.Transfer{tr("payer", "mule", eth, 0), tr("mule", "next", eth, time.Minute)}), PassThrough)
}

func TestStructuring(t *testing.T) {
	usdt := uint64(1_000_000) // 6 decimals
	var under, lower []chain.Transfer
	for i := range 3 {
		at := time.Duration(i) * 2 * time.Hour
		under = append(under, token(tr("smurf", fmt.Sprintf("d%d", i), 9_500*usdt, at), USDT))
		lower = append(lower, token(tr("smurf", fmt.Sprintf("d%d", i), 8_000*usdt, at), USDT))
	}
	f := one(t, scan(t, only(Structuring), under), Structuring)
	if f.Subject != "smurf" || f.Amount.String() != fmt.Sprint(3*9_500*usdt) || f.Asset != USDT {
		t.Fatalf("finding %+v", f)
	}
	none(t, scan(t, only(Structuring), lower), Structuring)
	none(t, scan(t, only(Structuring), under[:2]), Structuring)

	// One payment split into three pieces within minutes.
	split := []chain.Transfer{tr("a", "b", 400, 0), tr("a", "b", 350, time.Minute), tr("a", "b", 250, 2*time.Minute)}
	f = one(t, scan(t, only(Structuring), split), Structuring)
	if f.Amount.String() != "1000" || len(f.Txs) != 3 {
		t.Fatalf("finding %+v", f)
	}
	none(t, scan(t, only(Structuring), split[:2]), Structuring)
	spread := slices.Clone(split)
	spread[2].Time = t0.Add(time.Hour)
	none(t, scan(t, only(Structuring), spread), Structuring)
}

func TestHopping(t *testing.T) {
	labels := LabelMap{
		{Chain: chain.Ethereum, Value: "tornado1"}: CategoryMixer,
		{Chain: chain.Ethereum, Value: "tornado2"}: CategoryMixer,
		{Chain: chain.Ethereum, Value: "bridgeA"}:  CategoryBridge,
		{Chain: chain.Ethereum, Value: "bridgeB"}:  CategoryBridge,
	}
	cfg := only(MixerHopping, BridgeHopping)
	f := one(t, scan(t, cfg, []chain.Transfer{tr("tornado1", "x", 100, 0), tr("x", "tornado2", 100, time.Hour)}, WithLabeler(labels)), MixerHopping)
	if f.Subject != "x" {
		t.Fatalf("finding %+v", f)
	}
	hasAll(t, f, "tornado1", "tornado2")
	one(t, scan(t, cfg, []chain.Transfer{tr("bridgeA", "y", 100, 0), tr("y", "bridgeB", 100, time.Hour)}, WithLabeler(labels)), BridgeHopping)
	fs := scan(t, cfg, []chain.Transfer{tr("tornado1", "z", 100, 0), tr("z", "bridgeB", 100, time.Hour)}, WithLabeler(labels))
	one(t, fs, MixerHopping)
	// A deposit with no service before it, or a hop after the window.
	none(t, scan(t, cfg, []chain.Transfer{tr("w", "x", 100, 0), tr("x", "tornado2", 100, time.Hour)}, WithLabeler(labels)), MixerHopping)
	none(t, scan(t, cfg, []chain.Transfer{tr("tornado1", "x", 100, 0), tr("x", "tornado2", 100, 4*24*time.Hour)}, WithLabeler(labels)), MixerHopping)
	// Without a labeler the rule cannot know.
	none(t, scan(t, cfg, []chain.Transfer{tr("tornado1", "x", 100, 0), tr("x", "tornado2", 100, time.Hour)}), MixerHopping)
}

// history is a History over a map.
type history map[string][2]time.Time

func (h history) Activity(_ chain.Chain, a string, before time.Time) (time.Time, time.Time, bool) {
	v, ok := h[a]
	if !ok || !v[0].Before(before) {
		return time.Time{}, time.Time{}, false
	}
	return v[0], v[1], true
}

func TestFreshHighValue(t *testing.T) {
	day := 24 * time.Hour
	warm := tr("old1", "old2", 1, 0) // the engine starts watching at t0
	fresh := []chain.Transfer{warm, tr("thief", "newbie", 18*eth, 40*day), tr("newbie", "out", 15*eth, 40*day+time.Hour)}
	f := one(t, scan(t, only(FreshHighValue), fresh), FreshHighValue)
	if f.Subject != "newbie" || f.Amount.String() != fmt.Sprint(uint64(15*eth)) {
		t.Fatalf("finding %+v", f)
	}
	// Below the high-value mark.
	small := slices.Clone(fresh)
	small[2].Amount = chain.NewAmount(eth)
	none(t, scan(t, only(FreshHighValue), small), FreshHighValue)
	// Without a long enough watch the engine cannot tell new from old.
	early := []chain.Transfer{warm, tr("thief", "newbie", 18*eth, day), tr("newbie", "out", 15*eth, day+time.Hour)}
	none(t, scan(t, only(FreshHighValue), early), FreshHighValue)
	// History can tell: new ...
	h := history{"newbie": {t0.Add(day), t0.Add(day)}}
	one(t, scan(t, only(FreshHighValue), early, WithHistory(h)), FreshHighValue)
	// ... or old.
	h = history{"newbie": {t0.Add(-400 * day), t0.Add(day)}}
	none(t, scan(t, only(FreshHighValue), early, WithHistory(h)), FreshHighValue)
}

func TestDormant(t *testing.T) {
	day := 24 * time.Hour
	ts := []chain.Transfer{tr("sleeper", "a", 2*eth, 0), tr("sleeper", "b", 3*eth, 400*day)}
	f := one(t, scan(t, only(Dormant), ts), Dormant)
	if f.Subject != "sleeper" || !strings.Contains(f.Explanation, "400 days") {
		t.Fatalf("finding %+v", f)
	}
	soon := slices.Clone(ts)
	soon[1].Time = t0.Add(100 * day)
	none(t, scan(t, only(Dormant), soon), Dormant)
	// Receiving does not wake an address; sending does.
	recv := []chain.Transfer{tr("sleeper", "a", 2*eth, 0), tr("c", "sleeper", 3*eth, 400*day)}
	none(t, scan(t, only(Dormant), recv), Dormant)
	// History alone.
	h := history{"sleeper": {t0.Add(-900 * day), t0.Add(-800 * day)}}
	one(t, scan(t, only(Dormant), ts[1:], WithHistory(h)), Dormant)
	none(t, scan(t, only(Dormant), ts[1:]), Dormant)
}

func TestBitcoinTransfers(t *testing.T) {
	// A peel chain in Bitcoin's shape: each hop spends its coin into a
	// payment and a larger change output to a new address.
	blk := func(h uint64, txs ...chain.Tx) *chain.Block {
		return &chain.Block{Chain: chain.Bitcoin, Height: h, Time: t0.Add(time.Duration(h) * 10 * time.Minute), Txs: txs}
	}
	spend := func(hash, from string, value uint64, outs ...chain.Output) chain.Tx {
		return chain.Tx{Hash: hash, Inputs: []chain.Input{{PrevTx: "p" + hash, Address: from, Value: value}}, Outputs: outs}
	}
	out := func(i uint32, addr string, v uint64) chain.Output {
		return chain.Output{Index: i, Address: addr, Value: v, Script: "p2wpkh"}
	}
	e, err := NewEngine(only(PeelChain))
	if err != nil {
		t.Fatal(err)
	}
	var fs []Finding
	fs = append(fs, e.Block(blk(1, spend("t0", "bc1src", 1e8, out(0, "bc1x0", 1e8-1000))))...)
	v := uint64(1e8 - 1000)
	for i := range 3 {
		peel, rest := v/10, v-v/10-500
		b := blk(uint64(i+2), spend(fmt.Sprintf("t%d", i+1), fmt.Sprintf("bc1x%d", i), v,
			out(0, fmt.Sprintf("bc1pay%d", i), peel), out(1, fmt.Sprintf("bc1x%d", i+1), rest)))
		ts := TransfersOf(b)
		if len(ts) != 2 || ts[0].From != fmt.Sprintf("bc1x%d", i) || ts[0].Kind != chain.KindOutput {
			t.Fatalf("transfers %+v", ts)
		}
		fs = append(fs, e.Block(b)...)
		v = rest
	}
	f := one(t, fs, PeelChain)
	if f.Chain != chain.Bitcoin || f.Subject != "bc1x0" {
		t.Fatalf("finding %+v", f)
	}

	// Change back to an input address moved nothing; the principal input
	// is the largest.
	b := blk(9, chain.Tx{Hash: "m", Inputs: []chain.Input{{Address: "small", Value: 5}, {Address: "big", Value: 50}},
		Outputs: []chain.Output{out(0, "payee", 40), out(1, "small", 14), {Index: 2, Script: "nulldata"}}})
	ts := TransfersOf(b)
	if len(ts) != 1 || ts[0].From != "big" || ts[0].To != "payee" || ts[0].Amount.String() != "40" {
		t.Fatalf("transfers %+v", ts)
	}
}

func TestBoundedState(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxAddresses = 1000
	cfg.MaxEdges = 8
	e, err := NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for blk := range 100 {
		var ts []chain.Transfer
		for i := range 150 {
			// A hub that everyone pays, and fresh addresses.
			ts = append(ts, tr(fmt.Sprintf("a%d-%d", blk, i), "hub", 1, time.Duration(blk)*12*time.Second))
		}
		e.Transfers(ts)
		if n := e.Addresses(); n > cfg.MaxAddresses {
			t.Fatalf("block %d: %d addresses remembered, cap %d", blk, n, cfg.MaxAddresses)
		}
	}
	if h := e.accts[chain.Key{Chain: chain.Ethereum, Value: "hub"}]; h == nil || len(h.in) > cfg.MaxEdges {
		t.Fatalf("hub state %v", h)
	}
	if len(e.lru) > 3*cfg.MaxAddresses+2048 {
		t.Fatalf("activity queue of %d entries", len(e.lru))
	}
}

func TestConfigCheck(t *testing.T) {
	cfg := DefaultConfig()
	if err := cfg.Check(); err != nil {
		t.Fatal(err)
	}
	cfg.Cycle.MaxLength = 1
	if _, err := NewEngine(cfg); err == nil || !strings.Contains(err.Error(), "cycle length") {
		t.Fatalf("NewEngine: %v", err)
	}
	cfg = DefaultConfig()
	cfg.FanIn.MinTransfers = -1
	if err := cfg.Check(); err == nil || !strings.Contains(err.Error(), "MinTransfers") {
		t.Fatalf("Check: %v", err)
	}
	cfg = DefaultConfig()
	cfg.Smurfing.Similar = -0.1
	if err := cfg.Check(); err == nil {
		t.Fatal("Check accepts a negative smurfing band")
	}
}

func TestSmurfing(t *testing.T) {
	h := time.Hour
	split := []chain.Transfer{tr("a", "b", 400, 2*h), tr("a", "b", 350, 2*h+time.Minute), tr("a", "b", 250, 2*h+2*time.Minute)}
	ts := []chain.Transfer{
		tr("c", "b", 300, 0),     // like the pieces, before the split
		tr("e", "b", 5000, h),    // not like them
		tr("a", "f", 900, h),     // not like them
		tr("g", "a", 260, 90*h),  // like them, but outside the window
		tr("a", "z", 1000, 3*h),  // the pieces' total, not a piece
		tr("b", "d", 360, 10*h),  // like them, after the split
		tr("d", "b", 370, 11*h),  // d again: reported once
		tr("a", "b", 380, 12*h),  // the partner itself is no smurf
		tr("x", "y", 350, 5*h),   // unrelated
		tr("y", "x", 5000, 6*h),  // unrelated
		tr("k", "a", 240, 30*h),  // like them (250 is within 1.5 of 350)
		tr("k2", "a", 230, 31*h), // just outside: 350/1.5 = 233
	}
	ts = append(ts, split...)
	// Off by default.
	none(t, scan(t, only(Smurfing), ts), Smurfing)
	cfg := only(Smurfing)
	cfg.Smurfing.Window = 72 * time.Hour
	fs := scan(t, cfg, ts)
	got := map[string]Finding{}
	for _, f := range findingsOf(fs, Smurfing) {
		if _, dup := got[f.Subject]; dup {
			t.Errorf("%s reported twice", f.Subject)
		}
		got[f.Subject] = f
	}
	for _, s := range []string{"c", "d", "k"} {
		f, ok := got[s]
		if !ok {
			t.Errorf("smurf %s not found: %v", s, fs)
			continue
		}
		hasAll(t, f, "a", "b")
	}
	if len(got) != 3 {
		t.Errorf("%d smurfs, want 3: %v", len(got), fs)
	}
	if f := got["c"]; f.Amount.String() != "300" || !strings.Contains(f.Explanation, "split into 3 pieces") || len(f.Txs) != 4 ||
		f.Txs[0] != ts[0].Tx || !slices.Contains(f.Txs, split[0].Tx) {
		t.Errorf("finding %+v", f)
	}
	// Without a split, like amounts alone are nothing.
	none(t, scan(t, cfg, append(ts[:len(ts)-3:len(ts)-3], split[:2]...)), Smurfing)
	// A service party is busy by nature.
	labels := LabelMap{{Chain: chain.Ethereum, Value: "b"}: "exchange", {Chain: chain.Ethereum, Value: "a"}: "exchange"}
	none(t, scan(t, cfg, ts, WithLabeler(labels)), Smurfing)
}
