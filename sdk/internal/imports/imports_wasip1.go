//go:build wasip1

package imports

import "unsafe"

// SetBackend panics: inside Wasm the host is the real one. It exists so that
// packages using it (sdk/sdktest) still compile for GOOS=wasip1.
func SetBackend(Backend) {
	panic("gatehouse sdk: SetBackend is not available in a Wasm guest")
}

// The raw imports. Every (pointer, length) pair of the ABI is a *byte and a
// uint32; every other i32 is an int32 or uint32, i64 an int64. The signatures
// must match abi.HostFuncs() exactly (checked on the built module by the
// SDK's tests in CI and by the host at load).

//go:wasmimport gatehouse_v1 get_field
func getField(ctx uint32, field int32, buf *byte, bufCap uint32) int32

//go:wasmimport gatehouse_v1 set_field
func setField(ctx uint32, field int32, ptr *byte, n uint32) int32

//go:wasmimport gatehouse_v1 get_header
func getHeader(ctx uint32, kind int32, name *byte, nameLen uint32, buf *byte, bufCap uint32) int32

//go:wasmimport gatehouse_v1 get_headers
func getHeaders(ctx uint32, kind int32, buf *byte, bufCap uint32) int32

//go:wasmimport gatehouse_v1 set_header
func setHeader(ctx uint32, kind int32, name *byte, nameLen uint32, val *byte, valLen uint32) int32

//go:wasmimport gatehouse_v1 add_header
func addHeader(ctx uint32, kind int32, name *byte, nameLen uint32, val *byte, valLen uint32) int32

//go:wasmimport gatehouse_v1 del_header
func delHeader(ctx uint32, kind int32, name *byte, nameLen uint32) int32

//go:wasmimport gatehouse_v1 get_body
func getBody(ctx uint32, kind int32, buf *byte, bufCap uint32) int32

//go:wasmimport gatehouse_v1 set_body
func setBody(ctx uint32, kind int32, ptr *byte, n uint32) int32

//go:wasmimport gatehouse_v1 get_status
func getStatus(ctx uint32) int32

//go:wasmimport gatehouse_v1 set_status
func setStatus(ctx uint32, code int32) int32

//go:wasmimport gatehouse_v1 send_response
func sendResponse(ctx uint32, code int32, body *byte, bodyLen uint32) int32

//go:wasmimport gatehouse_v1 get_param
func getParam(ctx uint32, name *byte, nameLen uint32, buf *byte, bufCap uint32) int32

//go:wasmimport gatehouse_v1 get_var
func getVar(ctx uint32, name *byte, nameLen uint32, buf *byte, bufCap uint32) int32

//go:wasmimport gatehouse_v1 set_var
func setVar(ctx uint32, name *byte, nameLen uint32, val *byte, valLen uint32) int32

//go:wasmimport gatehouse_v1 get_plan
func getPlan(ctx uint32, plan uint32, buf *byte, bufCap uint32) int32

//go:wasmimport gatehouse_v1 get_attachment
func getAttachment(ctx uint32, attachment uint32, item int32, buf *byte, bufCap uint32) int32

//go:wasmimport gatehouse_v1 log
func log(ctx uint32, level int32, msg *byte, msgLen uint32) int32

//go:wasmimport gatehouse_v1 now
func now() int64

//go:wasmimport gatehouse_v1 random
func random(buf *byte, n uint32) int32

//go:wasmimport gatehouse_v1 counter_add
func counterAdd(ctx uint32, key *byte, keyLen uint32, delta, limit, windowMs int64, mode int32, out *[16]byte) int32

//go:wasmimport gatehouse_v1 cache_get
func cacheGet(ctx uint32, key *byte, keyLen uint32, buf *byte, bufCap uint32) int32

//go:wasmimport gatehouse_v1 cache_set
func cacheSet(ctx uint32, key *byte, keyLen uint32, val *byte, valLen uint32, ttlMs int64) int32

//go:wasmimport gatehouse_v1 cache_del
func cacheDel(ctx uint32, key *byte, keyLen uint32) int32

//go:wasmimport gatehouse_v1 jwt_verify
func jwtVerify(ctx uint32, token *byte, tokenLen uint32, cfg *byte, cfgLen uint32, buf *byte, bufCap uint32) int32

//go:wasmimport gatehouse_v1 subscription_lookup
func subscriptionLookup(ctx uint32, key *byte, keyLen uint32, buf *byte, bufCap uint32) int32

//go:wasmimport gatehouse_v1 subscription_check
func subscriptionCheck(ctx uint32, header *byte, headerLen uint32, query *byte, queryLen uint32, flags int32) int32

//go:wasmimport gatehouse_v1 concurrency_acquire
func concurrencyAcquire(ctx uint32, key *byte, keyLen uint32, limit int64) int32

//go:wasmimport gatehouse_v1 cache_fill_lease
func cacheFillLease(ctx uint32, key *byte, keyLen uint32, waitMs int64) int32

// p returns the address of b's first byte (nil for a nil slice) and its
// length. The pointer keeps b alive for the duration of the host call.
func p(b []byte) (*byte, uint32) { return unsafe.SliceData(b), uint32(len(b)) }

// GetField is get_field.
func GetField(ctx uint32, field int32, buf []byte) int32 {
	bp, bn := p(buf)
	return getField(ctx, field, bp, bn)
}

// SetField is set_field.
func SetField(ctx uint32, field int32, val []byte) int32 {
	vp, vn := p(val)
	return setField(ctx, field, vp, vn)
}

// GetHeader is get_header.
func GetHeader(ctx uint32, kind int32, name, buf []byte) int32 {
	np, nn := p(name)
	bp, bn := p(buf)
	return getHeader(ctx, kind, np, nn, bp, bn)
}

// GetHeaders is get_headers.
func GetHeaders(ctx uint32, kind int32, buf []byte) int32 {
	bp, bn := p(buf)
	return getHeaders(ctx, kind, bp, bn)
}

// SetHeader is set_header.
func SetHeader(ctx uint32, kind int32, name, val []byte) int32 {
	np, nn := p(name)
	vp, vn := p(val)
	return setHeader(ctx, kind, np, nn, vp, vn)
}

// AddHeader is add_header.
func AddHeader(ctx uint32, kind int32, name, val []byte) int32 {
	np, nn := p(name)
	vp, vn := p(val)
	return addHeader(ctx, kind, np, nn, vp, vn)
}

// DelHeader is del_header.
func DelHeader(ctx uint32, kind int32, name []byte) int32 {
	np, nn := p(name)
	return delHeader(ctx, kind, np, nn)
}

// GetBody is get_body.
func GetBody(ctx uint32, kind int32, buf []byte) int32 {
	bp, bn := p(buf)
	return getBody(ctx, kind, bp, bn)
}

// SetBody is set_body.
func SetBody(ctx uint32, kind int32, body []byte) int32 {
	bp, bn := p(body)
	return setBody(ctx, kind, bp, bn)
}

// GetStatus is get_status.
func GetStatus(ctx uint32) int32 { return getStatus(ctx) }

// SetStatus is set_status.
func SetStatus(ctx uint32, code int32) int32 { return setStatus(ctx, code) }

// SendResponse is send_response.
func SendResponse(ctx uint32, code int32, body []byte) int32 {
	bp, bn := p(body)
	return sendResponse(ctx, code, bp, bn)
}

// GetParam is get_param.
func GetParam(ctx uint32, name, buf []byte) int32 {
	np, nn := p(name)
	bp, bn := p(buf)
	return getParam(ctx, np, nn, bp, bn)
}

// GetVar is get_var.
func GetVar(ctx uint32, name, buf []byte) int32 {
	np, nn := p(name)
	bp, bn := p(buf)
	return getVar(ctx, np, nn, bp, bn)
}

// SetVar is set_var.
func SetVar(ctx uint32, name, val []byte) int32 {
	np, nn := p(name)
	vp, vn := p(val)
	return setVar(ctx, np, nn, vp, vn)
}

// GetPlan is get_plan.
func GetPlan(ctx uint32, plan uint32, buf []byte) int32 {
	bp, bn := p(buf)
	return getPlan(ctx, plan, bp, bn)
}

// GetAttachment is get_attachment.
func GetAttachment(ctx uint32, attachment uint32, item int32, buf []byte) int32 {
	bp, bn := p(buf)
	return getAttachment(ctx, attachment, item, bp, bn)
}

// Log is log.
func Log(ctx uint32, level int32, msg []byte) int32 {
	mp, mn := p(msg)
	return log(ctx, level, mp, mn)
}

// Now is now.
func Now() int64 { return now() }

// Random is random.
func Random(buf []byte) int32 {
	bp, bn := p(buf)
	return random(bp, bn)
}

// CounterAdd is counter_add.
func CounterAdd(ctx uint32, key []byte, delta, limit, windowMs int64, mode int32, out *[16]byte) int32 {
	kp, kn := p(key)
	return counterAdd(ctx, kp, kn, delta, limit, windowMs, mode, out)
}

// CacheGet is cache_get.
func CacheGet(ctx uint32, key, buf []byte) int32 {
	kp, kn := p(key)
	bp, bn := p(buf)
	return cacheGet(ctx, kp, kn, bp, bn)
}

// CacheSet is cache_set.
func CacheSet(ctx uint32, key, val []byte, ttlMs int64) int32 {
	kp, kn := p(key)
	vp, vn := p(val)
	return cacheSet(ctx, kp, kn, vp, vn, ttlMs)
}

// CacheDel is cache_del.
func CacheDel(ctx uint32, key []byte) int32 {
	kp, kn := p(key)
	return cacheDel(ctx, kp, kn)
}

// JWTVerify is jwt_verify.
func JWTVerify(ctx uint32, token, cfg, buf []byte) int32 {
	tp, tn := p(token)
	cp, cn := p(cfg)
	bp, bn := p(buf)
	return jwtVerify(ctx, tp, tn, cp, cn, bp, bn)
}

// SubscriptionLookup is subscription_lookup.
func SubscriptionLookup(ctx uint32, key, buf []byte) int32 {
	kp, kn := p(key)
	bp, bn := p(buf)
	return subscriptionLookup(ctx, kp, kn, bp, bn)
}

// SubscriptionCheck is subscription_check.
func SubscriptionCheck(ctx uint32, header, query []byte, flags int32) int32 {
	hp, hn := p(header)
	qp, qn := p(query)
	return subscriptionCheck(ctx, hp, hn, qp, qn, flags)
}

// ConcurrencyAcquire is concurrency_acquire (ABI v1.1).
func ConcurrencyAcquire(ctx uint32, key []byte, limit int64) int32 {
	kp, kn := p(key)
	return concurrencyAcquire(ctx, kp, kn, limit)
}

// CacheFillLease is cache_fill_lease (ABI v1.1).
func CacheFillLease(ctx uint32, key []byte, waitMs int64) int32 {
	kp, kn := p(key)
	return cacheFillLease(ctx, kp, kn, waitMs)
}
