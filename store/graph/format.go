package graph

import (
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// graphFormat is the transfer graph's on-disk format, recorded under
// keyGraphFormat. Format 1 (no record) kept addresses as strings; format
// 2 stores Ethereum addresses and transaction hashes as raw bytes
// (appendAddr); format 3 keeps an address's incoming and outgoing
// postings in one range (g/a/, the direction last in the key) instead of
// two (g/i/ and g/o/); format 4 adds the bulk loads' generations (g/G/,
// g/A/, g/X/, see bulk_gen.go), which a reader of format 3 would not
// see. The formats cannot be told apart key by key, so a store of
// another format is refused rather than misread. A store of format 3 is
// read as it is, and marked format 4 before its first generation.
const (
	keyGraphFormat = prefixMeta + "graph-format"
	graphFormat    = 4
	minGraphFormat = 3
)

// ErrGraphFormat means the store's transfer graph was written in a format
// this version does not read; the chains must be ingested again.
var ErrGraphFormat = errors.New("transfer graph in another store format")

// checkGraphFormat refuses a store whose graph is of another format and
// records the current format in a store that has no graph yet.
func checkGraphFormat(db *pebble.DB) error {
	v, closer, err := db.Get([]byte(keyGraphFormat))
	switch {
	case err == nil:
		defer closer.Close()
		dd := dec{b: v}
		ver := dd.uvar()
		if dd.err != nil || len(dd.b) != 0 {
			return fmt.Errorf("read graph format: %w", errCorrupt)
		}
		if ver < minGraphFormat || ver > graphFormat {
			return fmt.Errorf("%w: format %d, this tracehound reads format %d; re-ingest the chains into a new data directory", ErrGraphFormat, ver, graphFormat)
		}
		return nil
	case !errors.Is(err, pebble.ErrNotFound):
		return fmt.Errorf("read graph format: %w", err)
	}
	// No record: either no graph yet, or a graph of format 1.
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte("g/"), UpperBound: prefixEnd([]byte("g/"))})
	if err != nil {
		return err
	}
	hasGraph := it.First()
	if err := it.Close(); err != nil {
		return fmt.Errorf("read graph format: %w", err)
	}
	if hasGraph {
		return fmt.Errorf("%w: format 1, this tracehound reads format %d; re-ingest the chains into a new data directory", ErrGraphFormat, graphFormat)
	}
	var e enc
	e.uvar(graphFormat)
	if err := db.Set([]byte(keyGraphFormat), e.b, pebble.Sync); err != nil {
		return fmt.Errorf("record graph format: %w", err)
	}
	return nil
}

// upgradeGraphFormat marks a store of format 3 as format 4, before a
// generation is written into it.
func upgradeGraphFormat(db *pebble.DB) error {
	v, closer, err := db.Get([]byte(keyGraphFormat))
	if err != nil {
		return fmt.Errorf("read graph format: %w", err)
	}
	dd := dec{b: v}
	ver := dd.uvar()
	closer.Close()
	if dd.err != nil || ver >= graphFormat {
		return dd.err
	}
	var e enc
	e.uvar(graphFormat)
	if err := db.Set([]byte(keyGraphFormat), e.b, pebble.Sync); err != nil {
		return fmt.Errorf("record graph format: %w", err)
	}
	return nil
}
