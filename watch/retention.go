package watch

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// Retention bounds the alerts kept. The zero value keeps every alert:
// they are the record of what a case found, so forgetting them is the
// operator's choice.
type Retention struct {
	// MaxAge, if positive, deletes alerts raised longer ago.
	MaxAge time.Duration
	// PerWatch, if positive, keeps each watch's newest PerWatch alerts.
	PerWatch int
}

// IsZero reports whether r keeps every alert.
func (r Retention) IsZero() bool { return r.MaxAge <= 0 && r.PerWatch <= 0 }

// PruneAlerts deletes the alerts r no longer keeps at now and returns how
// many. A prune that deletes any is audited, since alerts are evidence.
func (s *Service) PruneAlerts(ctx context.Context, r Retention, now time.Time) (int, error) {
	if r.IsZero() {
		return 0, nil
	}
	var before time.Time
	if r.MaxAge > 0 {
		before = now.Add(-r.MaxAge)
	}
	n, err := s.st.PruneAlerts(ctx, before, max(r.PerWatch, 0))
	if err != nil || n == 0 {
		return n, err
	}
	detail := map[string]string{"count": strconv.Itoa(n)}
	if !before.IsZero() {
		detail["raised_before"] = before.UTC().Format(time.RFC3339Nano)
	}
	if r.PerWatch > 0 {
		detail["per_watch"] = strconv.Itoa(r.PerWatch)
	}
	if _, err := s.audit.Record(ctx, "retention", "watch.alerts.prune", "alerts", detail); err != nil {
		return n, fmt.Errorf("audit alert prune: %w", err)
	}
	return n, nil
}
