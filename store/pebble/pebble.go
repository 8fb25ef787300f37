// Package pebble is tracehound's embedded store: one Pebble LSM tree in a
// data directory. It holds the transfer graph (store/graph) and
// implements the storage interfaces the domain packages define
// (sanctions, tags, auth, audit, watch, taxii, ...), each domain in a file
// of its own under a key prefix of its own.
package pebble

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tracehound/tracehound/store/graph"
	"github.com/tracehound/tracehound/store/internal/kv"
)

// Key prefixes, one per domain, so that every domain's data is one range.
// The graph keeps its own under g/ and its format under m/.
const (
	prefixMeta      = "m/"
	prefixSanctions = "s/"
	prefixTags      = "t/"
)

// ErrLocked means another process (or another DB in this one) has the
// store open: Pebble allows one writer per directory.
var ErrLocked = errors.New("store is in use by another process")

// DB is an open store.
type DB struct {
	db    *pebble.DB
	graph *graph.Store
	dir   string
}

// Open opens or creates the store in dir.
func Open(ctx context.Context, dir string) (*DB, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	opts := &pebble.Options{
		// Imports write hundreds of thousands of keys in one batch.
		MemTableSize: 64 << 20,
		Logger:       kv.QuietLogger{},
	}
	// Reading an address's recent transfers touches a few blocks per
	// level; Pebble's default 8 MiB cache would miss on a busy graph.
	cache := pebble.NewCache(256 << 20)
	defer cache.Unref()
	opts.Cache = cache
	graph.Configure(opts)
	db, err := pebble.Open(dir, opts)
	if err != nil {
		if errors.Is(err, syscall.EAGAIN) || strings.Contains(err.Error(), "lock held") {
			return nil, fmt.Errorf("open store %s: %w (stop the tracehound using it, or send the work to its API)", dir, ErrLocked)
		}
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	g, err := graph.Open(db, opts, dir)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	return &DB{db: db, graph: g, dir: dir}, nil
}

// Close flushes and closes the store.
func (d *DB) Close() error {
	// The traversal's background worker reads the tree: it stops first.
	terr := d.graph.CloseTraversal()
	if err := d.db.Close(); err != nil {
		return err
	}
	return terr
}

// Dir is the data directory.
func (d *DB) Dir() string { return d.dir }

// Graph is the transfer graph.
func (d *DB) Graph() *graph.Store { return d.graph }

func (d *DB) get(key []byte) ([]byte, bool, error) { return kv.Get(d.db, key) }

func (d *DB) scan(ctx context.Context, prefix []byte, fn func(k, v []byte) error) error {
	return kv.Scan(ctx, d.db, prefix, fn)
}
