package graph

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tracehound/tracehound/chain"
)

// Graph key prefixes, all under "g/".
//
//	g/b/<chain>\0<height:8>                          block: hash, parent, time, tx hashes
//	g/k/<chain>                                      tip: height, hash, source, updated
//	g/x/<chain>\0<txhash:32>                         transaction: its whole structure
//	g/a/<chain>\0<addr><time:8><height:8><txi:4><kind:1><pos:4><dir:1>   posting
//	g/s/<chain>\0<addr>                              running totals (merge operands)
//
// <addr> is appendAddr's prefix-free encoding (20 bytes and a tag for an
// Ethereum address). <dir> is postingIn or postingOut: an address's
// incoming and outgoing postings are one range in time order, so that
// its most recent transfers are one scan of one iterator, which positions
// itself once in each level of the LSM tree rather than once per
// direction. A posting's value is the tx hash (32 bytes), the
// counterparty and the asset (both as addresses) and the amount.
//
//	g/u/<chain>\0<txhash:32><vout:4>                 unspent output: address, value
//	g/p/<chain>\0<txhash:32><vout:4>                 spent output: spending tx, input index
const (
	gBlock  = "g/b/"
	gTip    = "g/k/"
	gTx     = "g/x/"
	gPost   = "g/a/"
	gTotals = "g/s/"
	gUTXO   = "g/u/"
	gSpent  = "g/p/"
)

// A posting's direction, its key's last byte. Incoming sorts first, so
// that a transfer from an address to itself reads as it did when the
// directions were two ranges: incoming then outgoing oldest first.
const (
	postingIn  = 0
	postingOut = 1
)

// postingKey appends a posting's key to b.
func postingKey(b []byte, c chain.Chain, addr string, ts int64, height uint64, txi uint32, kind chain.TransferKind, pos uint32, dir byte) []byte {
	return appendPostingKey(b, c, nil, addr, ts, height, txi, kind, pos, dir)
}

// appendPostingKey is postingKey, encoding the address through m.
func appendPostingKey(b []byte, c chain.Chain, m *hexMemo, addr string, ts int64, height uint64, txi uint32, kind chain.TransferKind, pos uint32, dir byte) []byte {
	b = m.appendAddr(appendChainKey(b, gPost, c), addr)
	b = binaryAppendU64(b, uint64(ts))
	b = binaryAppendU64(b, height)
	return append(b, byte(txi>>24), byte(txi>>16), byte(txi>>8), byte(txi), byte(kind), byte(pos>>24), byte(pos>>16), byte(pos>>8), byte(pos), dir)
}

// KindInput, Posting and PostingQuery are the chain model's, named here
// for the store's callers.
const KindInput = chain.KindInput

type (
	Posting      = chain.Posting
	PostingQuery = chain.PostingQuery
)

// Tip returns the chain's last stored block.
func (d *Store) Tip(ctx context.Context, c chain.Chain) (chain.Tip, bool, error) {
	if err := ctx.Err(); err != nil {
		return chain.Tip{}, false, err
	}
	v, ok, err := d.get(chainKey(gTip, c))
	if err != nil || !ok {
		return chain.Tip{}, ok, err
	}
	tip, ok, err := decodeTip(c, v)
	if err != nil {
		return tip, ok, err
	}
	// The block record holds hash, parent hash, then the time.
	b, found, err := d.get(blockKey(c, tip.Height))
	if err != nil {
		return chain.Tip{}, false, fmt.Errorf("read %s tip block %d: %w", c, tip.Height, err)
	}
	if found {
		dd := dec{b: b}
		dd.raw(64)
		at := dd.svar()
		if dd.err != nil {
			return chain.Tip{}, false, fmt.Errorf("read %s tip block %d: %w", c, tip.Height, errCorrupt)
		}
		tip.Time = time.Unix(at, 0).UTC()
	}
	return tip, true, nil
}

func decodeTip(c chain.Chain, v []byte) (chain.Tip, bool, error) {
	dd := dec{b: v}
	t := chain.Tip{Height: dd.u64(), Hash: hashString(c, dd.raw(32)), Source: dd.str(), Updated: time.Unix(dd.svar(), 0).UTC()}
	if dd.err != nil {
		return chain.Tip{}, false, fmt.Errorf("read %s tip: %w", c, dd.err)
	}
	return t, true, nil
}

func tipValue(height uint64, hash []byte, source string, now time.Time) []byte {
	var e enc
	e.u64(height)
	e.raw(hash)
	e.str(source)
	e.svar(now.Unix())
	return e.b
}

// BlockHash returns the stored hash of the chain's block at height.
func (d *Store) BlockHash(ctx context.Context, c chain.Chain, height uint64) (string, bool, error) {
	if err := ctx.Err(); err != nil {
		return "", false, err
	}
	v, ok, err := d.get(blockKey(c, height))
	if err != nil || !ok {
		return "", ok, err
	}
	if len(v) < 32 {
		return "", false, fmt.Errorf("read %s block %d: %w", c, height, errCorrupt)
	}
	if bytes.Equal(v[:32], zeroHash[:]) {
		return "", true, nil
	}
	return hashString(c, v[:32]), true, nil
}

var zeroHash [32]byte

func blockKey(c chain.Chain, height uint64) []byte {
	k := chainKey(gBlock, c)
	return binaryAppendU64(k, height)
}

func binaryAppendU64(b []byte, v uint64) []byte {
	return append(b, byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32), byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

// Unspent returns the address and value of each outpoint still unspent in
// the store; outpoints it does not hold are absent from the map.
func (d *Store) Unspent(ctx context.Context, c chain.Chain, refs []chain.OutPoint) (map[chain.OutPoint]chain.Output, error) {
	out := make(map[chain.OutPoint]chain.Output, len(refs))
	for i, r := range refs {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		k, err := outpointKey(gUTXO, c, r.Tx, r.Index)
		if err != nil {
			return nil, err
		}
		v, ok, err := d.get(k)
		if err != nil {
			return nil, fmt.Errorf("read unspent output %s:%d: %w", r.Tx, r.Index, err)
		}
		if !ok {
			continue
		}
		dd := dec{b: v}
		o := chain.Output{Index: r.Index, Address: dd.str(), Value: dd.uvar(), Script: dd.str()}
		if dd.err != nil {
			return nil, fmt.Errorf("read unspent output %s:%d: %w", r.Tx, r.Index, dd.err)
		}
		out[r] = o
	}
	return out, nil
}

func outpointKey(prefix string, c chain.Chain, tx string, index uint32) ([]byte, error) {
	h, err := hashBytes(tx)
	if err != nil {
		return nil, err
	}
	k := chainKey(prefix, c)
	k = append(k, h...)
	return append(k, byte(index>>24), byte(index>>16), byte(index>>8), byte(index)), nil
}

// WriteBlocks stores consecutive blocks of one chain and moves the chain's
// tip to the last of them, in one atomic, synced batch: after a crash the
// store holds either all of the blocks or none. Bitcoin inputs must be
// resolved (address and value) and Bitcoin transfers derived before.
func (d *Store) WriteBlocks(ctx context.Context, c chain.Chain, source string, blocks []*chain.Block) error {
	if len(blocks) == 0 {
		return nil
	}
	// Totals are merge operands: writing a block twice would count it
	// twice, so blocks must extend the tip.
	if tip, ok, err := d.Tip(ctx, c); err != nil {
		return err
	} else if ok && blocks[0].Height <= tip.Height {
		return fmt.Errorf("write %s block %d: the store already holds blocks up to %d", c, blocks[0].Height, tip.Height)
	}
	for i := 1; i < len(blocks); i++ {
		if blocks[i].Height != blocks[i-1].Height+1 {
			return fmt.Errorf("write %s blocks: %d follows %d", c, blocks[i].Height, blocks[i-1].Height)
		}
	}
	w := graphWriter{c: c, sums: &sums{}}
	for i, blk := range blocks {
		if i%64 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err := w.block(blk); err != nil {
			return fmt.Errorf("write %s block %d: %w", c, blk.Height, err)
		}
	}
	w.flushTotals()
	last := blocks[len(blocks)-1]
	h, err := blockHashBytes(last.Hash)
	if err != nil {
		return err
	}
	w.set(chainKey(gTip, c), tipValue(last.Height, h, source, time.Now()))
	b := d.db.NewBatchWithSize(w.size)
	defer b.Close()
	if err := w.apply(b); err != nil {
		return err
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("commit %s blocks %d-%d: %w", c, blocks[0].Height, last.Height, err)
	}
	return nil
}

// graphWriter accumulates one batch. Totals are summed in memory per
// address and written as one merge operand each, so that a hot address
// costs one operand per batch rather than one per transfer.
//
// Operations are collected and applied to the Pebble batch in key order:
// the memtable's skiplist then finds each insertion point from the last
// one instead of searching from the top, which more than halves the cost
// of committing postings scattered over every address.
type graphWriter struct {
	c chain.Chain
	// sums are the blocks' totals by address; nil if another goroutine
	// sums them (a bulk load's).
	sums  *sums
	key   []byte
	val   enc
	blk   enc    // the block's record
	txKey []byte // a transaction's key
	th    []byte // a transaction's hash
	addrs hexMemo
	ops   []op
	arena []byte // ops' keys and values
	size  int    // the batch's size, roughly
}

type opKind uint8

const (
	opSet opKind = iota
	opDelete
	opMerge
)

// op is an operation whose key and value are in the writer's arena. It
// holds no pointers, so that a bulk load's millions of operations cost
// the garbage collector nothing to scan.
//
// Every key the writer makes is "g/", a kind byte, "/", the chain and a
// zero byte: w holds the kind byte and the 47 bytes after that prefix,
// the whole of a posting's key after an Ethereum address, so that most
// comparisons, even of one address's postings in one block, are settled
// without touching the arena; then the keys are compared, then the order
// of arrival (seq), for operations on the same key.
type op struct {
	w    [6]uint64
	off  uint32 // the key at arena[off:], the value right after
	vlen uint32
	seq  uint32
	klen uint16
	kind opKind
}

func (w *graphWriter) opKey(o *op) []byte {
	return w.arena[o.off : o.off+uint32(o.klen)]
}

func (w *graphWriter) opValue(o *op) []byte {
	v := o.off + uint32(o.klen)
	return w.arena[v : v+o.vlen]
}

func (w *graphWriter) add(kind opKind, k, v []byte) {
	off := len(w.arena)
	if off+len(k)+len(v) > math.MaxUint32 || len(k) > math.MaxUint16 || len(w.ops) >= math.MaxUint32 {
		// A batch or chunk is bounded far below this.
		panic("graph writer: batch too large")
	}
	o := op{w: w.words(k), off: uint32(off), vlen: uint32(len(v)), seq: uint32(len(w.ops)), klen: uint16(len(k)), kind: kind}
	// Grown by doubling: append grows large slices by a quarter, which
	// copies a chunk's arena many times over.
	if need := off + len(k) + len(v); need > cap(w.arena) {
		a := make([]byte, off, max(2*cap(w.arena), need, 64<<10))
		copy(a, w.arena)
		w.arena = a
	}
	if len(w.ops) == cap(w.ops) {
		w.ops = slices.Grow(w.ops, max(len(w.ops), 1024))
	}
	w.arena = append(append(w.arena, k...), v...)
	w.ops = append(w.ops, o)
	w.size += len(k) + len(v) + 16
}

// words are an op's sort words for key k.
func (w *graphWriter) words(k []byte) (ws [6]uint64) {
	var pad [48]byte
	p := 5 + len(w.c)
	if len(k) > 2 {
		pad[0] = k[2]
	}
	if len(k) > p {
		copy(pad[1:], k[p:])
	}
	for i := range ws {
		ws[i] = binary.BigEndian.Uint64(pad[8*i:])
	}
	return ws
}

func (w *graphWriter) set(k, v []byte) { w.add(opSet, k, v) }

// apply writes the operations to b in key order; operations on the same
// key keep their order (an output created and spent in the batch).
func (w *graphWriter) apply(b *pebble.Batch) error {
	w.sort()
	for i := range w.ops {
		o := &w.ops[i]
		var err error
		switch o.kind {
		case opSet:
			err = b.Set(w.opKey(o), w.opValue(o), nil)
		case opDelete:
			err = b.Delete(w.opKey(o), nil)
		case opMerge:
			err = b.Merge(w.opKey(o), w.opValue(o), nil)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// sort puts w.ops in key order, operations on one key in the order they
// were added.
func (w *graphWriter) sort() {
	slices.SortFunc(w.ops, w.cmpOps)
}

func (w *graphWriter) cmpOps(x, y op) int {
	if c := w.cmpKeys(&x, &y); c != 0 {
		return c
	}
	return cmp.Compare(x.seq, y.seq)
}

func (w *graphWriter) cmpKeys(x, y *op) int {
	for i := range x.w {
		if x.w[i] != y.w[i] {
			return cmp.Compare(x.w[i], y.w[i])
		}
	}
	return bytes.Compare(w.opKey(x), w.opKey(y))
}

// sameKey reports whether two operations are on one key.
func (w *graphWriter) sameKey(x, y *op) bool {
	return x.w == y.w && x.klen == y.klen && bytes.Equal(w.opKey(x), w.opKey(y))
}

func (w *graphWriter) block(blk *chain.Block) error {
	hash, err := blockHashBytes(blk.Hash)
	if err != nil {
		return err
	}
	parent := make([]byte, 32)
	if blk.Parent != "" {
		if parent, err = hashBytes(blk.Parent); err != nil {
			return err
		}
	}
	e := &w.blk
	e.b = e.b[:0]
	e.raw(hash)
	e.raw(parent)
	e.svar(blk.Time.Unix())
	e.uvar(uint64(len(blk.Txs)))
	for i := range blk.Txs {
		if w.th, err = appendHashBytes(w.th[:0], blk.Txs[i].Hash); err != nil {
			return err
		}
		e.raw(w.th)
		if err := w.tx(blk, &blk.Txs[i], w.th); err != nil {
			return fmt.Errorf("tx %s: %w", blk.Txs[i].Hash, err)
		}
	}
	w.set(blockKey(w.c, blk.Height), e.b)
	return w.bridge(blk)
}

func (w *graphWriter) tx(blk *chain.Block, tx *chain.Tx, th []byte) error {
	ts := blk.Time.Unix()
	w.val.b = encodeTx(w.val.b[:0], w.c, blk, tx, &w.addrs)
	w.txKey = append(appendChainKey(w.txKey[:0], gTx, w.c), th...)
	w.set(w.txKey, w.val.b)
	if w.sums != nil {
		w.sums.tx(w.c, blk, tx)
	}
	for i := range tx.Transfers {
		t := &tx.Transfers[i]
		// A Bitcoin address sends what its inputs spend: those are its
		// outgoing postings (KindInput, below). The transfer from the
		// principal input is an edge of the address graph, not an amount
		// that address sent.
		if t.Kind != chain.KindOutput {
			if err := w.posting(postingOut, t.From, t.To, blk.Height, ts, uint32(tx.Index), t.Kind, t.Pos, th, t.Asset, t.Amount); err != nil {
				return err
			}
		}
		if err := w.posting(postingIn, t.To, t.From, blk.Height, ts, uint32(tx.Index), t.Kind, t.Pos, th, t.Asset, t.Amount); err != nil {
			return err
		}
	}
	if w.c != chain.Bitcoin || len(tx.Outputs) == 0 && len(tx.Inputs) == 0 {
		return nil
	}
	principalOut := principalOutput(tx.Outputs)
	for i, in := range tx.Inputs {
		k, err := outpointKey(gUTXO, w.c, in.PrevTx, in.PrevIndex)
		if err != nil {
			return err
		}
		w.add(opDelete, k, nil)
		k[2] = 'p' // g/u/ -> g/p/
		var e enc
		e.raw(th)
		e.u32(uint32(i))
		w.set(k, e.b)
		if in.Address != "" {
			if err := w.posting(postingOut, in.Address, principalOut, blk.Height, ts, uint32(tx.Index), KindInput, uint32(i), th, chain.Native, chain.NewAmount(in.Value)); err != nil {
				return err
			}
		}
	}
	for _, o := range tx.Outputs {
		k := chainKey(gUTXO, w.c)
		k = append(k, th...)
		k = append(k, byte(o.Index>>24), byte(o.Index>>16), byte(o.Index>>8), byte(o.Index))
		var e enc
		e.str(o.Address)
		e.uvar(o.Value)
		e.str(o.Script)
		w.set(k, e.b)
	}
	return nil
}

// principalOutput is the address of the largest output, the counterparty
// shown for a Bitcoin input.
func principalOutput(outs []chain.Output) string {
	var best string
	var max uint64
	for _, o := range outs {
		if o.Address != "" && (best == "" || o.Value > max) {
			best, max = o.Address, o.Value
		}
	}
	return best
}

func (w *graphWriter) posting(dir byte, addr, counterparty string, height uint64, ts int64, txi uint32, kind chain.TransferKind, pos uint32, th []byte, asset chain.Asset, amount chain.Amount) error {
	if addr == "" {
		return nil
	}
	if len(addr) > maxAddrLen {
		return fmt.Errorf("address of %d bytes", len(addr))
	}
	k := appendPostingKey(w.key[:0], w.c, &w.addrs, addr, ts, height, txi, kind, pos, dir)
	w.key = k
	w.val.b = w.val.b[:0]
	w.val.raw(th)
	w.val.b = w.addrs.appendAddr(w.val.b, counterparty)
	w.val.b = w.addrs.appendAddr(w.val.b, string(asset))
	w.val.amount(amount)
	w.set(k, w.val.b)
	return nil
}

// sums are the totals of a run of blocks by address: those of
// Ethereum-style addresses by their 20 bytes, which the map compares in
// its own memory, the others by their string.
type sums struct {
	totals    map[string]*totals
	hexTotals map[[20]byte]*totals
	slab      []totals // where totals are allocated, in slabs
	addrs     hexMemo  // decodes the last addresses, and remembers their totals
}

// tx adds a transaction to the totals of its addresses, as its postings
// show it: the fee to the sender; each transfer to its recipient and,
// unless it is a Bitcoin output, to its sender; each Bitcoin input to
// the address it spends from.
func (s *sums) tx(c chain.Chain, blk *chain.Block, tx *chain.Tx) {
	ts := blk.Time.Unix()
	if tx.From != "" && !tx.Fee.IsZero() {
		s.total(tx.From).addFee(tx.Fee, ts)
	}
	for i := range tx.Transfers {
		t := &tx.Transfers[i]
		if t.Kind != chain.KindOutput && t.From != "" {
			s.total(t.From).add(t.Asset, t.Amount, false, ts)
		}
		if t.To != "" {
			s.total(t.To).add(t.Asset, t.Amount, true, ts)
		}
	}
	if c != chain.Bitcoin {
		return
	}
	for _, in := range tx.Inputs {
		if in.Address != "" {
			s.total(in.Address).add(chain.Native, chain.NewAmount(in.Value), false, ts)
		}
	}
}

// total returns the totals of addr.
func (s *sums) total(addr string) *totals {
	if i := s.addrs.find(addr); i >= 0 {
		if t := s.addrs.t[i]; t != nil {
			return t
		}
		if s.hexTotals == nil {
			s.hexTotals = make(map[[20]byte]*totals)
		}
		t := s.hexTotals[s.addrs.b[i]]
		if t == nil {
			t = s.newTotals()
			s.hexTotals[s.addrs.b[i]] = t
		}
		s.addrs.t[i] = t
		return t
	}
	if s.totals == nil {
		s.totals = make(map[string]*totals)
	}
	t := s.totals[addr]
	if t == nil {
		t = s.newTotals()
		s.totals[addr] = t
	}
	return t
}

func (s *sums) newTotals() *totals {
	// Allocated by the thousand, with room for one asset: a bulk load's
	// chunk sums hundreds of thousands of addresses.
	if len(s.slab) == cap(s.slab) {
		s.slab = make([]totals, 0, 1024)
	}
	s.slab = s.slab[:len(s.slab)+1]
	t := &s.slab[len(s.slab)-1]
	t.assets = t.one[:0]
	return t
}

// flush writes the totals into w as merge operands.
func (s *sums) flush(w *graphWriter) {
	for addr, t := range s.hexTotals {
		w.key = appendHex20(appendChainKey(w.key[:0], gTotals, w.c), &addr)
		w.addTotals(t)
	}
	for addr, t := range s.totals {
		w.key = appendAddrW(appendChainKey(w.key[:0], gTotals, w.c), addr)
		w.addTotals(t)
	}
}

// flushTotals writes the writer's totals as merge operands and forgets
// them.
func (w *graphWriter) flushTotals() {
	if w.sums != nil {
		w.sums.flush(w)
		w.sums = &sums{}
	}
}

func (w *graphWriter) addTotals(t *totals) {
	w.val.b = t.appendEncode(w.val.b[:0])
	w.add(opMerge, w.key, w.val.b)
}

// txRecordVersion is the first byte of a transaction record; the store's
// format version (format.go) covers it, this catches a stray record.
const txRecordVersion = 2

// encodeTx appends a transaction's record to b, encoding its addresses
// through m.
func encodeTx(b []byte, c chain.Chain, blk *chain.Block, tx *chain.Tx, m *hexMemo) []byte {
	e := enc{b: b}
	e.u8(txRecordVersion)
	e.uvar(blk.Height)
	e.svar(blk.Time.Unix())
	e.uvar(uint64(tx.Index))
	var flags byte
	if tx.Failed {
		flags |= 1
	}
	if tx.Coinbase {
		flags |= 2
	}
	e.u8(flags)
	e.amount(tx.Fee)
	e.b = m.appendAddr(e.b, tx.From)
	e.uvar(uint64(len(tx.Transfers)))
	for _, t := range tx.Transfers {
		e.u8(byte(t.Kind))
		e.uvar(uint64(t.Pos))
		e.b = m.appendAddr(e.b, t.From)
		e.b = m.appendAddr(e.b, t.To)
		e.b = m.appendAddr(e.b, string(t.Asset))
		e.amount(t.Amount)
	}
	e.uvar(uint64(len(tx.Inputs)))
	for _, in := range tx.Inputs {
		e.b = appendHash(e.b, c, in.PrevTx)
		e.uvar(uint64(in.PrevIndex))
		e.b = m.appendAddr(e.b, in.Address)
		e.uvar(in.Value)
	}
	e.uvar(uint64(len(tx.Outputs)))
	for _, o := range tx.Outputs {
		e.uvar(uint64(o.Index))
		e.b = m.appendAddr(e.b, o.Address)
		e.uvar(o.Value)
		e.str(o.Script)
	}
	return e.b
}

// TxRecord is a stored transaction with its block.
type TxRecord struct {
	Chain chain.Chain `json:"chain"`
	Block uint64      `json:"block"`
	Time  time.Time   `json:"time"`
	chain.Tx
}

// Tx returns a stored transaction by hash.
func (d *Store) Tx(ctx context.Context, c chain.Chain, hash string) (*TxRecord, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	h, err := hashBytes(hash)
	if err != nil {
		return nil, false, err
	}
	v, ok, err := d.get(append(chainKey(gTx, c), h...))
	if err != nil || !ok {
		return nil, ok, err
	}
	r, err := decodeTx(c, h, v)
	if err != nil {
		return nil, false, fmt.Errorf("read tx %s: %w", hash, err)
	}
	return r, true, nil
}

func decodeTx(c chain.Chain, hash, v []byte) (*TxRecord, error) {
	dd := dec{b: v}
	if ver := dd.u8(); ver != txRecordVersion {
		return nil, fmt.Errorf("tx record format %d: %w", ver, errCorrupt)
	}
	r := &TxRecord{Chain: c}
	r.Block = dd.uvar()
	r.Time = time.Unix(dd.svar(), 0).UTC()
	r.Hash = hashString(c, hash)
	r.Index = int(dd.uvar())
	flags := dd.u8()
	r.Failed, r.Coinbase = flags&1 != 0, flags&2 != 0
	r.Fee = dd.amount()
	r.From = dd.addr()
	n := dd.uvar()
	for i := uint64(0); i < n && dd.err == nil; i++ {
		t := chain.Transfer{Chain: c, Tx: r.Hash, Block: r.Block, Time: r.Time}
		t.Kind = chain.TransferKind(dd.u8())
		t.Pos = uint32(dd.uvar())
		t.From, t.To, t.Asset = dd.addr(), dd.addr(), chain.Asset(dd.addr())
		t.Amount = dd.amount()
		r.Transfers = append(r.Transfers, t)
	}
	n = dd.uvar()
	for i := uint64(0); i < n && dd.err == nil; i++ {
		r.Inputs = append(r.Inputs, chain.Input{PrevTx: dd.hash(c), PrevIndex: uint32(dd.uvar()), Address: dd.addr(), Value: dd.uvar()})
	}
	n = dd.uvar()
	for i := uint64(0); i < n && dd.err == nil; i++ {
		r.Outputs = append(r.Outputs, chain.Output{Index: uint32(dd.uvar()), Address: dd.addr(), Value: dd.uvar(), Script: dd.str()})
	}
	if dd.err == nil && len(dd.b) > 0 {
		// Bytes after the record: it was not written by encodeTx.
		return nil, fmt.Errorf("tx record: %d bytes after its end: %w", len(dd.b), errCorrupt)
	}
	return r, dd.err
}

// SpentBy returns the transaction that spends an output, and the input
// index, or false if the output is unspent or unknown.
func (d *Store) SpentBy(ctx context.Context, c chain.Chain, op chain.OutPoint) (string, uint32, bool, error) {
	if err := ctx.Err(); err != nil {
		return "", 0, false, err
	}
	k, err := outpointKey(gSpent, c, op.Tx, op.Index)
	if err != nil {
		return "", 0, false, err
	}
	v, ok, err := d.get(k)
	if err != nil || !ok {
		return "", 0, false, err
	}
	dd := dec{b: v}
	h := dd.raw(32)
	i := dd.u32()
	if dd.err != nil {
		return "", 0, false, fmt.Errorf("read spender of %s:%d: %w", op.Tx, op.Index, errCorrupt)
	}
	return hashString(c, h), i, true, nil
}

// TxTransfers returns a stored transaction's transfers, for tracing from
// a transaction.
func (d *Store) TxTransfers(ctx context.Context, c chain.Chain, hash string) ([]chain.Transfer, bool, error) {
	r, ok, err := d.Tx(ctx, c, hash)
	if err != nil || !ok {
		return nil, ok, err
	}
	trs := slices.Clone(r.Transfers)
	for i := range trs {
		trs[i].Tx, trs[i].Chain, trs[i].Block, trs[i].Time = r.Hash, c, r.Block, r.Time
	}
	return trs, true, nil
}

// UTXOTx returns a stored Bitcoin transaction with its inputs and outputs,
// its block and time.
func (d *Store) UTXOTx(ctx context.Context, c chain.Chain, hash string) (*chain.Tx, uint64, time.Time, bool, error) {
	r, ok, err := d.Tx(ctx, c, hash)
	if err != nil || !ok {
		return nil, 0, time.Time{}, ok, err
	}
	return &r.Tx, r.Block, r.Time, true, nil
}
