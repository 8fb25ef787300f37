// Package report turns a finished trace into freeze requests: one per
// exchange the stolen funds reached, naming each deposit address, what
// arrived there from the traced flow, when and in which transactions,
// the path that links it to the seeds, and, where the address was found
// by its sweeps, the sweeps. Amounts are exact and written in the asset's
// unit (ETH, BTC, a token's symbol) with the base units beside them.
//
// FreezeRequests builds the requests (the API serves them as JSON);
// WriteCSV and WriteHTML write one as a spreadsheet row set and as a
// printable page; WriteDir writes every request into a directory under
// names that never overwrite a file.
package report

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/cluster"
	"github.com/tracehound/tracehound/trace"
)

// Evidence gives the sweeps that identified a deposit address (a
// *cluster.Deposits after the trace that used it).
type Evidence interface {
	Sweeps(c chain.Chain, addr string) []cluster.Sweep
}

// Request asks one exchange to freeze what the traced funds brought to
// its addresses.
type Request struct {
	Case string `json:"case"`
	// Exchange is the entity the endpoints are attributed to, and
	// EntityID a short, stable hash of it that tells apart entities whose
	// names read alike.
	Exchange string `json:"exchange"`
	EntityID string `json:"entity_id"`
	// Chain is the trace's; Chains every chain the request's deposits
	// are on, the trace's first (a trace that crossed bridges reaches
	// an exchange on several).
	Chain  chain.Chain   `json:"chain"`
	Chains []chain.Chain `json:"chains"`
	Model  trace.Model   `json:"model"`
	// UpperBound is set under the poison model, where every transfer
	// from a tainted address counts in full: the amounts are what arrived
	// from the traced flow, not the stolen share of it.
	UpperBound bool      `json:"upper_bound,omitempty"`
	Generated  time.Time `json:"generated"`
	// Through is the last block the trace saw.
	Through  uint64    `json:"through_block"`
	Seeds    []string  `json:"seeds"`
	Deposits []Deposit `json:"deposits"`
	// Totals are the amounts claimed per chain and asset, the traced
	// asset first, each in its own unit.
	Totals []Amount `json:"totals"`
	// Name is the request's file name without extension: a readable part
	// of the exchange's name and EntityID.
	Name string `json:"name"`
}

// Deposit is one address of the exchange that the traced funds reached.
type Deposit struct {
	Address string      `json:"address"`
	Chain   chain.Chain `json:"chain"`
	// Amount is what the address received from the traced flow: the
	// exchange's from the moment it arrived, at its tagged address or at
	// a deposit address that sweeps to it.
	Amount Amount    `json:"amount"`
	First  time.Time `json:"first"`
	Last   time.Time `json:"last"`
	// Txs are the transactions that brought it.
	Txs []string `json:"txs"`
	// IdentifiedBy is "tag" when an attribution names the address, or
	// the heuristic that linked it to the exchange.
	IdentifiedBy string `json:"identified_by"`
	// Sweeps are the transfers that took the deposits on to the exchange's
	// wallet, from the first arrival on: the evidence of a deposit
	// address found by its sweeps. Unswept is what had not been swept
	// when the trace ran (still at the deposit address).
	Sweeps  []Sweep `json:"sweeps,omitempty"`
	Unswept bool    `json:"unswept,omitempty"`
	// Path links the address to a seed, hop by hop.
	Path []Step `json:"path"`
}

// Sweep is a transfer from a deposit address into the exchange's wallet.
type Sweep struct {
	Tx     string    `json:"tx"`
	Block  uint64    `json:"block"`
	Time   time.Time `json:"time"`
	To     string    `json:"to"`
	Amount Amount    `json:"amount"`
}

// Step is one transfer on the path from a seed to a deposit.
type Step struct {
	Hop int `json:"hop"`
	// Chain is the transfer's; Via, on a step a bridge made, names the
	// link ("THORChain swap, memo ..."): the step is the payout of a
	// deposit made on another chain.
	Chain   chain.Chain `json:"chain"`
	Via     string      `json:"via,omitempty"`
	Time    time.Time   `json:"time"`
	Block   uint64      `json:"block"`
	Tx      string      `json:"tx"`
	From    string      `json:"from"`
	To      string      `json:"to"`
	Amount  Amount      `json:"amount"`
	Tainted Amount      `json:"tainted"`
	Swap    bool        `json:"swap,omitempty"`
}

// EntityID is the short hash that names an entity in requests and file
// names: the first 8 bytes of the SHA-256 of its name as attributed, in
// hex.
func EntityID(entity string) string {
	sum := sha256.Sum256([]byte(entity))
	return hex.EncodeToString(sum[:8])
}

// FreezeRequests builds a request for every exchange among the trace's
// endpoints, in the order they first appear there. units writes tokens
// (nil: coins only); ev gives the sweeps of deposit addresses (nil: none
// shown).
func FreezeRequests(r *trace.Result, caseRef string, now time.Time, units Units, ev Evidence) []Request {
	byEntity := make(map[string]int)
	var reqs []Request
	path := evidencePaths(r)
	for _, e := range r.Endpoints {
		if !e.Label.Category.IsExchange() {
			continue
		}
		c := r.ChainOf(e.Chain)
		amt := func(c chain.Chain, a chain.Asset, v chain.Amount) Amount { return NewAmount(c, a, v, units) }
		i, ok := byEntity[e.Label.Entity]
		if !ok {
			seeds := make([]string, len(r.Seeds))
			for j, s := range r.Seeds {
				seeds[j] = s.String()
			}
			id := EntityID(e.Label.Entity)
			reqs = append(reqs, Request{Case: caseRef, Exchange: e.Label.Entity, EntityID: id, Chain: r.Chain, Chains: []chain.Chain{r.Chain}, Model: r.Model,
				UpperBound: r.Model == trace.Poison, Generated: now.UTC(), Through: r.Through, Seeds: seeds, Name: fileName(e.Label.Entity, id)})
			i = len(reqs) - 1
			byEntity[e.Label.Entity] = i
		}
		req := &reqs[i]
		if !slices.Contains(req.Chains, c) {
			req.Chains = append(req.Chains, c)
		}
		d := Deposit{Address: e.Address, Chain: c, Amount: amt(c, e.Asset, e.Amount), First: e.First, Last: e.Last, Txs: slices.Clone(e.Txs), IdentifiedBy: "tag"}
		if e.Label.Heuristic != "" {
			d.IdentifiedBy = e.Label.Heuristic
		}
		if e.Label.Heuristic == cluster.HeuristicDeposit && ev != nil {
			d.Sweeps, d.Unswept = sweepsOf(ev.Sweeps(c, e.Address), e, func(a chain.Asset, v chain.Amount) Amount { return amt(c, a, v) })
		}
		for _, st := range path(c, e.Address, e.Asset) {
			ec := r.ChainOf(st.edge.Chain)
			d.Path = append(d.Path, Step{Hop: st.edge.Hop, Chain: ec, Via: st.via, Time: st.edge.Time, Block: st.edge.Block, Tx: st.edge.Tx, From: st.edge.From, To: st.edge.To,
				Amount: amt(ec, st.edge.Asset, st.edge.Amount), Tainted: amt(ec, st.edge.Asset, st.edge.Tainted), Swap: st.edge.Swap})
		}
		req.Deposits = append(req.Deposits, d)
		req.addTotal(c, e.Asset, e.Amount, units)
	}
	for i := range reqs {
		// The traced asset's total first, the others as they came.
		traced := func(a Amount) bool { return a.Chain == r.Chain && a.Asset == r.Asset }
		slices.SortStableFunc(reqs[i].Totals, func(a, b Amount) int {
			switch {
			case traced(a) == traced(b):
				return 0
			case traced(a):
				return -1
			}
			return 1
		})
	}
	return reqs
}

// sweepsOf picks the sweeps of the endpoint's asset that took deposits
// made while the traced funds arrived (First to Last). Unswept says the
// last arrival was not swept yet.
func sweepsOf(all []cluster.Sweep, e trace.Endpoint, amt func(chain.Asset, chain.Amount) Amount) ([]Sweep, bool) {
	var out []Sweep
	var newest time.Time
	for _, s := range all {
		if s.Asset != e.Asset || s.Deposits == 0 || s.Oldest.After(e.Last) || s.Newest.Before(e.First) {
			continue
		}
		out = append(out, Sweep{Tx: s.Tx, Block: s.Block, Time: s.Time, To: s.To, Amount: amt(s.Asset, s.Amount)})
		if s.Newest.After(newest) {
			newest = s.Newest
		}
	}
	return out, len(out) == 0 || newest.Before(e.Last)
}

// addTotal counts a deposit in its chain's and asset's total.
func (req *Request) addTotal(c chain.Chain, a chain.Asset, v chain.Amount, units Units) {
	for i := range req.Totals {
		if req.Totals[i].Chain == c && req.Totals[i].Asset == a {
			sum, _ := req.Totals[i].Base.Add(v)
			req.Totals[i] = NewAmount(c, a, sum, units)
			return
		}
	}
	req.Totals = append(req.Totals, NewAmount(c, a, v, units))
}

// pathStep is a step of an evidence path: a transfer, or a bridge's
// payout (via says the link).
type pathStep struct {
	edge trace.Edge
	via  string
}

// evidencePaths returns a function that walks back from an endpoint to a
// seed along the incoming edge that carried the most taint from a nearer
// hop; through a swap, it goes on from the venue in the asset the swap
// took in; through a bridge, from the bridge's contract on the chain the
// deposit was made. The edges are indexed once for all the endpoints.
func evidencePaths(r *trace.Result) func(c chain.Chain, addr string, asset chain.Asset) []pathStep {
	type key struct {
		c     chain.Chain
		addr  string
		asset chain.Asset
	}
	type best struct {
		step pathStep
		from key
	}
	in := make(map[key]best)
	hop := make(map[key]int)
	for _, n := range r.Nodes {
		hop[key{r.ChainOf(n.Chain), n.Address, n.Asset}] = n.Hop
	}
	intake := make(map[string]chain.Asset) // swap tx -> an asset taken in
	for _, s := range r.Swaps {
		if len(s.In) > 0 {
			intake[s.Tx] = s.In[0].Asset
		}
	}
	consider := func(to, from key, st pathStep) {
		if hop[from] >= hop[to] {
			return
		}
		if b, ok := in[to]; !ok || st.edge.Tainted.Cmp(b.step.edge.Tainted) > 0 {
			in[to] = best{st, from}
		}
	}
	for _, e := range r.Edges {
		c := r.ChainOf(e.Chain)
		from := key{c, e.From, e.Asset}
		if e.Swap {
			from.asset = intake[e.Tx]
		}
		consider(key{c, e.To, e.Asset}, from, pathStep{edge: e})
	}
	for _, x := range r.Crossings {
		if x.Status != trace.CrossFollowed {
			continue
		}
		for _, o := range x.Out {
			to := key{x.ToChain, o.To, o.Asset}
			if _, ok := hop[to]; !ok {
				continue // dust, not traced
			}
			mark := x.ToChain
			if mark == r.Chain {
				mark = ""
			}
			e := trace.Edge{Tx: o.Tx, Kind: o.Kind, Pos: o.Pos, Block: o.Block, Time: o.Time, From: o.From, To: o.To,
				Amount: o.Amount, Tainted: o.Tainted, Asset: o.Asset, Hop: x.Hop + 1, Chain: mark}
			consider(to, key{x.FromChain, x.Contract, x.InAsset}, pathStep{edge: e, via: x.Via})
		}
	}
	return func(c chain.Chain, addr string, asset chain.Asset) []pathStep {
		var path []pathStep
		for at := (key{c, addr, asset}); len(path) <= len(r.Nodes); {
			b, ok := in[at]
			if !ok {
				break
			}
			// Through a bridge, from goes on from the contract that took
			// the deposit, on the deposit's chain.
			path = append(path, b.step)
			at = b.from
		}
		slices.Reverse(path)
		return path
	}
}
