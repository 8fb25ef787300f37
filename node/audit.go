package node

import (
	"context"

	"github.com/tracehound/tracehound/audit"
)

// VerifyAudit recomputes the audit log's hash chain and checks its signed
// checkpoints, and that it still holds every head given (heads partners
// or the operator recorded earlier).
func (n *Node) VerifyAudit(ctx context.Context, heads ...*audit.Head) (audit.Report, error) {
	return n.audit.Verify(ctx, heads...)
}

// AuditHead signs the log's head now, for partners or the operator to
// record outside the node.
func (n *Node) AuditHead(ctx context.Context) (audit.Head, error) { return n.audit.CurrentHead(ctx) }

// AuditEntries calls fn with every audit entry from sequence number from
// on, in order.
func (n *Node) AuditEntries(ctx context.Context, from uint64, fn func(audit.Entry) error) error {
	return n.db.AuditEntries(ctx, max(from, 1), fn)
}
