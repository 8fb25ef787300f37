package alert

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tracehound/tracehound/audit"
)

// Store keeps the inbox.
type Store interface {
	// PutAlerts stores alerts, each replacing the alert of its id, in one
	// atomic write.
	PutAlerts(ctx context.Context, as []Alert) error
	// Alert returns the alert of an id; false if there is none.
	Alert(ctx context.Context, id string) (Alert, bool, error)
	// ListAlerts returns the alerts q selects, oldest raised first.
	ListAlerts(ctx context.Context, q Query) ([]Alert, error)
}

// Service raises alerts idempotently, lists them and records their
// review, auditing every raise and every change and counting them for
// Prometheus. It serialises writes, so that two raises of one alert
// store it once.
type Service struct {
	st    Store
	audit *audit.Log
	now   func() time.Time
	mu    sync.Mutex

	raised  *prometheus.CounterVec
	updated *prometheus.CounterVec
}

// NewService returns an inbox over st that audits to log; now is the
// clock (time.Now if nil).
func NewService(st Store, log *audit.Log, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{st: st, audit: log, now: now,
		raised: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracehound_alerts_raised_total",
			Help: "Alerts raised into the inbox, by kind and severity.",
		}, []string{"kind", "severity"}),
		updated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracehound_alert_updates_total",
			Help: "Changes of alerts' status by analysts, by the status set.",
		}, []string{"status"}),
	}
}

// Describe implements prometheus.Collector.
func (s *Service) Describe(ch chan<- *prometheus.Desc) {
	s.raised.Describe(ch)
	s.updated.Describe(ch)
}

// Collect implements prometheus.Collector.
func (s *Service) Collect(ch chan<- prometheus.Metric) {
	s.raised.Collect(ch)
	s.updated.Collect(ch)
}

// Raise stores the alerts not raised before (by kind and natural key),
// open, and audits each under actor. It returns those it stored, in
// order; an alert raised again is left as it stands, its review intact.
// An alert without a raise time is raised now.
func (s *Service) Raise(ctx context.Context, actor string, as ...Alert) ([]Alert, error) {
	if len(as) == 0 {
		return nil, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().UTC()
	var fresh []Alert
	seen := make(map[string]bool, len(as))
	for _, a := range as {
		if err := a.Validate(); err != nil {
			return nil, err
		}
		a.ID = ID(a.Kind, a.Key)
		if seen[a.ID] {
			continue
		}
		seen[a.ID] = true
		if _, ok, err := s.st.Alert(ctx, a.ID); err != nil {
			return nil, fmt.Errorf("raise alert %s: %w", a.ID, err)
		} else if ok {
			continue
		}
		if a.Raised.IsZero() {
			a.Raised = now
		}
		a.Raised = a.Raised.UTC()
		a.Status, a.Assignee, a.Reason, a.Updated, a.History = StatusOpen, "", "", a.Raised, nil
		if a.Addresses == nil {
			a.Addresses = []string{}
		}
		if a.Txs == nil {
			a.Txs = []string{}
		}
		if a.WatchAlert != nil {
			a.Chain, a.Txs, a.Raised = a.WatchAlert.Chain, a.WatchAlert.Txs, a.WatchAlert.Raised.UTC()
		}
		fresh = append(fresh, a)
	}
	if len(fresh) == 0 {
		return nil, nil
	}
	if err := s.st.PutAlerts(ctx, fresh); err != nil {
		return nil, fmt.Errorf("raise alerts: %w", err)
	}
	for _, a := range fresh {
		s.raised.WithLabelValues(string(a.Kind), a.Severity.String()).Inc()
		detail := map[string]string{"kind": string(a.Kind), "severity": a.Severity.String(), "key": a.Key}
		if a.Typology != "" {
			detail["typology"] = a.Typology
		}
		if len(a.Addresses) > 0 {
			detail["address"] = a.Addresses[0]
		}
		if a.Score > 0 {
			detail["score"] = strconv.FormatFloat(a.Score, 'f', 3, 64)
		}
		if _, err := s.audit.Record(ctx, actor, "alert.raise", a.ID, detail); err != nil {
			return fresh, err
		}
	}
	return fresh, nil
}

// Get returns an alert by id; false if there is none.
func (s *Service) Get(ctx context.Context, id string) (Alert, bool, error) {
	return s.st.Alert(ctx, id)
}

// List returns the alerts q selects, oldest raised first.
func (s *Service) List(ctx context.Context, q Query) ([]Alert, error) {
	return s.st.ListAlerts(ctx, q)
}

// Update applies an analyst's change to an alert and audits it under
// actor. A change that changes nothing is not recorded. It returns
// ErrNotFound for an unknown id and an *UpdateError for a change the
// alert cannot take.
func (s *Service) Update(ctx context.Context, actor, id string, u Update) (Alert, error) {
	if err := u.check(); err != nil {
		return Alert{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok, err := s.st.Alert(ctx, id)
	if err != nil {
		return Alert{}, fmt.Errorf("update alert %s: %w", id, err)
	}
	if !ok {
		return Alert{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	before := a.Status
	if !u.apply(&a, actor, s.now().UTC()) {
		return a, nil
	}
	if err := s.st.PutAlerts(ctx, []Alert{a}); err != nil {
		return Alert{}, fmt.Errorf("update alert %s: %w", id, err)
	}
	s.updated.WithLabelValues(string(a.Status)).Inc()
	detail := map[string]string{"from": string(before), "status": string(a.Status)}
	if a.Assignee != "" {
		detail["assignee"] = a.Assignee
	}
	if u.Reason != "" {
		detail["reason"] = u.Reason
	}
	if _, err := s.audit.Record(ctx, actor, "alert."+string(a.Status), a.ID, detail); err != nil {
		return a, err
	}
	return a, nil
}
