package watch

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/tracehound/tracehound/intel"
)

// Share marks a watch whose alerts are published as intelligence: each
// deposit address the funds reach becomes an indicator in a TAXII
// collection of this node, where partners polling it pick it up and flag
// the address in their screening.
type Share struct {
	// Collection is the node's own TAXII collection published into.
	Collection string `json:"collection"`
	// TLP marks what is published; the collection's access list and the
	// TLP policy decide which partners receive it.
	TLP intel.TLP `json:"tlp"`
}

// ErrShareRed refuses a share marked TLP:RED. The node never serves RED
// to anyone, so such a share would reach no partner while looking as if
// it did: refused when the watch is saved, rather than stored where
// nobody can read it.
var ErrShareRed = errors.New("TLP:RED never leaves this node, so a share at RED would reach no partner: share at AMBER+STRICT or AMBER (partners named in the collection's readers) or do not share")

// Validate checks a share before a watch is saved with it, and again
// before anything is published.
func (s Share) Validate() error {
	switch {
	case s.Collection == "":
		return errors.New("share: a collection is required")
	case !s.TLP.Valid():
		return fmt.Errorf("share: TLP %v is not a level", s.TLP)
	case s.TLP == intel.TLPRed:
		return fmt.Errorf("share: %w", ErrShareRed)
	}
	return nil
}

// Shareable reports whether an alert's endpoint may be published: one
// linked to its service by a heuristic, such as a deposit address
// recognised by its sweeps. An endpoint a tag names is the service's own
// wallet (a hot wallet, a router, a mixer's pool): flagging it would flag
// every customer of that service in partners' screening.
func (a Alert) Shareable() bool { return a.Label.Heuristic != "" }

// Shared says where an alert was published.
type Shared struct {
	Collection string    `json:"collection"`
	TLP        intel.TLP `json:"tlp"`
	// Indicator and Report are the STIX ids published; a later alert for
	// the same endpoint publishes new versions of the same objects.
	Indicator string `json:"indicator"`
	Report    string `json:"report"`
}

// Publisher publishes an alert of a shared watch as intelligence.
type Publisher interface {
	PublishAlert(ctx context.Context, w Watch, al Alert) (Shared, error)
}

// share publishes the shareable alerts of a shared watch and audits each
// share, or each failure. A failed share does not hold back the alert:
// the alert is the record, and the failure is in the audit log and the
// error returned.
func (s *Service) share(ctx context.Context, w Watch, alerts []Alert) error {
	if w.Share == nil || s.pub == nil {
		return nil
	}
	if err := w.Share.Validate(); err != nil {
		return s.shareFailed(ctx, w, alerts, err)
	}
	var errs []error
	for i := range alerts {
		al := &alerts[i]
		if !al.Shareable() {
			continue
		}
		sh, err := s.pub.PublishAlert(ctx, w, *al)
		if err != nil {
			errs = append(errs, s.shareFailed(ctx, w, []Alert{*al}, err))
			continue
		}
		al.Shared = &sh
		if _, err := s.audit.Record(ctx, "watch:"+w.Name, "watch.share", al.Address, map[string]string{
			"collection": sh.Collection, "tlp": sh.TLP.String(), "indicator": sh.Indicator, "report": sh.Report,
			"entity": al.Label.Entity, "amount": al.Amount.String(), "txs": strings.Join(al.Txs, " ")}); err != nil {
			return err
		}
	}
	return errors.Join(errs...)
}

// shareFailed audits the shareable alerts a share could not publish and
// returns the cause.
func (s *Service) shareFailed(ctx context.Context, w Watch, alerts []Alert, cause error) error {
	cause = fmt.Errorf("watch %s: share in %s: %w", w.Name, w.Share.Collection, cause)
	for _, al := range alerts {
		if !al.Shareable() {
			continue
		}
		if _, err := s.audit.Record(ctx, "watch:"+w.Name, "watch.share.failed", al.Address, map[string]string{
			"collection": w.Share.Collection, "error": cause.Error()}); err != nil {
			return errors.Join(cause, err)
		}
	}
	return cause
}
