package graph

import (
	"cmp"
	"context"
	"fmt"
	"math/bits"
	"slices"

	"github.com/tracehound/tracehound/chain"
)

// mergeSegmentFiles writes consecutive segments of one chain as one
// segment at path: each address's lists concatenated (put in key order
// where the segments' times overlap), the dictionaries, blocks and
// transactions one after the other, the assets renumbered. Ids do not
// change.
func mergeSegmentFiles(ctx context.Context, path string, in []*segment) (segMeta, error) {
	first, last := in[0], in[len(in)-1]
	m := segMeta{chain: first.chain, lo: first.lo, hi: last.hi, hiHash: last.hiHash, idBase: first.idBase, idEnd: last.idEnd,
		monotone: true, minTime: first.minTime, maxTime: first.maxTime}
	ordered := true
	var assets []chain.Asset
	assetIdx := map[chain.Asset]uint32{}
	remap := make([][]uint32, len(in))
	for i, s := range in {
		if i > 0 && (s.lo != in[i-1].hi+1 || s.idBase != in[i-1].idEnd) {
			return m, fmt.Errorf("segments %s and %s do not follow each other", in[i-1].name, s.name)
		}
		if !s.monotone || i > 0 && s.minTime < m.maxTime {
			ordered = false
		}
		m.monotone = m.monotone && s.monotone && (i == 0 || s.minTime >= m.maxTime)
		m.minTime, m.maxTime = min(m.minTime, s.minTime), max(m.maxTime, s.maxTime)
		m.nTx += s.nTx
		remap[i] = make([]uint32, len(s.assets))
		for j, a := range s.assets {
			id, ok := assetIdx[a]
			if !ok {
				id = uint32(len(assets))
				assets = append(assets, a)
				assetIdx[a] = id
			}
			remap[i][j] = id
		}
	}
	w, err := createSegment(path, m)
	if err != nil {
		return m, err
	}
	fail := func(err error) (segMeta, error) {
		w.abort()
		return segMeta{}, err
	}
	words := (int(m.idEnd) + 63) / 64
	bitmap := make([]uint64, words)
	for _, s := range in {
		for i, x := range s.bitmap {
			bitmap[i] |= x
		}
	}
	rank := make([]uint32, words)
	present := uint32(0)
	for i, x := range bitmap {
		rank[i] = present
		present += uint32(bits.OnesCount64(x))
	}
	offsets := make([]uint64, 0, present+1)
	// The postings, address by address.
	if err := w.begin(secPostings); err != nil {
		return fail(err)
	}
	var (
		ps  []mergedPost
		out []byte
		pos uint64
		n   uint64
	)
	for wi, word := range bitmap {
		if wi%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return fail(err)
			}
		}
		for word != 0 {
			b := bits.TrailingZeros64(word)
			word &= word - 1
			id := uint32(wi*64 + b)
			ps = ps[:0]
			for i, s := range in {
				l := s.list(id)
				if l == nil {
					continue
				}
				r := postReader{b: l, block: s.lo}
				var p segPost
				for {
					ok, err := r.next(&p)
					if err != nil {
						return fail(fmt.Errorf("segment %s address %d: %w", s.name, id, err))
					}
					if !ok {
						break
					}
					if p.block < s.lo || p.block > s.hi || int(p.asset) >= len(remap[i]) {
						return fail(fmt.Errorf("segment %s address %d: %w", s.name, id, errSegPost))
					}
					p.asset = remap[i][p.asset]
					ps = append(ps, mergedPost{p, s.blockTime[p.block-s.lo]})
				}
			}
			if !ordered {
				slices.SortStableFunc(ps, cmpMerged)
			}
			out = out[:0]
			prev := m.lo
			for i := range ps {
				out = appendSegPost(out, &ps[i].p, prev)
				prev = ps[i].p.block
			}
			offsets = append(offsets, pos)
			if err := w.write(out); err != nil {
				return fail(err)
			}
			pos += uint64(len(out))
			n += uint64(len(ps))
		}
	}
	offsets = append(offsets, pos)
	m.postings = n
	w.m.postings = n
	if err := w.end(); err != nil {
		return fail(err)
	}
	var dictOff []uint64
	var dict []byte
	dictOff = append(dictOff, 0)
	var blockTime []int64
	var blockTx []uint64
	var blockHash []byte
	var txBase uint64
	for _, s := range in {
		base := uint64(len(dict))
		dict = append(dict, s.dict...)
		for _, o := range s.dictOff[1:] {
			dictOff = append(dictOff, base+o)
		}
		blockTime = append(blockTime, s.blockTime...)
		for _, t := range s.blockTx[:len(s.blockTx)-1] {
			blockTx = append(blockTx, txBase+t)
		}
		txBase += s.nTx
		blockHash = append(blockHash, s.blockHash...)
	}
	blockTx = append(blockTx, txBase)
	hashes := func() error {
		for _, s := range in {
			if err := w.write(s.txHash); err != nil {
				return err
			}
		}
		return nil
	}
	rest := []func() error{
		func() error { return w.section(secOffsets, u64Bytes(offsets)) },
		func() error { return w.section(secBitmap, u64Bytes(bitmap)) },
		func() error { return w.section(secRank, u32Bytes(rank)) },
	}
	for _, f := range rest {
		if err := f(); err != nil {
			return fail(err)
		}
	}
	if err := writeTail(w, dictOff, dict, blockTime, blockTx, blockHash, hashes, assets); err != nil {
		return fail(err)
	}
	return w.finish()
}

type mergedPost struct {
	p    segPost
	time int64
}

func cmpMerged(a, b mergedPost) int {
	return cmp.Or(cmp.Compare(a.time, b.time), cmp.Compare(a.p.block, b.p.block), cmp.Compare(a.p.txIndex, b.p.txIndex),
		cmp.Compare(a.p.kind, b.p.kind), cmp.Compare(a.p.pos, b.p.pos), cmpBool(a.p.out, b.p.out))
}
