package graph

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tracehound/tracehound/chain"
)

// BlockTime returns the time of the chain's stored block at height;
// false if the store holds no block there.
func (d *Store) BlockTime(ctx context.Context, c chain.Chain, height uint64) (time.Time, bool, error) {
	if err := ctx.Err(); err != nil {
		return time.Time{}, false, err
	}
	v, ok, err := d.get(blockKey(c, height))
	if err != nil || !ok {
		return time.Time{}, false, err
	}
	dd := dec{b: v}
	dd.raw(64)
	at := dd.svar()
	if dd.err != nil {
		return time.Time{}, false, fmt.Errorf("read %s block %d: %w", c, height, errCorrupt)
	}
	return time.Unix(at, 0).UTC(), true, nil
}

// Blocks calls fn with each stored block of chain c from height from to
// height to, both included, in height order, rebuilt from the store:
// its hash, parent, time and transactions, each with its transfers and,
// on UTXO chains, its resolved inputs and outputs. fn returning false
// stops the read. It is how detection scans what the graph holds.
func (d *Store) Blocks(ctx context.Context, c chain.Chain, from, to uint64, fn func(*chain.Block) bool) error {
	if to < from {
		return nil
	}
	upper := prefixEnd(chainKey(gBlock, c))
	if to < math.MaxUint64 {
		upper = blockKey(c, to+1)
	}
	it, err := d.db.NewIter(&pebble.IterOptions{LowerBound: blockKey(c, from), UpperBound: upper})
	if err != nil {
		return err
	}
	defer it.Close()
	gens, err := readGenerations(d.db, c)
	if err != nil {
		return err
	}
	base := len(chainKey(gBlock, c))
	txKey := chainKey(gTx, c)
	txBase := len(txKey)
	for it.First(); it.Valid(); it.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		k := it.Key()
		if len(k) != base+8 {
			return fmt.Errorf("read %s blocks: malformed key %x: %w", c, k, errCorrupt)
		}
		dk := dec{b: k[base:]}
		b := &chain.Block{Chain: c, Height: dk.u64()}
		bd := dec{b: it.Value()}
		hash, parent := bd.raw(32), bd.raw(32)
		b.Time = time.Unix(bd.svar(), 0).UTC()
		n := bd.uvar()
		if bd.err != nil {
			return fmt.Errorf("read %s block %d: %w", c, b.Height, errCorrupt)
		}
		if hash != nil && string(hash) != string(zeroHash[:]) {
			b.Hash = hashString(c, hash)
		}
		if parent != nil && string(parent) != string(zeroHash[:]) {
			b.Parent = hashString(c, parent)
		}
		b.Txs = make([]chain.Tx, 0, n)
		for i := uint64(0); i < n; i++ {
			th := bd.raw(32)
			if bd.err != nil {
				return fmt.Errorf("read %s block %d: %w", c, b.Height, errCorrupt)
			}
			txKey = append(txKey[:txBase], th...)
			v, ok, err := d.getTxAt(gens, txKey, b.Height)
			if err == nil && !ok {
				// Generations merged since they were read.
				if gens, err = readGenerations(d.db, c); err == nil {
					v, ok, err = d.getTxAt(gens, txKey, b.Height)
				}
			}
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("read %s block %d: transaction %s missing: %w", c, b.Height, hashString(c, th), errCorrupt)
			}
			r, err := decodeTx(c, th, v)
			if err != nil {
				return fmt.Errorf("read %s block %d: %w", c, b.Height, err)
			}
			b.Txs = append(b.Txs, r.Tx)
		}
		if !fn(b) {
			return nil
		}
	}
	return it.Error()
}
