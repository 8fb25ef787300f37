//go:build unix

package screen

import (
	"fmt"
	"os"
	"syscall"
)

// mmapFile maps the file read-only and shared: its pages are the page
// cache's, counted once however many processes read them.
func mmapFile(f *os.File, size int64) ([]byte, func([]byte) error, error) {
	if int64(int(size)) != size {
		return nil, nil, fmt.Errorf("map %s: %d bytes do not fit the address space", f.Name(), size)
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, fmt.Errorf("map %s: %w", f.Name(), err)
	}
	// Look-ups read scattered pages: read-ahead would only fill memory.
	_ = syscall.Madvise(b, syscall.MADV_RANDOM)
	return b, syscall.Munmap, nil
}
