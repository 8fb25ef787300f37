package node

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/tracehound/tracehound/audit"
	"github.com/tracehound/tracehound/cases"
	"github.com/tracehound/tracehound/intel"
)

// newCases is the node's cases service: audited in the node's log,
// addresses read by its parser, published through its TAXII server under
// its identity.
func (n *Node) newCases() (*cases.Service, error) {
	return cases.NewService(cases.Config{Store: n.db, Audit: n.audit, Parser: n.parser, Publisher: casePublisher{n},
		Creator: n.identity, Now: n.now})
}

// Cases is the node's investigations.
func (n *Node) Cases() *cases.Service { return n.cases }

// Audit is the node's audit log: every part that records shares it, since
// one log orders the entries.
func (n *Node) Audit() *audit.Log { return n.audit }

// identity is the node's own STIX identity; an input error while it has
// none.
func (n *Node) identity(ctx context.Context) (*intel.Identity, error) {
	me, ok, err := n.db.NodeIdentity(ctx)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, inputErr(errNoIdentity)
	}
	return me, nil
}

// casePublisher posts a case's objects as the node.
type casePublisher struct{ n *Node }

func (p casePublisher) PublishObjects(ctx context.Context, collection string, objs []intel.Object) error {
	raws := make([]json.RawMessage, len(objs))
	for i, o := range objs {
		b, err := json.Marshal(o)
		if err != nil {
			return err
		}
		raws[i] = b
	}
	st, err := p.n.AddObjects(ctx, collection, raws)
	if err != nil {
		return err
	}
	if st.FailureCount > 0 {
		return fmt.Errorf("%d of %d objects refused, %s first: %s", st.FailureCount, st.TotalCount, st.Failures[0].ID, st.Failures[0].Message)
	}
	return nil
}
