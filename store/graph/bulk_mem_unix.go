//go:build unix

package graph

import (
	"fmt"
	"syscall"
)

// chunkMemory maps n bytes of anonymous memory for a bulk load's chunk.
// It is outside the Go heap, so that the garbage collector does not let
// the heap grow by the chunk's size again before collecting; untouched
// pages cost nothing.
func chunkMemory(n int) ([]byte, func() error, error) {
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil, nil, fmt.Errorf("map %d bytes for a bulk load: %w", n, err)
	}
	return b, func() error { return syscall.Munmap(b) }, nil
}
