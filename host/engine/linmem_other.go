//go:build !linux

package engine

import "syscall"

const mmapMemory = false

func newGuestMemory(uint64) *guestMemory { return nil }

func commit([]byte) error { return nil }

func populate([]byte) syscall.Errno { return 0 }

func (m *guestMemory) unmap() {}

func residentBytes(_ uintptr, n int64, vec []byte) (int64, []byte) { return n, vec }
