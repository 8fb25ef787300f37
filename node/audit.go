package node

import (
	"context"

	"github.com/tracehound/tracehound/audit"
)

// VerifyAudit recomputes the audit log's hash chain.
func (n *Node) VerifyAudit(ctx context.Context) (audit.Report, error) { return audit.Verify(ctx, n.db) }

// AuditEntries calls fn with every audit entry from sequence number from
// on, in order.
func (n *Node) AuditEntries(ctx context.Context, from uint64, fn func(audit.Entry) error) error {
	return n.db.AuditEntries(ctx, max(from, 1), fn)
}
