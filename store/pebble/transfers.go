package pebble

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tracehound/tracehound/alert"
	"github.com/tracehound/tracehound/chain"
)

// Registered transfers, indexed by counterparty so that the node loads
// what it re-evaluates by reading keys only, and the counterparties'
// last verdicts.
//
//	r/t/<id>                       the transfer (JSON)
//	r/a/<chain>\0<address>\0<id>   the index by counterparty: "u" while the
//	                               transfer waits for the chain to show it
//	r/v/<chain>\0<address>         the counterparty's verdict (JSON)
const (
	prefixTransfer        = "r/t/"
	prefixTransferAddress = "r/a/"
	prefixVerdict         = "r/v/"
)

func transferAddressKey(c chain.Chain, addr, id string) []byte {
	k := append([]byte(prefixTransferAddress), c...)
	k = append(append(k, 0), addr...)
	return append(append(k, 0), id...)
}

func verdictKey(c chain.Chain, addr string) []byte {
	k := append([]byte(prefixVerdict), c...)
	return append(append(k, 0), addr...)
}

// PutTransfers stores transfers and verdicts in one atomic write.
func (d *DB) PutTransfers(ctx context.Context, ts []alert.Transfer, vs []alert.Verdict) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b := d.db.NewBatch()
	defer b.Close()
	for i := range ts {
		t := &ts[i]
		if !alert.ValidID(t.ID) || t.Counterparty == "" || t.Chain == "" {
			return fmt.Errorf("store transfer %q: incomplete", t.ID)
		}
		v, err := json.Marshal(t)
		if err != nil {
			return fmt.Errorf("store transfer %s: %w", t.ID, err)
		}
		if err := b.Set([]byte(prefixTransfer+t.ID), v, nil); err != nil {
			return err
		}
		var mark []byte
		if t.Check.Status == alert.CheckUnknownTx {
			mark = []byte("u")
		}
		if err := b.Set(transferAddressKey(t.Chain, t.Counterparty, t.ID), mark, nil); err != nil {
			return err
		}
	}
	for i := range vs {
		v, err := json.Marshal(&vs[i])
		if err != nil {
			return fmt.Errorf("store verdict of %s: %w", vs[i].Address, err)
		}
		if err := b.Set(verdictKey(vs[i].Chain, vs[i].Address), v, nil); err != nil {
			return err
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("store transfers: %w", err)
	}
	return nil
}

// Transfer returns a registered transfer by id; false if there is none.
func (d *DB) Transfer(ctx context.Context, id string) (alert.Transfer, bool, error) {
	if err := ctx.Err(); err != nil {
		return alert.Transfer{}, false, err
	}
	v, ok, err := d.get([]byte(prefixTransfer + id))
	if err != nil || !ok {
		return alert.Transfer{}, false, err
	}
	var t alert.Transfer
	if err := json.Unmarshal(v, &t); err != nil {
		return alert.Transfer{}, false, fmt.Errorf("decode transfer %s: %w", id, err)
	}
	return t, true, nil
}

// TransferRefs calls fn with every registered transfer's chain,
// counterparty and id, by counterparty, and whether it waits for the
// chain to show its transaction, reading the index only.
func (d *DB) TransferRefs(ctx context.Context, fn func(c chain.Chain, address, id string, unchecked bool) error) error {
	return d.scan(ctx, []byte(prefixTransferAddress), func(k, v []byte) error {
		rest := k[len(prefixTransferAddress):]
		c, rest, ok1 := bytes.Cut(rest, []byte{0})
		addr, id, ok2 := bytes.Cut(rest, []byte{0})
		if !ok1 || !ok2 {
			return fmt.Errorf("transfer index: malformed key %q", k)
		}
		return fn(chain.Chain(c), string(addr), string(id), len(v) > 0)
	})
}

// Verdicts calls fn with every counterparty's stored verdict.
func (d *DB) Verdicts(ctx context.Context, fn func(alert.Verdict) error) error {
	return d.scan(ctx, []byte(prefixVerdict), func(k, v []byte) error {
		var vd alert.Verdict
		if err := json.Unmarshal(v, &vd); err != nil {
			return fmt.Errorf("verdict at %q: %w", k, err)
		}
		return fn(vd)
	})
}
