package h1client

import "syscall"

const peekSupported = true

// peek looks at a pooled connection without blocking or consuming: EAGAIN
// is a live idle connection; 0 bytes is the backend's close; bytes the
// backend sent while nobody asked (or an error) make it unusable.
func (c *conn) peek(fd uintptr) bool {
	_, _, err := syscall.Recvfrom(int(fd), c.peekBuf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	if err != syscall.EAGAIN {
		c.peekOK = false
	}
	return true // never wait for readability
}
