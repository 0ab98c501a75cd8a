package h1client

import (
	"syscall"
	"unsafe"
)

const peekSupported = true

// peek looks at a pooled connection without blocking or consuming:
// recv(MSG_PEEK|MSG_DONTWAIT) of one byte. EAGAIN is a live idle
// connection; 0 bytes is the backend's close; bytes the backend sent while
// nobody asked, or an error, make it unusable. A raw syscall: it cannot
// block, and it takes no address (no allocation).
func (c *conn) peek(fd uintptr) bool {
	_, _, errno := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&c.peekBuf[0])), 1,
		syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
	if errno != syscall.EAGAIN {
		c.peekOK = false
	}
	return true // never wait for readability
}
