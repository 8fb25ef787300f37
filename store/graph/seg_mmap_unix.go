//go:build unix

package graph

import (
	"os"
	"syscall"
)

// mapFile maps n bytes of f read-only. A trace reads segments through the
// mapping: a new process finds them in the page cache with nothing to
// load or decode first.
func mapFile(f *os.File, n int) ([]byte, func() error, error) {
	b, err := syscall.Mmap(int(f.Fd()), 0, n, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, err
	}
	return b, func() error { return syscall.Munmap(b) }, nil
}

// dropCache asks the kernel to drop path's pages from the page cache, so
// that a benchmark can read a segment cold.
func dropCache(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return fadviseDontNeed(f)
}
