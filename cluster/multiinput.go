package cluster

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/trace"
)

// Multi-input clustering (Bitcoin): the inputs of one transaction are
// signed by one wallet, so their addresses share an owner
// (common-input-ownership). CoinJoins break the rule on purpose: many
// users sign one transaction that pays equal amounts back out. Transactions
// that look like CoinJoins are not used to link addresses.

// HeuristicMultiInput names the multi-input heuristic in labels.
const HeuristicMultiInput = "multi-input"

// TxGraph reads Bitcoin transactions and an address's spends.
type TxGraph interface {
	Graph
	UTXOTx(ctx context.Context, c chain.Chain, hash string) (*chain.Tx, uint64, time.Time, bool, error)
}

// LooksLikeCoinJoin reports whether a transaction has the shape of a
// CoinJoin: at least three inputs from at least three addresses, and at
// least three outputs of one equal value that is the most common output
// value (Wasabi, Whirlpool and JoinMarket mixes all pay out equal
// denominations).
func LooksLikeCoinJoin(tx *chain.Tx) bool {
	if len(tx.Inputs) < 3 || len(tx.Outputs) < 3 {
		return false
	}
	addrs := make(map[string]bool)
	for _, in := range tx.Inputs {
		addrs[in.Address] = true
	}
	if len(addrs) < 3 {
		return false
	}
	counts := make(map[uint64]int)
	best := 0
	for _, o := range tx.Outputs {
		counts[o.Value]++
		best = max(best, counts[o.Value])
	}
	return best >= 3
}

// Cluster returns the addresses linked to addr by common inputs, addr
// first, at most limit of them (the second result is false when the
// limit cut the cluster short). CoinJoin-looking transactions link
// nothing.
func Cluster(ctx context.Context, g TxGraph, addr string, limit int) ([]string, bool, error) {
	seen := map[string]bool{addr: true}
	out := []string{addr}
	queue := []string{addr}
	doneTx := make(map[string]bool)
	for len(queue) > 0 {
		a := queue[0]
		queue = queue[1:]
		var txs []string
		err := g.Postings(ctx, chain.Bitcoin, a, chain.PostingQuery{Outgoing: true}, func(p chain.Posting) bool {
			if p.Kind == chain.KindInput && !doneTx[p.Tx] {
				doneTx[p.Tx] = true
				txs = append(txs, p.Tx)
			}
			return true
		})
		if err != nil {
			return nil, false, fmt.Errorf("cluster %s: %w", addr, err)
		}
		for _, h := range txs {
			tx, _, _, ok, err := g.UTXOTx(ctx, chain.Bitcoin, h)
			if err != nil {
				return nil, false, fmt.Errorf("cluster %s: %w", addr, err)
			}
			if !ok || LooksLikeCoinJoin(tx) {
				continue
			}
			for _, in := range tx.Inputs {
				if in.Address == "" || seen[in.Address] {
					continue
				}
				if len(out) >= limit {
					return out, false, nil
				}
				seen[in.Address] = true
				out = append(out, in.Address)
				queue = append(queue, in.Address)
			}
		}
	}
	return out, true, nil
}

// MultiInput labels a Bitcoin address by the tagged addresses in its
// multi-input cluster when no tag names it directly.
type MultiInput struct {
	Graph TxGraph
	Base  trace.Labeler
	// Limit bounds the cluster walked per address (default 1,000):
	// exchanges' clusters run to millions, and the first tagged member
	// found is enough.
	Limit int
}

// Label implements trace.Labeler.
func (m *MultiInput) Label(ctx context.Context, c chain.Chain, addr string) (trace.Label, bool, error) {
	if l, ok, err := m.Base.Label(ctx, c, addr); err != nil || ok || c != chain.Bitcoin {
		return l, ok, err
	}
	limit := m.Limit
	if limit <= 0 {
		limit = 1000
	}
	members, _, err := Cluster(ctx, m.Graph, addr, limit)
	if err != nil {
		return trace.Label{}, false, err
	}
	for _, a := range slices.Clip(members[1:]) {
		l, ok, err := m.Base.Label(ctx, c, a)
		if err != nil {
			return trace.Label{}, false, err
		}
		if ok {
			return trace.Label{Entity: l.Entity, Category: l.Category, Heuristic: HeuristicMultiInput}, true, nil
		}
	}
	return trace.Label{}, false, nil
}
