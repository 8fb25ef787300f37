// Package pebble is tracehound's embedded store: one Pebble LSM tree in a
// data directory. It implements the storage interfaces the domain packages
// define (sanctions.Store, tags.Store, ...). Each domain owns a key prefix.
package pebble

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/sstable"
)

// Key prefixes, one per domain, so that every domain's data is one range.
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
	db   *pebble.DB
	opts *pebble.Options // for the tables a bulk load writes itself
	dir  string
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
		Logger:       quietLogger{},
		Merger:       newMerger(),
	}
	// Reading an address's recent transfers touches a few blocks per
	// level; Pebble's default 8 MiB cache would miss on a busy graph.
	cache := pebble.NewCache(256 << 20)
	defer cache.Unref()
	opts.Cache = cache
	// Ingest writes postings at random points of the key space, so every
	// flush overlaps all of Lbase. Letting L0 grow to 8 sublevels before
	// compacting it (Pebble's default is 4) merges twice as many flushes
	// per rewrite of Lbase; the stop threshold leaves room for the
	// compactions to catch up instead of stalling writes.
	opts.L0CompactionThreshold = 8
	opts.L0StopWritesThreshold = 48
	// 32 KiB blocks: fewer index entries and compression calls per table,
	// better compression of the hashes' neighbours, and an address's
	// recent postings in fewer reads; the store shrank by a tenth.
	for i := range opts.Levels {
		opts.Levels[i].BlockSize = 32 << 10
	}
	// The levels above the last hold a tenth of the data but the most
	// recent transfers, which are read far more than the rest: their
	// blocks are stored uncompressed, so that a cold read copies them
	// into the cache instead of decompressing them (Snappy was a third
	// of a cold read's CPU), for 3 % more disk. They are also 8 KiB, with
	// a two-level index of 8 KiB blocks: a cold read positions itself in
	// each level by loading one block there, most of which it does not
	// need, and 32 KiB blocks made that a third of what it loaded. The
	// last level keeps Snappy and 32 KiB blocks. Every level is set:
	// Pebble gives an unset level the setting of the level above.
	for i := range opts.Levels {
		profile := sstable.NoCompression
		if i == len(opts.Levels)-1 {
			profile = sstable.SnappyCompression
		} else {
			opts.Levels[i].BlockSize = 8 << 10
			opts.Levels[i].IndexBlockSize = 8 << 10
		}
		opts.Levels[i].Compression = func() *sstable.CompressionProfile { return profile }
	}
	db, err := pebble.Open(dir, opts)
	if err != nil {
		if errors.Is(err, syscall.EAGAIN) || strings.Contains(err.Error(), "lock held") {
			return nil, fmt.Errorf("open store %s: %w (stop the tracehound using it, or send the work to its API)", dir, ErrLocked)
		}
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	if err := removeBulkDirs(dir); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	if err := checkGraphFormat(db); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	return &DB{db: db, opts: opts, dir: dir}, nil
}

// Close flushes and closes the store.
func (d *DB) Close() error { return d.db.Close() }

// Dir is the data directory.
func (d *DB) Dir() string { return d.dir }

// get returns a copy of the value at key, or nil, false if absent.
func (d *DB) get(key []byte) ([]byte, bool, error) {
	v, closer, err := d.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	out := append([]byte(nil), v...)
	closer.Close()
	return out, true, nil
}

// scan calls fn for every key with the given prefix, in key order. The
// slices are valid only during the call.
func (d *DB) scan(ctx context.Context, prefix []byte, fn func(k, v []byte) error) error {
	it, err := d.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return err
	}
	n := 0
	for it.First(); it.Valid(); it.Next() {
		if n++; n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				it.Close()
				return err
			}
		}
		if err := fn(it.Key(), it.Value()); err != nil {
			it.Close()
			return err
		}
	}
	if err := it.Error(); err != nil {
		it.Close()
		return err
	}
	return it.Close()
}

// deleteRange queues the deletion of every key with prefix into b.
func deleteRange(b *pebble.Batch, prefix []byte) error {
	return b.DeleteRange(prefix, prefixEnd(prefix), nil)
}

// prefixEnd returns the smallest key greater than every key with prefix.
func prefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

type quietLogger struct{}

func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}

// Settle waits until no compaction has run for a second, so that reads
// can be measured on a store at rest after a bulk load. It returns how
// long after the call a compaction was last seen running (0 if none
// was), to a tenth of a second.
func (d *DB) Settle(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	var active time.Duration
	for idle := 0; idle < 10; {
		if d.db.Metrics().Compact.NumInProgress == 0 {
			idle++
		} else {
			idle, active = 0, time.Since(start)
		}
		select {
		case <-ctx.Done():
			return active, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return active, nil
}
