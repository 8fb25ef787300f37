package graph

import (
	"os"
	"syscall"
)

func fadviseDontNeed(f *os.File) error {
	// POSIX_FADV_DONTNEED is 4 on Linux.
	_, _, errno := syscall.Syscall6(syscall.SYS_FADVISE64, f.Fd(), 0, 0, 4, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}
