package graph

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tracehound/tracehound/chain"
)

// Bridge links: what a block's bridge events say (chain.BridgeEvents),
// kept so that a trace reaching a bridge finds where the funds went on.
// They are written in the batch of the block that carries them and
// removed with it by a rollback.
//
//	g/d/<chain>\0<txhash:32><log:4>                        deposit: the bridge, memo, destination, key ...
//	g/o/<chain>\0<key>\0<txhash:32><log:4>                 payout, found by the deposit's key
//	g/c/<chain>\0<len:1><contract><txhash:32><log:4>       the contracts that took deposits: a trace stops there
//	g/e/<chain>\0<height:8>                                the keys above a block wrote, for its rollback
//
// A deposit is found by its transaction (a trace knows the transfer that
// reached the bridge), a payout by the key its deposit names on the
// destination chain. Keys never hold a zero byte, which ends them.
const (
	gBridgeDeposit  = "g/d/"
	gBridgePayout   = "g/o/"
	gBridgeContract = "g/c/"
	gBridgeBlock    = "g/e/"
)

const bridgeRecordVersion = 1

// bridge writes the block's bridge events and the list of their keys.
func (w *graphWriter) bridge(blk *chain.Block) error {
	ev := blk.Bridge
	if ev.Empty() {
		return nil
	}
	var keys enc
	keys.uvar(uint64(2*len(ev.Deposits) + len(ev.Payouts)))
	for i := range ev.Deposits {
		dp := &ev.Deposits[i]
		th, err := hashBytes(dp.Tx)
		if err != nil {
			return fmt.Errorf("bridge deposit: %w", err)
		}
		if dp.Contract == "" || len(dp.Contract) > maxAddrLen {
			return fmt.Errorf("bridge deposit %s log %d: contract %q", dp.Tx, dp.Log, dp.Contract)
		}
		k := binary.BigEndian.AppendUint32(append(chainKey(gBridgeDeposit, w.c), th...), dp.Log)
		w.set(k, encodeDeposit(dp))
		keys.str(string(k))
		k = binary.BigEndian.AppendUint32(append(contractKey(w.c, dp.Contract), th...), dp.Log)
		w.set(k, []byte(dp.Bridge))
		keys.str(string(k))
	}
	for i := range ev.Payouts {
		p := &ev.Payouts[i]
		k, err := payoutPrefix(w.c, p.Key)
		if err != nil {
			return err
		}
		th, err := hashBytes(p.Tx)
		if err != nil {
			return fmt.Errorf("bridge payout: %w", err)
		}
		k = binary.BigEndian.AppendUint32(append(k, th...), p.Log)
		w.set(k, encodePayout(p))
		keys.str(string(k))
	}
	w.set(binaryAppendU64(chainKey(gBridgeBlock, w.c), blk.Height), keys.b)
	return nil
}

func contractKey(c chain.Chain, contract string) []byte {
	k := chainKey(gBridgeContract, c)
	k = append(k, byte(len(contract)))
	return append(k, contract...)
}

func payoutPrefix(c chain.Chain, key string) ([]byte, error) {
	if key == "" || strings.IndexByte(key, 0) >= 0 || len(key) > 1024 {
		return nil, fmt.Errorf("bridge payout key %q: want 1 to 1024 bytes, no zero byte", key)
	}
	k := append(chainKey(gBridgePayout, c), key...)
	return append(k, 0), nil
}

func encodeDeposit(dp *chain.BridgeDeposit) []byte {
	var e enc
	e.u8(bridgeRecordVersion)
	for _, s := range []string{dp.Bridge, dp.Tx, dp.Contract, dp.Depositor, string(dp.Asset), dp.Memo, dp.DestChain, dp.DestAsset, dp.Recipient, dp.Key, dp.Err} {
		e.str(s)
	}
	e.uvar(uint64(dp.Log))
	e.amount(dp.Amount)
	e.amount(dp.MinOut)
	return e.b
}

func decodeDeposit(v []byte) (chain.BridgeDeposit, error) {
	dd := dec{b: v}
	if dd.u8() != bridgeRecordVersion {
		return chain.BridgeDeposit{}, errCorrupt
	}
	var dp chain.BridgeDeposit
	var asset string
	for _, s := range []*string{&dp.Bridge, &dp.Tx, &dp.Contract, &dp.Depositor, &asset, &dp.Memo, &dp.DestChain, &dp.DestAsset, &dp.Recipient, &dp.Key, &dp.Err} {
		*s = dd.str()
	}
	dp.Asset = chain.Asset(asset)
	dp.Log = uint32(dd.uvar())
	dp.Amount = dd.amount()
	dp.MinOut = dd.amount()
	if dd.err != nil || len(dd.b) != 0 {
		return chain.BridgeDeposit{}, errCorrupt
	}
	return dp, nil
}

func encodePayout(p *chain.BridgePayout) []byte {
	var e enc
	e.u8(bridgeRecordVersion)
	for _, s := range []string{p.Bridge, p.Key, p.Tx, p.To, string(p.Asset), p.Memo} {
		e.str(s)
	}
	e.uvar(uint64(p.Log))
	e.amount(p.Amount)
	var flags byte
	if p.Refund {
		flags |= 1
	}
	e.u8(flags)
	return e.b
}

func decodePayout(v []byte) (chain.BridgePayout, error) {
	dd := dec{b: v}
	if dd.u8() != bridgeRecordVersion {
		return chain.BridgePayout{}, errCorrupt
	}
	var p chain.BridgePayout
	var asset string
	for _, s := range []*string{&p.Bridge, &p.Key, &p.Tx, &p.To, &asset, &p.Memo} {
		*s = dd.str()
	}
	p.Asset = chain.Asset(asset)
	p.Log = uint32(dd.uvar())
	p.Amount = dd.amount()
	flags := dd.u8()
	p.Refund = flags&1 != 0
	if dd.err != nil || len(dd.b) != 0 || flags&^1 != 0 {
		return chain.BridgePayout{}, errCorrupt
	}
	return p, nil
}

// rollbackBridge removes what block h's bridge events wrote.
func (d *Store) rollbackBridge(b *pebble.Batch, c chain.Chain, h uint64) error {
	bk := binaryAppendU64(chainKey(gBridgeBlock, c), h)
	v, ok, err := d.get(bk)
	if err != nil || !ok {
		return err
	}
	dd := dec{b: v}
	n := dd.uvar()
	for i := uint64(0); i < n && dd.err == nil; i++ {
		k := dd.bytes()
		if dd.err != nil {
			break
		}
		if err := b.Delete(k, nil); err != nil {
			return err
		}
	}
	if dd.err != nil || len(dd.b) != 0 {
		return fmt.Errorf("bridge keys of block %d: %w", h, errCorrupt)
	}
	return b.Delete(bk, nil)
}

// BridgeDeposits returns the bridge deposits recorded in transaction tx
// of chain c, in log order.
func (d *Store) BridgeDeposits(ctx context.Context, c chain.Chain, tx string) ([]chain.BridgeDeposit, error) {
	th, err := hashBytes(tx)
	if err != nil {
		return nil, err
	}
	var out []chain.BridgeDeposit
	err = d.scan(ctx, append(chainKey(gBridgeDeposit, c), th...), func(_, v []byte) error {
		dp, err := decodeDeposit(v)
		if err != nil {
			return fmt.Errorf("read bridge deposit of %s: %w", tx, err)
		}
		out = append(out, dp)
		return nil
	})
	return out, err
}

// BridgePayouts returns the payouts recorded on chain c under key, in
// transaction order.
func (d *Store) BridgePayouts(ctx context.Context, c chain.Chain, key string) ([]chain.BridgePayout, error) {
	prefix, err := payoutPrefix(c, key)
	if err != nil {
		return nil, err
	}
	var out []chain.BridgePayout
	err = d.scan(ctx, prefix, func(_, v []byte) error {
		p, err := decodePayout(v)
		if err != nil {
			return fmt.Errorf("read bridge payout %s: %w", key, err)
		}
		out = append(out, p)
		return nil
	})
	return out, err
}

// BridgeDepositsOf is BridgeDeposits for many transactions of chain c,
// read with one iterator (a trace asks for all the deposits a leg
// reached at once, and an iterator costs more than the seek). Every
// transaction asked for has an entry, empty if it made no deposit.
func (d *Store) BridgeDepositsOf(ctx context.Context, c chain.Chain, txs []string) (map[string][]chain.BridgeDeposit, error) {
	prefixes := make([][]byte, len(txs))
	for i, tx := range txs {
		th, err := hashBytes(tx)
		if err != nil {
			return nil, err
		}
		prefixes[i] = append(chainKey(gBridgeDeposit, c), th...)
	}
	out := make(map[string][]chain.BridgeDeposit, len(txs))
	for _, tx := range txs {
		out[tx] = nil
	}
	err := d.scanMany(ctx, chainKey(gBridgeDeposit, c), prefixes, func(i int, v []byte) error {
		dp, err := decodeDeposit(v)
		if err != nil {
			return fmt.Errorf("read bridge deposit of %s: %w", txs[i], err)
		}
		out[txs[i]] = append(out[txs[i]], dp)
		return nil
	})
	return out, err
}

// BridgePayoutsOf is BridgePayouts for many keys of chain c, read with
// one iterator. Every key asked for has an entry, empty if nothing was
// paid under it.
func (d *Store) BridgePayoutsOf(ctx context.Context, c chain.Chain, keys []string) (map[string][]chain.BridgePayout, error) {
	prefixes := make([][]byte, len(keys))
	for i, key := range keys {
		p, err := payoutPrefix(c, key)
		if err != nil {
			return nil, err
		}
		prefixes[i] = p
	}
	out := make(map[string][]chain.BridgePayout, len(keys))
	for _, k := range keys {
		out[k] = nil
	}
	err := d.scanMany(ctx, chainKey(gBridgePayout, c), prefixes, func(i int, v []byte) error {
		p, err := decodePayout(v)
		if err != nil {
			return fmt.Errorf("read bridge payout %s: %w", keys[i], err)
		}
		out[keys[i]] = append(out[keys[i]], p)
		return nil
	})
	return out, err
}

// scanMany calls fn with the index of each prefix and each value under
// it, every prefix lying under base; one iterator seeks to each prefix
// in key order. A prefix given twice is scanned once.
func (d *Store) scanMany(ctx context.Context, base []byte, prefixes [][]byte, fn func(i int, v []byte) error) error {
	if len(prefixes) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	order := make([]int, len(prefixes))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return bytes.Compare(prefixes[a], prefixes[b]) })
	it, err := d.db.NewIter(&pebble.IterOptions{LowerBound: base, UpperBound: prefixEnd(base)})
	if err != nil {
		return err
	}
	for j, i := range order {
		p := prefixes[i]
		if j > 0 && bytes.Equal(p, prefixes[order[j-1]]) {
			continue
		}
		for ok := it.SeekGE(p); ok && bytes.HasPrefix(it.Key(), p); ok = it.Next() {
			if err := fn(i, it.Value()); err != nil {
				it.Close()
				return err
			}
		}
	}
	return it.Close()
}

// BridgeContracts returns the addresses of chain c that took bridge
// deposits, each with its bridge's name: a trace ends a branch there and
// goes on from the deposit's payout.
func (d *Store) BridgeContracts(ctx context.Context, c chain.Chain) (map[string]string, error) {
	base := chainKey(gBridgeContract, c)
	it, err := d.db.NewIter(&pebble.IterOptions{LowerBound: base, UpperBound: prefixEnd(base)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	out := make(map[string]string)
	for ok := it.First(); ok; {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		k := it.Key()[len(base):]
		if len(k) < 1 || len(k) < 1+int(k[0]) {
			return nil, fmt.Errorf("read bridge contracts of %s: %w", c, errCorrupt)
		}
		contract := string(k[1 : 1+int(k[0])])
		out[contract] = string(it.Value())
		// The next contract: past every deposit of this one.
		ok = it.SeekGE(prefixEnd(contractKey(c, contract)))
	}
	return out, it.Error()
}

// scan calls fn with each key and value under prefix, in key order.
func (d *Store) scan(ctx context.Context, prefix []byte, fn func(k, v []byte) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	it, err := d.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return err
	}
	for it.First(); it.Valid(); it.Next() {
		if err := fn(it.Key(), it.Value()); err != nil {
			it.Close()
			return err
		}
	}
	return it.Close()
}

// BridgeDeposits is the store's.
func (t *Traversal) BridgeDeposits(ctx context.Context, c chain.Chain, tx string) ([]chain.BridgeDeposit, error) {
	return t.d.BridgeDeposits(ctx, c, tx)
}

// BridgePayouts is the store's.
func (t *Traversal) BridgePayouts(ctx context.Context, c chain.Chain, key string) ([]chain.BridgePayout, error) {
	return t.d.BridgePayouts(ctx, c, key)
}

// BridgeDepositsOf is the store's.
func (t *Traversal) BridgeDepositsOf(ctx context.Context, c chain.Chain, txs []string) (map[string][]chain.BridgeDeposit, error) {
	return t.d.BridgeDepositsOf(ctx, c, txs)
}

// BridgePayoutsOf is the store's.
func (t *Traversal) BridgePayoutsOf(ctx context.Context, c chain.Chain, keys []string) (map[string][]chain.BridgePayout, error) {
	return t.d.BridgePayoutsOf(ctx, c, keys)
}

// BridgeContracts is the store's.
func (t *Traversal) BridgeContracts(ctx context.Context, c chain.Chain) (map[string]string, error) {
	return t.d.BridgeContracts(ctx, c)
}
