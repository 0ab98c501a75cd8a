//go:build !linux

package h1client

const peekSupported = false

func (c *conn) peek(fd uintptr) bool { return true }
