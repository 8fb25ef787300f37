// Package graph is the transfer graph engine: every transfer of the
// chains ingested, kept in one Pebble tree as postings per address by
// time (an address's incoming and outgoing transfers in one range),
// transaction records with their UTXO structure, running totals per
// address as merge operands, and each chain's tip, written atomically with
// the blocks it ends. History from files is bulk-loaded: chunks sorted
// into run files, merged at each commit into tables that one ingestion
// puts in the last level. Rollback removes exactly the blocks a reorg
// orphans. It implements the storage interfaces of ingest, trace and
// cluster.
package graph

import (
	"context"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/sstable"
)

// Store is the transfer graph in a Pebble database.
type Store struct {
	db   *pebble.DB
	opts *pebble.Options // for the tables a bulk load writes itself
	dir  string

	travMu sync.Mutex
	trav   *Traversal // the traversal layout, once opened
}

// Configure sets what the graph needs of the Pebble database it lives in,
// before the database is opened: the totals merge operator and the level
// layout the graph's reads are tuned for.
func Configure(opts *pebble.Options) {
	opts.Merger = newMerger()
	// Ingest writes postings at random points of the key space, so every
	// flush overlaps all of Lbase. Letting L0 grow to 8 sublevels before
	// compacting it (Pebble's default is 4) merges twice as many flushes
	// per rewrite of Lbase; the stop threshold leaves room for the
	// compactions to catch up instead of stalling writes.
	opts.L0CompactionThreshold = 8
	opts.L0StopWritesThreshold = 48
	// The levels above the last hold a tenth of the data but the most
	// recent transfers, which are read far more than the rest: their
	// blocks are stored uncompressed, so that a cold read copies them
	// into the cache instead of decompressing them (Snappy was a third
	// of a cold read's CPU), for 3 % more disk. They are also 8 KiB, with
	// a two-level index of 8 KiB blocks: a cold read positions itself in
	// each level by loading one block there, most of which it does not
	// need, and 32 KiB blocks made that a third of what it loaded. The
	// last level keeps Snappy and 32 KiB blocks: fewer index entries and
	// compression calls per table, better compression of the hashes'
	// neighbours. Every level is set: Pebble gives an unset level the
	// setting of the level above.
	for i := range opts.Levels {
		profile := sstable.NoCompression
		if i == len(opts.Levels)-1 {
			profile = sstable.SnappyCompression
			opts.Levels[i].BlockSize = 32 << 10
		} else {
			opts.Levels[i].BlockSize = 8 << 10
			opts.Levels[i].IndexBlockSize = 8 << 10
		}
		opts.Levels[i].Compression = func() *sstable.CompressionProfile { return profile }
	}
}

// Open returns the graph in db, a database opened in dir with opts, to
// which Configure was applied. It refuses a graph of another format and
// removes what an interrupted bulk load left behind.
func Open(db *pebble.DB, opts *pebble.Options, dir string) (*Store, error) {
	if err := removeBulkDirs(dir); err != nil {
		return nil, err
	}
	if err := checkGraphFormat(db); err != nil {
		return nil, err
	}
	return &Store{db: db, opts: opts, dir: dir}, nil
}

// Settle waits until no compaction has run for a second, so that reads
// can be measured on a store at rest after a bulk load. It returns how
// long after the call a compaction was last seen running (0 if none
// was), to a tenth of a second.
func (d *Store) Settle(ctx context.Context) (time.Duration, error) {
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

// LSM describes the tree's levels, for benchmarks.
func (d *Store) LSM() string { return d.db.Metrics().String() }

// CompactionDebt is the bytes Pebble estimates it must still compact.
func (d *Store) CompactionDebt() uint64 { return d.db.Metrics().Compact.EstimatedDebt }
