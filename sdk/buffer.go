package sdk

import (
	"unsafe"

	"github.com/gatehouse/gatehouse/abi"
)

const (
	// scratchSize is the initial size of the scratch buffer.
	scratchSize = 2 << 10
	// scratchKeep is the largest scratch buffer kept after a call; a larger
	// one (grown for a big header block or value) is dropped at the end of
	// the call so that one big request does not pin memory for the
	// instance's life.
	scratchKeep = 64 << 10
)

// scratch receives every host result the SDK copies out of or parses in
// place. Guests are single-threaded and the SDK never hands it out.
var scratch = make([]byte, scratchSize)

// bytesOf returns s's bytes without copying. The host only reads inputs, so
// passing string memory to it is safe; nothing may write to the result.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// read calls fn with the scratch buffer and, when the host needs more room
// (the buffer convention of abi/ABI.md §4), grows it and calls fn again. The
// result is a length n with the bytes in scratch[:n], or a negative status.
// fn must not retain its argument; it does not escape, so closures passed
// here are not allocated.
func read(fn func(buf []byte) int32) int32 {
	n := fn(scratch)
	if int(n) <= len(scratch) {
		return n
	}
	growScratch(int(n))
	n = fn(scratch)
	if int(n) > len(scratch) {
		// The needed length must be stable within a call.
		return abi.ErrInvalid
	}
	return n
}

// readOwned is read for results the caller keeps (bodies, cache values,
// JWT claims): a result that fits the scratch buffer is copied out of it; a
// larger one is read straight into a new buffer of the right size, so that
// big values do not grow the scratch buffer.
func readOwned(fn func(buf []byte) int32) ([]byte, error) {
	n := fn(scratch)
	if n < 0 {
		return nil, statusErr(n)
	}
	if int(n) <= len(scratch) {
		out := make([]byte, n)
		copy(out, scratch[:n])
		return out, nil
	}
	out := make([]byte, n)
	m := fn(out)
	if m < 0 {
		return nil, statusErr(m)
	}
	if int(m) > len(out) {
		return nil, ErrInvalid
	}
	return out[:m], nil
}

// readString is read returning a caller-owned string ("" on any error).
func readString(fn func(buf []byte) int32) (string, error) {
	n := read(fn)
	if n < 0 {
		return "", statusErr(n)
	}
	return string(scratch[:n]), nil
}

func growScratch(n int) {
	size := len(scratch) * 2
	for size < n {
		size *= 2
	}
	scratch = make([]byte, size)
}

// trimScratch drops an oversized scratch buffer at the end of a call.
func trimScratch() {
	if len(scratch) > scratchKeep {
		scratch = make([]byte, scratchSize)
	}
}
