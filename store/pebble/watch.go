package pebble

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tracehound/tracehound/store/internal/kv"
	"github.com/tracehound/tracehound/watch"
)

const (
	prefixWatch = "w/"
	// prefixAlert keys alerts by the time they were raised, so that
	// "alerts since" is one range read.
	prefixAlert = "wa/"
)

// Watches returns the saved watches in name order.
func (d *DB) Watches(ctx context.Context) ([]watch.Watch, error) {
	var out []watch.Watch
	err := d.scan(ctx, []byte(prefixWatch), func(_, v []byte) error {
		var w watch.Watch
		if err := json.Unmarshal(v, &w); err != nil {
			return fmt.Errorf("decode watch: %w", err)
		}
		out = append(out, w)
		return nil
	})
	return out, err
}

// Watch returns the watch of that name.
func (d *DB) Watch(ctx context.Context, name string) (watch.Watch, bool, error) {
	if err := ctx.Err(); err != nil {
		return watch.Watch{}, false, err
	}
	v, ok, err := d.get([]byte(prefixWatch + name))
	if err != nil || !ok {
		return watch.Watch{}, false, err
	}
	var w watch.Watch
	if err := json.Unmarshal(v, &w); err != nil {
		return watch.Watch{}, false, fmt.Errorf("decode watch %s: %w", name, err)
	}
	return w, true, nil
}

// PutWatch saves a watch, replacing one of the same name.
func (d *DB) PutWatch(ctx context.Context, w watch.Watch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	v, err := json.Marshal(w)
	if err != nil {
		return err
	}
	return d.db.Set([]byte(prefixWatch+w.Name), v, pebble.Sync)
}

// DeleteWatch removes a watch; false if there was none of that name.
func (d *DB) DeleteWatch(ctx context.Context, name string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if _, ok, err := d.get([]byte(prefixWatch + name)); err != nil || !ok {
		return false, err
	}
	return true, d.db.Delete([]byte(prefixWatch+name), pebble.Sync)
}

// alertTimeKey is the start of the alert keys raised at t.
func alertTimeKey(t time.Time) []byte {
	n := t.UnixNano()
	if t.Before(time.Unix(0, 0)) {
		n = 0
	}
	return binary.BigEndian.AppendUint64([]byte(prefixAlert), uint64(n))
}

func alertKey(al watch.Alert) []byte {
	k := append(alertTimeKey(al.Raised), al.Watch...)
	return append(append(k, 0), al.Address...)
}

// SaveCheck saves a watch and the alerts its check raised in one atomic
// write.
func (d *DB) SaveCheck(ctx context.Context, w watch.Watch, alerts []watch.Alert) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b := d.db.NewBatch()
	defer b.Close()
	v, err := json.Marshal(w)
	if err != nil {
		return err
	}
	if err := b.Set([]byte(prefixWatch+w.Name), v, nil); err != nil {
		return err
	}
	for _, al := range alerts {
		v, err := json.Marshal(al)
		if err != nil {
			return err
		}
		if err := b.Set(alertKey(al), v, nil); err != nil {
			return err
		}
	}
	return b.Commit(pebble.Sync)
}

// Alerts returns the alerts q selects, oldest first.
func (d *DB) Alerts(ctx context.Context, q watch.AlertQuery) ([]watch.Alert, error) {
	lower := []byte(prefixAlert)
	if !q.Since.IsZero() {
		lower = alertTimeKey(q.Since.Add(time.Nanosecond))
	}
	it, err := d.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: kv.PrefixEnd([]byte(prefixAlert))})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []watch.Alert
	n := 0
	for it.First(); it.Valid(); it.Next() {
		if n++; n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		var al watch.Alert
		if err := json.Unmarshal(it.Value(), &al); err != nil {
			return nil, fmt.Errorf("alert at key %x: %w", it.Key(), err)
		}
		if q.Watch != "" && al.Watch != q.Watch {
			continue
		}
		if q.Limit > 0 && len(out) >= q.Limit && !al.Raised.Equal(out[len(out)-1].Raised) {
			break
		}
		out = append(out, al)
	}
	return out, it.Error()
}

// PruneAlerts deletes the alerts raised before before (none if before is
// zero) and, if keep is positive, each watch's oldest beyond its newest
// keep. It walks the alerts newest first reading keys only: the watch is
// in the key.
func (d *DB) PruneAlerts(ctx context.Context, before time.Time, keep int) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	prefix := []byte(prefixAlert)
	cutoff := prefix
	if !before.IsZero() {
		cutoff = alertTimeKey(before)
	}
	it, err := d.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: kv.PrefixEnd(prefix)})
	if err != nil {
		return 0, fmt.Errorf("prune alerts: %w", err)
	}
	defer it.Close()
	b := d.db.NewBatch()
	defer b.Close()
	kept := map[string]int{}
	n := 0
	for it.Last(); it.Valid(); it.Prev() {
		k := it.Key()
		name, ok := alertWatch(k)
		if !ok {
			return 0, fmt.Errorf("prune alerts: malformed key %x", k)
		}
		if bytes.Compare(k, cutoff) >= 0 && (keep <= 0 || kept[name] < keep) {
			kept[name]++
			continue
		}
		if n++; n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
		}
		if err := b.Delete(k, nil); err != nil {
			return 0, err
		}
	}
	if err := it.Error(); err != nil {
		return 0, fmt.Errorf("prune alerts: %w", err)
	}
	if n == 0 {
		return 0, nil
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return 0, fmt.Errorf("prune alerts: %w", err)
	}
	return n, nil
}

// alertWatch reads the watch's name from an alert key.
func alertWatch(k []byte) (string, bool) {
	rest := k[min(len(k), len(prefixAlert)+8):]
	name, _, ok := bytes.Cut(rest, []byte{0})
	return string(name), ok && len(k) > len(prefixAlert)+8
}
