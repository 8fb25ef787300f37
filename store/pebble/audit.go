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

// prefixAuditCheckpoint keeps the signed heads of audit checkpoints
// apart from the entries, by the sequence number of the entry they sign,
// so that a range of entries cut off the log leaves them behind.
const prefixAuditCheckpoint = "ac/"

func auditCheckpointKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte(prefixAuditCheckpoint), seq)
}

// AppendAuditCheckpoint stores a checkpoint entry and its head in one
// synced batch; an existing sequence number is never overwritten.
func (d *DB) AppendAuditCheckpoint(ctx context.Context, e audit.Entry, h audit.Head) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	k := auditKey(e.Seq)
	if _, ok, err := d.get(k); err != nil {
		return err
	} else if ok {
		return fmt.Errorf("audit entry %d exists: the log is append-only", e.Seq)
	}
	ev, err := json.Marshal(e)
	if err != nil {
		return err
	}
	hv, err := json.Marshal(h)
	if err != nil {
		return err
	}
	b := d.db.NewBatch()
	defer b.Close()
	if err := b.Set(k, ev, nil); err != nil {
		return err
	}
	if err := b.Set(auditCheckpointKey(h.Seq), hv, nil); err != nil {
		return err
	}
	return b.Commit(pebble.Sync)
}

// AuditCheckpoints calls fn for the kept checkpoint heads in order.
func (d *DB) AuditCheckpoints(ctx context.Context, fn func(audit.Head) error) error {
	return d.scan(ctx, []byte(prefixAuditCheckpoint), func(k, v []byte) error {
		var h audit.Head
		if err := json.Unmarshal(v, &h); err != nil {
			return fmt.Errorf("audit checkpoint at key %x: %w", k, err)
		}
		return fn(h)
	})
}

// LastAuditCheckpoint returns the newest kept checkpoint head.
func (d *DB) LastAuditCheckpoint(ctx context.Context) (audit.Head, bool, error) {
	if err := ctx.Err(); err != nil {
		return audit.Head{}, false, err
	}
	it, err := d.db.NewIter(&pebble.IterOptions{LowerBound: []byte(prefixAuditCheckpoint), UpperBound: kv.PrefixEnd([]byte(prefixAuditCheckpoint))})
	if err != nil {
		return audit.Head{}, false, err
	}
	defer it.Close()
	if !it.Last() {
		return audit.Head{}, false, it.Error()
	}
	var h audit.Head
	if err := json.Unmarshal(it.Value(), &h); err != nil {
		return audit.Head{}, false, fmt.Errorf("last audit checkpoint: %w", err)
	}
	return h, true, nil
}
