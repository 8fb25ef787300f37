package graph

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/tracehound/tracehound/chain"
)

// Post is one posting as the traversal layout holds it: the counterparty,
// asset and transaction as integer ids of the traversal (see Snapshot),
// the rest as stored. A trace works on posts and turns ids into text
// only for its result.
type Post struct {
	Amount  chain.Amount
	Unix    int64  // block time, seconds since the epoch
	Block   uint64 // block height
	Tx      TxRef  // the transaction: its block and place in the block's list
	Peer    uint32 // the counterparty's address id
	Asset   uint32 // the asset's id: 0 is the chain's coin
	TxIndex uint32 // the transaction's index, as the chain numbers it
	Pos     uint32
	Kind    chain.TransferKind
	In      bool
}

// TxRef names a transaction by its block and its place in the block's
// list of transactions: an integer a trace compares and hashes, which
// the snapshot turns into the transaction's hash (Snapshot.AppendTx).
type TxRef uint64

// txRefBits is the room for the place in a block: 16 M transactions.
const txRefBits = 24

func makeTxRef(height uint64, pos uint32) TxRef { return TxRef(height<<txRefBits | uint64(pos)) }

// Height is the transaction's block.
func (r TxRef) Height() uint64 { return uint64(r) >> txRefBits }

// Pos is the transaction's place in its block's list.
func (r TxRef) Pos() uint32 { return uint32(r & (1<<txRefBits - 1)) }

// A posting in a segment's list is a flags byte, the kind, then varints:
// the block as a zigzag difference from the list's previous posting (the
// first from the segment's first block), the transaction's place in its
// block, the counterparty's id, and, where the flags say so, the
// position, the asset, the transaction's index (when it is not its place)
// and the amount: a uvarint when it fits 64 bits, else its length and
// big-endian bytes. An Ethereum posting of a round-number payment takes
// about 14 bytes against about 130 in the Pebble tree.
const (
	pfOut     = 1 << 0
	pfPos     = 1 << 1
	pfAsset   = 1 << 2
	pfTxIndex = 1 << 3
	pfBig     = 1 << 4
	pfKnown   = pfOut | pfPos | pfAsset | pfTxIndex | pfBig
)

// segPost is a posting on its way into a segment: local asset id, block
// and place, ids.
type segPost struct {
	amount  chain.Amount
	block   uint64
	txPos   uint32
	txIndex uint32
	pos     uint32
	peer    uint32
	asset   uint32 // local to the segment
	kind    chain.TransferKind
	out     bool
}

func zigzag(v int64) uint64   { return uint64(v<<1) ^ uint64(v>>63) }
func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

// appendSegPost appends p's encoding, its block relative to prev.
func appendSegPost(b []byte, p *segPost, prev uint64) []byte {
	var f byte
	if p.out {
		f |= pfOut
	}
	if p.pos != 0 {
		f |= pfPos
	}
	if p.asset != 0 {
		f |= pfAsset
	}
	if p.txIndex != p.txPos {
		f |= pfTxIndex
	}
	small, fits := p.amount.Uint64()
	if !fits {
		f |= pfBig
	}
	b = append(b, f, byte(p.kind))
	b = binary.AppendUvarint(b, zigzag(int64(p.block-prev)))
	b = binary.AppendUvarint(b, uint64(p.txPos))
	b = binary.AppendUvarint(b, uint64(p.peer))
	if f&pfPos != 0 {
		b = binary.AppendUvarint(b, uint64(p.pos))
	}
	if f&pfAsset != 0 {
		b = binary.AppendUvarint(b, uint64(p.asset))
	}
	if f&pfTxIndex != 0 {
		b = binary.AppendUvarint(b, uint64(p.txIndex))
	}
	if fits {
		return binary.AppendUvarint(b, small)
	}
	b = append(b, byte(p.amount.ByteLen()))
	return p.amount.AppendBytes(b)
}

// segPostLen is the length of appendSegPost's encoding.
func segPostLen(p *segPost, prev uint64) int {
	n := 2 + uvarintLen(zigzag(int64(p.block-prev))) + uvarintLen(uint64(p.txPos)) + uvarintLen(uint64(p.peer))
	if p.pos != 0 {
		n += uvarintLen(uint64(p.pos))
	}
	if p.asset != 0 {
		n += uvarintLen(uint64(p.asset))
	}
	if p.txIndex != p.txPos {
		n += uvarintLen(uint64(p.txIndex))
	}
	if small, fits := p.amount.Uint64(); fits {
		return n + uvarintLen(small)
	}
	return n + 1 + p.amount.ByteLen()
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

var errSegPost = errors.New("corrupt posting in a traversal segment")

// postReader decodes one list of a segment.
type postReader struct {
	b     []byte
	block uint64
}

// uvar decodes a uvarint; the common one-byte case inline.
func (r *postReader) uvar() (uint64, bool) {
	if len(r.b) > 0 && r.b[0] < 0x80 {
		v := uint64(r.b[0])
		r.b = r.b[1:]
		return v, true
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		return 0, false
	}
	r.b = r.b[n:]
	return v, true
}

// next decodes the next posting into p, with the segment's local asset
// id; false at the list's end, with an error if the list is corrupt.
func (r *postReader) next(p *segPost) (bool, error) {
	if len(r.b) == 0 {
		return false, nil
	}
	if len(r.b) < 2 {
		return false, errSegPost
	}
	f, kind := r.b[0], r.b[1]
	r.b = r.b[2:]
	if f&^pfKnown != 0 {
		return false, errSegPost
	}
	d, ok1 := r.uvar()
	txPos, ok2 := r.uvar()
	peer, ok3 := r.uvar()
	if !ok1 || !ok2 || !ok3 || txPos >= 1<<txRefBits || peer > 1<<32-1 {
		return false, errSegPost
	}
	r.block += uint64(unzigzag(d))
	*p = segPost{block: r.block, txPos: uint32(txPos), txIndex: uint32(txPos), peer: uint32(peer), kind: chain.TransferKind(kind), out: f&pfOut != 0}
	if f&pfPos != 0 {
		v, ok := r.uvar()
		if !ok || v > 1<<32-1 {
			return false, errSegPost
		}
		p.pos = uint32(v)
	}
	if f&pfAsset != 0 {
		v, ok := r.uvar()
		if !ok || v > 1<<32-1 {
			return false, errSegPost
		}
		p.asset = uint32(v)
	}
	if f&pfTxIndex != 0 {
		v, ok := r.uvar()
		if !ok || v > 1<<32-1 {
			return false, errSegPost
		}
		p.txIndex = uint32(v)
	}
	if f&pfBig == 0 {
		v, ok := r.uvar()
		if !ok {
			return false, errSegPost
		}
		p.amount = chain.NewAmount(v)
		return true, nil
	}
	if len(r.b) < 1 || int(r.b[0]) > 32 || len(r.b) < 1+int(r.b[0]) {
		return false, errSegPost
	}
	n := int(r.b[0])
	a, err := chain.AmountFromBytes(r.b[1 : 1+n])
	if err != nil {
		return false, fmt.Errorf("%w: %v", errSegPost, err)
	}
	p.amount = a
	r.b = r.b[1+n:]
	return true, nil
}

// skim decodes the next posting's direction and counterparty only.
func (r *postReader) skim() (peer uint32, out, ok bool, err error) {
	if len(r.b) == 0 {
		return 0, false, false, nil
	}
	if len(r.b) < 2 || r.b[0]&^pfKnown != 0 {
		return 0, false, false, errSegPost
	}
	f := r.b[0]
	r.b = r.b[2:]
	n := 3 // block, place, counterparty
	for _, bit := range [...]byte{pfPos, pfAsset, pfTxIndex} {
		if f&bit != 0 {
			n++
		}
	}
	var v [6]uint64
	for i := range n {
		x, ok := r.uvar()
		if !ok {
			return 0, false, false, errSegPost
		}
		v[i] = x
	}
	if f&pfBig == 0 {
		if _, ok := r.uvar(); !ok {
			return 0, false, false, errSegPost
		}
	} else {
		if len(r.b) < 1 || len(r.b) < 1+int(r.b[0]) {
			return 0, false, false, errSegPost
		}
		r.b = r.b[1+int(r.b[0]):]
	}
	if v[2] > 1<<32-1 {
		return 0, false, false, errSegPost
	}
	return uint32(v[2]), f&pfOut != 0, true, nil
}
