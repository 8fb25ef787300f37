// Package trace follows tainted funds through the transfer graph, hop by
// hop, under one of three taint models, and reports where they went: the
// flow (every transfer that carried taint, with the tainted amount), the
// endpoints (services the funds reached, where they can be frozen) and a
// per-hop summary. Amounts are exact integers in base units.
//
// The models, for an address (an account) that holds tainted and clean
// value and sends some of it on:
//
//   - Poison: once an address holds any taint, everything it sends is
//     tainted in full. Taint is not conserved: it marks, it does not
//     measure. Use it to find every place stolen funds might have reached.
//   - Haircut: each payment carries taint in proportion to the address's
//     balance at that moment: tainted = amount × tainted balance ÷ balance,
//     rounded down, so that no more taint leaves than arrived.
//   - FIFO: value leaves in the order it arrived; each incoming transfer
//     is a lot, consumed oldest first, and a lot that is itself partly
//     tainted gives up its taint pro rata.
//
// Under haircut and FIFO the tainted value is conserved at every address:
// what arrived equals what left plus what remains (Result.Check proves it
// for each trace). Balances are replayed from each address's whole history
// in the graph, so the clean value an address held before the taint
// arrived counts.
package trace

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/tags"
)

// Model is a taint model.
type Model string

// The taint models.
const (
	Poison  Model = "poison"
	Haircut Model = "haircut"
	FIFO    Model = "fifo"
)

// ParseModel reads a model's name.
func ParseModel(s string) (Model, error) {
	switch m := Model(strings.ToLower(s)); m {
	case Poison, Haircut, FIFO:
		return m, nil
	}
	return "", fmt.Errorf("taint model %q: want poison, haircut or fifo", s)
}

// Graph is the transfer graph a trace reads.
type Graph interface {
	Postings(ctx context.Context, c chain.Chain, addr string, q chain.PostingQuery, fn func(chain.Posting) bool) error
	// Tip is the last block stored for the chain, to tell a trace window
	// that runs past the ingested data.
	Tip(ctx context.Context, c chain.Chain) (chain.Tip, bool, error)
}

// Label attributes an address to a service.
type Label struct {
	Entity   string        `json:"entity"`
	Category tags.Category `json:"category"`
	// Heuristic names how the address was linked to the entity when no
	// tag names it directly (e.g. "deposit-address").
	Heuristic string `json:"heuristic,omitempty"`
}

// Labeler tells which addresses belong to services. Tracing stops at
// them: a hop into an exchange, mixer or bridge ends the branch there.
// A trace may call Label from several goroutines at once.
type Labeler interface {
	Label(ctx context.Context, c chain.Chain, addr string) (Label, bool, error)
}

// Options control a trace.
type Options struct {
	Chain chain.Chain
	Asset chain.Asset // "" for the chain's coin
	Model Model
	// MaxHops bounds the hops from a seed; addresses at the limit are
	// reported as the frontier, not expanded.
	MaxHops int
	// MinAmount drops branches whose tainted amount is below it (dust).
	MinAmount chain.Amount
	// Since and Until bound the transfers considered (block time);
	// zero is unbounded.
	Since, Until time.Time
	// MaxAddresses caps the addresses a trace may taint; past it the
	// trace stops with ErrTooLarge rather than grow without bound.
	MaxAddresses int
	// MaxPostings caps the transfers read for one address: a busy address
	// that is not labelled as a service would otherwise be read whole.
	MaxPostings int
	// Labels, if set, marks service addresses as endpoints.
	Labels Labeler
	// NoSwaps keeps the trace in its asset. By default, taint that enters
	// a DeFi venue (a DEX pool or router, labelled with category "defi")
	// continues in whatever asset the venue paid out in the same
	// transaction: see Swap.
	NoSwaps bool
	// Progress, if set, is called every few hundred addresses replayed
	// with the addresses tainted so far and those waiting.
	Progress func(tainted, queued int)
	// NoBridges ends the trace at bridges. By default, on a graph that
	// holds bridge links (BridgeGraph), a trace that reaches a deposit
	// into a bridge goes on from its payout on the destination chain.
	NoBridges bool
	// Networks maps a bridge's name for a destination chain ("BTC",
	// "eip155:1") to the graph's chain; nil is bridge.GraphChain.
	Networks func(dest string) (chain.Chain, bool)
	// Instant, if set, looks for the payouts of instant exchanges the
	// trace reached (Result.Candidates).
	Instant *Instant

	// bridges are the chain's bridge contracts, which end a branch so
	// that the trace can cross (set by Run for each leg).
	bridges map[string]string
	// payouts are the payout transactions the crossings read, which are
	// the next legs' seeds: read once (set by Run for each leg).
	payouts *payoutTxs
}

// Defaults for Options.
const (
	DefaultMaxHops      = 6
	DefaultMaxAddresses = 200_000
	DefaultMaxPostings  = 1_000_000
)

// ErrTooLarge is returned when a trace would exceed Options.MaxAddresses.
var ErrTooLarge = errors.New("trace too large")
