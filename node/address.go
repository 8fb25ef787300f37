package node

import (
	"context"
	"fmt"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/sanctions"
	"github.com/tracehound/tracehound/store/graph"
)

// AddressReport is the graph's view of one address: its totals, any
// sanctions designation, and its most recent transfers.
type AddressReport struct {
	Address   chain.Address     `json:"address"`
	Found     bool              `json:"found"`
	Totals    *graph.Totals     `json:"totals,omitempty"`
	Sanctions []sanctions.Entry `json:"sanctions,omitempty"`
	Recent    []graph.Posting   `json:"recent"`
}

// AddressQuery selects what Address reports.
type AddressQuery struct {
	Chain, Address string
	// Asset keeps only the transfers of one asset: a token contract, or
	// "native" for the chain's coin.
	Asset string
	// Limit is the most recent transfers listed.
	Limit int
}

// Address reports what the transfer graph holds for an address.
func (n *Node) Address(ctx context.Context, q AddressQuery) (*AddressReport, error) {
	c, err := lookupChain(q.Chain, false)
	if err != nil {
		return nil, err
	}
	if !inGraph(c) {
		return nil, inputErr(fmt.Errorf("chain %q: the graph holds %s", q.Chain, graphChainNames()))
	}
	addr, err := n.parser.Parse(q.Address, c)
	if err != nil {
		return nil, inputErr(err)
	}
	var asset chain.Asset
	if q.Asset != "" && q.Asset != "native" {
		a, err := n.parser.Parse(q.Asset, c)
		if err != nil {
			return nil, inputErr(fmt.Errorf("asset: %w", err))
		}
		asset = chain.Asset(a.Value)
	}
	g := n.db.Graph()
	rep := &AddressReport{Address: addr, Recent: []graph.Posting{}}
	tot, ok, err := g.AddressTotals(ctx, addr.Chain, addr.Value)
	if err != nil {
		return nil, err
	}
	if ok {
		rep.Found, rep.Totals = true, &tot
	}
	entries, err := n.db.CurrentSanctions(ctx)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if sa, err := n.parser.Parse(e.Address, chain.ParseChain(e.Asset)); err == nil && sa.Key() == addr.Key() {
			rep.Sanctions = append(rep.Sanctions, e)
		}
	}
	if !ok || q.Limit <= 0 {
		return rep, nil
	}
	// Views, so that an asset filter on a busy address skips the
	// postings it does not show without turning them into text.
	err = g.PostingViews(ctx, addr.Chain, addr.Value, graph.PostingQuery{}, func(v *graph.PostingView) bool {
		switch {
		case q.Asset == "":
		case q.Asset == "native" && v.IsAsset(chain.Native):
		case asset != "" && v.IsAsset(asset):
		default:
			return true
		}
		rep.Recent = append(rep.Recent, v.Posting())
		return len(rep.Recent) < q.Limit
	})
	return rep, err
}
