// Package imports is the raw layer of the guest SDK: one Go function per
// host function of the Gatehouse ABI (module gatehouse_v1), at slice level.
//
// Under GOOS=wasip1 the functions call the host through //go:wasmimport
// (imports_wasip1.go) without allocating. Everywhere else they forward to the
// Backend set with SetBackend (imports_other.go); sdk/sdktest installs an
// emulated host there so that policies are tested with plain `go test`.
//
// Conventions shared by every function, as in abi/ABI.md:
//   - ctx is the handle the host passed to the current guest call;
//   - input slices (names, values, keys, bodies) are only read by the host and
//     may alias read-only string memory: a Backend must never write to them and
//     must copy what it keeps;
//   - output buffers follow the buffer convention: the result is the needed
//     length n >= 0, valid in buf[:n] only when n <= len(buf); a negative
//     result is an abi status.
//
// This package is the one seam between the SDK and the host. It holds no
// policy logic.
package imports

// Backend is the host seen from the guest, one method per host function. The
// non-Wasm build of this package forwards every call to it.
type Backend interface {
	GetField(ctx uint32, field int32, buf []byte) int32
	SetField(ctx uint32, field int32, val []byte) int32
	GetHeader(ctx uint32, kind int32, name, buf []byte) int32
	GetHeaders(ctx uint32, kind int32, buf []byte) int32
	SetHeader(ctx uint32, kind int32, name, val []byte) int32
	AddHeader(ctx uint32, kind int32, name, val []byte) int32
	DelHeader(ctx uint32, kind int32, name []byte) int32
	GetBody(ctx uint32, kind int32, buf []byte) int32
	SetBody(ctx uint32, kind int32, body []byte) int32
	GetStatus(ctx uint32) int32
	SetStatus(ctx uint32, code int32) int32
	SendResponse(ctx uint32, code int32, body []byte) int32
	GetParam(ctx uint32, name, buf []byte) int32
	GetVar(ctx uint32, name, buf []byte) int32
	SetVar(ctx uint32, name, val []byte) int32
	GetPlan(ctx uint32, plan uint32, buf []byte) int32
	GetAttachment(ctx uint32, attachment uint32, item int32, buf []byte) int32
	Log(ctx uint32, level int32, msg []byte) int32
	Now() int64
	Random(buf []byte) int32
	CounterAdd(ctx uint32, key []byte, delta, limit, windowMs int64, mode int32, out *[16]byte) int32
	CacheGet(ctx uint32, key, buf []byte) int32
	CacheSet(ctx uint32, key, val []byte, ttlMs int64) int32
	CacheDel(ctx uint32, key []byte) int32
	JWTVerify(ctx uint32, token, cfg, buf []byte) int32
	SubscriptionLookup(ctx uint32, key, buf []byte) int32
	SubscriptionCheck(ctx uint32, header, query []byte, flags int32) int32
	ConcurrencyAcquire(ctx uint32, key []byte, limit int64) int32
	CacheFillLease(ctx uint32, key []byte, waitMs int64) int32
	BodyConvert(ctx uint32, kind, conversion, flags, max int32, buf []byte) int32 // body_wasip1.go, body_other.go
}

// Guest holds the SDK's entry points. Package sdk fills it in at init; the
// Wasm exports call the same functions, and sdk/sdktest calls them the way
// the host calls on_request and on_response.
var Guest struct {
	// OnRequest and OnResponse run a plan in the request or response phase
	// and return the abi result (action | flags, or a negative failure).
	OnRequest, OnResponse func(ctx, plan uint32) int32
	// Reset drops every per-instance cache, as if the instance had been
	// discarded and replaced by a fresh one (sdktest calls it after a trap).
	Reset func()
}
