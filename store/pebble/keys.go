package pebble

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tracehound/tracehound/auth"
)

const prefixKeys = "k/"

// PutKey stores or replaces an API key (by hash).
func (d *DB) PutKey(ctx context.Context, k auth.Key) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	v, err := json.Marshal(k)
	if err != nil {
		return fmt.Errorf("store key %s: %w", k.ID, err)
	}
	if err := d.db.Set([]byte(prefixKeys+k.Hash), v, pebble.Sync); err != nil {
		return fmt.Errorf("store key %s: %w", k.ID, err)
	}
	return nil
}

// Keys returns every stored API key, revoked ones included.
func (d *DB) Keys(ctx context.Context) ([]auth.Key, error) {
	var out []auth.Key
	err := d.scan(ctx, []byte(prefixKeys), func(_, v []byte) error {
		var k auth.Key
		if err := json.Unmarshal(v, &k); err != nil {
			return fmt.Errorf("decode key: %w", err)
		}
		out = append(out, k)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load keys: %w", err)
	}
	return out, nil
}
