package alert_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tracehound/tracehound/alert"
	"github.com/tracehound/tracehound/audit"
	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/store/pebble"
	"github.com/tracehound/tracehound/trace"
	"github.com/tracehound/tracehound/trace/report"
	"github.com/tracehound/tracehound/watch"
)

type fixture struct {
	db  *pebble.DB
	svc *alert.Service
	now time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db, err := pebble.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{db: db, now: time.Date(2025, 2, 21, 14, 13, 0, 0, time.UTC)}
	f.svc = alert.NewService(db, audit.New(db), func() time.Time { return f.now })
	return f
}

func (f *fixture) trail(t *testing.T) []string {
	t.Helper()
	var out []string
	if err := f.db.AuditEntries(context.Background(), 1, func(e audit.Entry) error {
		out = append(out, e.Actor+" "+e.Action+" "+e.Target)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func ruleAlert(key string, sev alert.Severity) alert.Alert {
	return alert.Alert{Kind: alert.KindRule, Key: key, Severity: sev, Chain: chain.Ethereum, Typology: "fan-out", Score: 0.7,
		Addresses: []string{"0x" + strings.Repeat("a", 40)}, Txs: []string{"0x" + strings.Repeat("1", 64)},
		Explanation: "an address sent to 12 addresses within a day in like amounts",
		Amounts:     []alert.Amount{{Chain: chain.Ethereum, Value: chain.NewAmount(12_000_000_000_000_000)}}}
}

// TestRaiseIdempotent: raising the same alert twice stores it once,
// audits it once and counts it once; its review survives a second raise.
func TestRaiseIdempotent(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	fresh, err := f.svc.Raise(ctx, "detect", ruleAlert("k1", alert.High), ruleAlert("k1", alert.High), ruleAlert("k2", alert.Medium))
	if err != nil || len(fresh) != 2 {
		t.Fatalf("raise: %d %v", len(fresh), err)
	}
	id := alert.ID(alert.KindRule, "k1")
	if fresh[0].ID != id || fresh[0].Status != alert.StatusOpen || !fresh[0].Raised.Equal(f.now) || !fresh[0].Updated.Equal(f.now) {
		t.Errorf("raised: %+v", fresh[0])
	}
	if _, err := f.svc.Update(ctx, "analyst", id, alert.Update{Status: alert.StatusAssigned, Assignee: "kim"}); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(time.Hour)
	again, err := f.svc.Raise(ctx, "detect", ruleAlert("k1", alert.Severe))
	if err != nil || len(again) != 0 {
		t.Fatalf("second raise: %+v %v", again, err)
	}
	got, ok, err := f.svc.Get(ctx, id)
	if err != nil || !ok || got.Status != alert.StatusAssigned || got.Assignee != "kim" || got.Severity != alert.High {
		t.Errorf("after a second raise: %+v %v %v", got, ok, err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(f.svc)
	if n := raisedCount(t, reg, "high"); n != 1 {
		t.Errorf("raised high counted %v", n)
	}
	trail := f.trail(t)
	want := []string{"detect alert.raise " + id, "detect alert.raise " + alert.ID(alert.KindRule, "k2"), "analyst alert.assigned " + id}
	if strings.Join(trail, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit trail:\n%s\nwant\n%s", strings.Join(trail, "\n"), strings.Join(want, "\n"))
	}
}

// raisedCount reads tracehound_alerts_raised_total{kind="rule",severity}.
func raisedCount(t *testing.T, reg *prometheus.Registry, sev string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "tracehound_alerts_raised_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["kind"] == "rule" && labels["severity"] == sev {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no raised counter for rule/%s", sev)
	return 0
}

// TestUpdate walks an alert through its review and refuses what a change
// cannot be: no assignee, no reason, an unknown status or id.
func TestUpdate(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	fresh, err := f.svc.Raise(ctx, "detect", ruleAlert("k", alert.High))
	if err != nil {
		t.Fatal(err)
	}
	id := fresh[0].ID
	for _, u := range []alert.Update{
		{Status: alert.StatusAssigned},
		{Status: alert.StatusDismissed, Assignee: "kim"},
		{Status: alert.StatusOpen},
		{Status: "closed", Reason: "x"},
		{Status: alert.StatusDismissed, Reason: strings.Repeat("x", 2001)},
	} {
		var ue *alert.UpdateError
		if _, err := f.svc.Update(ctx, "analyst", id, u); !errors.As(err, &ue) {
			t.Errorf("%+v: %v", u, err)
		}
	}
	if _, err := f.svc.Update(ctx, "analyst", "al-nope", alert.Update{Status: alert.StatusEscalated}); !errors.Is(err, alert.ErrNotFound) {
		t.Errorf("unknown id: %v", err)
	}
	steps := []alert.Update{
		{Status: alert.StatusAssigned, Assignee: "kim"},
		{Status: alert.StatusAssigned, Assignee: "kim"}, // no change: not recorded
		{Status: alert.StatusEscalated, Reason: "freeze request sent"},
		{Status: alert.StatusDismissed, Reason: "the exchange confirmed a known customer's OTC trade"},
	}
	var a alert.Alert
	for i, u := range steps {
		f.now = f.now.Add(time.Minute)
		if a, err = f.svc.Update(ctx, "analyst", id, u); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	if a.Status != alert.StatusDismissed || a.Assignee != "kim" || a.Reason != steps[3].Reason || len(a.History) != 3 || !a.Updated.Equal(f.now) {
		t.Errorf("after the review: %+v", a)
	}
	stored, _, _ := f.svc.Get(ctx, id)
	if len(stored.History) != 3 || stored.History[1].Status != alert.StatusEscalated || stored.History[1].Actor != "analyst" {
		t.Errorf("stored history: %+v", stored.History)
	}
	if n := strings.Count(strings.Join(f.trail(t), "\n"), "analyst alert."); n != 3 {
		t.Errorf("%d changes audited, want 3:\n%s", n, strings.Join(f.trail(t), "\n"))
	}
}

// TestList filters by kind, severity, status and watch, pages by time
// without splitting alerts raised together, and keeps watch alerts
// readable as watch.Alert.
func TestList(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	base := f.now
	wa := watch.Alert{Watch: "bybit", Chain: chain.Ethereum, Address: "0x" + strings.Repeat("e", 40), Label: trace.Label{Entity: "Exchange One", Category: "exchange"},
		Amount: chain.NewAmount(900), Previous: chain.NewAmount(600), Txs: []string{"0x" + strings.Repeat("3", 64)}, Through: 3, Raised: base.Add(2 * time.Second)}
	w := wa
	as := []alert.Alert{
		{Kind: alert.KindWatch, Key: "w1", Severity: alert.High, Explanation: "funds reached Exchange One", Raised: wa.Raised, Links: alert.Links{Watch: "bybit"}, WatchAlert: &w},
		func() alert.Alert { a := ruleAlert("r1", alert.Medium); a.Raised = base.Add(time.Second); return a }(),
		func() alert.Alert { a := ruleAlert("r2", alert.High); a.Raised = base.Add(3 * time.Second); return a }(),
		func() alert.Alert { a := ruleAlert("r3", alert.High); a.Raised = base.Add(3 * time.Second); return a }(),
		{Kind: alert.KindTransfer, Key: "T-1", Severity: alert.Severe, Explanation: "a deposit from a sanctioned address", Raised: base.Add(4 * time.Second)},
	}
	if _, err := f.svc.Raise(ctx, "x", as...); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Update(ctx, "analyst", alert.ID(alert.KindRule, "r2"), alert.Update{Status: alert.StatusDismissed, Reason: "known"}); err != nil {
		t.Fatal(err)
	}
	// Alerts raised at one time come in id order.
	tie := "r2 r3"
	if alert.ID(alert.KindRule, "r3") < alert.ID(alert.KindRule, "r2") {
		tie = "r3 r2"
	}
	keys := func(q alert.Query) string {
		got, err := f.svc.List(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var ks []string
		for _, a := range got {
			ks = append(ks, a.Key)
		}
		return strings.Join(ks, " ")
	}
	for _, c := range []struct {
		q    alert.Query
		want string
	}{
		{alert.Query{}, "r1 w1 " + tie + " T-1"},
		{alert.Query{Kinds: []alert.Kind{alert.KindRule}}, "r1 " + tie},
		{alert.Query{Severities: []alert.Severity{alert.High, alert.Severe}}, "w1 " + tie + " T-1"},
		{alert.Query{Statuses: []alert.Status{alert.StatusOpen}, Kinds: []alert.Kind{alert.KindRule}}, "r1 r3"},
		{alert.Query{Watch: "bybit"}, "w1"},
		{alert.Query{Since: base.Add(time.Second)}, "w1 " + tie + " T-1"},
		// Two raised together stay on one page.
		{alert.Query{Limit: 3}, "r1 w1 " + tie},
		{alert.Query{Since: base.Add(3 * time.Second), Limit: 1}, "T-1"},
	} {
		if got := keys(c.q); got != c.want {
			t.Errorf("%+v: %q, want %q", c.q, got, c.want)
		}
	}
	got, _, err := f.svc.Get(ctx, alert.ID(alert.KindWatch, "w1"))
	if err != nil || got.WatchAlert == nil || got.WatchAlert.Raised.IsZero() || got.WatchAlert.Chain != chain.Ethereum || len(got.WatchAlert.Txs) != 1 {
		t.Fatalf("watch alert read back: %+v %v", got.WatchAlert, err)
	}
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var old watch.Alert
	if err := json.Unmarshal(b, &old); err != nil {
		t.Fatal(err)
	}
	if old.Watch != "bybit" || old.Address != wa.Address || old.Amount.String() != "900" || old.Previous.String() != "600" ||
		old.Label.Entity != "Exchange One" || !old.Raised.Equal(wa.Raised) || old.Through != 3 || len(old.Txs) != 1 {
		t.Errorf("a watch alert read as the watch's record: %+v\n%s", old, b)
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	if m["kind"] != "watch" || m["severity"] != "high" || m["status"] != "open" || m["id"] != got.ID {
		t.Errorf("inbox fields: %s", b)
	}
}

// TestRaiseRefuses an alert without what every alert needs.
func TestRaiseRefuses(t *testing.T) {
	f := newFixture(t)
	for _, a := range []alert.Alert{
		{Kind: "noise", Key: "k", Severity: alert.Low, Explanation: "x"},
		{Kind: alert.KindRule, Severity: alert.Low, Explanation: "x"},
		{Kind: alert.KindRule, Key: "k", Explanation: "x"},
		{Kind: alert.KindRule, Key: "k", Severity: alert.Low},
	} {
		if _, err := f.svc.Raise(context.Background(), "x", a); err == nil {
			t.Errorf("raised %+v", a)
		}
	}
	if got, _ := f.svc.List(context.Background(), alert.Query{}); len(got) != 0 {
		t.Errorf("stored %d", len(got))
	}
}

// TestDraft drafts a report with amounts in whole units beside their base
// units, the transfers it names, and an HTML page that escapes what came
// from outside.
func TestDraft(t *testing.T) {
	a := ruleAlert("k", alert.High)
	a.ID, a.Raised, a.Status, a.Assignee = alert.ID(a.Kind, a.Key), time.Date(2025, 2, 21, 14, 13, 0, 0, time.UTC), alert.StatusAssigned, "kim"
	idx := uint32(4)
	ts := []alert.Transfer{{ID: "T-<1>", Customer: `C-42 <script>alert(1)</script>`, Chain: chain.Ethereum, Tx: "0x" + strings.Repeat("2", 64), Index: &idx,
		Counterparty: a.Addresses[0], Asset: "0xdac17f958d2ee523a2206206994597c13d831ec7", Amount: chain.NewAmount(2_500_500_000), Direction: alert.Deposit,
		Registered: a.Raised, Decision: alert.Decision{Action: alert.Review}, Check: alert.ChainCheck{Status: alert.CheckAgrees}}}
	units := report.Table{chain.Ethereum: {"0xdac17f958d2ee523a2206206994597c13d831ec7": {Symbol: "USDT", Decimals: 6}}}
	r := alert.Draft(a, ts, units, a.Raised.Add(time.Hour))
	if len(r.Amounts) != 1 || r.Amounts[0].Text != "0.012 ETH" || !strings.Contains(r.Amounts[0].BaseText, "12000000000000000 wei") {
		t.Errorf("amounts: %+v", r.Amounts)
	}
	if len(r.Transfers) != 1 || r.Transfers[0].Amount.Text != "2,500.5 USDT" {
		t.Errorf("transfers: %+v", r.Transfers)
	}
	if len(r.Transactions) != 2 || len(r.Subjects) != 1 || r.Subjects[0].Role != "subject" {
		t.Errorf("transactions %+v subjects %+v", r.Transactions, r.Subjects)
	}
	for _, want := range []string{"high-severity rule alert", "0.012 ETH (12000000000000000 wei)", "deposited 2,500.5 USDT from " + a.Addresses[0], "under review by kim"} {
		if !strings.Contains(r.Narrative, want) {
			t.Errorf("narrative lacks %q: %s", want, r.Narrative)
		}
	}
	var b bytes.Buffer
	if err := r.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if strings.Contains(page, "<script>") || !strings.Contains(page, "&lt;script&gt;") || !strings.Contains(page, "2,500.5 USDT") || !strings.Contains(page, a.Txs[0]) {
		t.Errorf("page:\n%s", page)
	}
}
