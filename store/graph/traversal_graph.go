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
// them, and reports the address they pay if it is one (mixed, and no
// address, if not) and how many it read: the deposit-address
// heuristic's question, asked of every address a trace reaches. It reads the chain's latest
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
	if s.listBytes(id) >= busyList {
		// A busy address (a hot wallet: millions of postings) is read
		// newest first from the store, which stops at max: a segment's
		// list is in key order and would be read whole.
		return t.d.solePayee(ctx, c, addr, max)
	}
	peer, n, mixed, err := s.solePayee(id, max)
	if err != nil {
		return "", 0, false, false, fmt.Errorf("sole payee of %s: %w", addr, err)
	}
	if n == 0 || mixed {
		// The name of a mixed payee's first peer would go unused: the
		// trace asks this of ten thousand addresses, most of them mixed.
		return "", n, mixed, true, nil
	}
	return s.Address(peer), n, false, true, nil
}

// busyList is the length, in bytes of its segments' lists, from which an
// address counts as busy: a few hundred postings.
const busyList = 4 << 10

// listBytes is the size of address id's lists in the segments.
func (s *Snapshot) listBytes(id uint32) int {
	n := 0
	for _, seg := range s.segs {
		n += len(seg.list(id))
	}
	return n
}

// solePayee answers SolePayee from the store's postings, newest first.
func (d *Store) solePayee(ctx context.Context, c chain.Chain, addr string, max int) (to string, n int, mixed, ok bool, err error) {
	err = d.Postings(ctx, c, addr, PostingQuery{Outgoing: true, Limit: max}, func(p Posting) bool {
		if n++; n == 1 {
			to = p.Counterparty
		} else if p.Counterparty != to {
			mixed = true
			return false
		}
		return true
	})
	if err != nil {
		return "", 0, false, false, fmt.Errorf("sole payee of %s: %w", addr, err)
	}
	if mixed {
		to = ""
	}
	return to, n, mixed, true, nil
}

// solePayee answers SolePayee for address id: newest first, the deltas
// (the newest blocks), then the segments from the newest, each by its
// summary of outgoing transfers, so that a busy address (a hot wallet,
// whose list is millions of postings) is not read whole each time the
// heuristic asks whether it pays one address only.
func (s *Snapshot) solePayee(id uint32, max int) (peer uint32, n int, mixed bool, err error) {
	if !s.ordered {
		peers, err := s.outPeers(id, nil)
		if err != nil {
			return 0, 0, false, err
		}
		peer, n, mixed = solePayeeOf(peers, max)
		return peer, n, mixed, nil
	}
	set := false
	// take folds in a run of k outgoing transfers to p, newest first,
	// then (if broken) one to another address; it reports whether the
	// answer is known.
	take := func(p uint32, k int, broken bool) bool {
		if k > 0 {
			if !set {
				peer, set = p, true
			}
			if p != peer {
				n++
				mixed = true
				return true
			}
			if n+k >= max {
				n = max
				return true
			}
			n += k
		}
		if broken {
			n++
			mixed = true
			return true
		}
		return false
	}
	var buf []Post
	for i := len(s.deltas) - 1; i >= 0; i-- {
		buf = s.deltas[i].appendPosts(buf[:0], id)
		for j := len(buf) - 1; j >= 0; j-- {
			if !buf[j].In && take(buf[j].Peer, 1, false) {
				return peer, n, mixed, nil
			}
		}
	}
	for i := len(s.segs) - 1; i >= 0; i-- {
		t, err := s.segs[i].outTail(id)
		if err != nil {
			return 0, 0, false, err
		}
		if t.outs > 0 && take(t.peer, t.run, t.run < t.outs) {
			return peer, n, mixed, nil
		}
	}
	return peer, n, mixed, nil
}

// solePayeeOf is solePayee over a list of outgoing counterparties,
// oldest first.
func solePayeeOf(peers []uint32, max int) (peer uint32, n int, mixed bool) {
	for i := len(peers) - 1; i >= 0 && n < max; i-- {
		n++
		switch {
		case n == 1:
			peer = peers[i]
		case peers[i] != peer:
			return peer, n, true
		}
	}
	return peer, n, false
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
