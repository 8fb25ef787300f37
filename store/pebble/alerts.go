package pebble

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tracehound/tracehound/alert"
	"github.com/tracehound/tracehound/store/internal/kv"
)

// The inbox: each alert under the time it was raised, so that "alerts
// since" is one range read, and its id pointing at that time.
//
//	i/t/<raised:8><id>   the alert (JSON)
//	i/a/<id>             raised (8 bytes, Unix nanoseconds)
const (
	prefixInboxTime = "i/t/"
	prefixInboxID   = "i/a/"
)

func inboxTimeKey(t time.Time) []byte {
	n := t.UnixNano()
	if t.Before(time.Unix(0, 0)) {
		n = 0
	}
	return binary.BigEndian.AppendUint64([]byte(prefixInboxTime), uint64(n))
}

// PutAlerts stores alerts, each replacing the alert of its id, in one
// atomic write.
func (d *DB) PutAlerts(ctx context.Context, as []alert.Alert) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b := d.db.NewBatch()
	defer b.Close()
	for i := range as {
		a := &as[i]
		if a.ID == "" {
			return fmt.Errorf("store alert %s: no id", a.Key)
		}
		idKey := []byte(prefixInboxID + a.ID)
		old, ok, err := d.get(idKey)
		if err != nil {
			return fmt.Errorf("store alert %s: %w", a.ID, err)
		}
		tk := append(inboxTimeKey(a.Raised), a.ID...)
		if ok && len(old) == 8 {
			// Raised never changes; should it, the old entry must go.
			if prev := append(binary.BigEndian.AppendUint64([]byte(prefixInboxTime), binary.BigEndian.Uint64(old)), a.ID...); string(prev) != string(tk) {
				if err := b.Delete(prev, nil); err != nil {
					return err
				}
			}
		}
		v, err := json.Marshal(a)
		if err != nil {
			return fmt.Errorf("store alert %s: %w", a.ID, err)
		}
		if err := b.Set(tk, v, nil); err != nil {
			return err
		}
		if err := b.Set(idKey, tk[len(prefixInboxTime):len(prefixInboxTime)+8], nil); err != nil {
			return err
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("store alerts: %w", err)
	}
	return nil
}

// Alert returns the alert of an id; false if there is none.
func (d *DB) Alert(ctx context.Context, id string) (alert.Alert, bool, error) {
	if err := ctx.Err(); err != nil {
		return alert.Alert{}, false, err
	}
	t, ok, err := d.get([]byte(prefixInboxID + id))
	if err != nil || !ok {
		return alert.Alert{}, false, err
	}
	if len(t) != 8 {
		return alert.Alert{}, false, fmt.Errorf("alert %s: malformed time entry", id)
	}
	v, ok, err := d.get(append(append([]byte(prefixInboxTime), t...), id...))
	if err != nil {
		return alert.Alert{}, false, err
	}
	if !ok {
		return alert.Alert{}, false, fmt.Errorf("alert %s: its time entry points at nothing", id)
	}
	var a alert.Alert
	if err := json.Unmarshal(v, &a); err != nil {
		return alert.Alert{}, false, fmt.Errorf("decode alert %s: %w", id, err)
	}
	return a, true, nil
}

// ListAlerts returns the alerts q selects, oldest raised first.
func (d *DB) ListAlerts(ctx context.Context, q alert.Query) ([]alert.Alert, error) {
	lower := []byte(prefixInboxTime)
	if !q.Since.IsZero() {
		lower = inboxTimeKey(q.Since.Add(time.Nanosecond))
	}
	it, err := d.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: kv.PrefixEnd([]byte(prefixInboxTime))})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []alert.Alert
	n := 0
	for it.First(); it.Valid(); it.Next() {
		if n++; n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		var a alert.Alert
		if err := json.Unmarshal(it.Value(), &a); err != nil {
			return nil, fmt.Errorf("alert at key %x: %w", it.Key(), err)
		}
		if !q.Match(&a) {
			continue
		}
		if q.Limit > 0 && len(out) >= q.Limit && !a.Raised.Equal(out[len(out)-1].Raised) {
			break
		}
		out = append(out, a)
	}
	return out, it.Error()
}
