//go:build linux

package embedded

import (
	"os"
	"syscall"
	"unsafe"
)

// dropResident tells the kernel this process does not need b's pages
// resident. Only for bytes in place in the binary's read-only data (a
// private, never written file mapping): the pages leave the process's RSS,
// stay in the page cache, and are read back from the file if touched
// again. Never for heap memory: MADV_DONTNEED zeroes anonymous pages.
func dropResident(b []byte) {
	if len(b) == 0 {
		return
	}
	page := uintptr(os.Getpagesize())
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	end := start + uintptr(len(b))
	first := (start + page - 1) &^ (page - 1) // whole pages inside b only
	last := end &^ (page - 1)
	if last <= first {
		return
	}
	_ = syscall.Madvise(b[first-start:last-start], syscall.MADV_DONTNEED)
}
