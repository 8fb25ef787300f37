package graph

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/tracehound/tracehound/chain"
)

// Snapshot is a chain's traversal layout as of one moment: the segments
// and the delta's blocks then. A trace takes one, reads it from one
// goroutine or several, and releases it. Ids mean the same in every
// snapshot of an open traversal, unless a reorganisation deeper than the
// delta rebuilt a segment.
type Snapshot struct {
	t       *Traversal
	c       chain.Chain
	segs    []*segment
	deltas  []deltaView
	assets  []chain.Asset
	ordered bool // the segments and deltas, concatenated, are in key order
	tip     chain.Tip
	hasTip  bool
	idEnd   uint32
	done    bool
	// The names Address made, carved from chunks: a trace names every
	// address it reaches.
	arenaMu sync.Mutex
	arena   []byte
}

type deltaView struct {
	d      *delta
	edges  uint64 // transfers visible
	lo, hi uint64 // blocks visible; hi < lo if none
}

// Snapshot reads the chain's new blocks into the delta (and notices a
// reorganisation) and returns the layout as of now. Release it when
// done.
func (t *Traversal) Snapshot(ctx context.Context, c chain.Chain) (*Snapshot, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, fmt.Errorf("traversal of %s: closed", c)
	}
	cs := t.chain(c)
	if err := t.refresh(ctx, cs); err != nil {
		return nil, fmt.Errorf("traversal of %s: %w", c, err)
	}
	tip, ok, err := t.d.Tip(ctx, c)
	if err != nil {
		return nil, err
	}
	s := &Snapshot{t: t, c: c, segs: slices.Clone(cs.segs), assets: slices.Clone(cs.assets), tip: tip, hasTip: ok, ordered: true, idEnd: cs.nextID()}
	var maxTime int64
	for i, seg := range s.segs {
		seg.acquire()
		if !seg.monotone || i > 0 && seg.minTime < maxTime {
			s.ordered = false
		}
		maxTime = max(maxTime, seg.maxTime)
	}
	for _, d := range cs.deltas {
		d.refs.Add(1)
		d.mu.RLock()
		v := deltaView{d: d, edges: uint64(d.b.edges.n), lo: d.b.lo, hi: d.b.next() - 1}
		if !d.b.monotone || d.b.blocks() > 0 && slices.Min(d.b.blockTime) < maxTime {
			s.ordered = false
		}
		if d.b.blocks() > 0 {
			maxTime = max(maxTime, slices.Max(d.b.blockTime))
		}
		d.mu.RUnlock()
		s.deltas = append(s.deltas, v)
	}
	latest := &Snapshot{t: t, c: c, segs: s.segs, deltas: s.deltas, assets: s.assets, tip: s.tip, hasTip: s.hasTip, ordered: s.ordered, idEnd: s.idEnd}
	latest.acquireAll()
	t.latestMu.Lock()
	old := t.latest[c]
	t.latest[c] = latest
	t.latestMu.Unlock()
	if old != nil {
		old.Release()
	}
	return s, nil
}

// acquireAll takes another reference on everything s holds.
func (s *Snapshot) acquireAll() {
	for _, seg := range s.segs {
		seg.acquire()
	}
	for _, d := range s.deltas {
		d.d.refs.Add(1)
	}
}

// Release lets the segments and deltas s holds go once nothing else
// uses them.
func (s *Snapshot) Release() {
	if s.done {
		return
	}
	s.done = true
	for _, seg := range s.segs {
		seg.release()
	}
	for _, d := range s.deltas {
		d.d.release()
	}
}

// Chain is the snapshot's chain.
func (s *Snapshot) Chain() chain.Chain { return s.c }

// Tip is the chain's tip in the store when the snapshot was taken.
func (s *Snapshot) Tip() (chain.Tip, bool) { return s.tip, s.hasTip }

// IDs is one past the largest address id of the snapshot.
func (s *Snapshot) IDs() uint32 { return s.idEnd }

// History appends address id's postings, oldest first, to buf.
func (s *Snapshot) History(id uint32, buf []Post) ([]Post, error) {
	start := len(buf)
	for _, seg := range s.segs {
		l := seg.list(id)
		if l == nil {
			continue
		}
		var err error
		if buf, err = seg.decode(buf, l); err != nil {
			return buf[:start], fmt.Errorf("%s address %d: segment %s: %w", s.c, id, seg.name, err)
		}
	}
	for _, v := range s.deltas {
		buf = v.appendPosts(buf, id)
	}
	if !s.ordered {
		slices.SortStableFunc(buf[start:], func(a, b Post) int { return cmpPost(&a, &b) })
	}
	return buf, nil
}

// decode appends the posts of one of the segment's lists.
func (seg *segment) decode(buf []Post, l []byte) ([]Post, error) {
	r := postReader{b: l, block: seg.lo}
	var p segPost
	for {
		ok, err := r.next(&p)
		if err != nil || !ok {
			return buf, err
		}
		if p.block < seg.lo || p.block > seg.hi || uint64(p.asset) >= uint64(len(seg.global)) {
			return buf, errSegPost
		}
		buf = append(buf, Post{Amount: p.amount, Unix: seg.blockTime[p.block-seg.lo], Block: p.block, Tx: makeTxRef(p.block, p.txPos),
			Peer: p.peer, Asset: seg.global[p.asset], TxIndex: p.txIndex, Pos: p.pos, Kind: p.kind, In: !p.out})
	}
}

func (v *deltaView) appendPosts(buf []Post, id uint32) []Post {
	d := v.d
	d.mu.RLock()
	defer d.mu.RUnlock()
	for _, ref := range d.lists[id] {
		if ref>>1 >= v.edges {
			break
		}
		o, p := d.b.side(d.b.edges.at(ref>>1), ref&1 == 1)
		_ = o
		buf = append(buf, Post{Amount: p.amount, Unix: d.b.blockTime[p.block-d.b.lo], Block: p.block, Tx: makeTxRef(p.block, p.txPos),
			Peer: p.peer, Asset: d.global[p.asset], TxIndex: p.txIndex, Pos: p.pos, Kind: p.kind, In: !p.out})
	}
	return buf
}

// AddressID is addr's id, false if the chain has no posting of it.
func (s *Snapshot) AddressID(addr string) (uint32, bool) {
	if id, ok := s.t.names.get(s.c, addr); ok && id < s.idEnd {
		return id, true
	}
	var buf [64]byte
	var enc []byte
	if a, ok := hexAddr(addr); ok {
		enc = appendHex20(buf[:0], &a)
	} else {
		enc = appendAddr(buf[:0], addr)
	}
	for i := len(s.segs) - 1; i >= 0; i-- {
		if id, ok := s.segs[i].lookup(enc); ok {
			return id, true
		}
	}
	for _, v := range s.deltas {
		v.d.mu.RLock()
		id, ok := v.d.b.findNew(enc)
		v.d.mu.RUnlock()
		if ok && id < s.idEnd {
			return id, true
		}
	}
	return 0, false
}

// addrEnc is address id's stored encoding.
func (s *Snapshot) addrEnc(id uint32) ([]byte, bool) {
	// Segments are in id order: the one that introduced id is the last
	// whose first id is at most id.
	i, _ := slices.BinarySearchFunc(s.segs, id, func(seg *segment, id uint32) int {
		if seg.idBase > id {
			return 1
		}
		return -1
	})
	if i > 0 {
		if enc, ok := s.segs[i-1].addrEnc(id); ok {
			return enc, true
		}
	}
	for _, v := range s.deltas {
		v.d.mu.RLock()
		enc, ok := v.d.b.newAddr(id)
		v.d.mu.RUnlock()
		if ok {
			return enc, true
		}
	}
	return nil, false
}

// AppendAddress appends address id as text.
func (s *Snapshot) AppendAddress(b []byte, id uint32) []byte {
	enc, ok := s.addrEnc(id)
	if !ok {
		return b
	}
	if len(enc) == 21 && enc[0] == addrHex20 {
		b = append(b, "0x"...)
		return appendHex(b, enc[1:])
	}
	d := dec{b: enc}
	_, p := d.addrRaw()
	return append(b, p...)
}

// Address is address id as text, remembered so that the traversal finds
// the id of this very string again at once: a trace names an address to
// ask a labeller about it, and the labeller asks the traversal about it.
func (s *Snapshot) Address(id uint32) string {
	if name, ok := s.t.names.name(s.c, id); ok {
		return name
	}
	var buf [64]byte
	b := s.AppendAddress(buf[:0], id)
	if len(b) == 0 {
		if _, ok := s.addrEnc(id); !ok {
			return ""
		}
	}
	s.arenaMu.Lock()
	if cap(s.arena)-len(s.arena) < len(b) {
		s.arena = make([]byte, 0, max(32<<10, len(b)))
	}
	at := len(s.arena)
	s.arena = append(s.arena, b...)
	name := unsafe.String(&s.arena[at], len(b))
	s.arenaMu.Unlock()
	s.t.names.put(s.c, name, id)
	return name
}

// AppendTx appends the hash of transaction r as the chain shows it.
func (s *Snapshot) AppendTx(b []byte, r TxRef) []byte {
	h, ok := s.txHash(r)
	if !ok {
		return b
	}
	// As the store spells it: Bitcoin's and Tron's bare, others with 0x.
	b = append(b, hashPrefix(s.c)...)
	return appendHex(b, h)
}

// hexPairs is each byte's two lowercase hex digits.
var hexPairs = func() (t [256][2]byte) {
	const digits = "0123456789abcdef"
	for i := range t {
		t[i] = [2]byte{digits[i>>4], digits[i&15]}
	}
	return t
}()

// appendHex is hex.AppendEncode a byte at a time: a trace's result
// spells out tens of thousands of hashes.
func appendHex(b, p []byte) []byte {
	n := len(b)
	b = append(b, make([]byte, 2*len(p))...)
	out := b[n:]
	for i, c := range p {
		out[2*i], out[2*i+1] = hexPairs[c][0], hexPairs[c][1]
	}
	return b
}

// TxHash is the 32-byte hash of transaction r.
func (s *Snapshot) txHash(r TxRef) ([]byte, bool) {
	h, pos := r.Height(), r.Pos()
	i, found := slices.BinarySearchFunc(s.segs, h, func(seg *segment, h uint64) int {
		switch {
		case seg.hi < h:
			return -1
		case seg.lo > h:
			return 1
		}
		return 0
	})
	if found {
		return s.segs[i].txHashOf(h, pos)
	}
	for _, v := range s.deltas {
		if h < v.lo || h > v.hi {
			continue
		}
		v.d.mu.RLock()
		b := v.d.b
		k := h - b.lo
		j := b.blockTx[k] + uint64(pos)
		var out []byte
		if j < b.blockTx[k+1] {
			th := b.txHash.at(j)
			out = th[:]
		}
		v.d.mu.RUnlock()
		return out, out != nil
	}
	return nil, false
}

// Asset is asset id's name.
func (s *Snapshot) Asset(id uint32) chain.Asset {
	if int(id) < len(s.assets) {
		return s.assets[id]
	}
	return ""
}

// AssetID is asset a's id, false if the chain has no posting of it.
func (s *Snapshot) AssetID(a chain.Asset) (uint32, bool) {
	for i, x := range s.assets {
		if x == a {
			return uint32(i), true
		}
	}
	return 0, false
}

// Time is a post's block time.
func (p *Post) Time() time.Time { return time.Unix(p.Unix, 0).UTC() }

// nameCache remembers the strings a snapshot made of addresses, by where
// their bytes are: a labeller hands the same string back, and finding it
// here costs a comparison of pointers instead of a hash index probe.
// Entries hold their strings, so that their memory is not reused. Reads
// take no lock: a trace's two labelling goroutines ask at once.
type nameCache struct {
	ent  [nameSlots]atomic.Pointer[nameEntry] // by where the string is
	byID [nameSlots]atomic.Pointer[nameEntry] // by id: the names asked for again
	gen  atomic.Uint64
}

// nameBits sizes the name cache: 65,536 slots each way, room for the
// ten thousand addresses a large trace names, its next run finding them.
const (
	nameBits  = 16
	nameSlots = 1 << nameBits
)

type nameEntry struct {
	s   string
	c   chain.Chain
	id  uint32
	gen uint64
}

func nameSlot(s string) uint64 {
	p := uint64(uintptr(unsafe.Pointer(unsafe.StringData(s))))
	return (p >> 4 * 0x9e3779b97f4a7c15) >> (64 - nameBits)
}

func idSlot(id uint32) uint64 { return (uint64(id) * 0x9e3779b97f4a7c15) >> (64 - nameBits) }

func (n *nameCache) put(c chain.Chain, s string, id uint32) {
	if s == "" {
		return
	}
	e := &nameEntry{s, c, id, n.gen.Load()}
	n.ent[nameSlot(s)].Store(e)
	n.byID[idSlot(id)].Store(e)
}

// name is the string made last for id, if it is remembered.
func (n *nameCache) name(c chain.Chain, id uint32) (string, bool) {
	e := n.byID[idSlot(id)].Load()
	if e != nil && e.gen == n.gen.Load() && e.id == id && e.c == c {
		return e.s, true
	}
	return "", false
}

func (n *nameCache) get(c chain.Chain, s string) (uint32, bool) {
	if s == "" {
		return 0, false
	}
	e := n.ent[nameSlot(s)].Load()
	if e != nil && e.gen == n.gen.Load() && e.c == c && e.s == s {
		return e.id, true
	}
	return 0, false
}

// reset forgets every name: ids may have changed.
func (n *nameCache) reset() { n.gen.Add(1) }

// TxRefOf finds the transaction with hash h in block height.
func (s *Snapshot) TxRefOf(height uint64, h string) (TxRef, bool) {
	var want [32]byte
	if _, err := appendHashBytes(want[:0], h); err != nil {
		return 0, false
	}
	for pos := uint32(0); ; pos++ {
		got, ok := s.txHash(makeTxRef(height, pos))
		if !ok {
			return 0, false
		}
		if string(got) == string(want[:]) {
			return makeTxRef(height, pos), true
		}
	}
}
