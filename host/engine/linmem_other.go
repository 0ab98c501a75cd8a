//go:build !linux

package engine

const mmapMemory = false

func newGuestMemory(uint64) *guestMemory { return nil }

func commit([]byte) error { return nil }

func populate([]byte) error { return nil }

func (m *guestMemory) unmap() {}

func residentBytes(_ uintptr, n int64, vec []byte) (int64, []byte) { return n, vec }
