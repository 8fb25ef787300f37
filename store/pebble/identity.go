package pebble

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tracehound/tracehound/intel"
)

const keyIdentity = prefixMeta + "identity"

// NodeIdentity returns the STIX identity this node publishes as, if set.
func (d *DB) NodeIdentity(ctx context.Context) (*intel.Identity, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	v, ok, err := d.get([]byte(keyIdentity))
	if err != nil || !ok {
		return nil, false, err
	}
	var id intel.Identity
	if err := json.Unmarshal(v, &id); err != nil {
		return nil, false, fmt.Errorf("node identity: %w", err)
	}
	return &id, true, nil
}

// PutNodeIdentity sets the identity this node publishes as.
func (d *DB) PutNodeIdentity(ctx context.Context, id *intel.Identity) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	v, err := json.Marshal(id)
	if err != nil {
		return err
	}
	return d.db.Set([]byte(keyIdentity), v, pebble.Sync)
}
