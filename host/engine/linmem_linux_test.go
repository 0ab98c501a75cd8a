//go:build linux

package engine

import (
	"syscall"
	"testing"
	"unsafe"
)

// TestGuestMemoryDataPopulated: the pages of the module's data span are
// resident as soon as the memory is committed (before anything writes
// them), the others are not, and they read zero.
func TestGuestMemoryDataPopulated(t *testing.T) {
	const page = 65536
	probe := newGuestMemory(page)
	if probe == nil {
		t.Skip("no mapped guest memory")
	}
	commit(probe.res)
	if e := populate(probe.res); e == syscall.EINVAL {
		probe.unmap()
		t.Skip("MADV_POPULATE_WRITE needs Linux 5.14")
	}
	probe.unmap()

	alloc, ref := memoryAllocator([2]uint64{page + 100, 3*page + 5})
	lm := alloc.Allocate(4*page, 8*page)
	defer func() { ref.get().leave(); lm.Free() }()
	b := lm.Reallocate(4 * page)
	base := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	sys := int64(syscall.Getpagesize())
	res, _ := residentBytes(base, page, nil)
	if res != 0 {
		t.Fatalf("%d bytes resident before the data span", res)
	}
	// From the page holding page+100 to the one holding 3*page+4.
	res, _ = residentBytes(base+page, 2*page+sys, nil)
	if want := int64(2*page + sys); res != want {
		t.Fatalf("%d bytes of the data span resident, want %d", res, want)
	}
	for i := page; i < 3*page+5; i += 512 {
		if b[i] != 0 {
			t.Fatalf("byte %d is %d, not zero", i, b[i])
		}
	}
}
