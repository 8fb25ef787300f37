package graph

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tracehound/tracehound/chain"
)

// PostingView is one posting as the store holds it: the key's fixed-size
// fields, and the transaction hash, counterparty, asset and amount still
// in their stored encodings, turned into text only when asked. Reading
// views allocates nothing per posting, so a read of thousands keeps the
// garbage collector out of its latency; Posting gives the chain model's
// struct.
//
// A view passed to a callback, and every slice it holds, is valid only
// during the call.
type PostingView struct {
	Chain    chain.Chain
	Address  string // the address read
	Incoming bool
	Unix     int64 // block time, seconds since the epoch
	Block    uint64
	TxIndex  uint32
	Kind     chain.TransferKind
	Pos      uint32

	tx     []byte // 32 bytes
	cpTag  byte
	cp     []byte // 20 bytes if cpTag is addrHex20, else the string
	asset  []byte // appendAddr's encoding, tag included
	amount []byte // big-endian, at most 32 bytes
}

// Time is the block time.
func (v *PostingView) Time() time.Time { return time.Unix(v.Unix, 0).UTC() }

// TxHash is the transaction hash's 32 bytes.
func (v *PostingView) TxHash() (h [32]byte) {
	copy(h[:], v.tx)
	return h
}

// AppendTx appends the transaction hash as the chain shows it.
func (v *PostingView) AppendTx(b []byte) []byte {
	b = append(b, hashPrefix(v.Chain)...)
	return hex.AppendEncode(b, v.tx)
}

// Tx is the transaction hash as the chain shows it.
func (v *PostingView) Tx() string { return hashString(v.Chain, v.tx) }

// Counterparty20 is the counterparty's 20 bytes, if it is an
// Ethereum-style address; false for any other form (Bitcoin addresses,
// the empty counterparty of a coinbase).
func (v *PostingView) Counterparty20() ([20]byte, bool) {
	if v.cpTag != addrHex20 {
		return [20]byte{}, false
	}
	var a [20]byte
	copy(a[:], v.cp)
	return a, true
}

// AppendCounterparty appends the counterparty as text.
func (v *PostingView) AppendCounterparty(b []byte) []byte {
	if v.cpTag != addrHex20 {
		return append(b, v.cp...)
	}
	b = append(b, "0x"...)
	return hex.AppendEncode(b, v.cp)
}

// Counterparty is the counterparty as text.
func (v *PostingView) Counterparty() string { return addrText(v.cpTag, v.cp) }

// Asset is the asset moved: chain.Native or a token contract.
func (v *PostingView) Asset() chain.Asset {
	d := dec{b: v.asset}
	return chain.Asset(d.addr())
}

// IsAsset reports whether the posting moves asset a, without turning
// the stored asset into text.
func (v *PostingView) IsAsset(a chain.Asset) bool { return addrIs(v.asset, string(a)) }

// Amount is the amount moved, in base units.
func (v *PostingView) Amount() chain.Amount {
	a, _ := chain.AmountFromBytes(v.amount) // length checked when read
	return a
}

// Posting is the view as the chain model's Posting; its strings are its
// own.
func (v *PostingView) Posting() Posting {
	return Posting{
		Chain: v.Chain, Address: v.Address, Incoming: v.Incoming, Time: v.Time(),
		Block: v.Block, TxIndex: v.TxIndex, Kind: v.Kind, Pos: v.Pos,
		Tx: v.Tx(), Counterparty: v.Counterparty(), Asset: v.Asset(), Amount: v.Amount(),
	}
}

// addrIs reports whether enc, one appendAddr encoding, encodes s.
func addrIs(enc []byte, s string) bool {
	if isHex20(s) {
		if len(enc) != 21 || enc[0] != addrHex20 {
			return false
		}
		for i := range 20 {
			if enc[1+i] != unhex(s[2+2*i])<<4|unhex(s[3+2*i]) {
				return false
			}
		}
		return true
	}
	d := dec{b: enc}
	tag, p := d.addrRaw()
	return d.err == nil && tag == addrString && len(d.b) == 0 && string(p) == s
}

// decodePosting fills v from a posting's key, less its first plen bytes
// (prefix, chain and address), and its value. v's slices alias k and val.
func decodePosting(v *PostingView, k, val []byte) error {
	kd := dec{b: k}
	v.Unix = int64(kd.u64())
	v.Block = kd.u64()
	v.TxIndex = kd.u32()
	v.Kind = chain.TransferKind(kd.u8())
	v.Pos = kd.u32()
	dir := kd.u8()
	if kd.err != nil || len(kd.b) != 0 || dir > postingOut {
		return fmt.Errorf("posting key: %w", errCorrupt)
	}
	v.Incoming = dir == postingIn
	vd := dec{b: val}
	v.tx = vd.raw(32)
	v.cpTag, v.cp = vd.addrRaw()
	rest := vd.b
	vd.addrRaw()
	v.asset = rest[:len(rest)-len(vd.b)]
	v.amount = vd.bytes()
	if vd.err != nil || len(vd.b) != 0 || len(v.amount) > 32 {
		return fmt.Errorf("posting value: %w", errCorrupt)
	}
	return nil
}

// PostingViews calls fn for an address's transfers in time order (newest
// first unless q.Oldest), incoming and outgoing interleaved, until fn
// returns false, the limit is reached or the range ends. It reuses one
// view for every posting: fn must copy what it keeps.
func (d *Store) PostingViews(ctx context.Context, c chain.Chain, addr string, q PostingQuery, fn func(*PostingView) bool) error {
	if !q.Incoming && !q.Outgoing {
		q.Incoming, q.Outgoing = true, true
	}
	base := addrKey(gPost, c, addr)
	opts := pebble.IterOptions{LowerBound: base, UpperBound: prefixEnd(base)}
	if !q.Since.IsZero() {
		opts.LowerBound = binaryAppendU64(append([]byte(nil), base...), uint64(max(q.Since.Unix(), 0)))
	}
	if !q.Until.IsZero() {
		opts.UpperBound = binaryAppendU64(append([]byte(nil), base...), uint64(max(q.Until.Unix(), 0)))
	}
	// One direction: the other's postings are skipped by their key's
	// last byte, without reading their values.
	if !q.Incoming || !q.Outgoing {
		skip := byte(postingIn)
		if !q.Outgoing {
			skip = postingOut
		}
		opts.SkipPoint = func(k []byte) bool { return len(k) > 0 && k[len(k)-1] == skip }
	}
	it, err := d.db.NewIter(&opts)
	if err != nil {
		return fmt.Errorf("read postings of %s: %w", addr, err)
	}
	v := PostingView{Chain: c, Address: addr}
	var ok bool
	if q.Oldest {
		ok = it.First()
	} else {
		ok = it.Last()
	}
	for n := 0; ok; {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				it.Close()
				return err
			}
		}
		k := it.Key()
		if len(k) < len(base) {
			it.Close()
			return fmt.Errorf("read postings of %s: %w", addr, errCorrupt)
		}
		if err := decodePosting(&v, k[len(base):], it.Value()); err != nil {
			it.Close()
			return fmt.Errorf("read postings of %s: %w", addr, err)
		}
		n++
		if !fn(&v) || (q.Limit > 0 && n >= q.Limit) {
			break
		}
		if q.Oldest {
			ok = it.Next()
		} else {
			ok = it.Prev()
		}
	}
	if err := it.Error(); err != nil {
		it.Close()
		return fmt.Errorf("read postings of %s: %w", addr, err)
	}
	return it.Close()
}

// Postings is PostingViews for callers that keep what they read: each
// Posting's strings are its own. They are carved from shared chunks, and
// an address's few assets are converted once, so that a read of
// thousands allocates a few chunks rather than a string per field.
func (d *Store) Postings(ctx context.Context, c chain.Chain, addr string, q PostingQuery, fn func(Posting) bool) error {
	var (
		strs   strArena
		assets []seenAsset
	)
	return d.PostingViews(ctx, c, addr, q, func(v *PostingView) bool {
		p := Posting{
			Chain: c, Address: addr, Incoming: v.Incoming, Time: v.Time(),
			Block: v.Block, TxIndex: v.TxIndex, Kind: v.Kind, Pos: v.Pos, Amount: v.Amount(),
		}
		p.Tx = strs.hex(hashPrefix(c), v.tx)
		if v.cpTag == addrHex20 {
			p.Counterparty = strs.hex("0x", v.cp)
		} else {
			p.Counterparty = strs.str(v.cp)
		}
		p.Asset, assets = seen(assets, v.asset)
		return fn(p)
	})
}

// seenAsset is an asset's encoding and its string, for reuse: an address
// trades few assets, in and out interleaved.
type seenAsset struct {
	raw   string
	asset chain.Asset
}

// maxSeenAssets bounds the assets a read remembers; the rest are
// converted posting by posting.
const maxSeenAssets = 16

// seen returns the asset encoded as enc, converting it only if it is not
// among assets, and assets with it added.
func seen(assets []seenAsset, enc []byte) (chain.Asset, []seenAsset) {
	for _, a := range assets {
		if a.raw == string(enc) {
			return a.asset, assets
		}
	}
	dd := dec{b: enc}
	a := chain.Asset(dd.addr())
	if len(assets) < maxSeenAssets {
		assets = append(assets, seenAsset{string(enc), a})
	}
	return a, assets
}
