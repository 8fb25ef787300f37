package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tracehound/tracehound/alert"
	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/audit"
	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/chaintest"
	"github.com/tracehound/tracehound/ingest"
	"github.com/tracehound/tracehound/screen"
	"github.com/tracehound/tracehound/sim"
	"github.com/tracehound/tracehound/tags"
	"github.com/tracehound/tracehound/trace"
)

// The Ronin bridge thief's address, on OFAC's list since April 2022.
const lazarus = "0x098b716b8aaf21512996dc57eb0615e2383e2f96"

// clock is a test's clock, moved by hand.
type clock struct{ ns atomic.Int64 }

func (c *clock) now() time.Time      { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) add(d time.Duration) { c.ns.Add(int64(d)) }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.ns.Store(t.UnixNano())
	return c
}

// hexTx is the hash of transaction i of chaintest.PayBlock(h, ...).
func hexTx(h, i int) string { return fmt.Sprintf("0x%060x%04x", h, i) }

// scamTag attributes an Ethereum address to a scam.
func scamTag(a string) tags.Tag {
	return tags.Tag{Address: chain.Address{Chain: chain.Ethereum, Network: chain.Mainnet, Kind: "account", Value: a},
		Entity: "Pig butchering ring", Category: tags.Scam, Source: "test", Confidence: 50}
}

// monitorNode opens a node whose screening holds OFAC's list of May 2024
// and whose graph holds two Ethereum blocks: c1 pays the exchange's
// deposit address e0 1,000 wei, then the Lazarus address pays it 500.
func monitorNode(t *testing.T) (*Node, *clock) {
	t.Helper()
	sdn := chaintest.SharedData(t, "ofac", "sdn-2024-05-03.csv")
	ctx := context.Background()
	c := newClock(time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC))
	n, err := Open(ctx, Config{DataDir: t.TempDir(), Now: c.now})
	must(t, err)
	t.Cleanup(func() { n.Close() })
	_, err = n.ImportSanctions(ctx, SanctionsImport{Path: sdn})
	must(t, err)
	g := n.db.Graph()
	must(t, g.WriteBlocks(ctx, chain.Ethereum, "test", []*chain.Block{chaintest.PayBlock(1, [3]string{"c1", "e0", "1000"})}))
	must(t, g.WriteBlocks(ctx, chain.Ethereum, "test", []*chain.Block{chaintest.PayBlock(2, [3]string{lazarus[2:], "e0", "500"})}))
	return n, c
}

func deposit(id, from, tx, amount string) api.TransferRequest {
	return api.TransferRequest{ID: id, Customer: "C-" + id, Chain: "eth", Tx: tx, Counterparty: from, Amount: amount, Direction: "deposit"}
}

// TestRegisterTransfer registers deposits: a clean one accepted and
// checked against the chain, a sanctioned one blocked with an alert, one
// whose amount or counterparty disagrees with the chain and one for a
// transaction the graph does not hold (kept and flagged), repeats
// (idempotent) and conflicting reuses of an id (refused), and requests
// that do not read.
func TestRegisterTransfer(t *testing.T) {
	n, _ := monitorNode(t)
	ctx := AsActor(context.Background(), "exchange")
	c1 := chaintest.EthAddr("c1")

	t1, created, err := n.RegisterTransfer(ctx, deposit("T-1", strings.ToUpper(c1[:2])+c1[2:], hexTx(1, 0), "1000"))
	must(t, err)
	if !created || t1.Decision.Action != alert.Accept || t1.Decision.Risk != screen.Low || t1.Check.Status != alert.CheckAgrees ||
		t1.Check.Block != 1 || len(t1.Flags) != 0 || len(t1.Alerts) != 0 || t1.Counterparty != c1 || t1.RegisteredBy != "exchange" {
		t.Fatalf("clean deposit: %+v", t1)
	}
	again, created, err := n.RegisterTransfer(ctx, deposit("T-1", c1, hexTx(1, 0)[2:], "1000"))
	if err != nil || created || !again.Decision.Evaluated.Equal(t1.Decision.Evaluated) {
		t.Errorf("repeat: %v %v %+v", created, err, again)
	}
	var ce *api.ConflictError
	if _, _, err := n.RegisterTransfer(ctx, deposit("T-1", c1, hexTx(1, 0), "999")); !errors.As(err, &ce) || !errors.Is(err, alert.ErrConflict) {
		t.Errorf("same id, other amount: %v", err)
	}

	t2, _, err := n.RegisterTransfer(ctx, deposit("T-2", lazarus, hexTx(2, 0), "500"))
	must(t, err)
	if t2.Decision.Action != alert.Block || t2.Decision.Risk != screen.Severe || !t2.Decision.Screening.Sanctioned || len(t2.Alerts) != 1 ||
		t2.Check.Status != alert.CheckAgrees || t2.Decision.Reasons[0].Code != "sanctioned" {
		t.Fatalf("sanctioned deposit: %+v", t2)
	}
	al, ok, err := n.Alert(ctx, t2.Alerts[0])
	if err != nil || !ok || al.Kind != alert.KindTransfer || al.Severity != alert.Severe || al.Links.Transfers[0] != "T-2" ||
		al.Addresses[0] != lazarus || al.Amounts[0].Value.String() != "500" || !strings.Contains(al.Explanation, "screened severe") {
		t.Errorf("its alert: %+v %v %v", al, ok, err)
	}

	t3, _, err := n.RegisterTransfer(ctx, deposit("T-3", c1, hexTx(1, 0), "900"))
	must(t, err)
	if t3.Check.Status != alert.CheckDisagrees || !slices.Equal(t3.Flags, []string{alert.FlagAmount}) || t3.Decision.Action != alert.Review ||
		!strings.Contains(t3.Check.Mismatches[0], "registered 900 base units; the chain's transfer moved 1000") {
		t.Errorf("amount that disagrees: %+v", t3)
	}
	w := api.TransferRequest{ID: "T-5", Customer: "C-5", Chain: "ethereum", Tx: hexTx(1, 0), Counterparty: c1, Amount: "1000", Direction: "withdrawal"}
	t5, _, err := n.RegisterTransfer(ctx, w)
	must(t, err)
	if t5.Check.Status != alert.CheckDisagrees || !slices.Equal(t5.Flags, []string{alert.FlagCounterparty}) {
		t.Errorf("withdrawal to another address: %+v", t5.Check)
	}

	t4, _, err := n.RegisterTransfer(ctx, deposit("T-4", c1, hexTx(3, 0), "700"))
	must(t, err)
	if t4.Check.Status != alert.CheckUnknownTx || !slices.Equal(t4.Flags, []string{alert.FlagUnknownTx}) || t4.Decision.Action != alert.Review {
		t.Errorf("unknown transaction: %+v", t4)
	}
	if got, ok, err := n.Transfer(ctx, "T-4"); err != nil || !ok || got.Check.Status != alert.CheckUnknownTx {
		t.Errorf("kept: %+v %v %v", got, ok, err)
	}
	// The transaction arrives through an ingest: checked again.
	_, err = n.Ingest(ctx, Ingest{Chain: chain.Ethereum, Stream: &blockList{blocks: []*chain.Block{chaintest.PayBlock(3, [3]string{"c1", "e0", "700"})}}, Watch: true})
	must(t, err)
	if got, _, _ := n.Transfer(ctx, "T-4"); got.Check.Status != alert.CheckAgrees || len(got.Flags) != 0 || got.Check.Block != 3 {
		t.Errorf("after the ingest: %+v", got.Check)
	}

	var ie *api.InputError
	for _, r := range []api.TransferRequest{
		deposit("", c1, hexTx(1, 0), "1"),
		deposit("a b", c1, hexTx(1, 0), "1"),
		deposit("x/y", c1, hexTx(1, 0), "1"),
		{ID: "X", Customer: "C", Chain: "dogecoin-classic", Tx: hexTx(1, 0), Counterparty: c1, Amount: "1", Direction: "deposit"},
		deposit("X", "0x098B716B8Aaf21512996dC57EB0615e2383E2f97", hexTx(1, 0), "1"),
		deposit("X", c1, "0x1234", "1"),
		deposit("X", c1, hexTx(1, 0), "0"),
		deposit("X", c1, hexTx(1, 0), "1.5"),
		deposit("X", c1, hexTx(1, 0), "-1"),
		{ID: "X", Customer: "C", Chain: "eth", Tx: hexTx(1, 0), Counterparty: c1, Amount: "1", Direction: "sideways"},
		{ID: "X", Chain: "eth", Tx: hexTx(1, 0), Counterparty: c1, Amount: "1", Direction: "deposit"},
		{ID: "X", Customer: "C", Chain: "btc", Tx: strings.Repeat("ab", 32), Counterparty: "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", Amount: "1", Direction: "deposit"},
		{ID: "X", Customer: "C", Chain: "eth", Tx: hexTx(1, 0), Counterparty: c1, Amount: "1", Direction: "deposit", Time: "yesterday"},
		{ID: "X", Customer: "C", Chain: "eth", Tx: hexTx(1, 0), Counterparty: c1, Amount: "1", Direction: "deposit", Asset: "not-a-contract"},
	} {
		if _, _, err := n.RegisterTransfer(ctx, r); !errors.As(err, &ie) {
			t.Errorf("%+v: %v", r, err)
		}
	}
	if _, ok, _ := n.Transfer(ctx, "X"); ok {
		t.Error("a refused registration was kept")
	}
	var trail []string
	must(t, n.db.AuditEntries(ctx, 1, func(e audit.Entry) error {
		trail = append(trail, e.Actor+" "+e.Action+" "+e.Target)
		return nil
	}))
	for _, want := range []string{"exchange transfer.register T-1", "exchange alert.raise " + t2.Alerts[0], "exchange transfer.register T-2"} {
		if !slices.Contains(trail, want) {
			t.Errorf("audit lacks %q", want)
		}
	}
	if c := strings.Count(strings.Join(trail, "\n"), "transfer.register"); c != 5 {
		t.Errorf("%d registrations audited, want 5", c)
	}
}

// blockList is a stream of given blocks.
type blockList struct {
	blocks []*chain.Block
	next   int
}

func (*blockList) Chain() chain.Chain { return chain.Ethereum }
func (*blockList) ID() string         { return "test" }
func (b *blockList) Next(context.Context) (*chain.Block, error) {
	if b.next == len(b.blocks) {
		return nil, io.EOF
	}
	b.next++
	return b.blocks[b.next-1], nil
}

// TestRetroactive: a tag import and a partner's flag make registered
// deposits risky after the fact; each raises one retroactive alert that
// names the transfers, once, and the transfers show it.
func TestRetroactive(t *testing.T) {
	n, clk := monitorNode(t)
	ctx := AsActor(context.Background(), "exchange")
	c1 := chaintest.EthAddr("c1")
	for _, id := range []string{"T-1", "T-2"} {
		_, _, err := n.RegisterTransfer(ctx, deposit(id, c1, hexTx(1, 0), "1000"))
		must(t, err)
	}
	clean, _, err := n.RegisterTransfer(ctx, deposit("T-9", chaintest.EthAddr("c9"), hexTx(1, 0), "1000"))
	must(t, err)
	clk.add(time.Hour)
	retro := func() []alert.Alert {
		as, err := n.ListAlerts(ctx, alert.Query{Kinds: []alert.Kind{alert.KindRetroactive}})
		must(t, err)
		return as
	}
	if r := retro(); len(r) != 0 {
		t.Fatalf("retroactive alerts before anything changed: %+v", r)
	}
	// A tag pack names c1 a scam: high.
	pack := filepath.Join(t.TempDir(), "scams.yaml")
	must(t, os.WriteFile(pack, []byte("title: Scams\ncreator: test\nlastmod: 2025-01-01\nconfidence: service_data\ncurrency: ETH\ntags:\n- address: "+c1+"\n  label: Pig butchering ring\n  category: scam\n"), 0o644))
	_, err = n.ImportTagsPath(ctx, pack)
	must(t, err)
	r := retro()
	if len(r) != 1 || r[0].Severity != alert.High || !slices.Equal(r[0].Links.Transfers, []string{"T-1", "T-2"}) || r[0].Addresses[0] != c1 ||
		r[0].Amounts[0].Value.String() != "2000" || !strings.Contains(r[0].Explanation, "now screens high (was low)") || !strings.Contains(r[0].Explanation, "Pig butchering ring") {
		t.Fatalf("after the tag import: %+v", r)
	}
	got, _, _ := n.Transfer(ctx, "T-1")
	if got.Current == nil || got.Current.Action != alert.Review || got.Current.Risk != screen.High || got.Decision.Action != alert.Accept || !slices.Contains(got.Alerts, r[0].ID) {
		t.Errorf("T-1 after: decision %+v current %+v alerts %v", got.Decision.Action, got.Current, got.Alerts)
	}
	if got, _, _ := n.Transfer(ctx, "T-9"); got.Current != nil || len(got.Alerts) != 0 || got.Decision.Evaluated != clean.Decision.Evaluated {
		t.Errorf("an untouched transfer changed: %+v", got)
	}
	// The same import again teaches nothing new.
	_, err = n.ImportTagsPath(ctx, pack)
	must(t, err)
	if r := retro(); len(r) != 1 {
		t.Errorf("a repeated import raised again: %d", len(r))
	}
	// A registration after the fact carries the fact itself: its own
	// transfer alert, no retroactive one.
	t3, _, err := n.RegisterTransfer(ctx, deposit("T-3", c1, hexTx(1, 0), "1000"))
	must(t, err)
	if t3.Decision.Risk != screen.High || len(t3.Alerts) != 1 {
		t.Errorf("T-3: %+v", t3.Decision)
	}
	// A partner flags c9: its deposit becomes risky.
	n.index.SetIntel([]screen.IntelEntry{{Address: chain.Address{Chain: chain.Ethereum, Value: chaintest.EthAddr("c9")},
		Flag: screen.IntelFlag{Partner: "us-agency", Report: "Bybit theft", Indicator: "indicator--1", Marking: "TLP:AMBER", Category: "intel", Risk: screen.High}}})
	n.screeningChanged(ctx)
	r = retro()
	if len(r) != 2 || !slices.Equal(r[1].Links.Transfers, []string{"T-9"}) || !strings.Contains(r[1].Explanation, "flagged by us-agency in report Bybit theft") {
		t.Fatalf("after the partner's flag: %+v", r)
	}
	// The flag is revoked, then comes back: the same fact, no new alert.
	n.index.SetIntel(nil)
	n.screeningChanged(ctx)
	if got, _, _ := n.Transfer(ctx, "T-9"); got.Current == nil {
		t.Error("the revocation lost the re-evaluation")
	}
	if r := retro(); len(r) != 2 {
		t.Errorf("a revocation raised: %d", len(r))
	}
}

// TestRegisteredIndexReload: the index of registered counterparties and
// their verdicts survive a restart, so that a change made while the node
// was down is found by the first re-evaluation.
func TestRegisteredIndexReload(t *testing.T) {
	sdn := chaintest.SharedData(t, "ofac", "sdn-2024-05-03.csv")
	ctx := context.Background()
	dir := t.TempDir()
	n, err := Open(ctx, Config{DataDir: dir})
	must(t, err)
	_, err = n.ImportSanctions(ctx, SanctionsImport{Path: sdn})
	must(t, err)
	c1 := chaintest.EthAddr("c1")
	_, _, err = n.RegisterTransfer(ctx, deposit("T-1", c1, hexTx(1, 0), "1000"))
	must(t, err)
	// While no re-evaluation runs (a store written by another process),
	// c1 is tagged.
	must(t, n.db.ReplacePack(ctx, "scams", []tags.Tag{scamTag(c1)}))
	must(t, n.Close())
	n, err = Open(ctx, Config{DataDir: dir})
	must(t, err)
	defer n.Close()
	if c, err := n.RegisteredAddresses(ctx); err != nil || c != 1 {
		t.Fatalf("registered addresses after reopening: %d %v", c, err)
	}
	_, err = n.Index(ctx)
	must(t, err)
	c, err := n.reevaluate(ctx)
	if err != nil || c != 1 {
		t.Fatalf("re-evaluation after reopening: %d %v", c, err)
	}
	if c, _ := n.reevaluate(ctx); c != 0 {
		t.Errorf("a second re-evaluation raised %d", c)
	}
}

// TestDetectOnIngest ingests a simulated theft and its laundering with
// the services tagged: the typology rules run on every block and their
// findings land in the inbox as alerts of kind rule, with the subject's
// learned score; the thief, registered as a customer's counterparty
// before, gets a retroactive alert naming the transfer. The on-demand
// scan of the stored graph finds the same patterns.
func TestDetectOnIngest(t *testing.T) {
	ctx := AsActor(context.Background(), "exchange")
	cfg := sim.DefaultConfig()
	cfg.Background, cfg.Addresses, cfg.DepositAddresses, cfg.TxsPerBlock = 15_000, 2_000, 200, 150
	sc, err := sim.Generate(cfg)
	must(t, err)
	n, err := Open(ctx, Config{DataDir: t.TempDir()})
	must(t, err)
	defer n.Close()
	must(t, n.db.ReplacePack(ctx, "sim", sc.Truth.Tags()))
	_, err = n.Index(ctx)
	must(t, err)
	must(t, n.reloadTags(ctx))
	thief := sc.Truth.Thief
	reg, _, err := n.RegisterTransfer(ctx, deposit("T-thief", thief, fmt.Sprintf("0x%064x", 0xdead), "1"))
	must(t, err)
	if reg.Check.Status != alert.CheckNotIngested {
		t.Errorf("before any Ethereum block: %s", reg.Check.Status)
	}
	_, err = n.Ingest(ctx, Ingest{Chain: chain.Ethereum, Stream: sc.Source(), Options: ingest.Options{From: cfg.StartHeight}, Watch: true})
	must(t, err)

	rulesRaised, err := n.ListAlerts(ctx, alert.Query{Kinds: []alert.Kind{alert.KindRule}})
	must(t, err)
	if len(rulesRaised) == 0 {
		t.Fatal("no rule alerts")
	}
	var fanOut *alert.Alert
	typologies := map[string]int{}
	for i, a := range rulesRaised {
		typologies[a.Typology]++
		if a.Typology == "" || len(a.Addresses) == 0 || len(a.Txs) == 0 || a.Score <= 0 || a.Explanation == "" || a.Links.Finding == nil || len(a.Amounts) != 1 {
			t.Errorf("incomplete rule alert: %+v", a)
		}
		if a.Model == nil || a.Model.Address != a.Addresses[0] {
			t.Errorf("rule alert %s without its subject's score", a.ID)
		}
		if a.Typology == "fan-out" && a.Addresses[0] == thief {
			fanOut = &rulesRaised[i]
		}
	}
	t.Logf("%d rule alerts: %v", len(rulesRaised), typologies)
	if fanOut == nil {
		t.Fatal("the thief's split raised no fan-out alert")
	}
	retro, err := n.ListAlerts(ctx, alert.Query{Kinds: []alert.Kind{alert.KindRetroactive}})
	must(t, err)
	found := false
	for _, r := range retro {
		if slices.Contains(r.Links.Alerts, fanOut.ID) && slices.Equal(r.Links.Transfers, []string{"T-thief"}) {
			found = true
		}
	}
	if !found {
		t.Errorf("no retroactive alert for the registered thief among %d", len(retro))
	}
	if got, _, _ := n.Transfer(ctx, "T-thief"); !slices.Contains(got.Alerts, fanOut.ID) && len(got.Alerts) == 0 {
		t.Errorf("the transfer does not name its retroactive alert: %v", got.Alerts)
	}

	// The same rules over the stored graph find the same patterns.
	scanned, err := n.Detect(ctx, DetectRun{Chain: chain.Ethereum})
	must(t, err)
	keys := func(as []alert.Alert) []string {
		var out []string
		for _, a := range as {
			out = append(out, a.ID)
		}
		slices.Sort(out)
		return out
	}
	if a, b := keys(rulesRaised), keys(scanned); !slices.Equal(a, b) {
		t.Errorf("ingest raised %d, the scan found %d", len(a), len(b))
	}
	// A window: only findings completed in it.
	late, err := n.Detect(ctx, DetectRun{Chain: chain.Ethereum, Since: fanOut.Links.Finding.End.Add(time.Hour)})
	must(t, err)
	for _, a := range late {
		if a.Links.Finding.End.Before(fanOut.Links.Finding.End) {
			t.Errorf("a finding before the window: %+v", a.Links.Finding)
		}
	}
	if _, err := n.Detect(ctx, DetectRun{Chain: "doge"}); err == nil {
		t.Error("scanned a chain the graph does not hold")
	}
}

// TestReviewRisk: a node configured to review from medium raises a
// transfer alert for a deposit from a gambling site, which the default
// (high) lets through.
func TestReviewRisk(t *testing.T) {
	sdn := chaintest.SharedData(t, "ofac", "sdn-2024-05-03.csv")
	ctx := context.Background()
	c1 := chaintest.EthAddr("c1")
	for _, c := range []struct {
		review screen.Risk
		action alert.Action
		alerts int
	}{{0, alert.Accept, 0}, {screen.Medium, alert.Review, 1}} {
		n, err := Open(ctx, Config{DataDir: t.TempDir(), ReviewRisk: c.review})
		must(t, err)
		_, err = n.ImportSanctions(ctx, SanctionsImport{Path: sdn})
		must(t, err)
		tg := scamTag(c1)
		tg.Entity, tg.Category = "Casino", tags.Gambling
		must(t, n.db.ReplacePack(ctx, "casinos", []tags.Tag{tg}))
		must(t, n.reloadTags(ctx))
		tr, _, err := n.RegisterTransfer(ctx, deposit("T-1", c1, hexTx(1, 0), "1000"))
		must(t, err)
		if tr.Decision.Risk != screen.Medium || tr.Decision.Action != c.action || len(tr.Alerts) != c.alerts {
			t.Errorf("review from %v: %+v, alerts %v", c.review, tr.Decision.Action, tr.Alerts)
		}
		if c.alerts > 0 {
			if a, _, _ := n.Alert(ctx, tr.Alerts[0]); a.Severity != alert.Medium {
				t.Errorf("severity %v", a.Severity)
			}
		}
		n.Close()
	}
}

// TestWatchAlertsInInbox: a watch's alerts reach the inbox as alerts of
// kind watch carrying the watch's fields, once, under the watch's name.
func TestWatchAlertsInInbox(t *testing.T) {
	ctx := AsActor(context.Background(), "analyst")
	n, err := Open(ctx, Config{DataDir: t.TempDir()})
	must(t, err)
	defer n.Close()
	g := n.db.Graph()
	must(t, g.WriteBlocks(ctx, chain.Ethereum, "test", []*chain.Block{chaintest.PayBlock(1, [3]string{"1", "7", "1000"})}))
	must(t, g.WriteBlocks(ctx, chain.Ethereum, "test", []*chain.Block{chaintest.PayBlock(2, [3]string{"7", "e", "600"})}))
	ex := scamTag(chaintest.EthAddr("e"))
	ex.Entity, ex.Category = "Exchange One", tags.Exchange
	must(t, n.db.ReplacePack(ctx, "exchanges", []tags.Tag{ex}))
	_, err = n.Index(ctx)
	must(t, err)
	must(t, n.reloadTags(ctx))
	req, err := n.ReadTrace(trace.Spec{Chain: "eth", Seeds: []string{chaintest.EthAddr("7")}})
	must(t, err)
	if _, _, err := n.AddWatch(ctx, "bybit", req, nil); err != nil {
		t.Fatal(err)
	}
	must(t, g.WriteBlocks(ctx, chain.Ethereum, "test", []*chain.Block{chaintest.PayBlock(3, [3]string{"7", "e", "300"})}))
	n.refreshGraph() // written behind the trace cache's back
	events, err := n.Events(ctx)
	must(t, err)
	for range 2 {
		if _, err := n.CheckWatches(ctx, chain.Ethereum); err != nil {
			t.Fatal(err)
		}
	}
	as, err := n.ListAlerts(ctx, alert.Query{Kinds: []alert.Kind{alert.KindWatch}, Watch: "bybit"})
	must(t, err)
	if len(as) != 1 || as[0].WatchAlert == nil || as[0].WatchAlert.Amount.String() != "900" || as[0].Addresses[0] != chaintest.EthAddr("e") ||
		as[0].Severity != alert.High || as[0].Links.Watch != "bybit" || as[0].Amounts[0].Value.String() != "900" {
		t.Fatalf("inbox: %+v", as)
	}
	var got []string
	for len(events) > 0 {
		got = append(got, (<-events).Type)
	}
	if !slices.Equal(got, []string{api.EventWatch, api.EventAlert}) {
		t.Errorf("events %v", got)
	}
	var trail []string
	must(t, n.db.AuditEntries(ctx, 1, func(e audit.Entry) error {
		trail = append(trail, e.Actor+" "+e.Action)
		return nil
	}))
	if !slices.Contains(trail, "watch:bybit alert.raise") {
		t.Errorf("audit: %q", trail)
	}
}
