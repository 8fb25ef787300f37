// Package kv holds the primitives the stores built on one Pebble tree
// share: reading a key, scanning a prefix, and the bounds of a prefix.
package kv

import (
	"context"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// Get returns a copy of the value at key, or nil, false if absent.
func Get(r pebble.Reader, key []byte) ([]byte, bool, error) {
	v, closer, err := r.Get(key)
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

// Scan calls fn for every key with the given prefix, in key order. The
// slices are valid only during the call.
func Scan(ctx context.Context, r pebble.Reader, prefix []byte, fn func(k, v []byte) error) error {
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: PrefixEnd(prefix)})
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

// DeleteRange queues the deletion of every key with prefix into b.
func DeleteRange(b *pebble.Batch, prefix []byte) error {
	return b.DeleteRange(prefix, PrefixEnd(prefix), nil)
}

// PrefixEnd returns the smallest key greater than every key with prefix.
func PrefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// QuietLogger silences Pebble's informational logging; a fatal error
// still stops the process, as Pebble requires.
type QuietLogger struct{}

// Infof discards.
func (QuietLogger) Infof(string, ...any) {}

// Errorf discards.
func (QuietLogger) Errorf(string, ...any) {}

// Fatalf panics.
func (QuietLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}
