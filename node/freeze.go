package node

import (
	"context"
	"fmt"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/ingest/transfers"
	"github.com/tracehound/tracehound/trace"
	"github.com/tracehound/tracehound/trace/report"
)

// tokenUnits gives freeze requests and reports the symbol and decimals of
// the tokens whose contracts fix them; other tokens are shown in base
// units of their contract.
type tokenUnits struct{ t *transfers.Tokens }

func (u tokenUnits) Unit(c chain.Chain, a chain.Asset) (report.Unit, bool) {
	if a == chain.Native {
		return report.Native(c)
	}
	t, ok := u.t.ByAsset(c, a)
	if !ok {
		return report.Unit{}, false
	}
	return report.Unit{Symbol: t.Symbol, Decimals: t.Decimals}, true
}

// Units tells the unit of every asset the node knows.
func (n *Node) Units() report.Units { return KnownUnits() }

// KnownUnits gives the unit of the coins and of the tokens whose
// contracts fix them, as a node does: for a report read from another
// node's answer.
func KnownUnits() report.Units { return tokenUnits{transfers.KnownTokens()} }

// FreezeRequests builds a freeze request per exchange the trace res
// reached, claiming per deposit address what it received from the traced
// flow, with the sweeps that identified it where it was found by them.
func (n *Node) FreezeRequests(res *trace.Result, caseRef string) []report.Request {
	return report.FreezeRequests(res, caseRef, n.now().UTC(), n.Units(), n.traces.evidence(res.ID))
}

// Freeze returns the freeze requests of a trace the node ran recently.
func (n *Node) Freeze(ctx context.Context, id, caseRef string) ([]report.Request, error) {
	res, ok := n.TraceResult(ctx, id)
	if !ok {
		return nil, fmt.Errorf("%w: %s (results are kept for an hour)", ErrNoTrace, id)
	}
	reqs := n.FreezeRequests(res, caseRef)
	detail := map[string]string{"trace": id, "requests": fmt.Sprint(len(reqs))}
	if caseRef != "" {
		detail["case"] = caseRef
	}
	return reqs, n.record(ctx, "freeze.request", id, detail)
}

// ErrNoTrace is a trace id the node does not keep.
var ErrNoTrace = fmt.Errorf("no such trace")
