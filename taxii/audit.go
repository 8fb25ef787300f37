package taxii

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/tracehound/tracehound/audit"
)

// Audited actions.
const (
	ActionServed   = "taxii.objects.served"   // objects, manifest records or versions sent
	ActionWithheld = "taxii.objects.withheld" // objects the policy kept back
	ActionDenied   = "taxii.denied"           // a request refused for lack of access
	ActionAdded    = "taxii.objects.added"
	ActionDeleted  = "taxii.objects.deleted"
)

// Event is one audited TAXII action.
type Event struct {
	Time       time.Time
	Partner    string // the API key name acting
	Action     string
	Collection string
	// Resource is what was asked for: "objects", "manifest", "versions",
	// "collection", "status".
	Resource  string
	ObjectIDs []string
	Reason    string
}

// Auditor records events. The server records before it responds and
// fails the request if recording fails: nothing leaves unaudited.
type Auditor interface {
	Record(ctx context.Context, e Event) error
}

// AuditorFunc adapts a function to Auditor.
type AuditorFunc func(ctx context.Context, e Event) error

// Record calls f.
func (f AuditorFunc) Record(ctx context.Context, e Event) error { return f(ctx, e) }

type nopAuditor struct{}

func (nopAuditor) Record(context.Context, Event) error { return nil }

// AuditLog records events in tracehound's tamper-evident audit log.
func AuditLog(l *audit.Log) Auditor { return auditLog{l} }

type auditLog struct{ l *audit.Log }

func (a auditLog) Record(ctx context.Context, e Event) error {
	detail := map[string]string{}
	if e.Resource != "" {
		detail["resource"] = e.Resource
	}
	if e.Reason != "" {
		detail["reason"] = e.Reason
	}
	if len(e.ObjectIDs) > 0 {
		detail["count"] = strconv.Itoa(len(e.ObjectIDs))
		detail["objects"] = strings.Join(e.ObjectIDs, ",")
	}
	_, err := a.l.Record(ctx, e.Partner, e.Action, e.Collection, detail)
	return err
}
