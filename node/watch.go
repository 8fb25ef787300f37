package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/ingest"
	"github.com/tracehound/tracehound/intel"
	"github.com/tracehound/tracehound/trace"
	"github.com/tracehound/tracehound/watch"
)

// maxSharedTxs bounds the transaction hashes a shared alert names: the
// first ones locate the deposit, and the alert in GET /v1/alerts has all.
const maxSharedTxs = 20

// errNoIdentity refuses to share before the node knows whom it speaks
// for: every object it publishes names its identity as the creator.
var errNoIdentity = errors.New("this node has no identity to publish under: run `tracehound intel identity NAME` first")

// AddWatch saves a forward trace as a watch and returns it with the
// endpoints it reaches now. A watch follows funds from now on, so it takes
// neither an end of window nor a direction. share, if set, publishes the
// deposit addresses its alerts find in one of the node's own collections.
func (n *Node) AddWatch(ctx context.Context, name string, req trace.Request, share *watch.Share) (watch.Watch, []watch.Alert, error) {
	if !validWatchName(name) {
		return watch.Watch{}, nil, inputErr(fmt.Errorf("name %q: want 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit", name))
	}
	if !req.Until.IsZero() {
		return watch.Watch{}, nil, inputErr(errors.New("a watch has no end of window (until)"))
	}
	if req.Backward {
		return watch.Watch{}, nil, inputErr(errors.New("a watch traces forward"))
	}
	if err := n.checkTrace(ctx, &req); err != nil {
		return watch.Watch{}, nil, err
	}
	w := watch.Watch{Name: name, Chain: req.Chain, Seeds: req.Seeds, Model: req.Model, Hops: req.MaxHops, Min: req.MinAmount,
		Asset: req.Asset, Since: req.Since, NoCluster: req.NoCluster, NoSwaps: req.NoSwaps, Share: share}
	if share != nil {
		if err := n.checkShare(ctx, share); err != nil {
			return watch.Watch{}, nil, err
		}
	}
	found, err := n.watches.Add(ctx, actor(ctx), &w, n.traceGraph(ctx), req.Labels, n.now())
	if errors.Is(err, watch.ErrExists) {
		return watch.Watch{}, nil, &api.ConflictError{Err: err}
	}
	return w, found, err
}

// checkShare checks a share against the node: a collection of its own
// (not a peer's inbox), a TLP that leaves the node, and an identity to
// publish as.
func (n *Node) checkShare(ctx context.Context, sh *watch.Share) error {
	if err := sh.Validate(); err != nil {
		return inputErr(err)
	}
	if strings.HasPrefix(sh.Collection, inboxPrefix) {
		return inputErr(fmt.Errorf("share: collection %q holds what a peer sent; share into one of this node's own", sh.Collection))
	}
	if err := n.checkCollection(ctx, sh.Collection); err != nil {
		return err
	}
	if _, ok, err := n.db.NodeIdentity(ctx); err != nil {
		return err
	} else if !ok {
		return inputErr(fmt.Errorf("share: %w", errNoIdentity))
	}
	return nil
}

// validWatchName keeps names safe in URLs, logs and store keys.
func validWatchName(name string) bool {
	if len(name) == 0 || len(name) > 64 {
		return false
	}
	for i, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || i > 0 && (r == '.' || r == '_' || r == '-')
		if !ok {
			return false
		}
	}
	return true
}

// Watches lists the watches.
func (n *Node) Watches(ctx context.Context) ([]watch.Watch, error) { return n.watches.Watches(ctx) }

// Watch returns a watch and its alerts; false if there is none.
func (n *Node) Watch(ctx context.Context, name string) (watch.Watch, []watch.Alert, bool, error) {
	return n.watches.Watch(ctx, name)
}

// DeleteWatch deletes a watch, audited.
func (n *Node) DeleteWatch(ctx context.Context, name string) (bool, error) {
	return n.watches.Delete(ctx, actor(ctx), name)
}

// Alerts lists the watches' alerts.
func (n *Node) Alerts(ctx context.Context, q watch.AlertQuery) ([]watch.Alert, error) {
	return n.watches.Alerts(ctx, q)
}

// CheckWatches reruns every watch of chain c now and reports the alerts
// they raise (stored and audited by the watch service; logged and posted
// to the alert reporters here).
func (n *Node) CheckWatches(ctx context.Context, c chain.Chain) ([]watch.Alert, error) {
	if _, err := n.Index(ctx); err != nil {
		return nil, err
	}
	clustered, err := n.labels(ctx, c, false)
	if err != nil {
		return nil, err
	}
	plain, err := n.labels(ctx, c, true)
	if err != nil {
		return nil, err
	}
	alerts, err := n.watches.CheckAll(ctx, n.traceGraph(ctx), func(w *watch.Watch) trace.Labeler {
		if w.NoCluster {
			return plain
		}
		return clustered
	}, c, n.now())
	n.reportAlerts(ctx, alerts)
	return alerts, err
}

// OnAlerts adds a reporter of watch alerts (the command line's output);
// it is called once per check that raised some. OnAlert reports the
// inbox's alerts of every kind, watch alerts among them.
func (n *Node) OnAlerts(f func(context.Context, []watch.Alert)) { n.alerts.add(f) }

// alertFanout calls every reporter of alerts.
type alertFanout struct {
	mu sync.Mutex
	fs []func(context.Context, []watch.Alert)
}

func (a *alertFanout) add(f func(context.Context, []watch.Alert)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.fs = append(a.fs, f)
}

func (n *Node) reportAlerts(ctx context.Context, alerts []watch.Alert) {
	if len(alerts) == 0 {
		return
	}
	for _, al := range alerts {
		n.log.Warn("watch alert", "watch", al.Watch, "chain", string(al.Chain), "address", al.Address, "entity", al.Label.Entity,
			"amount", al.Amount.String(), "previous", al.Previous.String(), "through_block", al.Through)
	}
	n.alerts.mu.Lock()
	fs := n.alerts.fs
	n.alerts.mu.Unlock()
	for _, f := range fs {
		f(ctx, alerts)
	}
	n.watchAlertsRaised(ctx, alerts)
}

// watcher reruns a chain's watches as an ingest stores its blocks: at
// most every `every` while catching up, after every batch once at the
// node's head, where a skipped check could wait long for the next block.
type watcher struct {
	n     *Node
	c     chain.Chain
	every time.Duration
	// keepGoing logs a failed check instead of stopping the ingest: a
	// server's follower must not stall on one watch that fails.
	keepGoing bool
	last      time.Time
	sinceRun  bool
}

func (w *watcher) afterWrite(ctx context.Context, p ingest.Progress) error {
	w.sinceRun = true
	atHead := p.Target > 0 && p.Height >= p.Target
	if !atHead && time.Since(w.last) < w.every {
		return nil
	}
	return w.check(ctx)
}

// finish runs the check a rate-limited batch left pending.
func (w *watcher) finish(ctx context.Context) error {
	if !w.sinceRun || ctx.Err() != nil {
		return nil
	}
	return w.check(ctx)
}

func (w *watcher) check(ctx context.Context) error {
	w.last, w.sinceRun = time.Now(), false
	_, err := w.n.CheckWatches(ctx, w.c)
	if err != nil && w.keepGoing && ctx.Err() == nil {
		w.n.log.Error("watch check failed", "chain", string(w.c), "err", err)
		return nil
	}
	return err
}

// AlertRetention bounds the alerts kept; pruneAlerts applies it.
type AlertRetention = watch.Retention

// alertPruneEvery is how often a server prunes alerts: often enough that
// none outlives the retention by much more than a quarter of it, and,
// with a count limit only, every ten minutes.
func alertPruneEvery(r watch.Retention) time.Duration {
	if r.MaxAge > 0 {
		return max(min(r.MaxAge/4, time.Hour), time.Second)
	}
	return 10 * time.Minute
}

// pruneAlerts deletes the alerts r no longer keeps, at start and then
// every so often until ctx ends.
func (n *Node) pruneAlerts(ctx context.Context, r watch.Retention, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if c, err := n.watches.PruneAlerts(ctx, r, n.now()); err != nil && ctx.Err() == nil {
			n.log.Error("watch: prune alerts", "err", err)
		} else if c > 0 {
			n.log.Info("watch: pruned alerts", "count", c)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// PublishAlert implements watch.Publisher: the alert's endpoint becomes
// a STIX indicator, with its wallet and a report, in the watch's
// collection, created by this node's identity and marked with the
// watch's TLP. The ids derive from the watch and the endpoint, so that
// more funds arriving there later publish a new version of the same
// indicator. The TAXII server audits the objects added; the watch
// service audits the share.
func (n *Node) PublishAlert(ctx context.Context, w watch.Watch, al watch.Alert) (watch.Shared, error) {
	me, ok, err := n.db.NodeIdentity(ctx)
	if err != nil {
		return watch.Shared{}, fmt.Errorf("publish alert: %w", err)
	}
	if !ok {
		return watch.Shared{}, errNoIdentity
	}
	objs, err := intel.Publish(alertPublication(me, w, al))
	if err != nil {
		return watch.Shared{}, err
	}
	sh := watch.Shared{Collection: w.Share.Collection, TLP: w.Share.TLP}
	raws := make([]json.RawMessage, len(objs))
	for i, o := range objs {
		if raws[i], err = json.Marshal(o); err != nil {
			return watch.Shared{}, err
		}
		switch o.ObjectType() {
		case intel.TypeIndicator:
			sh.Indicator = o.ObjectID()
		case intel.TypeReport:
			sh.Report = o.ObjectID()
		}
	}
	st, err := n.tx.AddObjects(ctx, sh.Collection, raws)
	if err != nil {
		return watch.Shared{}, err
	}
	if st.FailureCount > 0 {
		f := st.Failures[0]
		return watch.Shared{}, fmt.Errorf("%d of %d objects refused, %s first: %s", st.FailureCount, st.TotalCount, f.ID, f.Message)
	}
	return sh, nil
}

// alertPublication describes an alert as intelligence: which case (the
// watch) traced the stolen funds to which service's address, how much and
// in which transactions.
func alertPublication(me *intel.Identity, w watch.Watch, al watch.Alert) intel.Publication {
	asset := string(al.Asset)
	if asset == "" {
		asset = "the native asset"
	}
	txs := al.Txs
	more := ""
	if len(txs) > maxSharedTxs {
		txs, more = txs[:maxSharedTxs], fmt.Sprintf(" and %d more", len(al.Txs)-maxSharedTxs)
	}
	how := string(al.Label.Category)
	if al.Label.Heuristic != "" {
		how += ", by " + al.Label.Heuristic
	}
	desc := fmt.Sprintf("Case %s (a %s watch saved %s): stolen funds reached %s, an address of %s (%s). It holds %s base units of %s from them (%s at the check before), as of block %d; transactions %s%s.",
		w.Name, w.Chain, w.Created.Format(time.DateOnly), al.Address, al.Label.Entity, how, al.Amount, asset, al.Previous, al.Through, strings.Join(txs, ", "), more)
	return intel.Publication{
		Creator:     me,
		Name:        fmt.Sprintf("Case %s: stolen funds at %s %s", w.Name, al.Label.Entity, al.Address),
		Description: desc,
		TLP:         w.Share.TLP,
		// A deposit address found by its sweeps is the thieves' account
		// at the service: an indicator, as laundering.
		Addresses: []intel.Listed{{Chain: string(al.Chain), Address: al.Address, Role: intel.RoleLaundering, Note: desc}},
		// One indicator per watch and endpoint: the watch's creation
		// time tells a watch apart from a deleted one of the same name.
		Key:     strings.Join([]string{"watch", w.Name, w.Created.UTC().Format(time.RFC3339Nano), al.Address, string(al.Asset)}, " "),
		Created: w.Created,
		Now:     al.Raised,
	}
}
