package engine

import (
	"errors"
	"sync/atomic"

	"github.com/tetratelabs/wazero/experimental"
)

// Guest linear memory outside the Go heap (RATIONALE.md "Guest memory in
// its own mapping").
//
// wazero's default linear memory is a Go []byte that memory.grow extends
// with append: every grow copies the whole memory and zeroes the new part
// in the Go heap, so a Go guest starting (it grows its memory a dozen
// times) copied tens of MB, the instance's memory counted in the Go heap's
// live size (and so in the GC's goal: as much garbage again allowed), and
// a closed instance's memory was returned only after a GC and the
// scavenger. On Linux, each instance's memory is instead one private
// anonymous mapping of the module's maximum (the engine's HardMemoryPages,
// 64 MiB by default), reserved PROT_NONE and made read-write as it grows:
// a grow is one mprotect, pages become resident when the guest touches
// them, and a closed instance's memory is unmapped at once.
//
// Unmapping memory a guest is still running on would crash the process
// (a Go slice into freed Go memory only reads stale bytes), so Free during
// a call — wazero closes a module from a WASI proc_exit inside the call,
// and Runtime.Close closes instances still borrowed — is deferred to the
// end of the call: the instance brackets every call with enter and leave.

// Memory states (guestMemory.state).
const (
	memIdle        int32 = iota // mapped, no call running
	memBusy                     // mapped, a call is running on it
	memFreePending              // Free came during a call: unmapped at leave
	memFreed                    // unmapped
)

// mappedMemories counts the guest memories mapped now (tests: none leaks).
var mappedMemories atomic.Int64

// guestMemory is one instance's linear memory in its own mapping.
type guestMemory struct {
	res       []byte // the whole reservation: [0, committed) read-write, the rest PROT_NONE
	committed int
	state     atomic.Int32

	// For GuestMemory, read from other goroutines: the reservation's
	// address (fixed) and the committed length (as the guest grows).
	base uintptr
	size atomic.Int64

	// data is the range the module's data segments fill at
	// instantiation: populated (made resident, zeroed) with one madvise
	// when first committed, instead of a page fault per page as wazero
	// copies the data in — 550 faults for the built-in module, most of a
	// new instance's cost on a virtual machine where a fault is dear.
	data [2]uint64
}

// memoryAllocator returns the allocator for one instantiation and where it
// records the memory it made (nil when the module has none, or where the
// platform has no mapping: then wazero's own memory is used).
// data is the module's data span (Module.data).
func memoryAllocator(data [2]uint64) (experimental.MemoryAllocator, *guestMemoryRef) {
	if !mmapMemory {
		return nil, nil
	}
	ref := &guestMemoryRef{}
	return experimental.MemoryAllocatorFunc(func(capBytes, maxBytes uint64) experimental.LinearMemory {
		if m := newGuestMemory(maxBytes); m != nil {
			m.data = data
			ref.m = m
			return m
		}
		// No mapping (a zero maximum, or the kernel refused): a Go slice
		// as wazero's default would be.
		return &heapMemory{buf: make([]byte, 0, capBytes), max: maxBytes}
	}), ref
}

// guestMemoryRef is filled by the allocator during instantiation.
type guestMemoryRef struct{ m *guestMemory }

func (r *guestMemoryRef) get() *guestMemory {
	if r == nil {
		return nil
	}
	return r.m
}

// errInstanceClosed: a call on an instance whose memory is gone (closed
// while idle); wazero would refuse the call too.
var errInstanceClosed = errors.New("policy instance closed")

// enter marks a call starting on the memory. False if the memory was
// freed (the instance is closed: wazero then refuses the call too).
func (m *guestMemory) enter() bool {
	return m == nil || m.state.CompareAndSwap(memIdle, memBusy)
}

// leave marks the call ended, and unmaps the memory if Free came during it.
func (m *guestMemory) leave() {
	if m == nil {
		return
	}
	if m.state.CompareAndSwap(memBusy, memIdle) {
		return
	}
	if m.state.CompareAndSwap(memFreePending, memFreed) {
		m.unmap()
	}
}

// Reallocate implements experimental.LinearMemory: size bytes, the same
// base address; nil past the reservation or when the kernel refuses.
func (m *guestMemory) Reallocate(size uint64) []byte {
	if size > uint64(len(m.res)) {
		return nil
	}
	n := int(size)
	if n > m.committed {
		if err := commit(m.res[m.committed:n]); err != nil {
			return nil
		}
		if lo, hi := max(m.data[0], uint64(m.committed)), min(m.data[1], uint64(n)); lo < hi {
			populate(m.res[lo:hi])
		}
		m.committed = n
		m.size.Store(int64(n))
	}
	return m.res[:n:n]
}

// Free implements experimental.LinearMemory.
func (m *guestMemory) Free() {
	for {
		switch m.state.Load() {
		case memIdle:
			if m.state.CompareAndSwap(memIdle, memFreed) {
				m.unmap()
				return
			}
		case memBusy:
			if m.state.CompareAndSwap(memBusy, memFreePending) {
				return
			}
		default: // already freed, or pending
			return
		}
	}
}

// heapMemory is the fallback: a Go slice grown by copying, as wazero's
// default memory.
type heapMemory struct {
	buf []byte
	max uint64
}

func (h *heapMemory) Reallocate(size uint64) []byte {
	if size > h.max {
		return nil
	}
	if n := int(size); n <= cap(h.buf) {
		h.buf = h.buf[:n]
	} else {
		h.buf = append(h.buf, make([]byte, n-len(h.buf))...)
	}
	return h.buf
}

func (h *heapMemory) Free() { h.buf = nil }

// GuestMemory returns the linear memory of the engine's live instances:
// its size (what the guests have grown to) and how much of it is
// resident (pages the guests have touched; Linux, from mincore). Where
// guest memory is wazero's own, resident is the size.
func (e *Engine) GuestMemory() (size, resident int64) {
	var vec []byte
	for _, inst := range *e.slots.Load() {
		if inst == nil {
			continue
		}
		if m := inst.mem; m != nil {
			n := m.size.Load()
			if m.state.Load() >= memFreePending {
				continue // going or gone
			}
			size += n
			var r int64
			r, vec = residentBytes(m.base, n, vec)
			resident += r
		} else if mem := inst.mod.Memory(); mem != nil {
			n := int64(mem.Size())
			size += n
			resident += n
		}
	}
	return size, resident
}
