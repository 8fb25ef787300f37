//go:build !linux

package graph

import (
	"errors"
	"os"
)

// createDirect creates a file; direct I/O is used on Linux only.
func createDirect(path string) (*os.File, bool, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	return f, false, err
}

// openDirect opens a file to read.
func openDirect(path string) (*os.File, bool, error) {
	f, err := os.Open(path)
	return f, false, err
}

// endDirect is never needed where direct I/O is not used.
func endDirect(*os.File) error { return errors.ErrUnsupported }
