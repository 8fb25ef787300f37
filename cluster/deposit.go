// Package cluster links addresses to the entities that control them when
// no tag names them directly. Each heuristic can be switched off, and
// every link it makes says which heuristic made it.
//
// Deposit addresses (Ethereum): exchanges give each customer a deposit
// address and sweep what arrives to a hot wallet. An address whose
// outgoing transfers all go to one address that is tagged as an exchange
// is that exchange's deposit address: the place a freeze request names.
package cluster

import (
	"context"
	"fmt"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/trace"
)

// Graph reads an address's transfers.
type Graph interface {
	Postings(ctx context.Context, c chain.Chain, addr string, q chain.PostingQuery, fn func(chain.Posting) bool) error
}

// solePayee is a graph that can tell the one address an address's
// newest payments go to, without building postings (the trace cache): to
// from the first max payments, how many it read, whether they were
// mixed; ok is false when it does not hold the address.
type solePayee interface {
	SolePayee(ctx context.Context, c chain.Chain, addr string, max int) (to string, n int, mixed, ok bool, err error)
}

// HeuristicDeposit names the deposit-address heuristic in labels.
const HeuristicDeposit = "deposit-address"

// Deposits labels an address as an exchange's deposit address when it
// sweeps everything it sends to that exchange's tagged address; other
// addresses get Base's label.
type Deposits struct {
	Graph Graph
	Base  trace.Labeler
	// MaxSweeps bounds the outgoing transfers read: a deposit address
	// sweeps a handful of times; an address sending more is something
	// else (default 64).
	MaxSweeps int
}

// Label implements trace.Labeler.
func (d *Deposits) Label(ctx context.Context, c chain.Chain, addr string) (trace.Label, bool, error) {
	if l, ok, err := d.Base.Label(ctx, c, addr); err != nil || ok {
		return l, ok, err
	}
	limit := d.MaxSweeps
	if limit <= 0 {
		limit = 64
	}
	var (
		to          string
		n           int
		mixed, done bool
		err         error
	)
	// Reading one payment past the limit tells an address that sweeps
	// more often than a deposit address does.
	if p, ok := d.Graph.(solePayee); ok {
		to, n, mixed, done, err = p.SolePayee(ctx, c, addr, limit+1)
	}
	if !done && err == nil {
		to, n, mixed, err = solePayeeOf(ctx, d.Graph, c, addr, limit+1)
	}
	if err != nil {
		return trace.Label{}, false, fmt.Errorf("deposit heuristic for %s: %w", addr, err)
	}
	if mixed || n == 0 || n > limit {
		return trace.Label{}, false, nil
	}
	l, ok, err := d.Base.Label(ctx, c, to)
	if err != nil || !ok || !l.Category.IsExchange() {
		return trace.Label{}, false, err
	}
	return trace.Label{Entity: l.Entity, Category: l.Category, Heuristic: HeuristicDeposit}, true, nil
}

// solePayeeOf is SolePayee read from postings. It is a function of its
// own so that the variables its callback sets stay off the heap on the
// trace cache's path.
func solePayeeOf(ctx context.Context, g Graph, c chain.Chain, addr string, max int) (to string, n int, mixed bool, err error) {
	err = g.Postings(ctx, c, addr, chain.PostingQuery{Outgoing: true, Limit: max}, func(p chain.Posting) bool {
		n++
		if to == "" {
			to = p.Counterparty
		} else if p.Counterparty != to {
			mixed = true
			return false
		}
		return n < max
	})
	return to, n, mixed, err
}
