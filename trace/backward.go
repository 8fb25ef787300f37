package trace

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tracehound/tracehound/chain"
)

// Backward tracing answers the exchange's question about a deposit: where
// did this money come from? It walks transfers in reverse from the seed's
// incoming transfers (in the window) and attributes each amount to the
// transfers that funded it:
//
//   - Haircut: what an address sent at time t came pro rata from
//     everything it had received before t.
//   - Poison: every transfer an address received before it sent is a
//     source, in full (exposure, not amounts).
//
// Attribution stops at labelled services and at the hop limit; those are
// the sources, with the amounts they supplied. Amounts are rounded down at
// each split; the loss is reported as Unattributed, so that sources plus
// Unattributed equal the amount traced, exactly.

// Source is where traced value came from.
type Source struct {
	Address string       `json:"address"`
	Label   *Label       `json:"label,omitempty"`
	Amount  chain.Amount `json:"amount"`
	Hop     int          `json:"hop"`
	// Origin is set for an address whose own inflows are not in the graph
	// (value it created or held before the ingested history): the
	// attribution cannot go further back.
	Origin bool `json:"origin,omitempty"`
}

// BackResult is a finished backward trace.
type BackResult struct {
	Chain        chain.Chain   `json:"chain"`
	Asset        chain.Asset   `json:"asset"`
	Model        Model         `json:"model"`
	Seed         Seed          `json:"seed"`
	Amount       chain.Amount  `json:"amount"` // what the seed received in the window
	Sources      []Source      `json:"sources"`
	Edges        []Edge        `json:"edges"` // Tainted is the amount attributed through the transfer
	Unattributed chain.Amount  `json:"unattributed"`
	Through      uint64        `json:"through_block"`
	Elapsed      time.Duration `json:"elapsed_ns"`
}

// transferID identifies a transfer in both its postings, by its
// transaction's hash.
type transferID struct {
	tx   string
	kind chain.TransferKind
	pos  uint32
}

type backNode struct {
	hop int
	// demand is the amount to explain per outgoing transfer of this
	// address (for the seed: per incoming transfer, which it explains).
	demand map[transferID]chain.Amount
	when   map[transferID]time.Time
	label  *Label
	queued bool
	// in is what this address's incoming transfers were attributed, from
	// the last replay.
	in map[transferID]*Edge
	// own is demand it could not pass back: no earlier inflows.
	own chain.Amount
}

// Back traces the seed address's incoming transfers in the window
// backwards to their sources.
func Back(ctx context.Context, g Graph, seed Seed, o Options) (*BackResult, error) {
	start := time.Now()
	if seed.Address == "" {
		return nil, errors.New("trace: a backward trace starts from an address")
	}
	if o.Model == "" {
		o.Model = Haircut
	}
	switch o.Model {
	case Haircut, Poison:
	default:
		return nil, fmt.Errorf("trace: backward tracing supports haircut and poison, not %s", o.Model)
	}
	if o.Chain == chain.Bitcoin {
		return nil, errors.New("trace: backward tracing of Bitcoin is not available yet")
	}
	if o.MaxHops <= 0 {
		o.MaxHops = DefaultMaxHops
	}
	if o.MaxAddresses <= 0 {
		o.MaxAddresses = DefaultMaxAddresses
	}
	tip, ok, err := g.Tip(ctx, o.Chain)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("trace: nothing of %s is ingested", o.Chain)
	}
	res := &BackResult{Chain: o.Chain, Asset: o.Asset, Model: o.Model, Seed: seed, Through: tip.Height}
	b := &backTracer{g: g, o: o, nodes: make(map[string]*backNode)}
	// The seed's incoming transfers in the window are the demand, met by
	// their senders' outgoing transfers (the same transfers).
	err = g.Postings(ctx, o.Chain, seed.Address, chain.PostingQuery{Incoming: true, Since: o.Since, Until: o.Until, Oldest: true}, func(p chain.Posting) bool {
		if p.Asset != o.Asset || p.Counterparty == "" {
			return true
		}
		res.Amount, _ = res.Amount.Add(p.Amount)
		id := transferID{p.Tx, p.Kind, p.Pos}
		e := &Edge{Tx: p.Tx, Kind: p.Kind, Pos: p.Pos, Block: p.Block, Time: p.Time, From: p.Counterparty, To: seed.Address, Amount: p.Amount, Tainted: p.Amount, Hop: 1}
		b.edges = append(b.edges, e)
		if err = b.demand(ctx, p.Counterparty, id, p.Time, p.Amount, 1); err != nil {
			return false
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	if res.Amount.IsZero() {
		return nil, fmt.Errorf("trace: %s received no %s in the window", seed.Address, assetName(o.Asset))
	}
	for len(b.queue) > 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		a := b.queue[0]
		b.queue = b.queue[1:]
		n := b.nodes[a]
		n.queued = false
		if err := b.replay(ctx, a, n); err != nil {
			return nil, err
		}
	}
	// Sources: labelled addresses, the frontier, and addresses whose
	// demand has no earlier inflow in the graph.
	var attributed chain.Amount
	for a, n := range b.nodes {
		var amt chain.Amount
		origin := false
		switch {
		case n.label != nil || n.hop >= o.MaxHops:
			for _, d := range n.demand {
				amt, _ = amt.Add(d)
			}
		case !n.own.IsZero():
			amt, origin = n.own, true
		}
		for _, e := range n.in {
			res.Edges = append(res.Edges, *e)
		}
		if amt.IsZero() {
			continue
		}
		attributed, _ = attributed.Add(amt)
		res.Sources = append(res.Sources, Source{Address: a, Label: n.label, Amount: amt, Hop: n.hop, Origin: origin})
	}
	res.Edges = append(res.Edges, derefEdges(b.edges)...)
	slices.SortFunc(res.Sources, func(x, y Source) int {
		if c := y.Amount.Cmp(x.Amount); c != 0 {
			return c
		}
		return strings.Compare(x.Address, y.Address)
	})
	if o.Model == Haircut {
		res.Unattributed = sub(res.Amount, attributed)
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

func derefEdges(es []*Edge) []Edge {
	out := make([]Edge, len(es))
	for i, e := range es {
		out[i] = *e
	}
	return out
}

type backTracer struct {
	g     Graph
	o     Options
	nodes map[string]*backNode
	queue []string
	edges []*Edge // into the seed
}

// demand asks addr to explain amount of its outgoing transfer id.
func (b *backTracer) demand(ctx context.Context, addr string, id transferID, at time.Time, amount chain.Amount, hop int) error {
	n := b.nodes[addr]
	if n == nil {
		if len(b.nodes) >= b.o.MaxAddresses {
			return fmt.Errorf("%w: more than %d addresses by hop %d (raise the cap or lower the hops)", ErrTooLarge, b.o.MaxAddresses, hop)
		}
		n = &backNode{hop: hop, demand: make(map[transferID]chain.Amount), when: make(map[transferID]time.Time), in: make(map[transferID]*Edge)}
		b.nodes[addr] = n
		if b.o.Labels != nil {
			l, ok, err := b.o.Labels.Label(ctx, b.o.Chain, addr)
			if err != nil {
				return err
			}
			if ok {
				n.label = &l
			}
		}
	}
	if old, ok := n.demand[id]; ok && old.Cmp(amount) == 0 {
		return nil
	}
	n.demand[id], n.when[id] = amount, at
	if !n.queued {
		n.queued = true
		b.queue = append(b.queue, addr)
	}
	return nil
}

// replay splits an address's demands over its earlier inflows.
func (b *backTracer) replay(ctx context.Context, addr string, n *backNode) error {
	if n.label != nil || n.hop >= b.o.MaxHops || len(n.demand) == 0 {
		return nil
	}
	type inflow struct {
		p chain.Posting
	}
	var ins []inflow
	q := chain.PostingQuery{Incoming: true, Until: b.o.Until, Oldest: true}
	err := b.g.Postings(ctx, b.o.Chain, addr, q, func(p chain.Posting) bool {
		if p.Asset == b.o.Asset && p.Counterparty != "" {
			ins = append(ins, inflow{p})
		}
		return len(ins) < b.o.MaxPostings || b.o.MaxPostings == 0
	})
	if err != nil {
		return fmt.Errorf("trace %s: %w", addr, err)
	}
	got := make(map[transferID]chain.Amount)
	edges := make(map[transferID]*Edge)
	n.own = chain.Amount{}
	for id, d := range n.demand {
		t := n.when[id]
		// Inflows strictly before the outgoing transfer (same block and
		// earlier position counts too, but block time is all a posting
		// orders by here).
		var total chain.Amount
		k := 0
		for k < len(ins) && !ins[k].p.Time.After(t) {
			total, _ = total.Add(ins[k].p.Amount)
			k++
		}
		if total.IsZero() {
			n.own, _ = n.own.Add(d)
			continue
		}
		for _, in := range ins[:k] {
			var share chain.Amount
			if b.o.Model == Poison {
				share = in.p.Amount
			} else {
				share = d.MulDiv(in.p.Amount, total)
			}
			iid := transferID{in.p.Tx, in.p.Kind, in.p.Pos}
			got[iid], _ = got[iid].Add(share)
			if b.o.Model == Poison {
				got[iid] = in.p.Amount
			}
			edges[iid] = &Edge{Tx: in.p.Tx, Kind: in.p.Kind, Pos: in.p.Pos, Block: in.p.Block, Time: in.p.Time, From: in.p.Counterparty, To: addr,
				Amount: in.p.Amount, Hop: n.hop + 1}
		}
	}
	for iid, e := range edges {
		e.Tainted = got[iid]
		if e.Tainted.IsZero() {
			continue
		}
		if err := b.demand(ctx, e.From, iid, e.Time, e.Tainted, n.hop+1); err != nil {
			return err
		}
	}
	n.in = edges
	return nil
}
