package graph

import (
	"context"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tracehound/tracehound/chain"
)

// Rollback removes the chain's blocks above height (those a reorg
// orphaned) with everything they wrote: transactions, postings, created
// outputs; outputs they spent become unspent again, and the totals of
// every address they touched are recomputed from the postings that
// remain. It is one atomic batch, and the tip moves to height.
func (d *Store) Rollback(ctx context.Context, c chain.Chain, height uint64) (int, error) {
	tip, ok, err := d.Tip(ctx, c)
	if err != nil {
		return 0, err
	}
	if !ok || tip.Height <= height {
		return 0, nil
	}
	keep, ok, err := d.get(blockKey(c, height))
	if err != nil {
		return 0, err
	}
	if !ok || len(keep) < 32 {
		return 0, fmt.Errorf("roll back %s to %d: block %d is not stored", c, height, height)
	}
	b := d.db.NewIndexedBatch()
	defer b.Close()
	gens, err := readGenerations(d.db, c)
	if err != nil {
		return 0, err
	}
	// touched maps each address the removed blocks touched to the fees
	// it paid in them.
	touched := make(map[string]chain.Amount)
	removed := 0
	for h := tip.Height; h > height; h-- {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if err := d.rollbackBlock(b, gens, c, h, touched); err != nil {
			return 0, fmt.Errorf("roll back %s block %d: %w", c, h, err)
		}
		removed++
	}
	// The generations that held removed blocks end at height, or go.
	for i := range gens {
		g := &gens[i]
		switch {
		case g.last <= height:
			continue
		case g.first > height:
			err = b.Delete(genKey(gGen, c, g.n), nil)
		default:
			g.last = height
			err = b.Set(genKey(gGen, c, g.n), g.encode(), nil)
		}
		if err != nil {
			return 0, err
		}
	}
	for addr, fees := range touched {
		if err := d.recomputeTotals(ctx, b, gens, c, addr, fees); err != nil {
			return 0, err
		}
	}
	if err := b.Set(chainKey(gTip, c), tipValue(height, keep[:32], tip.Source, time.Now()), nil); err != nil {
		return 0, err
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return 0, fmt.Errorf("commit rollback of %s to %d: %w", c, height, err)
	}
	return removed, nil
}

func (d *Store) rollbackBlock(b *pebble.Batch, gens []generation, c chain.Chain, h uint64, touched map[string]chain.Amount) error {
	// The block's postings and transactions are in its generation's
	// range if a bulk load ingested it.
	g, inGen := genOf(gens, h)
	key := func(k []byte) []byte {
		if inGen {
			return genKeyOf(nil, k, g.n)
		}
		return k
	}
	bk := blockKey(c, h)
	v, ok, err := d.get(bk)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("block record missing")
	}
	bd := dec{b: v}
	bd.raw(64) // hash, parent
	ts := bd.svar()
	n := bd.uvar()
	for i := uint64(0); i < n && bd.err == nil; i++ {
		th := append([]byte(nil), bd.raw(32)...)
		tk := key(append(chainKey(gTx, c), th...))
		tv, ok, err := d.getMain(tk)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("tx %x missing", th)
		}
		r, err := decodeTx(c, th, tv)
		if err != nil {
			return err
		}
		del := func(dir byte, addr string, kind chain.TransferKind, pos uint32) error {
			if addr == "" {
				return nil
			}
			if _, ok := touched[addr]; !ok {
				touched[addr] = chain.Amount{}
			}
			return b.Delete(key(postingKey(nil, c, addr, ts, h, uint32(r.Index), kind, pos, dir)), nil)
		}
		for _, t := range r.Transfers {
			if err := del(postingOut, t.From, t.Kind, t.Pos); err != nil {
				return err
			}
			if err := del(postingIn, t.To, t.Kind, t.Pos); err != nil {
				return err
			}
		}
		if r.From != "" {
			touched[r.From], _ = touched[r.From].Add(r.Fee)
		}
		for j, in := range r.Inputs {
			if err := del(postingOut, in.Address, KindInput, uint32(j)); err != nil {
				return err
			}
			uk, err := outpointKey(gUTXO, c, in.PrevTx, in.PrevIndex)
			if err != nil {
				return err
			}
			var e enc
			e.str(in.Address)
			e.uvar(in.Value)
			e.str(d.scriptOfSpent(c, in))
			if err := b.Set(uk, e.b, nil); err != nil {
				return err
			}
			uk[2] = 'p'
			if err := b.Delete(uk, nil); err != nil {
				return err
			}
		}
		for _, o := range r.Outputs {
			ok, err := outpointKey(gUTXO, c, r.Hash, o.Index)
			if err != nil {
				return err
			}
			if err := b.Delete(ok, nil); err != nil {
				return err
			}
		}
		if err := b.Delete(tk, nil); err != nil {
			return err
		}
	}
	if bd.err != nil {
		return bd.err
	}
	if err := d.rollbackBridge(b, c, h); err != nil {
		return err
	}
	return b.Delete(bk, nil)
}

// scriptOfSpent finds the script class of a spent output in the
// transaction that created it.
func (d *Store) scriptOfSpent(c chain.Chain, in chain.Input) string {
	r, ok, err := d.Tx(context.Background(), c, in.PrevTx)
	if err != nil || !ok {
		return ""
	}
	for _, o := range r.Outputs {
		if o.Index == in.PrevIndex {
			return o.Script
		}
	}
	return ""
}

// recomputeTotals rebuilds an address's totals from its postings as the
// batch sees them; fees, which have no postings, are the stored fees less
// those paid in the removed blocks.
func (d *Store) recomputeTotals(ctx context.Context, b *pebble.Batch, gens []generation, c chain.Chain, addr string, feesRemoved chain.Amount) error {
	t := &totals{}
	bases := [][]byte{addrKey(gPost, c, addr)}
	for _, g := range gens {
		bases = append(bases, genAddrKey(c, g.n, addr))
	}
	for _, base := range bases {
		it, err := b.NewIter(&pebble.IterOptions{LowerBound: base, UpperBound: prefixEnd(base)})
		if err != nil {
			return err
		}
		for it.First(); it.Valid(); it.Next() {
			k := it.Key()
			kd := dec{b: k[len(base):]}
			ts := int64(kd.u64())
			vd := dec{b: it.Value()}
			vd.raw(32)
			vd.addrRaw()
			asset := chain.Asset(vd.addr())
			amt := vd.amount()
			if kd.err != nil || vd.err != nil {
				it.Close()
				return fmt.Errorf("recompute totals of %s: %w", addr, errCorrupt)
			}
			t.add(asset, amt, k[len(k)-1] == postingIn, ts)
		}
		if err := it.Close(); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	k := addrKey(gTotals, c, addr)
	if v, ok, err := d.get(k); err != nil {
		return err
	} else if ok {
		old, err := decodeTotals(v)
		if err != nil {
			return fmt.Errorf("recompute totals of %s: %w", addr, err)
		}
		t.fees, _ = old.fees.Sub(feesRemoved)
	}
	if t.in == 0 && t.out == 0 && t.fees.IsZero() {
		return b.Delete(k, nil)
	}
	return b.Set(k, t.encode(), nil)
}
