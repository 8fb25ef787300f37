package watch

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tracehound/tracehound/audit"
	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/trace"
)

// Service keeps watches in a store, reruns them and records the alerts
// they raise, auditing every change. It serialises changes so that a
// rerun never saves again a watch deleted meanwhile.
type Service struct {
	st    Store
	audit *audit.Log
	// pub publishes the alerts of shared watches; nil publishes nothing.
	pub Publisher
	mu  sync.Mutex
}

// NewService returns a service over st that audits to log and publishes
// shared watches' alerts with pub (nil: none are published).
func NewService(st Store, log *audit.Log, pub Publisher) *Service {
	return &Service{st: st, audit: log, pub: pub}
}

// Add runs a new watch's trace, keeps what it finds now as the baseline
// later checks compare with, and saves it. The endpoints found now are
// returned, not recorded as alerts: they are what the investigator
// already knows.
func (s *Service) Add(ctx context.Context, actor string, w *Watch, g trace.Graph, labels trace.Labeler, now time.Time) ([]Alert, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok, err := s.st.Watch(ctx, w.Name); err != nil {
		return nil, fmt.Errorf("add watch %s: %w", w.Name, err)
	} else if ok {
		return nil, fmt.Errorf("add watch %s: %w", w.Name, ErrExists)
	}
	if w.Share != nil {
		if err := w.Share.Validate(); err != nil {
			return nil, fmt.Errorf("add watch %s: %w", w.Name, err)
		}
	}
	w.Created, w.CreatedBy = now.UTC(), actor
	found, err := Check(ctx, g, labels, w, now)
	if err != nil {
		return nil, err
	}
	if err := s.st.PutWatch(ctx, *w); err != nil {
		return nil, fmt.Errorf("add watch %s: %w", w.Name, err)
	}
	seeds := make([]string, len(w.Seeds))
	for i, sd := range w.Seeds {
		seeds[i] = sd.Address + sd.Tx
	}
	detail := map[string]string{
		"chain": string(w.Chain), "seeds": strings.Join(seeds, " "), "model": string(w.Model), "hops": strconv.Itoa(w.Hops),
		"endpoints": strconv.Itoa(len(w.Endpoints)), "through_block": strconv.FormatUint(w.Through, 10)}
	if w.Share != nil {
		detail["share"] = w.Share.Collection + " " + w.Share.TLP.String()
	}
	if _, err := s.audit.Record(ctx, actor, "watch.create", w.Name, detail); err != nil {
		return nil, err
	}
	return found, nil
}

// Delete removes a watch; false if there was none of that name. Its
// alerts stay: they are the record of what was found.
func (s *Service) Delete(ctx context.Context, actor, name string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ok, err := s.st.DeleteWatch(ctx, name)
	if err != nil || !ok {
		return false, err
	}
	if _, err := s.audit.Record(ctx, actor, "watch.delete", name, nil); err != nil {
		return true, err
	}
	return true, nil
}

// Watches lists the watches in name order.
func (s *Service) Watches(ctx context.Context) ([]Watch, error) { return s.st.Watches(ctx) }

// Watch returns one watch and the alerts it raised since it was created
// (a deleted watch's name may be reused).
func (s *Service) Watch(ctx context.Context, name string) (Watch, []Alert, bool, error) {
	w, ok, err := s.st.Watch(ctx, name)
	if err != nil || !ok {
		return Watch{}, nil, false, err
	}
	alerts, err := s.st.Alerts(ctx, AlertQuery{Watch: name, Since: w.Created.Add(-time.Nanosecond)})
	return w, alerts, true, err
}

// Alerts returns the alerts q selects.
func (s *Service) Alerts(ctx context.Context, q AlertQuery) ([]Alert, error) {
	return s.st.Alerts(ctx, q)
}

// CheckAll reruns every watch on chain c and returns the alerts. Each
// watch's alerts are audited, shared if the watch shares, then stored
// with its new state in one write, so that a check cut short raises them
// again rather than losing them. A watch that fails does not stop the others; the errors are
// joined. labels gives each watch its labeler (with clustering or not).
func (s *Service) CheckAll(ctx context.Context, g trace.Graph, labels func(*Watch) trace.Labeler, c chain.Chain, now time.Time) ([]Alert, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ws, err := s.st.Watches(ctx)
	if err != nil {
		return nil, err
	}
	var all []Alert
	var errs []error
	for i := range ws {
		w := &ws[i]
		if w.Chain != c {
			continue
		}
		alerts, err := s.check(ctx, g, labels(w), w, now)
		all = append(all, alerts...)
		if err != nil {
			if ctx.Err() != nil {
				return all, err
			}
			errs = append(errs, err)
		}
	}
	return all, errors.Join(errs...)
}

func (s *Service) check(ctx context.Context, g trace.Graph, labels trace.Labeler, w *Watch, now time.Time) ([]Alert, error) {
	alerts, err := Check(ctx, g, labels, w, now)
	if err != nil {
		return nil, err
	}
	// The trace is done: record what it found even if ctx ends now (a
	// server stopping), rather than find it again on the next start.
	ctx = context.WithoutCancel(ctx)
	for _, al := range alerts {
		if _, err := s.audit.Record(ctx, "watch:"+al.Watch, "watch.alert", al.Address, map[string]string{
			"entity": al.Label.Entity, "amount": al.Amount.String(), "previous": al.Previous.String()}); err != nil {
			return nil, err
		}
	}
	// Published before the check is saved, so that a check cut short
	// shares again rather than never (a new version of the same
	// indicator); a failed share is audited and returned, and does not
	// hold back the alert.
	shareErr := s.share(ctx, *w, alerts)
	if err := s.st.SaveCheck(ctx, *w, alerts); err != nil {
		return nil, errors.Join(fmt.Errorf("watch %s: %w", w.Name, err), shareErr)
	}
	return alerts, shareErr
}
