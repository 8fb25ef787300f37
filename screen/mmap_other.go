//go:build !unix

package screen

import (
	"fmt"
	"io"
	"os"
)

// mmapFile reads the file where mmap is not available.
func mmapFile(f *os.File, size int64) ([]byte, func([]byte) error, error) {
	b := make([]byte, size)
	if _, err := io.ReadFull(io.NewSectionReader(f, 0, size), b); err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", f.Name(), err)
	}
	return b, nil, nil
}
