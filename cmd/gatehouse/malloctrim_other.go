//go:build !linux || !cgo

package main

// mallocTrim: only glibc's C heap is trimmed (malloctrim_linux.go).
func mallocTrim() {}
