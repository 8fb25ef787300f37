package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tracehound/tracehound/alert"
	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/detect"
	"github.com/tracehound/tracehound/screen"
	"github.com/tracehound/tracehound/watch"
)

// monitor is the node's monitoring: the inbox every kind of alert goes
// to, its reporters (the webhook, the live event stream), the registered
// transfers and their re-evaluation, and the detection that runs on
// ingested blocks.
type monitor struct {
	inbox *alert.Service
	// review is the risk at and above which a registered transfer raises
	// an alert and a re-evaluation a retroactive one.
	review screen.Risk

	mu        sync.Mutex
	reporters []func(context.Context, []alert.Alert)
	events    hub

	transfers transferIndex
	// changed asks the re-evaluation loop to run; running says one does,
	// else a change is re-evaluated where it happens.
	changed chan struct{}
	running sync.Mutex
	looping bool

	detect detector
	scores scoreCache
}

func newMonitor(n *Node, review screen.Risk) *monitor {
	if review == 0 {
		review = screen.High
	}
	return &monitor{
		inbox:   alert.NewService(n.db, n.audit, n.now),
		review:  review,
		changed: make(chan struct{}, 1),
		detect:  detector{engines: map[chain.Chain]*chainEngine{}},
		scores:  scoreCache{m: map[chain.Key]*detect.AccountScore{}},
	}
}

// ListAlerts lists the inbox's alerts q selects, oldest raised first.
func (n *Node) ListAlerts(ctx context.Context, q alert.Query) ([]alert.Alert, error) {
	return n.mon.inbox.List(ctx, q)
}

// Alert returns an alert of the inbox by id.
func (n *Node) Alert(ctx context.Context, id string) (alert.Alert, bool, error) {
	return n.mon.inbox.Get(ctx, id)
}

// UpdateAlert assigns, dismisses or escalates an alert, audited under the
// acting key. An unknown id is alert.ErrNotFound; a change the alert
// cannot take is an input error.
func (n *Node) UpdateAlert(ctx context.Context, id string, u alert.Update) (alert.Alert, error) {
	a, err := n.mon.inbox.Update(ctx, actor(ctx), id, u)
	var ue *alert.UpdateError
	if errors.As(err, &ue) {
		return a, inputErr(err)
	}
	return a, err
}

// AlertReport drafts the suspicious-transaction report of an alert, with
// the registered transfers it names and amounts in whole units.
func (n *Node) AlertReport(ctx context.Context, id string) (alert.Report, bool, error) {
	a, ok, err := n.mon.inbox.Get(ctx, id)
	if err != nil || !ok {
		return alert.Report{}, ok, err
	}
	var ts []alert.Transfer
	for _, tid := range a.Links.Transfers {
		t, ok, err := n.db.Transfer(ctx, tid)
		if err != nil {
			return alert.Report{}, false, err
		}
		if ok {
			ts = append(ts, t)
		}
	}
	return alert.Draft(a, ts, n.Units(), n.now()), true, nil
}

// OnAlert adds a reporter of the inbox's new alerts, of every kind (a
// webhook, the command line's output); it is called once per raise that
// stored some.
func (n *Node) OnAlert(f func(context.Context, []alert.Alert)) {
	n.mon.mu.Lock()
	defer n.mon.mu.Unlock()
	n.mon.reporters = append(n.mon.reporters, f)
}

// raise stores the alerts not raised before and reports those.
func (n *Node) raise(ctx context.Context, who string, as ...alert.Alert) ([]alert.Alert, error) {
	fresh, err := n.mon.inbox.Raise(ctx, who, as...)
	n.report(ctx, fresh)
	return fresh, err
}

// report tells of alerts just raised: logged, sent to the live event
// stream and posted to the reporters.
func (n *Node) report(ctx context.Context, fresh []alert.Alert) {
	if len(fresh) == 0 {
		return
	}
	for _, a := range fresh {
		if a.Kind != alert.KindWatch {
			n.log.Warn("alert", "id", a.ID, "kind", string(a.Kind), "severity", a.Severity.String(), "typology", a.Typology,
				"chain", string(a.Chain), "addresses", strings.Join(a.Addresses, " "), "explanation", a.Explanation)
		}
		n.mon.events.publish(api.Event{Type: api.EventAlert, ID: a.ID, Data: a})
	}
	n.mon.mu.Lock()
	fs := n.mon.reporters
	n.mon.mu.Unlock()
	for _, f := range fs {
		f(ctx, fresh)
	}
}

// watchAlertsRaised puts a check's watch alerts into the inbox and on the
// live event stream. The watch service has stored and audited them
// already: a failure here is logged, never a failed check.
func (n *Node) watchAlertsRaised(ctx context.Context, alerts []watch.Alert) {
	// Raised under each watch's name, as the watch service audits them.
	var names []string
	byWatch := map[string][]alert.Alert{}
	for i := range alerts {
		n.mon.events.publish(api.Event{Type: api.EventWatch, Data: alerts[i]})
		w := alerts[i].Watch
		if _, ok := byWatch[w]; !ok {
			names = append(names, w)
		}
		byWatch[w] = append(byWatch[w], watchAlert(alerts[i]))
	}
	for _, w := range names {
		if _, err := n.raise(ctx, "watch:"+w, byWatch[w]...); err != nil {
			n.log.Error("inbox: watch alerts", "watch", w, "err", err)
		}
	}
}

// watchAlert is a watch's alert as the inbox keeps it.
func watchAlert(al watch.Alert) alert.Alert {
	al.Raised = al.Raised.UTC()
	what := string(al.Label.Category)
	if al.Label.Heuristic != "" {
		what += ", by " + al.Label.Heuristic
	}
	asset := string(al.Asset)
	if asset == "" {
		asset = "the native asset"
	}
	wa := al
	return alert.Alert{
		Kind:     alert.KindWatch,
		Key:      strings.Join([]string{al.Watch, al.Address, string(al.Asset), al.Raised.Format(time.RFC3339Nano)}, "\x00"),
		Severity: alert.High,
		Chain:    al.Chain, Addresses: []string{al.Address}, Txs: al.Txs,
		Explanation: fmt.Sprintf("Funds traced by watch %s reached %s, an address of %s (%s): it holds %s base units of %s from them (%s at the check before), as of block %d.",
			al.Watch, al.Address, al.Label.Entity, what, al.Amount, asset, al.Previous, al.Through),
		Amounts:    []alert.Amount{{Chain: al.Chain, Asset: al.Asset, Value: al.Amount}},
		Raised:     al.Raised,
		Links:      alert.Links{Watch: al.Watch},
		WatchAlert: &wa,
	}
}

// Webhook returns an alert reporter that posts each alert, of every kind,
// as JSON to url. A watch alert carries the watch's fields (watch,
// address, label, amount ...) at the top level, as it always did. A
// webhook that is down must not stop the ingest: the alert is stored,
// logged and audited, and the failure logged.
func (n *Node) Webhook(url string) func(context.Context, []alert.Alert) {
	return func(ctx context.Context, alerts []alert.Alert) {
		for _, al := range alerts {
			// Delivered even while the node stops: postAlert bounds it.
			if err := postAlert(context.WithoutCancel(ctx), url, al); err != nil {
				n.log.Error("alert webhook", "err", err)
			}
		}
	}
}

func postAlert(ctx context.Context, url string, al alert.Alert) error {
	body, err := json.Marshal(al)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("webhook answered %s", resp.Status)
	}
	return nil
}

// Events subscribes to the live event stream: alerts of every kind as
// they are raised ("alert") and watch alerts as their watches raise them
// ("watch"). The channel closes when ctx ends, when the node stops
// serving, or when the subscriber falls too far behind (it then
// reconnects and catches up with GET /v1/alerts?since=).
func (n *Node) Events(ctx context.Context) (<-chan api.Event, error) {
	return n.mon.events.subscribe(ctx), nil
}

// hub fans events out to subscribers without ever blocking the raiser.
type hub struct {
	mu   sync.Mutex
	subs map[chan api.Event]struct{}
}

// subscriberBuffer is the events a subscriber may fall behind by.
const subscriberBuffer = 256

func (h *hub) subscribe(ctx context.Context) <-chan api.Event {
	ch := make(chan api.Event, subscriberBuffer)
	h.mu.Lock()
	if h.subs == nil {
		h.subs = map[chan api.Event]struct{}{}
	}
	h.subs[ch] = struct{}{}
	h.mu.Unlock()
	context.AfterFunc(ctx, func() { h.drop(ch) })
	return ch
}

func (h *hub) drop(ch chan api.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[ch]; ok {
		delete(h.subs, ch)
		close(ch)
	}
}

func (h *hub) publish(ev api.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- ev:
		default:
			// Too far behind: cut it off rather than hold the raiser.
			delete(h.subs, ch)
			close(ch)
		}
	}
}

// closeAll ends every subscription: the node stops serving.
func (h *hub) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		delete(h.subs, ch)
		close(ch)
	}
}

// severityOf maps a screening risk to an alert's severity.
func severityOf(r screen.Risk) alert.Severity {
	switch r {
	case screen.Severe:
		return alert.Severe
	case screen.High:
		return alert.High
	case screen.Medium:
		return alert.Medium
	}
	return alert.Low
}
