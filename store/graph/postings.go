package graph

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
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
//
// The postings are in g/a/ and in the bulk loads' generations (see
// bulk_gen.go), merged in key order. A generation is opened only once
// the next posting could be one of its own, by the times of its blocks:
// the most recent transfers of an address read the newest generation or
// two, not all of them.
func (d *Store) PostingViews(ctx context.Context, c chain.Chain, addr string, q PostingQuery, fn func(*PostingView) bool) error {
	if !q.Incoming && !q.Outgoing {
		q.Incoming, q.Outgoing = true, true
	}
	var since, until uint64 = 0, math.MaxUint64
	if !q.Since.IsZero() {
		since = uint64(max(q.Since.Unix(), 0))
	}
	if !q.Until.IsZero() {
		until = uint64(max(q.Until.Unix(), 0))
	}
	// One iterator reads the generations' records; the others are its
	// clones, so that every range is read as of one moment.
	root, err := d.db.NewIter(genBounds(c))
	if err != nil {
		return fmt.Errorf("read postings of %s: %w", addr, err)
	}
	gens, err := scanGenerations(root, c)
	if err != nil {
		root.Close()
		return fmt.Errorf("read postings of %s: %w", addr, err)
	}
	m := postMerge{q: q, since: since, until: until, root: root}
	defer m.close()
	// Generations that can hold postings of the window, in the order
	// they may be needed.
	for i := range gens {
		g := &gens[i]
		if g.last >= g.first && uint64(max(g.maxTime, 0)) >= since && uint64(max(g.minTime, 0)) < until {
			m.pending = append(m.pending, g)
		}
	}
	if q.Oldest {
		slices.SortFunc(m.pending, func(a, b *generation) int { return cmp.Compare(a.minTime, b.minTime) })
	} else {
		slices.SortFunc(m.pending, func(a, b *generation) int { return cmp.Compare(b.maxTime, a.maxTime) })
	}
	m.root = nil // a source from here on, closed as one
	if err := m.open(root, addrKey(gPost, c, addr)); err != nil {
		return fmt.Errorf("read postings of %s: %w", addr, err)
	}
	v := PostingView{Chain: c, Address: addr}
	for n := 0; ; {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		s, err := m.next(c, addr)
		if err != nil {
			return fmt.Errorf("read postings of %s: %w", addr, err)
		}
		if s == nil {
			break
		}
		k := s.it.Key()
		if err := decodePosting(&v, k[s.base:], s.it.Value()); err != nil {
			return fmt.Errorf("read postings of %s: %w", addr, err)
		}
		n++
		if !fn(&v) || (q.Limit > 0 && n >= q.Limit) {
			break
		}
		if err := m.advance(s); err != nil {
			return fmt.Errorf("read postings of %s: %w", addr, err)
		}
	}
	return m.close()
}

// postMerge merges an address's postings from g/a/ and the generations.
type postMerge struct {
	q            PostingQuery
	since, until uint64
	root         *pebble.Iterator // until it becomes g/a/'s source
	srcs         []*postSource    // opened
	pending      []*generation    // not yet opened, in the order they may be needed
	closed       bool
}

// postSource is one range's iterator, positioned on its next posting
// unless done.
type postSource struct {
	it   *pebble.Iterator
	base int // the length of the address's prefix in the range
	done bool
}

// open adds the range of postings that start with base, read through it
// (the root, repositioned) or a clone of the root.
func (m *postMerge) open(it *pebble.Iterator, base []byte) error {
	opts := &pebble.IterOptions{LowerBound: base, UpperBound: prefixEnd(base)}
	if m.since > 0 {
		opts.LowerBound = binaryAppendU64(slices.Clip(base), m.since)
	}
	if m.until < math.MaxUint64 {
		opts.UpperBound = binaryAppendU64(slices.Clip(base), m.until)
	}
	// One direction: the other's postings are skipped by their key's
	// last byte, without reading their values.
	if !m.q.Incoming || !m.q.Outgoing {
		skip := byte(postingIn)
		if !m.q.Outgoing {
			skip = postingOut
		}
		opts.SkipPoint = func(k []byte) bool { return len(k) > 0 && k[len(k)-1] == skip }
	}
	if it == nil {
		var err error
		if it, err = m.srcs[0].it.Clone(pebble.CloneOptions{IterOptions: opts}); err != nil {
			return err
		}
	} else {
		it.SetOptions(opts)
	}
	s := &postSource{it: it, base: len(base)}
	m.srcs = append(m.srcs, s)
	var ok bool
	if m.q.Oldest {
		ok = it.First()
	} else {
		ok = it.Last()
	}
	return m.settle(s, ok)
}

// settle records whether s has a posting, checking its key.
func (m *postMerge) settle(s *postSource, ok bool) error {
	if !ok {
		s.done = true
		return s.it.Error()
	}
	if len(s.it.Key()) < s.base+8 {
		return errCorrupt
	}
	return nil
}

func (m *postMerge) advance(s *postSource) error {
	if m.q.Oldest {
		return m.settle(s, s.it.Next())
	}
	return m.settle(s, s.it.Prev())
}

// before reports whether a's posting comes before b's in the read's
// order.
func (m *postMerge) before(a, b *postSource) bool {
	c := bytes.Compare(a.it.Key()[a.base:], b.it.Key()[b.base:])
	if m.q.Oldest {
		return c < 0
	}
	return c > 0
}

// mayPrecede reports whether generation g may hold a posting before s's.
func (m *postMerge) mayPrecede(g *generation, s *postSource) bool {
	t := binary.BigEndian.Uint64(s.it.Key()[s.base:])
	if m.q.Oldest {
		return uint64(max(g.minTime, 0)) <= t
	}
	return uint64(max(g.maxTime, 0)) >= t
}

// next returns the source whose posting comes next, or nil at the end,
// opening the generations that may hold it.
func (m *postMerge) next(c chain.Chain, addr string) (*postSource, error) {
	var best *postSource
	for _, s := range m.srcs {
		if !s.done && (best == nil || m.before(s, best)) {
			best = s
		}
	}
	for len(m.pending) > 0 && (best == nil || m.mayPrecede(m.pending[0], best)) {
		g := m.pending[0]
		m.pending = m.pending[1:]
		if err := m.open(nil, genAddrKey(c, g.n, addr)); err != nil {
			return nil, err
		}
		if s := m.srcs[len(m.srcs)-1]; !s.done && (best == nil || m.before(s, best)) {
			best = s
		}
	}
	return best, nil
}

// close closes the iterators, once.
func (m *postMerge) close() error {
	if m.closed {
		return nil
	}
	m.closed = true
	var err error
	if m.root != nil {
		err = m.root.Close()
	}
	for _, s := range m.srcs {
		if cerr := s.it.Close(); err == nil {
			err = cerr
		}
	}
	return err
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
