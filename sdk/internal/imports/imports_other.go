//go:build !wasip1

package imports

// backend is the host every function below forwards to.
var backend Backend

// SetBackend installs the host the functions of this package forward to
// (nil removes it). It is not safe to call concurrently with them: sdktest
// serializes guest calls, as a Wasm instance serves one call at a time.
func SetBackend(b Backend) { backend = b }

func host() Backend {
	if backend == nil {
		panic("gatehouse sdk: no host; run policies under sdk/sdktest or in the gateway")
	}
	return backend
}

// GetField is get_field.
func GetField(ctx uint32, field int32, buf []byte) int32 {
	return host().GetField(ctx, field, buf)
}

// SetField is set_field.
func SetField(ctx uint32, field int32, val []byte) int32 {
	return host().SetField(ctx, field, val)
}

// GetHeader is get_header.
func GetHeader(ctx uint32, kind int32, name, buf []byte) int32 {
	return host().GetHeader(ctx, kind, name, buf)
}

// GetHeaders is get_headers.
func GetHeaders(ctx uint32, kind int32, buf []byte) int32 {
	return host().GetHeaders(ctx, kind, buf)
}

// SetHeader is set_header.
func SetHeader(ctx uint32, kind int32, name, val []byte) int32 {
	return host().SetHeader(ctx, kind, name, val)
}

// AddHeader is add_header.
func AddHeader(ctx uint32, kind int32, name, val []byte) int32 {
	return host().AddHeader(ctx, kind, name, val)
}

// DelHeader is del_header.
func DelHeader(ctx uint32, kind int32, name []byte) int32 {
	return host().DelHeader(ctx, kind, name)
}

// GetBody is get_body.
func GetBody(ctx uint32, kind int32, buf []byte) int32 {
	return host().GetBody(ctx, kind, buf)
}

// SetBody is set_body.
func SetBody(ctx uint32, kind int32, body []byte) int32 {
	return host().SetBody(ctx, kind, body)
}

// GetStatus is get_status.
func GetStatus(ctx uint32) int32 { return host().GetStatus(ctx) }

// SetStatus is set_status.
func SetStatus(ctx uint32, code int32) int32 { return host().SetStatus(ctx, code) }

// SendResponse is send_response.
func SendResponse(ctx uint32, code int32, body []byte) int32 {
	return host().SendResponse(ctx, code, body)
}

// GetParam is get_param.
func GetParam(ctx uint32, name, buf []byte) int32 {
	return host().GetParam(ctx, name, buf)
}

// GetVar is get_var.
func GetVar(ctx uint32, name, buf []byte) int32 {
	return host().GetVar(ctx, name, buf)
}

// SetVar is set_var.
func SetVar(ctx uint32, name, val []byte) int32 {
	return host().SetVar(ctx, name, val)
}

// GetPlan is get_plan.
func GetPlan(ctx uint32, plan uint32, buf []byte) int32 {
	return host().GetPlan(ctx, plan, buf)
}

// GetAttachment is get_attachment.
func GetAttachment(ctx uint32, attachment uint32, item int32, buf []byte) int32 {
	return host().GetAttachment(ctx, attachment, item, buf)
}

// Log is log.
func Log(ctx uint32, level int32, msg []byte) int32 {
	return host().Log(ctx, level, msg)
}

// Now is now.
func Now() int64 { return host().Now() }

// Random is random.
func Random(buf []byte) int32 { return host().Random(buf) }

// CounterAdd is counter_add.
func CounterAdd(ctx uint32, key []byte, delta, limit, windowMs int64, mode int32, out *[16]byte) int32 {
	return host().CounterAdd(ctx, key, delta, limit, windowMs, mode, out)
}

// CacheGet is cache_get.
func CacheGet(ctx uint32, key, buf []byte) int32 {
	return host().CacheGet(ctx, key, buf)
}

// CacheSet is cache_set.
func CacheSet(ctx uint32, key, val []byte, ttlMs int64) int32 {
	return host().CacheSet(ctx, key, val, ttlMs)
}

// CacheDel is cache_del.
func CacheDel(ctx uint32, key []byte) int32 {
	return host().CacheDel(ctx, key)
}

// JWTVerify is jwt_verify.
func JWTVerify(ctx uint32, token, cfg, buf []byte) int32 {
	return host().JWTVerify(ctx, token, cfg, buf)
}

// SubscriptionLookup is subscription_lookup.
func SubscriptionLookup(ctx uint32, key, buf []byte) int32 {
	return host().SubscriptionLookup(ctx, key, buf)
}

// SubscriptionCheck is subscription_check.
func SubscriptionCheck(ctx uint32, header, query []byte, flags int32) int32 {
	return host().SubscriptionCheck(ctx, header, query, flags)
}

// ConcurrencyAcquire is concurrency_acquire (ABI v1.1).
func ConcurrencyAcquire(ctx uint32, key []byte, limit int64) int32 {
	return host().ConcurrencyAcquire(ctx, key, limit)
}

// CacheFillLease is cache_fill_lease (ABI v1.1).
func CacheFillLease(ctx uint32, key []byte, waitMs int64) int32 {
	return host().CacheFillLease(ctx, key, waitMs)
}
