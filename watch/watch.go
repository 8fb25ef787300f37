// Package watch keeps traces live: a watch is a saved trace that is run
// again as new blocks are ingested, and raises an alert when the stolen
// funds reach a service they had not reached before, or more of them
// arrive there: the moment to ask that exchange for a freeze.
package watch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/trace"
)

// Watch is a saved forward trace and what it last found.
type Watch struct {
	Name  string       `json:"name"`
	Chain chain.Chain  `json:"chain"`
	Seeds []trace.Seed `json:"seeds"`
	Model trace.Model  `json:"model"`
	Hops  int          `json:"hops"`
	Min   chain.Amount `json:"min"`
	Asset chain.Asset  `json:"asset,omitempty"`
	Since time.Time    `json:"since,omitzero"`
	// NoCluster and NoSwaps keep the trace options they name.
	NoCluster bool `json:"no_cluster,omitempty"`
	NoSwaps   bool `json:"no_swaps,omitempty"`
	// Share, if set, publishes the deposit addresses the funds reach as
	// intelligence (see Share).
	Share   *Share    `json:"share,omitempty"`
	Created time.Time `json:"created"`
	// CreatedBy names who saved the watch (an API key's name, or "cli").
	CreatedBy string `json:"created_by,omitempty"`
	// Endpoints are the amounts each endpoint held at the last check, by
	// address; an endpoint reached in another asset, through a swap, is
	// keyed "address asset".
	Endpoints map[string]chain.Amount `json:"endpoints"`
	// Labels say whose each endpoint is.
	Labels  map[string]trace.Label `json:"labels,omitempty"`
	Checked time.Time              `json:"checked,omitzero"`
	Through uint64                 `json:"through_block"`
}

// Store keeps watches and the alerts they raised.
type Store interface {
	Watches(ctx context.Context) ([]Watch, error)
	// Watch returns one watch; false if there is none of that name.
	Watch(ctx context.Context, name string) (Watch, bool, error)
	PutWatch(ctx context.Context, w Watch) error
	DeleteWatch(ctx context.Context, name string) (bool, error)
	// SaveCheck saves a checked watch's new state and the alerts the
	// check raised, atomically. An alert is known by its watch, address
	// and time raised.
	SaveCheck(ctx context.Context, w Watch, alerts []Alert) error
	// Alerts returns the alerts q selects, oldest first.
	Alerts(ctx context.Context, q AlertQuery) ([]Alert, error)
	// PruneAlerts deletes the alerts raised before before (none if it is
	// zero) and, if keep is positive, each watch's oldest beyond its
	// newest keep; it returns how many it deleted.
	PruneAlerts(ctx context.Context, before time.Time, keep int) (int, error)
}

// AlertQuery selects alerts.
type AlertQuery struct {
	// Watch, if set, keeps that watch's alerts only.
	Watch string
	// Since keeps alerts raised after it (strictly, so that a poller can
	// pass the last alert's time and get only newer ones).
	Since time.Time
	// Limit, if positive, bounds the alerts returned, except that alerts
	// raised together are never split, so the next page can start after
	// the last one's time.
	Limit int
}

// Alert says tainted funds reached an endpoint, or more of them did.
type Alert struct {
	Watch    string       `json:"watch"`
	Chain    chain.Chain  `json:"chain"`
	Address  string       `json:"address"`
	Label    trace.Label  `json:"label"`
	Asset    chain.Asset  `json:"asset,omitempty"`
	Amount   chain.Amount `json:"amount"`
	Previous chain.Amount `json:"previous"`
	Txs      []string     `json:"txs"`
	Last     time.Time    `json:"last_arrival"`
	Through  uint64       `json:"through_block"`
	// Raised is when the check that found it ran.
	Raised time.Time `json:"raised"`
	// Shared says where the alert was published, if its watch shares.
	Shared *Shared `json:"shared,omitempty"`
}

// ErrExists refuses a watch whose name is taken.
var ErrExists = errors.New("a watch of that name exists")

// Check runs a watch's trace and returns the alerts: endpoints that are
// new or hold more than at the last check. It updates w.
func Check(ctx context.Context, g trace.Graph, labels trace.Labeler, w *Watch, now time.Time) ([]Alert, error) {
	o := trace.Options{Chain: w.Chain, Model: w.Model, MaxHops: w.Hops, MinAmount: w.Min, Asset: w.Asset, Since: w.Since, Labels: labels, NoSwaps: w.NoSwaps}
	r, err := trace.Run(ctx, g, w.Seeds, o)
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", w.Name, err)
	}
	if err := r.Check(); err != nil {
		return nil, fmt.Errorf("watch %s: %w", w.Name, err)
	}
	now = now.UTC()
	var alerts []Alert
	next := make(map[string]chain.Amount, len(r.Endpoints))
	nextLabels := make(map[string]trace.Label, len(r.Endpoints))
	for _, e := range r.Endpoints {
		k := e.Address
		if e.Asset != w.Asset {
			k += " " + string(e.Asset)
		}
		next[k], nextLabels[k] = e.Amount, e.Label
		prev := w.Endpoints[k]
		if e.Amount.Cmp(prev) > 0 {
			alerts = append(alerts, Alert{Watch: w.Name, Chain: w.Chain, Address: e.Address, Label: e.Label, Asset: e.Asset, Amount: e.Amount, Previous: prev,
				Txs: e.Txs, Last: e.Last, Through: r.Through, Raised: now})
		}
	}
	slices.SortFunc(alerts, func(a, b Alert) int { return b.Amount.Cmp(a.Amount) })
	w.Endpoints, w.Labels, w.Checked, w.Through = next, nextLabels, now, r.Through
	return alerts, nil
}
