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
	"strings"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/trace"
)

// Graph reads an address's transfers.
type Graph interface {
	Postings(ctx context.Context, c chain.Chain, addr string, q chain.PostingQuery, fn func(chain.Posting) bool) error
}

// payees is a graph that can list the counterparties of an address's
// payments, newest first, without building postings (the trace cache);
// ok is false when it does not hold the address.
type payees interface {
	Payees(ctx context.Context, c chain.Chain, addr string, fn func(counterparty string) bool) (ok bool, err error)
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
	var to string
	n, mixed := 0, false
	payee := func(cp string) bool {
		n++
		if to == "" {
			to = cp
		} else if cp != to {
			mixed = true
			return false
		}
		return n <= limit
	}
	done := false
	var err error
	if p, ok := d.Graph.(payees); ok {
		done, err = p.Payees(ctx, c, addr, payee)
	}
	if !done && err == nil {
		n, to, mixed = 0, "", false
		err = d.Graph.Postings(ctx, c, addr, chain.PostingQuery{Outgoing: true, Limit: limit + 1}, func(p chain.Posting) bool { return payee(p.Counterparty) })
	}
	if err != nil {
		return trace.Label{}, false, fmt.Errorf("deposit heuristic for %s: %w", addr, err)
	}
	if mixed || n == 0 || n > limit {
		return trace.Label{}, false, nil
	}
	l, ok, err := d.Base.Label(ctx, c, to)
	if err != nil || !ok || !strings.EqualFold(l.Category, "exchange") {
		return trace.Label{}, false, err
	}
	return trace.Label{Entity: l.Entity, Category: l.Category, Heuristic: HeuristicDeposit}, true, nil
}
