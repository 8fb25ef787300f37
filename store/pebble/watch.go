package pebble

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tracehound/tracehound/watch"
)

const prefixWatch = "w/"

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
	if _, ok, err := d.get([]byte(prefixWatch + name)); err != nil || !ok {
		return false, err
	}
	return true, d.db.Delete([]byte(prefixWatch+name), pebble.Sync)
}
