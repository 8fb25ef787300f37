package graph

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strings"
	"unsafe"

	"github.com/tracehound/tracehound/chain"
)

// segBuilder collects consecutive blocks of one chain as transfers
// between address ids, and writes them as a segment (write) or serves
// them as the traversal's delta (delta.go). Ids are assigned here, as
// the blocks are ingested: an address an older segment holds keeps its
// id, a new one gets the next id, in the order addresses first appear
// in the chain. Building the same blocks on the same segments therefore
// gives the same ids, which is what lets a lost segment be rebuilt from
// the store without renumbering the segments after it.
type segBuilder struct {
	c      chain.Chain
	lo     uint64 // first block
	idBase uint32
	nextID uint32
	// lookup finds the id of an address (by its encoding) in the older
	// segments.
	lookup func(enc []byte) (uint32, bool)

	hexIDs   map[[20]byte]uint32
	strIDs   map[string]uint32
	memo     [4]memoID
	memoNext int

	dict    []byte // the new addresses' encodings
	dictOff []uint64

	assets   map[string]uint32 // asset -> local id; "" is 0
	assetIDs []chain.Asset

	blockTime []int64
	blockTx   []uint64 // first transaction of each block, and one past the last
	blockEdge []uint64 // likewise for edges
	blockHash []byte   // 32 bytes a block
	hiHash    [32]byte
	monotone  bool

	txHash chunks[[32]byte]
	edges  chunks[segEdge]
	big    []chain.Amount // amounts past 64 bits, by index
	txEdge []segEdge      // the transaction being added
	enc    []byte
	// held are the segments lookup reads, released by free.
	held []*segment
}

// segEdge is one transfer between address ids, as the builder holds it:
// a posting under each side that has one.
type segEdge struct {
	amount  uint64 // the amount, or its index in big if edgeBig
	from    uint32
	to      uint32
	block   uint32 // from the builder's first block
	txPos   uint32
	txIndex uint32
	pos     uint32
	asset   uint32
	kind    chain.TransferKind
	flags   uint8
}

const (
	edgeOut = 1 << 0 // the sender has a posting (not a Bitcoin output)
	edgeIn  = 1 << 1 // the recipient has one
	edgeBig = 1 << 2
)

func newSegBuilder(c chain.Chain, lo uint64, idBase uint32, lookup func([]byte) (uint32, bool)) *segBuilder {
	return &segBuilder{
		c: c, lo: lo, idBase: idBase, nextID: idBase, lookup: lookup,
		hexIDs: make(map[[20]byte]uint32), strIDs: make(map[string]uint32),
		dictOff: []uint64{0}, assets: map[string]uint32{"": 0}, assetIDs: []chain.Asset{chain.Native},
		blockTx: []uint64{0}, blockEdge: []uint64{0}, monotone: true,
	}
}

// next is the height the builder expects next.
func (b *segBuilder) next() uint64 { return b.lo + uint64(len(b.blockTime)) }

// blocks is how many blocks the builder holds.
func (b *segBuilder) blocks() int { return len(b.blockTime) }

// id returns addr's id, assigning the next one to a new address. The
// last few are remembered: each address of a transfer is asked for
// twice or more in a row (its transaction's sender, its postings).
func (b *segBuilder) id(addr string) uint32 {
	for i := range b.memo {
		if m := &b.memo[i]; m.ok && m.s == addr {
			return m.id
		}
	}
	id := b.idOf(addr)
	b.memo[b.memoNext] = memoID{addr, id, true}
	b.memoNext = (b.memoNext + 1) % len(b.memo)
	return id
}

type memoID struct {
	s  string
	id uint32
	ok bool
}

func (b *segBuilder) idOf(addr string) uint32 {
	if a, ok := hexAddr(addr); ok {
		if id, ok := b.hexIDs[a]; ok {
			return id
		}
		b.enc = appendHex20(b.enc[:0], &a)
		id := b.resolve(b.enc)
		b.hexIDs[a] = id
		return id
	}
	if id, ok := b.strIDs[addr]; ok {
		return id
	}
	b.enc = appendAddr(b.enc[:0], addr)
	id := b.resolve(b.enc)
	// A copy: the caller's string may share memory with its whole block.
	b.strIDs[strings.Clone(addr)] = id
	return id
}

func (b *segBuilder) resolve(enc []byte) uint32 {
	if b.lookup != nil {
		if id, ok := b.lookup(enc); ok {
			return id
		}
	}
	id := b.nextID
	b.nextID++
	b.dict = append(b.dict, enc...)
	b.dictOff = append(b.dictOff, uint64(len(b.dict)))
	return id
}

// newAddr returns the encoding of an address the builder introduced.
func (b *segBuilder) newAddr(id uint32) ([]byte, bool) {
	if id < b.idBase || id >= b.nextID {
		return nil, false
	}
	i := id - b.idBase
	return b.dict[b.dictOff[i]:b.dictOff[i+1]], true
}

// findNew finds the id of an address the builder introduced.
func (b *segBuilder) findNew(enc []byte) (uint32, bool) {
	var id uint32
	var ok bool
	if len(enc) == 21 && enc[0] == addrHex20 {
		id, ok = b.hexIDs[[20]byte(enc[1:])]
	} else {
		d := dec{b: enc}
		tag, p := d.addrRaw()
		if d.err != nil || tag != addrString {
			return 0, false
		}
		id, ok = b.strIDs[string(p)]
	}
	if !ok || id < b.idBase {
		return 0, false
	}
	return id, true
}

func (b *segBuilder) asset(a chain.Asset) uint32 {
	if id, ok := b.assets[string(a)]; ok {
		return id
	}
	id := uint32(len(b.assetIDs))
	b.assets[string(a)] = id
	b.assetIDs = append(b.assetIDs, a)
	return id
}

// block adds the next block.
func (b *segBuilder) block(blk *chain.Block) error {
	if blk.Height != b.next() {
		return fmt.Errorf("traversal segment of %s: block %d follows %d", b.c, blk.Height, b.next()-1)
	}
	if blk.Height-b.lo >= math.MaxUint32 || len(blk.Txs) >= 1<<txRefBits {
		return fmt.Errorf("traversal segment of %s: block %d too far or too large", b.c, blk.Height)
	}
	h, err := blockHashBytes(blk.Hash)
	if err != nil {
		return err
	}
	at := blk.Time.Unix()
	if n := len(b.blockTime); n > 0 && at < b.blockTime[n-1] {
		b.monotone = false
	}
	rel := uint32(blk.Height - b.lo)
	for p := range blk.Txs {
		tx := &blk.Txs[p]
		var th [32]byte
		if _, err := appendHashBytes(th[:0], tx.Hash); err != nil {
			return fmt.Errorf("block %d: %w", blk.Height, err)
		}
		b.txHash.push(th)
		b.tx(tx, rel, uint32(p))
	}
	copy(b.hiHash[:], h)
	b.blockHash = append(b.blockHash, h...)
	b.blockTime = append(b.blockTime, at)
	b.blockTx = append(b.blockTx, uint64(b.txHash.n))
	b.blockEdge = append(b.blockEdge, uint64(b.edges.n))
	return nil
}

// tx adds a transaction's transfers as the graph's postings are made
// (graphWriter.tx): a posting under each side that has an address, the
// sender's none for a Bitcoin output, and a Bitcoin input as a posting
// of the address it spends from to the largest output. They are sorted
// by kind and position, the order of their keys.
func (b *segBuilder) tx(tx *chain.Tx, block, pos uint32) {
	es := b.txEdge[:0]
	add := func(kind chain.TransferKind, p uint32, from, to string, asset chain.Asset, amount chain.Amount, flags uint8) {
		if flags == 0 {
			return
		}
		e := segEdge{from: b.id(from), to: b.id(to), block: block, txPos: pos, txIndex: uint32(tx.Index), pos: p, asset: b.asset(asset), kind: kind, flags: flags}
		if v, ok := amount.Uint64(); ok {
			e.amount = v
		} else {
			e.amount = uint64(len(b.big))
			e.flags |= edgeBig
			b.big = append(b.big, amount)
		}
		es = append(es, e)
	}
	for i := range tx.Transfers {
		t := &tx.Transfers[i]
		var f uint8
		if t.Kind != chain.KindOutput && t.From != "" {
			f |= edgeOut
		}
		if t.To != "" {
			f |= edgeIn
		}
		add(t.Kind, t.Pos, t.From, t.To, t.Asset, t.Amount, f)
	}
	if b.c == chain.Bitcoin && (len(tx.Inputs) > 0 || len(tx.Outputs) > 0) {
		principal := principalOutput(tx.Outputs)
		for i, in := range tx.Inputs {
			if in.Address != "" {
				add(KindInput, uint32(i), in.Address, principal, chain.Native, chain.NewAmount(in.Value), edgeOut)
			}
		}
	}
	slices.SortStableFunc(es, func(x, y segEdge) int { return cmp.Or(cmp.Compare(x.kind, y.kind), cmp.Compare(x.pos, y.pos)) })
	for _, e := range es {
		b.edges.push(e)
	}
	b.txEdge = es
}

// amountOf is an edge's amount.
func (b *segBuilder) amountOf(e *segEdge) chain.Amount {
	if e.flags&edgeBig != 0 {
		return b.big[e.amount]
	}
	return chain.NewAmount(e.amount)
}

// side makes the posting of e under its recipient (out false) or sender.
func (b *segBuilder) side(e *segEdge, out bool) (owner uint32, p segPost) {
	p = segPost{amount: b.amountOf(e), block: b.lo + uint64(e.block), txPos: e.txPos, txIndex: e.txIndex, pos: e.pos, asset: e.asset, kind: e.kind, out: out}
	if out {
		p.peer = e.to
		return e.from, p
	}
	p.peer = e.from
	return e.to, p
}

// order is the blocks in key order: by time, then height.
func (b *segBuilder) order() []uint32 {
	o := make([]uint32, len(b.blockTime))
	for i := range o {
		o[i] = uint32(i)
	}
	if !b.monotone {
		slices.SortStableFunc(o, func(x, y uint32) int { return cmp.Compare(b.blockTime[x], b.blockTime[y]) })
	}
	return o
}

// each calls fn with every posting in key order per owner: blocks in
// key order, a transfer's recipient before its sender (a transfer to
// oneself reads in, then out).
func (b *segBuilder) each(fn func(owner uint32, p *segPost)) {
	for _, blk := range b.order() {
		for i := b.blockEdge[blk]; i < b.blockEdge[blk+1]; i++ {
			e := b.edges.at(i)
			if e.flags&edgeIn != 0 {
				o, p := b.side(e, false)
				fn(o, &p)
			}
			if e.flags&edgeOut != 0 {
				o, p := b.side(e, true)
				fn(o, &p)
			}
		}
	}
}

// write writes the builder's blocks as a segment file at path.
func (b *segBuilder) write(path string) (segMeta, error) {
	if len(b.blockTime) == 0 {
		return segMeta{}, errors.New("traversal segment without blocks")
	}
	idEnd := b.nextID
	words := (int(idEnd) + 63) / 64
	bitmap := make([]uint64, words)
	b.each(func(owner uint32, _ *segPost) { bitmap[owner>>6] |= 1 << (owner & 63) })
	rank := make([]uint32, words)
	present := uint32(0)
	for i, w := range bitmap {
		rank[i] = present
		present += uint32(bits.OnesCount64(w))
	}
	local := func(id uint32) uint32 {
		w := bitmap[id>>6]
		return rank[id>>6] + uint32(bits.OnesCount64(w&(1<<(id&63)-1)))
	}
	// Two passes: the lists' lengths, then each posting encoded in place.
	offsets := make([]uint64, present+1)
	last := make([]uint64, present)
	for i := range last {
		last[i] = b.lo
	}
	var postings uint64
	b.each(func(owner uint32, p *segPost) {
		l := local(owner)
		offsets[l+1] += uint64(segPostLen(p, last[l]))
		last[l] = p.block
		postings++
	})
	for i := 1; i < len(offsets); i++ {
		offsets[i] += offsets[i-1]
	}
	out, free, err := chunkMemory(max(int(offsets[present]), 1))
	if err != nil {
		return segMeta{}, err
	}
	defer free()
	out = out[:offsets[present]]
	cursor := slices.Clone(offsets[:present])
	for i := range last {
		last[i] = b.lo
	}
	b.each(func(owner uint32, p *segPost) {
		l := local(owner)
		c := cursor[l]
		n := len(appendSegPost(out[c:c], p, last[l]))
		cursor[l] = c + uint64(n)
		last[l] = p.block
	})
	for l := range cursor {
		if cursor[l] != offsets[l+1] {
			return segMeta{}, fmt.Errorf("traversal segment of %s: list %d encoded in %d bytes, sized %d", b.c, l, cursor[l]-offsets[l], offsets[l+1]-offsets[l])
		}
	}
	m := segMeta{chain: b.c, lo: b.lo, hi: b.next() - 1, hiHash: b.hiHash, idBase: b.idBase, idEnd: idEnd,
		nTx: uint64(b.txHash.n), monotone: b.monotone, postings: postings}
	m.minTime, m.maxTime = slices.Min(b.blockTime), slices.Max(b.blockTime)
	w, err := createSegment(path, m)
	if err != nil {
		return segMeta{}, err
	}
	hashes := func() error {
		for _, c := range b.txHash.c {
			if err := w.write(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(c))), 32*len(c))); err != nil {
				return err
			}
		}
		return nil
	}
	if err := writeSections(w, out, offsets, bitmap, rank, b.dictOff, b.dict, b.blockTime, b.blockTx, b.blockHash, hashes, b.assetIDs); err != nil {
		w.abort()
		return segMeta{}, err
	}
	return w.finish()
}

// writeSections writes a segment's sections in order; hashes writes the
// transaction hashes.
func writeSections(w *segWriter, postings []byte, offsets, bitmap []uint64, rank []uint32, dictOff []uint64, dict []byte,
	blockTime []int64, blockTx []uint64, blockHash []byte, hashes func() error, assets []chain.Asset) error {
	steps := []func() error{
		func() error { return w.section(secPostings, postings) },
		func() error { return w.section(secOffsets, u64Bytes(offsets)) },
		func() error { return w.section(secBitmap, u64Bytes(bitmap)) },
		func() error { return w.section(secRank, u32Bytes(rank)) },
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return err
		}
	}
	return writeTail(w, dictOff, dict, blockTime, blockTx, blockHash, hashes, assets)
}

// writeTail writes the sections after the lists: dictionary, blocks,
// transactions, assets.
func writeTail(w *segWriter, dictOff []uint64, dict []byte, blockTime []int64, blockTx []uint64, blockHash []byte, hashes func() error, assets []chain.Asset) error {
	index := dictIndex(dictOff, dict)
	aoff := []uint64{0}
	var ab []byte
	for _, a := range assets {
		ab = append(ab, a...)
		aoff = append(aoff, uint64(len(ab)))
	}
	steps := []func() error{
		func() error { return w.section(secDictOff, u64Bytes(dictOff)) },
		func() error { return w.section(secDict, dict) },
		func() error { return w.section(secDictIndex, u32Bytes(index)) },
		func() error { return w.section(secBlockTime, i64Bytes(blockTime)) },
		func() error { return w.section(secBlockTx, u64Bytes(blockTx)) },
		func() error { return w.section(secBlockHash, blockHash) },
		func() error {
			if err := w.begin(secTxHash); err != nil {
				return err
			}
			if err := hashes(); err != nil {
				return err
			}
			return w.end()
		},
		func() error { return w.section(secAssetOff, u64Bytes(aoff)) },
		func() error { return w.section(secAssets, ab) },
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return err
		}
	}
	return nil
}

// dictIndex builds the open-addressing index of a dictionary: slots hold
// an address's place plus one, at least twice as many slots as
// addresses.
func dictIndex(dictOff []uint64, dict []byte) []uint32 {
	n := len(dictOff) - 1
	slots := 2
	for slots < 2*n {
		slots *= 2
	}
	idx := make([]uint32, slots)
	mask := uint64(slots - 1)
	for i := range n {
		h := addrHash(dict[dictOff[i]:dictOff[i+1]]) & mask
		for idx[h] != 0 {
			h = (h + 1) & mask
		}
		idx[h] = uint32(i + 1)
	}
	return idx
}

// free returns the builder's memory outside the Go heap.
func (b *segBuilder) free() {
	b.txHash.free()
	b.edges.free()
	for _, s := range b.held {
		s.release()
	}
	b.held = nil
}

// chunks is an append-only array in chunks mapped outside the Go heap: a
// bulk load's builder holds tens of millions of transfers, which the
// garbage collector need neither scan nor count, and an element never
// moves once added, so that readers of the delta may hold on to it.
type chunks[T any] struct {
	c     [][]T
	unmap []func() error
	n     int
}

const chunkElems = 1 << 18

func (c *chunks[T]) push(v T) {
	if c.n == len(c.c)*chunkElems {
		var zero T
		mem, free, err := chunkMemory(chunkElems * int(unsafe.Sizeof(zero)))
		if err != nil {
			panic(err) // out of address space
		}
		c.c = append(c.c, unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(mem))), chunkElems)[:0])
		c.unmap = append(c.unmap, free)
	}
	k := c.n / chunkElems
	c.c[k] = append(c.c[k], v)
	c.n++
}

func (c *chunks[T]) at(i uint64) *T { return &c.c[i/chunkElems][i%chunkElems] }

func (c *chunks[T]) free() {
	for _, f := range c.unmap {
		f()
	}
	c.c, c.unmap, c.n = nil, nil, 0
}
