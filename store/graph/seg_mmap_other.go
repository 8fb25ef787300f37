//go:build !unix

package graph

import (
	"io"
	"os"
)

// mapFile reads f into memory where there is no mmap.
func mapFile(f *os.File, n int) ([]byte, func() error, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, nil, err
	}
	return b, func() error { return nil }, nil
}

func dropCache(string) error { return nil }
