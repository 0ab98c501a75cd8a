//go:build linux

package engine

import (
	"syscall"
	"unsafe"
)

const mmapMemory = true

// newGuestMemory reserves maxBytes of address space, inaccessible until
// committed. Nil when there is nothing to reserve or the kernel refuses.
func newGuestMemory(maxBytes uint64) *guestMemory {
	if maxBytes == 0 || maxBytes > 1<<32 {
		return nil
	}
	res, err := syscall.Mmap(-1, 0, int(maxBytes), syscall.PROT_NONE, syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
	if err != nil {
		return nil
	}
	mappedMemories.Add(1)
	m := &guestMemory{res: res, base: uintptr(unsafe.Pointer(unsafe.SliceData(res)))}
	m.state.Store(memBusy) // instantiation runs _initialize on it: newInstance leaves
	return m
}

// commit makes b (page-aligned at its start: a multiple of the wasm page
// from the reservation's start) readable and writable. Fresh pages read
// zero, as memory.grow requires.
func commit(b []byte) error {
	return syscall.Mprotect(b, syscall.PROT_READ|syscall.PROT_WRITE)
}

// populate makes the pages of b resident and writable in one call
// (MADV_POPULATE_WRITE, Linux 5.14): what writing them would do, without a
// fault per page. Best effort: an older kernel refuses, and the pages then
// fault in as they are written.
func populate(b []byte) syscall.Errno {
	page := uintptr(syscall.Getpagesize())
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	end := start + uintptr(len(b))
	start &^= page - 1
	_, _, e := syscall.Syscall(syscall.SYS_MADVISE, start, end-start, madvPopulateWrite)
	return e
}

const madvPopulateWrite = 23 // MADV_POPULATE_WRITE

func (m *guestMemory) unmap() {
	if m.res != nil {
		_ = syscall.Munmap(m.res)
		m.res = nil
		mappedMemories.Add(-1)
	}
}

// residentBytes counts the resident pages of [base, base+n) with mincore
// (0 if the range is gone: an instance closed meanwhile).
func residentBytes(base uintptr, n int64, vec []byte) (int64, []byte) {
	page := int64(syscall.Getpagesize())
	pages := int((n + page - 1) / page)
	if pages == 0 {
		return 0, vec
	}
	if cap(vec) < pages {
		vec = make([]byte, pages)
	}
	vec = vec[:pages]
	if _, _, e := syscall.Syscall(syscall.SYS_MINCORE, base, uintptr(n), uintptr(unsafe.Pointer(unsafe.SliceData(vec)))); e != 0 {
		return 0, vec
	}
	var r int64
	for _, b := range vec {
		r += int64(b & 1)
	}
	return r * page, vec
}
