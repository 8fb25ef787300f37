package pebble

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tracehound/tracehound/audit"
	"github.com/tracehound/tracehound/store/internal/kv"
)

const prefixAudit = "a/"

func auditKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte(prefixAudit), seq)
}

// AppendAudit stores an audit entry; an existing sequence number is never
// overwritten.
func (d *DB) AppendAudit(ctx context.Context, e audit.Entry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	k := auditKey(e.Seq)
	if _, ok, err := d.get(k); err != nil {
		return err
	} else if ok {
		return fmt.Errorf("audit entry %d exists: the log is append-only", e.Seq)
	}
	v, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return d.db.Set(k, v, pebble.Sync)
}

// AuditEntries calls fn for the entries from seq on, in order.
func (d *DB) AuditEntries(ctx context.Context, from uint64, fn func(audit.Entry) error) error {
	it, err := d.db.NewIter(&pebble.IterOptions{LowerBound: auditKey(from), UpperBound: kv.PrefixEnd([]byte(prefixAudit))})
	if err != nil {
		return err
	}
	defer it.Close()
	n := 0
	for it.First(); it.Valid(); it.Next() {
		if n++; n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		var e audit.Entry
		if err := json.Unmarshal(it.Value(), &e); err != nil {
			return fmt.Errorf("audit entry at key %x: %w", it.Key(), err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return it.Error()
}

// LastAudit returns the newest audit entry.
func (d *DB) LastAudit(ctx context.Context) (audit.Entry, bool, error) {
	if err := ctx.Err(); err != nil {
		return audit.Entry{}, false, err
	}
	it, err := d.db.NewIter(&pebble.IterOptions{LowerBound: []byte(prefixAudit), UpperBound: kv.PrefixEnd([]byte(prefixAudit))})
	if err != nil {
		return audit.Entry{}, false, err
	}
	defer it.Close()
	if !it.Last() {
		return audit.Entry{}, false, it.Error()
	}
	var e audit.Entry
	if err := json.Unmarshal(it.Value(), &e); err != nil {
		return audit.Entry{}, false, fmt.Errorf("last audit entry: %w", err)
	}
	return e, true, nil
}
