package sdk

import (
	"bytes"
	"unsafe"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/sdk/internal/imports"
)

// Zero-allocation accessors. A string result costs the guest an allocation,
// and in a Go guest compiled to Wasm an allocation costs 200–300 ns — more
// than the host call that produced the bytes. Hot-path policies append into
// buffers they own instead; the built-ins do.

// Field names a request attribute for AppendField.
type Field int32

// Fields readable with AppendField (abi/ABI.md §5).
const (
	FieldMethod        = Field(abi.FieldMethod)
	FieldPath          = Field(abi.FieldPath)
	FieldQuery         = Field(abi.FieldQuery)
	FieldClientIP      = Field(abi.FieldClientIP)
	FieldRequestID     = Field(abi.FieldRequestID)
	FieldAPI           = Field(abi.FieldAPI)
	FieldOperation     = Field(abi.FieldOperation)
	FieldScheme        = Field(abi.FieldScheme)
	FieldHost          = Field(abi.FieldHost)
	FieldOriginalPath  = Field(abi.FieldOriginalPath)
	FieldSubscription  = Field(abi.FieldSubscription)
	FieldProduct       = Field(abi.FieldProduct)
	FieldRouteTemplate = Field(abi.FieldRouteTemplate)
)

// AppendField appends the field's value to dst. An unknown field appends
// nothing.
func (c *Context) AppendField(dst []byte, f Field) []byte {
	n := read(func(buf []byte) int32 { return imports.GetField(c.handle, int32(f), buf) })
	if n <= 0 {
		return dst
	}
	return append(dst, scratch[:n]...)
}

// AppendGet appends the header's first value to dst; ok is false when the
// header is absent.
func (h Header) AppendGet(dst []byte, name string) (out []byte, ok bool) {
	n := h.read(name)
	if n < 0 {
		return dst, false
	}
	v := scratch[:n]
	if i := bytes.IndexByte(v, abi.HeaderSep); i >= 0 {
		v = v[:i]
	}
	return append(dst, v...), true
}

// SetBytes sets a variable from bytes, without converting them to a string.
func (v Vars) SetBytes(name string, value []byte) error {
	return errOf(imports.SetVar(v.c.handle, bytesOf(name), value))
}

// CounterBytes is Counter for a key held in a buffer the caller owns. The
// buffer must not change until Add returns.
func (c *Context) CounterBytes(key []byte) Counter {
	if len(key) == 0 {
		return Counter{c, ""}
	}
	return Counter{c, unsafe.String(&key[0], len(key))}
}

// KeyCheck is the outcome of CheckSubscriptionKey.
type KeyCheck int32

// Outcomes of CheckSubscriptionKey.
const (
	KeyOK         = KeyCheck(abi.SubOK)         // active, in scope, bound to the request
	KeyMissing    = KeyCheck(abi.SubMissing)    // no key in the request
	KeyInvalid    = KeyCheck(abi.SubInvalid)    // unknown key or inactive subscription
	KeyOutOfScope = KeyCheck(abi.SubOutOfScope) // valid key, not for this API
)

// CheckSubscriptionKey is the whole subscription-key check in one host call
// (subscription_check): the key from request header `header` or, with
// allowQuery, query parameter `query`; on KeyOK the subscription is bound
// and, unless keep, the key is removed from the forwarded request.
func (c *Context) CheckSubscriptionKey(header, query string, allowQuery, keep bool) (KeyCheck, error) {
	var flags int32
	if allowQuery {
		flags |= abi.SubAllowQuery
	}
	if keep {
		flags |= abi.SubKeep
	}
	r := imports.SubscriptionCheck(c.handle, bytesOf(header), bytesOf(query), flags)
	if r < 0 {
		return 0, statusErr(r)
	}
	return KeyCheck(r), nil
}
