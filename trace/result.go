package trace

import (
	"slices"
	"time"

	"github.com/tracehound/tracehound/chain"
)

// Edge is a transfer that carried taint.
type Edge struct {
	Tx      string             `json:"tx"`
	Kind    chain.TransferKind `json:"kind"`
	Pos     uint32             `json:"pos"`
	Block   uint64             `json:"block"`
	Time    time.Time          `json:"time"`
	From    string             `json:"from"`
	To      string             `json:"to"`
	Amount  chain.Amount       `json:"amount"`
	Tainted chain.Amount       `json:"tainted"`
	// Asset is what the transfer moved: the traced asset, or one a swap
	// converted it into.
	Asset chain.Asset `json:"asset,omitempty"`
	// Hop is the recipient's hop: 1 for transfers out of a seed.
	Hop int `json:"hop"`
	// Chain is the transfer's chain where it is not the result's: the
	// trace crossed a bridge to reach it (Result.Crossings).
	Chain chain.Chain `json:"chain,omitempty"`
	// Swap marks a DeFi venue's payout, tainted by what the trace put in
	// (Result.Swaps).
	Swap bool `json:"swap,omitempty"`
}

// Node is an address the taint reached.
type Node struct {
	Address string `json:"address"`
	// Chain is the address's chain where it is not the result's.
	Chain chain.Chain `json:"chain,omitempty"`
	// Asset is the asset the address holds taint in: an address reached
	// in two assets is two nodes.
	Asset chain.Asset `json:"asset,omitempty"`
	Hop   int         `json:"hop"`
	// Received and Sent are the tainted amounts in and out; Remaining is
	// what the address still holds (haircut and FIFO).
	Received  chain.Amount `json:"received"`
	Sent      chain.Amount `json:"sent"`
	Remaining chain.Amount `json:"remaining"`
	Label     *Label       `json:"label,omitempty"`
	// Frontier is set when the hop limit stopped the trace here.
	Frontier bool `json:"frontier,omitempty"`
	// Seed marks a seed address.
	Seed bool `json:"seed,omitempty"`
	// Truncated is set when the address has more transfers than
	// MaxPostings: its outgoing taint is then computed from the first
	// MaxPostings only.
	Truncated bool `json:"truncated,omitempty"`
}

// Endpoint is a service that received tainted value.
type Endpoint struct {
	Address string       `json:"address"`
	Chain   chain.Chain  `json:"chain,omitempty"` // where it is not the result's
	Label   Label        `json:"label"`
	Asset   chain.Asset  `json:"asset,omitempty"`
	Amount  chain.Amount `json:"amount"`
	First   time.Time    `json:"first"`
	Last    time.Time    `json:"last"`
	Txs     []string     `json:"txs"`
	Hop     int          `json:"hop"`
	// Continues says the funds go on by other means: a mixer or a bridge,
	// where the trace continues with other evidence, or a DeFi venue,
	// where it continues in the asset the venue paid out (Result.Swaps).
	// At a bridge whose deposits the graph recorded, it is set only if
	// the trace followed one of them to its payout.
	Continues bool `json:"continues,omitempty"`
	// Crossings are the deposits into a bridge the trace reached here,
	// as places in Result.Crossings: followed, or why not (an unreadable
	// memo, a destination not in the graph, no payout yet).
	Crossings []int `json:"crossings,omitempty"`
}

// Hop summarises one hop.
type Hop struct {
	Hop       int          `json:"hop"`
	Chain     chain.Chain  `json:"chain,omitempty"` // where it is not the result's
	Asset     chain.Asset  `json:"asset,omitempty"`
	Addresses int          `json:"addresses"`
	Transfers int          `json:"transfers"`
	Tainted   chain.Amount `json:"tainted"`
}

// Swap is a DeFi venue's payout the trace followed: in one transaction,
// tainted value went into the venue in one asset and the venue paid out
// another. The payout is tainted in the share of the venue's intake that
// was tainted (poison: in full): Tainted = Amount × In.Tainted ÷
// In.Amount, rounded down, summed over the tainted intakes.
type Swap struct {
	Chain chain.Chain `json:"chain,omitempty"` // where it is not the result's
	Tx    string      `json:"tx"`
	Block uint64      `json:"block"`
	Time  time.Time   `json:"time"`
	// Venue is the address that paid out, and Label its attribution.
	Venue string `json:"venue"`
	Label Label  `json:"label"`
	// In are the tainted intakes: per asset, what the transaction put
	// into the venue in all and how much of it was tainted.
	In []SwapLeg `json:"in"`
	// To received Amount of Asset, of which Tainted.
	To      string       `json:"to"`
	Asset   chain.Asset  `json:"asset"`
	Amount  chain.Amount `json:"amount"`
	Tainted chain.Amount `json:"tainted"`
}

// SwapLeg is one asset's intake into a venue in a swap transaction.
type SwapLeg struct {
	Asset   chain.Asset  `json:"asset"`
	Amount  chain.Amount `json:"amount"`
	Tainted chain.Amount `json:"tainted"`
}

// Result is a finished trace.
type Result struct {
	// ID names a result a node keeps, for its freeze requests and
	// reports; empty for a trace run outside a node.
	ID        string       `json:"id,omitempty"`
	Chain     chain.Chain  `json:"chain"`
	Asset     chain.Asset  `json:"asset"`
	Model     Model        `json:"model"`
	Seeds     []Seed       `json:"seeds"`
	Tainted   chain.Amount `json:"tainted"` // what entered at the seeds
	Nodes     []Node       `json:"nodes"`
	Edges     []Edge       `json:"edges"`
	Endpoints []Endpoint   `json:"endpoints"`
	Hops      []Hop        `json:"hops"`
	// Swaps are the conversions the trace followed out of the traced
	// asset and between others, in block order.
	Swaps []Swap `json:"swaps,omitempty"`
	// Crossings are the bridge deposits the trace reached, in the order
	// found, and Legs the chains and assets it went on in across them:
	// nodes, edges, endpoints, hops and swaps of a leg on another chain
	// than the result's name their chain.
	Crossings []Crossing `json:"crossings,omitempty"`
	Legs      []Leg      `json:"legs,omitempty"`
	// Candidates are possible continuations through instant exchanges,
	// matched by amount and time only: a heuristic, each with its
	// confidence, never part of the nodes, edges or endpoints above.
	Candidates []Candidate `json:"candidates,omitempty"`
	// Warnings say where the answer is partial: truncated addresses, a
	// window past the ingested data.
	Warnings []string `json:"warnings,omitempty"`
	// MinAmount is the dust limit the trace ran with.
	MinAmount chain.Amount `json:"min_amount"`
	// FeesTainted is taint paid to miners as fees (Bitcoin), on the
	// result's chain (each leg has its own).
	FeesTainted chain.Amount `json:"fees_tainted"`
	// Through is the last block the store held when the trace ran:
	// later transfers are not in it.
	Through uint64        `json:"through_block"`
	Elapsed time.Duration `json:"elapsed_ns"`
}

// ChainOf is the chain of a node, edge, endpoint, hop or swap whose
// Chain is c: c, or the result's chain where c is empty.
func (r *Result) ChainOf(c chain.Chain) chain.Chain {
	if c == "" {
		return r.Chain
	}
	return c
}

// Chains lists the chains a result spans, its own first.
func (r *Result) Chains() []chain.Chain {
	out := []chain.Chain{r.Chain}
	for _, l := range r.Legs {
		if !slices.Contains(out, l.Chain) {
			out = append(out, l.Chain)
		}
	}
	return out
}
