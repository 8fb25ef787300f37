package watch_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/audit"
	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/chaintest"
	"github.com/tracehound/tracehound/intel"
	"github.com/tracehound/tracehound/store/pebble"
	"github.com/tracehound/tracehound/trace"
	"github.com/tracehound/tracehound/watch"
)

type labels map[string]trace.Label

func (l labels) Label(_ context.Context, _ chain.Chain, a string) (trace.Label, bool, error) {
	lb, ok := l[a]
	return lb, ok, nil
}

func auditActions(t *testing.T, db *pebble.DB) []string {
	t.Helper()
	var out []string
	if err := db.AuditEntries(context.Background(), 1, func(e audit.Entry) error {
		out = append(out, e.Actor+" "+e.Action+" "+e.Target)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// newStore opens a store for one test, and a function that writes an
// Ethereum block into it.
func newStore(t *testing.T) (*pebble.DB, func(*chain.Block)) {
	t.Helper()
	ctx := context.Background()
	db, err := pebble.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	write := func(b *chain.Block) {
		t.Helper()
		if err := db.Graph().WriteBlocks(ctx, chain.Ethereum, "test", []*chain.Block{b}); err != nil {
			t.Fatal(err)
		}
	}
	return db, write
}

// TestServiceLifecycle: a watch's baseline is not an alert; new funds at
// the exchange and at a mixer are, once, stored and audited; deleting
// the watch is audited, and no later check brings it back.
func TestServiceLifecycle(t *testing.T) {
	ctx := context.Background()
	db, write := newStore(t)
	lb := labels{chaintest.EthAddr("e"): {Entity: "Exchange One", Category: "exchange"}, chaintest.EthAddr("f"): {Entity: "Mixer", Category: "mixer"}}
	write(chaintest.PayBlock(1, [3]string{"1", "7", "1000"}))
	write(chaintest.PayBlock(2, [3]string{"7", "e", "600"}))
	svc := watch.NewService(db, audit.New(db), nil)
	t0 := time.Date(2025, 2, 21, 14, 0, 0, 0, time.UTC)
	newWatch := func() *watch.Watch {
		return &watch.Watch{Name: "bybit", Chain: chain.Ethereum, Seeds: []trace.Seed{{Address: chaintest.EthAddr("7")}}, Model: trace.Haircut, Hops: 6}
	}
	w := newWatch()
	found, err := svc.Add(ctx, "alice", w, db.Graph(), lb, t0)
	if err != nil || len(found) != 1 || found[0].Address != chaintest.EthAddr("e") || w.Endpoints[chaintest.EthAddr("e")].String() != "600" || w.Labels[chaintest.EthAddr("e")].Entity != "Exchange One" {
		t.Fatalf("add: %v %+v %+v", err, found, w)
	}
	if _, err := svc.Add(ctx, "bob", newWatch(), db.Graph(), lb, t0); !errors.Is(err, watch.ErrExists) {
		t.Fatalf("second add of the same name: %v", err)
	}
	if al, err := svc.Alerts(ctx, watch.AlertQuery{}); err != nil || len(al) != 0 {
		t.Fatalf("the baseline was stored as alerts: %v %+v", err, al)
	}

	write(chaintest.PayBlock(3, [3]string{"7", "e", "300"}, [3]string{"7", "f", "100"}))
	t1 := t0.Add(time.Minute)
	alerts, err := svc.CheckAll(ctx, db.Graph(), func(*watch.Watch) trace.Labeler { return lb }, chain.Ethereum, t1)
	if err != nil || len(alerts) != 2 || alerts[0].Address != chaintest.EthAddr("e") || alerts[0].Amount.String() != "900" || alerts[0].Previous.String() != "600" ||
		alerts[1].Address != chaintest.EthAddr("f") || !alerts[1].Raised.Equal(t1) {
		t.Fatalf("check: %v %+v", err, alerts)
	}
	if again, err := svc.CheckAll(ctx, db.Graph(), func(*watch.Watch) trace.Labeler { return lb }, chain.Ethereum, t1.Add(time.Minute)); err != nil || len(again) != 0 {
		t.Fatalf("nothing new raised %+v %v", again, err)
	}
	for _, c := range []struct {
		q    watch.AlertQuery
		want int
	}{
		{watch.AlertQuery{}, 2},
		{watch.AlertQuery{Since: t0}, 2},
		{watch.AlertQuery{Since: t1}, 0},
		{watch.AlertQuery{Limit: 1}, 2}, // raised together: not split
		{watch.AlertQuery{Watch: "other"}, 0},
	} {
		got, err := svc.Alerts(ctx, c.q)
		if err != nil || len(got) != c.want {
			t.Errorf("alerts %+v: %d, %v; want %d", c.q, len(got), err, c.want)
		}
	}
	if _, al, ok, err := svc.Watch(ctx, "bybit"); err != nil || !ok || len(al) != 2 {
		t.Errorf("watch: %v %v %d alerts", err, ok, len(al))
	}

	if ok, err := svc.Delete(ctx, "alice", "bybit"); err != nil || !ok {
		t.Fatalf("delete: %v %v", ok, err)
	}
	if ok, err := svc.Delete(ctx, "alice", "bybit"); err != nil || ok {
		t.Fatalf("deleted twice: %v %v", ok, err)
	}
	write(chaintest.PayBlock(4, [3]string{"7", "e", "1"}))
	if al, err := svc.CheckAll(ctx, db.Graph(), func(*watch.Watch) trace.Labeler { return lb }, chain.Ethereum, t1.Add(2*time.Minute)); err != nil || len(al) != 0 {
		t.Fatalf("a deleted watch alerted: %+v %v", al, err)
	}
	if ws, err := svc.Watches(ctx); err != nil || len(ws) != 0 {
		t.Fatalf("a deleted watch came back: %+v %v", ws, err)
	}
	// A new watch of the old name starts without the old one's alerts.
	if _, err := svc.Add(ctx, "bob", newWatch(), db.Graph(), lb, t1.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, al, _, err := svc.Watch(ctx, "bybit"); err != nil || len(al) != 0 {
		t.Errorf("the new watch shows %d old alerts (%v)", len(al), err)
	}

	want := []string{"alice watch.create bybit", "watch:bybit watch.alert " + chaintest.EthAddr("e"), "watch:bybit watch.alert " + chaintest.EthAddr("f"), "alice watch.delete bybit", "bob watch.create bybit"}
	got := auditActions(t, db)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("audit:\n got %q\nwant %q", got, want)
	}
	if _, err := audit.Verify(ctx, db); err != nil {
		t.Error(err)
	}
}

// publisher records what a shared watch publishes; fail makes it fail.
type publisher struct {
	got  []watch.Alert
	fail error
}

func (p *publisher) PublishAlert(_ context.Context, w watch.Watch, al watch.Alert) (watch.Shared, error) {
	if p.fail != nil {
		return watch.Shared{}, p.fail
	}
	p.got = append(p.got, al)
	return watch.Shared{Collection: w.Share.Collection, TLP: w.Share.TLP, Indicator: "indicator--" + al.Address, Report: "report--" + al.Address}, nil
}

// TestServiceShare: a shared watch publishes the deposit addresses the
// funds reach, not the services' tagged wallets; each share is audited
// and recorded on its alert; a failed share is audited and keeps the
// alert; a share at TLP:RED is refused when the watch is saved.
func TestServiceShare(t *testing.T) {
	ctx := context.Background()
	db, write := newStore(t)
	lb := labels{chaintest.EthAddr("d1"): {Entity: "Exchange One", Category: "exchange", Heuristic: "deposit-address"},
		chaintest.EthAddr("d2"): {Entity: "Exchange One", Category: "exchange", Heuristic: "deposit-address"}, chaintest.EthAddr("f"): {Entity: "Mixer", Category: "mixer"}}
	byWatch := func(*watch.Watch) trace.Labeler { return lb }
	write(chaintest.PayBlock(1, [3]string{"1", "7", "1000"}))
	pub := &publisher{}
	svc := watch.NewService(db, audit.New(db), pub)
	t0 := time.Date(2025, 2, 21, 14, 0, 0, 0, time.UTC)
	newWatch := func(name string, tlp intel.TLP) *watch.Watch {
		return &watch.Watch{Name: name, Chain: chain.Ethereum, Seeds: []trace.Seed{{Address: chaintest.EthAddr("7")}}, Model: trace.Haircut, Hops: 6,
			Share: &watch.Share{Collection: "alerts", TLP: tlp}}
	}
	if _, err := svc.Add(ctx, "alice", newWatch("red", intel.TLPRed), db.Graph(), lb, t0); !errors.Is(err, watch.ErrShareRed) {
		t.Fatalf("a RED share was saved: %v", err)
	}
	if _, err := svc.Add(ctx, "alice", newWatch("bybit", intel.TLPAmber), db.Graph(), lb, t0); err != nil {
		t.Fatal(err)
	}

	write(chaintest.PayBlock(2, [3]string{"7", "d1", "600"}, [3]string{"7", "f", "100"}))
	alerts, err := svc.CheckAll(ctx, db.Graph(), byWatch, chain.Ethereum, t0.Add(time.Minute))
	if err != nil || len(alerts) != 2 {
		t.Fatalf("check: %v %+v", err, alerts)
	}
	if len(pub.got) != 1 || pub.got[0].Address != chaintest.EthAddr("d1") {
		t.Fatalf("published %+v; want the deposit address only", pub.got)
	}
	stored, err := svc.Alerts(ctx, watch.AlertQuery{})
	if err != nil || len(stored) != 2 {
		t.Fatalf("alerts: %v %+v", err, stored)
	}
	for _, al := range stored {
		if shared := al.Shared != nil && al.Shared.Indicator == "indicator--"+chaintest.EthAddr("d1"); shared != (al.Address == chaintest.EthAddr("d1")) {
			t.Errorf("alert at %s shared as %+v", al.Address, al.Shared)
		}
	}

	// The publisher fails: the alert is stored all the same, and the
	// failure is in the audit log and the error.
	pub.fail = errors.New("store full")
	write(chaintest.PayBlock(3, [3]string{"7", "d2", "300"}))
	alerts, err = svc.CheckAll(ctx, db.Graph(), byWatch, chain.Ethereum, t0.Add(2*time.Minute))
	if err == nil || !strings.Contains(err.Error(), "store full") || len(alerts) != 1 || alerts[0].Shared != nil {
		t.Fatalf("failed share: %v %+v", err, alerts)
	}
	if stored, _ := svc.Alerts(ctx, watch.AlertQuery{Since: t0.Add(time.Minute)}); len(stored) != 1 || stored[0].Address != chaintest.EthAddr("d2") {
		t.Errorf("the alert whose share failed was not stored: %+v", stored)
	}
	want := []string{"alice watch.create bybit", "watch:bybit watch.alert " + chaintest.EthAddr("d1"), "watch:bybit watch.alert " + chaintest.EthAddr("f"),
		"watch:bybit watch.share " + chaintest.EthAddr("d1"), "watch:bybit watch.alert " + chaintest.EthAddr("d2"), "watch:bybit watch.share.failed " + chaintest.EthAddr("d2")}
	if got := auditActions(t, db); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("audit:\n got %q\nwant %q", got, want)
	}
}

// TestPruneAlertsMovingClock: as the clock moves hour by hour and every
// check raises an alert per watch, pruning by age keeps the alerts of the
// last hours only, pruning by count keeps each watch's newest, and each
// prune that deletes is audited.
func TestPruneAlertsMovingClock(t *testing.T) {
	ctx := context.Background()
	db, write := newStore(t)
	lb := labels{chaintest.EthAddr("e"): {Entity: "Exchange One", Category: "exchange"}}
	byWatch := func(*watch.Watch) trace.Labeler { return lb }
	svc := watch.NewService(db, audit.New(db), nil)
	write(chaintest.PayBlock(1, [3]string{"1", "7", "1000"}))
	t0 := time.Date(2025, 2, 21, 14, 0, 0, 0, time.UTC)
	// "a" is a prefix of "ab": the watch is told by the whole name.
	for _, name := range []string{"a", "ab"} {
		if _, err := svc.Add(ctx, "alice", &watch.Watch{Name: name, Chain: chain.Ethereum, Seeds: []trace.Seed{{Address: chaintest.EthAddr("7")}}, Model: trace.Haircut, Hops: 6}, db.Graph(), lb, t0); err != nil {
			t.Fatal(err)
		}
	}
	count := func(name string) int {
		t.Helper()
		al, err := svc.Alerts(ctx, watch.AlertQuery{Watch: name})
		if err != nil {
			t.Fatal(err)
		}
		return len(al)
	}
	byAge := watch.Retention{MaxAge: 150 * time.Minute}
	for i := 1; i <= 5; i++ {
		now := t0.Add(time.Duration(i) * time.Hour)
		write(chaintest.PayBlock(1+i, [3]string{"7", "e", "10"}))
		if al, err := svc.CheckAll(ctx, db.Graph(), byWatch, chain.Ethereum, now); err != nil || len(al) != 2 {
			t.Fatalf("hour %d: check %v %d alerts", i, err, len(al))
		}
		n, err := svc.PruneAlerts(ctx, byAge, now)
		if want := 2 * min(max(i-3, 0), 1); err != nil || n != want {
			t.Errorf("hour %d: pruned %d, %v; want %d", i, n, err, want)
		}
		if want := min(i, 3); count("a") != want || count("ab") != want {
			t.Errorf("hour %d: %d and %d alerts kept; want %d each", i, count("a"), count("ab"), want)
		}
	}
	now := t0.Add(5 * time.Hour)
	if n, err := svc.PruneAlerts(ctx, watch.Retention{}, now.Add(1000*time.Hour)); err != nil || n != 0 {
		t.Errorf("the zero retention pruned %d, %v", n, err)
	}
	if n, err := svc.PruneAlerts(ctx, watch.Retention{PerWatch: 1}, now); err != nil || n != 4 {
		t.Errorf("by count: pruned %d, %v; want 4", n, err)
	}
	for _, name := range []string{"a", "ab"} {
		al, err := svc.Alerts(ctx, watch.AlertQuery{Watch: name})
		if err != nil || len(al) != 1 || !al[0].Raised.Equal(now) {
			t.Errorf("%s keeps %+v, %v; want its newest alert", name, al, err)
		}
	}
	var prunes int
	for _, a := range auditActions(t, db) {
		if a == "retention watch.alerts.prune alerts" {
			prunes++
		}
	}
	if prunes != 3 {
		t.Errorf("%d prunes audited; want 3", prunes)
	}
}
