// Package rules detects laundering typologies in transfer flows: fan-out,
// fan-in, scatter-gather, gather-scatter, cycles, stacked layering, peel
// chains, rapid pass-through, structuring and its smurfs, mixer and bridge hopping,
// high-value transfers from fresh addresses and dormant addresses waking
// up.
//
// An Engine takes one block's transfers at a time and returns the findings
// they complete, keeping a bounded history per address (a window of recent
// transfers, capped in count) so that it can run on every ingested block.
// Scan runs the same rules on demand over a range of transfers.
//
// Amounts are compared exactly, in base units; the rules' tolerances are
// applied in integer arithmetic. Scores are heuristic strengths in [0, 1].
package rules

import (
	"time"

	"github.com/tracehound/tracehound/chain"
)

// Typology names a laundering pattern.
type Typology string

// The typologies the engine detects.
const (
	FanOut         Typology = "fan-out"
	FanIn          Typology = "fan-in"
	ScatterGather  Typology = "scatter-gather"
	GatherScatter  Typology = "gather-scatter"
	Cycle          Typology = "cycle"
	Stack          Typology = "stack"
	PeelChain      Typology = "peel-chain"
	PassThrough    Typology = "rapid-pass-through"
	Structuring    Typology = "structuring"
	MixerHopping   Typology = "mixer-hopping"
	BridgeHopping  Typology = "bridge-hopping"
	FreshHighValue Typology = "fresh-high-value"
	Dormant        Typology = "dormant-reactivated"
	Smurfing       Typology = "smurfing"
)

// Typologies lists every typology in a stable order.
var Typologies = []Typology{FanOut, FanIn, ScatterGather, GatherScatter, Cycle, Stack, PeelChain,
	PassThrough, Structuring, MixerHopping, BridgeHopping, FreshHighValue, Dormant, Smurfing}

func typIndex(t Typology) int {
	for i, x := range Typologies {
		if x == t {
			return i
		}
	}
	return -1
}

// Finding is one detected pattern.
type Finding struct {
	Typology Typology    `json:"typology"`
	Chain    chain.Chain `json:"chain"`
	// Subject is the address the pattern is about: the hub of a fan, the
	// origin of a cycle or chain, the address that structured.
	Subject string `json:"subject"`
	// Addresses are every address in the pattern, the subject first.
	Addresses []string `json:"addresses"`
	// Txs are the transactions of the transfers that make the pattern, in
	// the order seen.
	Txs []string `json:"txs"`
	// Asset and Amount: the total the pattern's transfers moved of the
	// asset that triggered it, exact in base units.
	Asset  chain.Asset  `json:"asset,omitempty"`
	Amount chain.Amount `json:"amount"`
	// Score is the strength of the finding in [0, 1]: 0.5 at the rule's
	// threshold, rising as the pattern exceeds it.
	Score float64 `json:"score"`
	// Start and End bound the times of the pattern's transfers; Block is
	// the height whose transfers completed it.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	Block uint64    `json:"block"`
	// Explanation says in plain words what was seen and why it matters.
	Explanation string `json:"explanation"`
}

// Labeler tells an address's category where attribution knows it:
// "mixer", "bridge", "exchange" ... (the category names of tracehound's
// tags package). The mixer and bridge rules need it; without one they
// find nothing.
type Labeler interface {
	Category(c chain.Chain, address string) (category string, ok bool)
}

// Categories the rules act on.
const (
	CategoryMixer  = "mixer"
	CategoryBridge = "bridge"
)

// History answers what the engine's own memory cannot: whether an address
// was active before, and when. The node can back it with the transfer
// graph. ok is false when the address has no activity before the time.
type History interface {
	Activity(c chain.Chain, address string, before time.Time) (first, last time.Time, ok bool)
}

// LabelMap is a Labeler over a map, for tests and small fixed lists.
type LabelMap map[chain.Key]string

// Category implements Labeler.
func (m LabelMap) Category(c chain.Chain, address string) (string, bool) {
	s, ok := m[chain.Key{Chain: c, Value: address}]
	return s, ok
}

// LabelerFunc adapts a function to Labeler.
type LabelerFunc func(c chain.Chain, address string) (string, bool)

// Category implements Labeler.
func (f LabelerFunc) Category(c chain.Chain, address string) (string, bool) { return f(c, address) }

// HistoryFunc adapts a function to History.
type HistoryFunc func(c chain.Chain, address string, before time.Time) (first, last time.Time, ok bool)

// Activity implements History.
func (f HistoryFunc) Activity(c chain.Chain, address string, before time.Time) (time.Time, time.Time, bool) {
	return f(c, address, before)
}
