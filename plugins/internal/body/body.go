// Package body holds what the body-transforming built-ins (find-and-replace,
// json-to-xml, xml-to-json) share: reading and replacing the request or the
// response body, its headers, and the size bound of their config.
package body

import (
	"bytes"
	"fmt"
	"runtime"

	"github.com/gatehouse/gatehouse/sdk"
)

// Size bounds of the max_body_bytes fields.
const (
	DefaultMax = 1 << 20  // 1 MiB
	LimitMax   = 16 << 20 // 16 MiB
)

// CheckMax checks a max_body_bytes value (nil: the default) and returns it.
func CheckMax(v *int) (int, error) {
	if v == nil {
		return DefaultMax, nil
	}
	if *v < 1 || *v > LimitMax {
		return 0, fmt.Errorf("max_body_bytes must be 1 to %d, got %d", LimitMax, *v)
	}
	return *v, nil
}

// Target is the body a policy works on: the request's or the response's.
type Target struct {
	Response bool
	buf      []byte // reused for header values
}

// Header returns the headers of the target message.
func (t *Target) Header(c *sdk.Context) sdk.Header {
	if t.Response {
		return c.Response().Header()
	}
	return c.Request().Header()
}

// Read returns the whole body (the host's body limit applies: over it the
// error is sdk.ErrTooLarge).
func (t *Target) Read(c *sdk.Context) ([]byte, error) {
	if t.Response {
		return c.Response().Body()
	}
	return c.Request().Body()
}

// ReadInto is Read into dst (appended): a policy that keeps its buffer
// between calls reads the body without allocating.
func (t *Target) ReadInto(c *sdk.Context, dst []byte) ([]byte, error) {
	if t.Response {
		return c.Response().AppendBody(dst)
	}
	return c.Request().AppendBody(dst)
}

// Write replaces the body; the host fixes Content-Length.
func (t *Target) Write(c *sdk.Context, b []byte) error {
	if t.Response {
		return c.Response().SetBody(b)
	}
	return c.Request().SetBody(b)
}

// Encoded reports whether the body has a Content-Encoding other than
// identity: its bytes are then not the text a transform expects.
func (t *Target) Encoded(c *sdk.Context) bool {
	var ok bool
	t.buf, ok = t.Header(c).AppendGet(t.buf[:0], "Content-Encoding")
	return ok && len(bytes.TrimSpace(t.buf)) > 0 && !bytes.EqualFold(bytes.TrimSpace(t.buf), []byte("identity"))
}

// ContentTypeIs reports whether the target's Content-Type media type is
// one of types or ends with suffix ("+json"); parameters are ignored.
func (t *Target) ContentTypeIs(c *sdk.Context, suffix string, types ...string) bool {
	var ok bool
	t.buf, ok = t.Header(c).AppendGet(t.buf[:0], "Content-Type")
	return ok && MediaTypeIs(t.buf, suffix, types...)
}

// Accepts reports whether the request's Accept header names one of types
// or a type ending with suffix (wildcards do not count).
func (t *Target) Accepts(c *sdk.Context, suffix string, types ...string) bool {
	var ok bool
	t.buf, ok = c.Request().Header().AppendGet(t.buf[:0], "Accept")
	if !ok {
		return false
	}
	for rest := t.buf; len(rest) > 0; {
		var part []byte
		if i := bytes.IndexByte(rest, ','); i >= 0 {
			part, rest = rest[:i], rest[i+1:]
		} else {
			part, rest = rest, nil
		}
		if MediaTypeIs(part, suffix, types...) {
			return true
		}
	}
	return false
}

// MediaTypeIs reports whether the media type in v (parameters ignored,
// case-insensitive) is one of types or ends with suffix.
func MediaTypeIs(v []byte, suffix string, types ...string) bool {
	if i := bytes.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	v = bytes.TrimSpace(v)
	for _, t := range types {
		if bytes.EqualFold(v, []byte(t)) {
			return true
		}
	}
	return suffix != "" && len(v) > len(suffix) && bytes.EqualFold(v[len(v)-len(suffix):], []byte(suffix))
}

// garbage is the estimated garbage the body policies made since the last
// collection they forced.
var garbage int

// gcEvery is how much estimated garbage triggers a collection.
const gcEvery = 1 << 20

// Collect records n bytes of garbage a conversion left and, past 1 MiB,
// runs the garbage collector. A Go guest's linear memory never shrinks, and
// with the runtime's own pacing (a 4 MiB minimum heap goal) a module that
// converts bodies steadily creeps up to the host's per-instance memory
// limit (16 MiB by default), which kills the instance and fails the call;
// collecting early keeps the heap, and so the memory, small. A collection
// costs little here: the live heap of a policy module is small.
func Collect(n int) {
	garbage += n
	if garbage >= gcEvery {
		garbage = 0
		runtime.GC()
	}
}
