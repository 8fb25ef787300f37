package graph

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tracehound/tracehound/chain"
)

// Generations. Postings and transaction records are keyed by address and
// by hash, so a bulk commit's tables into a store that holds data would
// overlap the whole of both ranges: Pebble puts such tables in L0 and
// merges them level by level, about a gigabyte and a half of compaction
// for every two million transfers. A commit that ingests tables instead
// writes its postings and transaction records in a key range of their
// own, a generation: the keys of g/a/ and g/x/ with the generation's
// number after the chain. Each commit's generation is a fresh range, so
// its tables go to the last level with nothing to rewrite. A generation
// holds consecutive blocks; its record (g/G/, written in the same
// ingestion) says which, and the times of their blocks, so that a read
// of an address's recent postings opens only the generations that can
// hold them. What the generations hold is in no other range: blocks
// written in batches (WriteBlocks, small commits) are in g/a/ and g/x/,
// as before.
//
//	g/G/<chain>\0<gen:4>                                 first, last height, min, max block time
//	g/A/<chain>\0<gen:4><addr><time:8>...                posting, as g/a/ after the chain
//	g/X/<chain>\0<gen:4><txhash:32>                      transaction, as g/x/
const (
	gGen     = "g/G/"
	gGenPost = "g/A/"
	gGenTx   = "g/X/"
)

// generation is a bulk commit's key range and what it holds.
type generation struct {
	n                uint32
	first, last      uint64 // heights of its blocks
	minTime, maxTime int64  // of its blocks, in seconds
}

func (g *generation) holds(h uint64) bool { return g.first <= h && h <= g.last }

func (g *generation) encode() []byte {
	var e enc
	e.u64(g.first)
	e.u64(g.last)
	e.svar(g.minTime)
	e.svar(g.maxTime)
	return e.b
}

// genKey is the start of generation n's keys under prefix.
func genKey(prefix string, c chain.Chain, n uint32) []byte {
	return binary.BigEndian.AppendUint32(chainKey(prefix, c), n)
}

// genAddrKey is the start of addr's postings in generation n.
func genAddrKey(c chain.Chain, n uint32, addr string) []byte {
	return appendAddr(genKey(gGenPost, c, n), addr)
}

// readGenerations returns the chain's generations in r in the order of
// their numbers, which is that of their blocks until a merge (see
// readGenerationsByBlock).
func readGenerations(r pebble.Reader, c chain.Chain) ([]generation, error) {
	it, err := r.NewIter(genBounds(c))
	if err != nil {
		return nil, err
	}
	gens, err := scanGenerations(it, c)
	return gens, joinClose(err, it)
}

// genBounds bounds the chain's generation records.
func genBounds(c chain.Chain) *pebble.IterOptions {
	base := chainKey(gGen, c)
	return &pebble.IterOptions{LowerBound: base, UpperBound: prefixEnd(base)}
}

// scanGenerations reads the generation records an iterator bounded by
// genBounds holds.
func scanGenerations(it *pebble.Iterator, c chain.Chain) ([]generation, error) {
	var gens []generation
	base := len(chainKey(gGen, c))
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		dd := dec{b: it.Value()}
		g := generation{first: dd.u64(), last: dd.u64(), minTime: dd.svar(), maxTime: dd.svar()}
		if len(k) != base+4 || dd.err != nil || len(dd.b) != 0 {
			return nil, fmt.Errorf("read %s generations: %w", c, errCorrupt)
		}
		g.n = binary.BigEndian.Uint32(k[base:])
		gens = append(gens, g)
	}
	return gens, it.Error()
}

func joinClose(err error, it *pebble.Iterator) error {
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	return err
}

// genOf returns the generation that holds block h, if one does. There
// are few: a scan from the newest, which recent blocks are in, is enough.
func genOf(gens []generation, h uint64) (*generation, bool) {
	for i := len(gens) - 1; i >= 0; i-- {
		if gens[i].holds(h) {
			return &gens[i], true
		}
	}
	return nil, false
}

// nextGeneration is the number of the chain's next generation.
func nextGeneration(gens []generation) uint32 {
	if len(gens) == 0 {
		return 1
	}
	return gens[len(gens)-1].n + 1
}

// genTxKey is a transaction's key in generation n; key is its key in g/x/.
func genTxKey(key []byte, n uint32) []byte {
	return genKeyOf(nil, key, n)
}

// genKeyOf appends to b key (a g/a/ or g/x/ key) as generation n keys
// it: the kind in upper case, n after the chain.
func genKeyOf(b, key []byte, n uint32) []byte {
	end := 4 + bytes.IndexByte(key[4:], 0) + 1
	b = append(b, key[:end]...)
	b[len(b)-end+2] -= 'a' - 'A'
	b = binary.BigEndian.AppendUint32(b, n)
	return append(b, key[end:]...)
}

// inGeneration reports whether a key the writer makes goes into the
// commit's generation when the commit ingests tables.
func inGeneration(k []byte) bool {
	return len(k) > 4 && k[0] == 'g' && k[1] == '/' && (k[2] == 'a' || k[2] == 'x') && k[3] == '/'
}

// getTx reads the record at key (a g/x/ key) from g/x/ or, if absent
// there, from the generations: the most recent block's if the hash is
// in more than one (Bitcoin's duplicated coinbase transactions).
func (d *Store) getTx(key []byte) ([]byte, bool, error) {
	v, ok, err := d.getMain(key)
	if err != nil {
		return nil, false, err
	}
	end := 4 + bytes.IndexByte(key[4:], 0)
	if end < 4 {
		return v, ok, nil
	}
	c := chain.Chain(key[4:end])
	gens, err := readGenerationsByBlock(d.db, c)
	if err != nil || len(gens) == 0 {
		return v, ok, err
	}
	var at uint64
	if ok {
		if at, err = txBlock(v); err != nil {
			return nil, false, err
		}
	}
	for {
		gv, found, err := d.getGenTx(gens, key, ok, at)
		if err != nil || found {
			return gv, found, err
		}
		// A merge of generations between the read of their records and
		// the look-ups removes the ranges looked in: look again in the
		// ranges that replaced them.
		again, err := readGenerationsByBlock(d.db, c)
		if err != nil {
			return nil, false, err
		}
		if slices.Equal(again, gens) {
			return v, ok, nil
		}
		gens = again
	}
}

// readGenerationsByBlock returns the chain's generations in the order of
// their blocks. A merged generation is numbered past every other, so
// the order of the numbers is not that of the blocks once one is merged.
func readGenerationsByBlock(r pebble.Reader, c chain.Chain) ([]generation, error) {
	gens, err := readGenerations(r, c)
	slices.SortFunc(gens, func(a, b generation) int { return cmp.Compare(a.first, b.first) })
	return gens, err
}

// getGenTx looks for a transaction in the generations, in the order of
// their blocks, that of the latest blocks first, skipping those no newer
// than block at if after.
func (d *Store) getGenTx(gens []generation, key []byte, after bool, at uint64) ([]byte, bool, error) {
	var gk []byte
	for i := len(gens) - 1; i >= 0; i-- {
		g := &gens[i]
		if g.last < g.first || after && g.last <= at {
			continue
		}
		gk = genKeyOf(gk[:0], key, g.n)
		gv, found, err := d.getMain(gk)
		if err != nil || found {
			return gv, found, err
		}
	}
	return nil, false, nil
}

// getTxAt reads the record of a transaction of block h, from the
// generation that holds h or from g/x/.
func (d *Store) getTxAt(gens []generation, key []byte, h uint64) ([]byte, bool, error) {
	if g, ok := genOf(gens, h); ok {
		return d.getMain(genTxKey(key, g.n))
	}
	return d.getMain(key)
}

// txBlock is the block height a transaction record holds.
func txBlock(v []byte) (uint64, error) {
	dd := dec{b: v}
	dd.u8()
	h := dd.uvar()
	if dd.err != nil {
		return 0, fmt.Errorf("tx record: %w", errCorrupt)
	}
	return h, nil
}
