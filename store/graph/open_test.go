package graph

import (
	"context"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tracehound/tracehound/store/internal/kv"
)

// testStore is a graph in a Pebble database of its own, as the package's
// internal tests open it (the store's Open is a package above).
type testStore struct {
	*Store
}

func (s testStore) Close() error { return s.db.Close() }

func openDir(ctx context.Context, dir string) (testStore, error) {
	if err := ctx.Err(); err != nil {
		return testStore{}, err
	}
	opts := &pebble.Options{MemTableSize: 64 << 20, Logger: kv.QuietLogger{}}
	Configure(opts)
	db, err := pebble.Open(dir, opts)
	if err != nil {
		return testStore{}, err
	}
	g, err := Open(db, opts, dir)
	if err != nil {
		db.Close()
		return testStore{}, err
	}
	return testStore{g}, nil
}
