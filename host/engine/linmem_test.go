package engine

import (
	"testing"
	"unsafe"
)

// TestGuestMemoryGrowsInPlace: the memory grows without moving or copying,
// new bytes read zero, old bytes stay, the maximum is refused past, and a
// Free during a call waits for the call's end.
func TestGuestMemoryGrowsInPlace(t *testing.T) {
	if !mmapMemory {
		t.Skip("no mapped guest memory on this platform")
	}
	alloc, ref := memoryAllocator([2]uint64{})
	const page = 65536
	lm := alloc.Allocate(2*page, 16*page)
	m := ref.get()
	if m == nil {
		t.Fatal("the allocator made no mapped memory")
	}
	b := lm.Reallocate(2 * page)
	if len(b) != 2*page {
		t.Fatalf("len %d", len(b))
	}
	b[0], b[len(b)-1] = 1, 2
	base := unsafe.SliceData(b)
	b2 := lm.Reallocate(10 * page)
	if len(b2) != 10*page || unsafe.SliceData(b2) != base {
		t.Fatalf("grown to %d bytes at %p; want %d at %p (in place)", len(b2), unsafe.SliceData(b2), 10*page, base)
	}
	if b2[0] != 1 || b2[2*page-1] != 2 {
		t.Fatal("grow lost the bytes written before it")
	}
	for i := 2 * page; i < len(b2); i += 4096 {
		if b2[i] != 0 {
			t.Fatalf("byte %d of the grown part is %d, not zero", i, b2[i])
		}
	}
	b2[len(b2)-1] = 3 // writable
	if lm.Reallocate(17*page) != nil {
		t.Fatal("grew past the maximum")
	}
	if got := lm.Reallocate(16 * page); len(got) != 16*page {
		t.Fatalf("grow to the maximum: %d bytes", len(got))
	}

	// Instantiation leaves the memory busy until newInstance says so.
	m.leave()
	if !m.enter() {
		t.Fatal("enter refused on a live memory")
	}
	lm.Free() // as wazero's proc_exit or Runtime.Close during a call
	if m.res == nil {
		t.Fatal("Free during a call unmapped the memory under it")
	}
	b2[5] = 7 // still mapped
	m.leave()
	if m.res != nil || m.state.Load() != memFreed {
		t.Fatalf("the memory was not unmapped at the call's end (state %d)", m.state.Load())
	}
	if m.enter() {
		t.Fatal("enter succeeded on a freed memory")
	}
	lm.Free() // twice is harmless
}

// TestGuestMemoryFreeIdle: Free with no call running unmaps at once.
func TestGuestMemoryFreeIdle(t *testing.T) {
	if !mmapMemory {
		t.Skip("no mapped guest memory on this platform")
	}
	alloc, ref := memoryAllocator([2]uint64{})
	lm := alloc.Allocate(0, 4*65536)
	lm.Reallocate(65536)
	ref.get().leave()
	lm.Free()
	if ref.get().res != nil {
		t.Fatal("an idle memory was not unmapped by Free")
	}
	// A zero maximum has nothing to map: wazero's kind of memory instead.
	alloc, ref = memoryAllocator([2]uint64{})
	lm = alloc.Allocate(0, 0)
	if ref.get() != nil || len(lm.Reallocate(0)) != 0 || lm.Reallocate(1) != nil {
		t.Fatal("a zero-maximum memory")
	}
}
