package node

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/intel"
	"github.com/tracehound/tracehound/store/graph"
	"github.com/tracehound/tracehound/taxii"
)

// graphAddress reads an address of a chain the graph holds.
func (n *Node) graphAddress(c, a string) (chain.Address, error) {
	ch, err := lookupChain(c, false)
	if err != nil {
		return chain.Address{}, err
	}
	if !inGraph(ch) {
		return chain.Address{}, inputErr(fmt.Errorf("chain %q: the graph holds %s", c, graphChainNames()))
	}
	addr, err := n.parser.Parse(a, ch)
	if err != nil {
		return chain.Address{}, inputErr(err)
	}
	return addr, nil
}

// AddressTotals is what the graph holds of an address in all: received,
// sent and fees per asset, first and last seen; false if the graph has
// never seen it.
func (n *Node) AddressTotals(ctx context.Context, c, a string) (graph.Totals, bool, error) {
	addr, err := n.graphAddress(c, a)
	if err != nil {
		return graph.Totals{}, false, err
	}
	return n.db.Graph().AddressTotals(ctx, addr.Chain, addr.Value)
}

// AddressTransfers pages through an address's transfers, newest first:
// at most limit of those before the time before (zero: from the newest),
// and the time to ask before for the next page (zero at the end). A page
// ends on a whole second, so that no transfer is skipped or repeated
// across pages.
func (n *Node) AddressTransfers(ctx context.Context, c, a string, before time.Time, limit int) ([]graph.Posting, time.Time, error) {
	addr, err := n.graphAddress(c, a)
	if err != nil {
		return nil, time.Time{}, err
	}
	limit = min(max(limit, 1), 1000)
	var out []graph.Posting
	err = n.db.Graph().PostingViews(ctx, addr.Chain, addr.Value, graph.PostingQuery{Until: before}, func(v *graph.PostingView) bool {
		if len(out) >= limit && v.Unix != out[len(out)-1].Time.Unix() {
			return false
		}
		out = append(out, v.Posting())
		return true
	})
	if err != nil || len(out) < limit {
		return out, time.Time{}, err
	}
	return out, out[len(out)-1].Time, nil
}

// IntelFeed lists the newest reports and indicators of every collection,
// what partners sent and what this node shared, each under its TLP; those
// above the acting key's clearance are left out.
func (n *Node) IntelFeed(ctx context.Context, limit int) ([]api.FeedItem, error) {
	clearance := intel.TLPRed
	if k := auth.KeyFrom(ctx); k != nil {
		clearance = k.MaxTLP()
	}
	limit = min(max(limit, 1), 1000)
	cols, err := n.db.TAXIICollections(ctx)
	if err != nil {
		return nil, err
	}
	var markings []intel.Object
	byCol := map[string][]intel.Object{}
	added := map[string]time.Time{}
	for _, c := range cols {
		raws, err := n.latestIntel(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		for _, r := range raws {
			added[r.ID] = r.DateAdded
		}
		objs := decodeIntel(raws)
		for _, o := range objs {
			if o.ObjectType() == intel.TypeMarkingDefinition {
				markings = append(markings, o)
			}
		}
		byCol[c.ID] = objs
	}
	index := intel.MarkingIndex(markings)
	var out []api.FeedItem
	for _, c := range cols {
		peer, received := strings.CutPrefix(c.ID, inboxPrefix)
		var ids []string
		for _, o := range byCol[c.ID] {
			ids = append(ids, o.ObjectID())
		}
		owners, err := n.db.TAXIIOwners(ctx, ids)
		if err != nil {
			return nil, err
		}
		for _, o := range byCol[c.ID] {
			if o.ObjectType() != intel.TypeReport && o.ObjectType() != intel.TypeIndicator {
				continue
			}
			level, marked := intel.ObjectTLP(o, index)
			if !marked {
				level = intel.TLPAmber
			}
			if level > clearance {
				continue
			}
			it := api.FeedItem{ID: o.ObjectID(), Type: o.ObjectType(), Collection: c.ID, TLP: level.String(), Time: added[o.ObjectID()], Received: received}
			var named struct {
				Name        string `json:"name"`
				Description string `json:"description"`
			}
			if b, err := json.Marshal(o); err == nil && json.Unmarshal(b, &named) == nil {
				it.Name, it.Description = named.Name, named.Description
			}
			switch {
			case received:
				it.Partner = peer
			case owners[o.ObjectID()].Owner != "" && owners[o.ObjectID()].Owner != taxii.LocalPartner:
				it.Partner, it.Received = owners[o.ObjectID()].Owner, true
			default:
				it.Partner = ownFlags
			}
			out = append(out, it)
		}
	}
	slices.SortFunc(out, func(a, b api.FeedItem) int { return b.Time.Compare(a.Time) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
