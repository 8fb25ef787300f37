// Package watch keeps traces live: a watch is a saved trace that is run
// again as new blocks are ingested, and raises an alert when the stolen
// funds reach a service they had not reached before, or more of them
// arrive there: the moment to ask that exchange for a freeze.
package watch

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/trace"
)

// Watch is a saved forward trace and what it last found.
type Watch struct {
	Name    string       `json:"name"`
	Chain   chain.Chain  `json:"chain"`
	Seeds   []trace.Seed `json:"seeds"`
	Model   trace.Model  `json:"model"`
	Hops    int          `json:"hops"`
	Min     chain.Amount `json:"min"`
	Asset   chain.Asset  `json:"asset,omitempty"`
	Since   time.Time    `json:"since,omitzero"`
	Created time.Time    `json:"created"`
	// Endpoints are the amounts each endpoint held at the last check, by
	// address; an endpoint reached in another asset, through a swap, is
	// keyed "address asset".
	Endpoints map[string]chain.Amount `json:"endpoints"`
	Checked   time.Time               `json:"checked,omitzero"`
	Through   uint64                  `json:"through_block"`
}

// Store keeps watches.
type Store interface {
	Watches(ctx context.Context) ([]Watch, error)
	PutWatch(ctx context.Context, w Watch) error
	DeleteWatch(ctx context.Context, name string) (bool, error)
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
}

// Check runs a watch's trace and returns the alerts: endpoints that are
// new or hold more than at the last check. It updates w.
func Check(ctx context.Context, g trace.Graph, labels trace.Labeler, w *Watch, now time.Time) ([]Alert, error) {
	o := trace.Options{Chain: w.Chain, Model: w.Model, MaxHops: w.Hops, MinAmount: w.Min, Asset: w.Asset, Since: w.Since, Labels: labels}
	r, err := trace.Run(ctx, g, w.Seeds, o)
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", w.Name, err)
	}
	if err := r.Check(); err != nil {
		return nil, fmt.Errorf("watch %s: %w", w.Name, err)
	}
	var alerts []Alert
	next := make(map[string]chain.Amount, len(r.Endpoints))
	for _, e := range r.Endpoints {
		k := e.Address
		if e.Asset != w.Asset {
			k += " " + string(e.Asset)
		}
		next[k] = e.Amount
		prev := w.Endpoints[k]
		if e.Amount.Cmp(prev) > 0 {
			alerts = append(alerts, Alert{Watch: w.Name, Chain: w.Chain, Address: e.Address, Label: e.Label, Asset: e.Asset, Amount: e.Amount, Previous: prev,
				Txs: e.Txs, Last: e.Last, Through: r.Through})
		}
	}
	slices.SortFunc(alerts, func(a, b Alert) int { return b.Amount.Cmp(a.Amount) })
	w.Endpoints, w.Checked, w.Through = next, now.UTC(), r.Through
	return alerts, nil
}

// CheckAll checks every watch on chain c, saves their new state and
// returns the alerts.
func CheckAll(ctx context.Context, st Store, g trace.Graph, labels trace.Labeler, c chain.Chain, now time.Time) ([]Alert, error) {
	ws, err := st.Watches(ctx)
	if err != nil {
		return nil, err
	}
	var all []Alert
	for i := range ws {
		w := &ws[i]
		if w.Chain != c {
			continue
		}
		alerts, err := Check(ctx, g, labels, w, now)
		if err != nil {
			return all, err
		}
		if err := st.PutWatch(ctx, *w); err != nil {
			return all, err
		}
		all = append(all, alerts...)
	}
	return all, nil
}
