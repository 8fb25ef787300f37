package graph

import (
	"context"
	"fmt"
	"time"

	"github.com/tracehound/tracehound/chain"
)

// The traversal answers the graph's other questions as the store does,
// so that it can be handed to whatever takes the store's graph: a trace
// reads it through snapshots, its labellers and the rest through these.

// Postings is the store's.
func (t *Traversal) Postings(ctx context.Context, c chain.Chain, addr string, q PostingQuery, fn func(Posting) bool) error {
	return t.d.Postings(ctx, c, addr, q, fn)
}

// Tip is the store's.
func (t *Traversal) Tip(ctx context.Context, c chain.Chain) (chain.Tip, bool, error) {
	return t.d.Tip(ctx, c)
}

// TxTransfers is the store's.
func (t *Traversal) TxTransfers(ctx context.Context, c chain.Chain, hash string) ([]chain.Transfer, bool, error) {
	return t.d.TxTransfers(ctx, c, hash)
}

// UTXOTx is the store's.
func (t *Traversal) UTXOTx(ctx context.Context, c chain.Chain, hash string) (*chain.Tx, uint64, time.Time, bool, error) {
	return t.d.UTXOTx(ctx, c, hash)
}

// SpentBy is the store's.
func (t *Traversal) SpentBy(ctx context.Context, c chain.Chain, op chain.OutPoint) (string, uint32, bool, error) {
	return t.d.SpentBy(ctx, c, op)
}

// SolePayee reads addr's outgoing transfers, newest first, up to max of
// them, and reports the address they pay if it is one (mixed if not)
// and how many it read: the deposit-address heuristic's question, asked
// of every address a trace reaches. It reads the chain's latest
// snapshot (the one the running trace took); ok is false if there is
// none.
func (t *Traversal) SolePayee(ctx context.Context, c chain.Chain, addr string, max int) (to string, n int, mixed, ok bool, err error) {
	t.latestMu.RLock()
	defer t.latestMu.RUnlock()
	s := t.latest[c]
	if s == nil {
		return "", 0, false, false, nil
	}
	id, found := s.AddressID(addr)
	if !found {
		return "", 0, false, true, nil
	}
	var buf [32]uint32
	peers, err := s.outPeers(id, buf[:0])
	if err != nil {
		return "", 0, false, false, fmt.Errorf("sole payee of %s: %w", addr, err)
	}
	var peer uint32
	for i := len(peers) - 1; i >= 0 && n < max; i-- {
		n++
		switch {
		case n == 1:
			peer = peers[i]
		case peers[i] != peer:
			return s.Address(peer), n, true, true, nil
		}
	}
	if n == 0 {
		return "", 0, false, true, nil
	}
	return s.Address(peer), n, false, true, nil
}

// outPeers is the counterparties of address id's outgoing postings,
// oldest first, decoding nothing else where the layout is in key order.
func (s *Snapshot) outPeers(id uint32, peers []uint32) ([]uint32, error) {
	if !s.ordered {
		ps, err := s.History(id, nil)
		for i := range ps {
			if !ps[i].In {
				peers = append(peers, ps[i].Peer)
			}
		}
		return peers, err
	}
	for _, seg := range s.segs {
		r := postReader{b: seg.list(id)}
		for {
			peer, out, ok, err := r.skim()
			if err != nil {
				return nil, fmt.Errorf("segment %s: %w", seg.name, err)
			}
			if !ok {
				break
			}
			if out {
				peers = append(peers, peer)
			}
		}
	}
	if len(s.deltas) > 0 {
		var buf []Post
		for _, v := range s.deltas {
			buf = v.appendPosts(buf[:0], id)
			for i := range buf {
				if !buf[i].In {
					peers = append(peers, buf[i].Peer)
				}
			}
		}
	}
	return peers, nil
}
