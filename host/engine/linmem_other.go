//go:build !linux

package engine

const mmapMemory = false

func newGuestMemory(uint64) *guestMemory { return nil }

func commit([]byte) error { return nil }

func (m *guestMemory) unmap() {}
