package pebble

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tracehound/tracehound/sanctions"
)

// Sanctions keys:
//
//	s/v/<seq:8>           version
//	s/c                   current entries (one record: lists are small)
//	s/d/<seq:8><n:8>      change n of version seq
//	s/y/<url>             sync state of a list URL
const (
	sanctionsVersion = prefixSanctions + "v/"
	sanctionsCurrent = prefixSanctions + "c"
	sanctionsChange  = prefixSanctions + "d/"
	sanctionsSync    = prefixSanctions + "y/"
)

func seqKey(prefix string, seq int) []byte {
	return binary.BigEndian.AppendUint64([]byte(prefix), uint64(seq))
}

// SanctionsVersions lists the stored versions, oldest first.
func (d *DB) SanctionsVersions(ctx context.Context) ([]sanctions.Version, error) {
	var out []sanctions.Version
	err := d.scan(ctx, []byte(sanctionsVersion), func(_, v []byte) error {
		var ver sanctions.Version
		if err := json.Unmarshal(v, &ver); err != nil {
			return fmt.Errorf("decode sanctions version: %w", err)
		}
		out = append(out, ver)
		return nil
	})
	return out, err
}

// CurrentSanctions returns the current version's entries.
func (d *DB) CurrentSanctions(ctx context.Context) ([]sanctions.Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	v, ok, err := d.get([]byte(sanctionsCurrent))
	if err != nil || !ok {
		return nil, err
	}
	var out []sanctions.Entry
	if err := json.Unmarshal(v, &out); err != nil {
		return nil, fmt.Errorf("decode current sanctions: %w", err)
	}
	return out, nil
}

// PutSanctionsVersion stores a version, its changes and the new current
// set in one synced batch.
func (d *DB) PutSanctionsVersion(ctx context.Context, v sanctions.Version, current []sanctions.Entry, changes []sanctions.Change) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b := d.db.NewBatch()
	defer b.Close()
	vb, err := json.Marshal(v)
	if err != nil {
		return err
	}
	cb, err := json.Marshal(current)
	if err != nil {
		return err
	}
	if err := b.Set(seqKey(sanctionsVersion, v.Seq), vb, nil); err != nil {
		return err
	}
	if err := b.Set([]byte(sanctionsCurrent), cb, nil); err != nil {
		return err
	}
	for i, c := range changes {
		j, err := json.Marshal(c)
		if err != nil {
			return err
		}
		if err := b.Set(binary.BigEndian.AppendUint64(seqKey(sanctionsChange, v.Seq), uint64(i)), j, nil); err != nil {
			return err
		}
	}
	return b.Commit(pebble.Sync)
}

// SanctionsChanges returns the changes a version made.
func (d *DB) SanctionsChanges(ctx context.Context, seq int) ([]sanctions.Change, error) {
	var out []sanctions.Change
	err := d.scan(ctx, seqKey(sanctionsChange, seq), func(_, v []byte) error {
		var c sanctions.Change
		if err := json.Unmarshal(v, &c); err != nil {
			return fmt.Errorf("decode sanctions change: %w", err)
		}
		out = append(out, c)
		return nil
	})
	return out, err
}

// SyncState returns the validators last seen for a list URL.
func (d *DB) SyncState(ctx context.Context, url string) (sanctions.SyncState, error) {
	var s sanctions.SyncState
	if err := ctx.Err(); err != nil {
		return s, err
	}
	v, ok, err := d.get([]byte(sanctionsSync + url))
	if err != nil || !ok {
		return s, err
	}
	return s, json.Unmarshal(v, &s)
}

// PutSyncState records a list URL's validators.
func (d *DB) PutSyncState(ctx context.Context, url string, s sanctions.SyncState) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	j, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return d.db.Set([]byte(sanctionsSync+url), j, pebble.Sync)
}
