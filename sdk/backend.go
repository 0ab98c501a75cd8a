package sdk

import (
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/sdk/internal/imports"
)

// Backend is the backend call of the request (ABI v1.1): where it goes, its
// timeout, retries and redirects. Changes are allowed in the request phase
// only (ErrPhase otherwise, also in the on-error section); the host checks
// every value (ErrInvalid).
type Backend struct{ c *Context }

// Backend returns the request's backend call.
func (c *Context) Backend() Backend { return Backend{c} }

// URL returns the backend base URL the request goes to: the one a policy
// set, else the API's.
func (b Backend) URL() string { return b.c.field(abi.FieldBackendURL) }

// SetURL replaces the backend base URL for this call (APIM
// set-backend-service base-url). It must be an absolute http or https URL
// without credentials, query or fragment; the host refuses link-local and
// metadata addresses unless the API allows private backends. The request's
// path is appended to it as to the API's backend.
func (b Backend) SetURL(u string) error { return b.set(abi.FieldBackendURL, bytesOf(u)) }

// Timeout returns the backend call's timeout: the one a policy set, else
// the API's.
func (b Backend) Timeout() time.Duration {
	ms, err := strconv.ParseInt(b.c.field(abi.FieldBackendTimeout), 10, 64)
	if err != nil {
		return 0
	}
	return time.Duration(ms) * time.Millisecond
}

// SetTimeout sets the backend call's timeout (1 ms–600 s, whole
// milliseconds). With retries it bounds each attempt.
func (b Backend) SetTimeout(d time.Duration) error {
	if d < time.Millisecond {
		return ErrInvalid
	}
	var buf [20]byte
	return b.set(abi.FieldBackendTimeout, strconv.AppendInt(buf[:0], d.Milliseconds(), 10))
}

// SetFollowRedirects makes the host follow the backend's redirects itself
// (true) or pass them to the client (false, the default).
func (b Backend) SetFollowRedirects(on bool) error {
	return b.set(abi.FieldBackendFollowRedirects, bytesOf(strconv.FormatBool(on)))
}

// SetRetry asks the host to retry the backend call as r says; a zero Retry
// clears an earlier request. Policies that set the same spec on every call
// should encode it once (Retry.Encode) and use SetRetrySpec.
func (b Backend) SetRetry(r Retry) error {
	if r.Count == 0 {
		return b.SetRetrySpec(nil)
	}
	return b.SetRetrySpec(r.Encode())
}

// SetRetrySpec sets an encoded retry spec (Retry.Encode); nil clears it.
func (b Backend) SetRetrySpec(spec []byte) error { return b.set(abi.FieldBackendRetry, spec) }

// RetrySpec returns the encoded retry spec in force, or "".
func (b Backend) RetrySpec() string { return b.c.field(abi.FieldBackendRetry) }

func (b Backend) set(f int32, v []byte) error {
	return errOf(imports.SetField(b.c.handle, f, v))
}

// Retry is what the host does when the backend fails: send the request
// again up to Count times while the status matches Statuses or Classes (or,
// with OnError, while the connection fails or an attempt times out). Only
// idempotent methods (GET, HEAD, OPTIONS, PUT, DELETE, TRACE) are retried
// unless NonIdempotent. The host buffers the request body to send it again
// (up to the API's body limit).
type Retry struct {
	Count       int           // 1–50
	Interval    time.Duration // wait between attempts (0–300 s, whole ms)
	MaxInterval time.Duration // exponential waits are capped here (with Delta)
	Delta       time.Duration // linear (alone) or exponential (with MaxInterval) increment
	FirstFast   bool          // the first retry runs at once
	Statuses    []int         // e.g. 502, 503, 504
	Classes     []int         // status classes, e.g. 5 for 5xx
	// NonIdempotent retries POST, PATCH and other non-idempotent methods too.
	NonIdempotent bool
	// OnError retries transport failures (refused, reset, attempt timeout).
	OnError bool
}

// Encode returns the spec's wire form (JSON, abi/ABI.md §5 "backend").
func (r Retry) Encode() []byte {
	b := make([]byte, 0, 128)
	b = append(b, `{"count":`...)
	b = strconv.AppendInt(b, int64(r.Count), 10)
	b = append(b, `,"interval_ms":`...)
	b = strconv.AppendInt(b, r.Interval.Milliseconds(), 10)
	if r.MaxInterval > 0 {
		b = append(b, `,"max_interval_ms":`...)
		b = strconv.AppendInt(b, r.MaxInterval.Milliseconds(), 10)
	}
	if r.Delta > 0 {
		b = append(b, `,"delta_ms":`...)
		b = strconv.AppendInt(b, r.Delta.Milliseconds(), 10)
	}
	if r.FirstFast {
		b = append(b, `,"first_fast_retry":true`...)
	}
	ints := func(name string, v []int) {
		if len(v) == 0 {
			return
		}
		b = append(b, `,"`...)
		b = append(b, name...)
		b = append(b, `":[`...)
		for i, s := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, int64(s), 10)
		}
		b = append(b, ']')
	}
	ints("statuses", r.Statuses)
	ints("classes", r.Classes)
	if r.NonIdempotent {
		b = append(b, `,"non_idempotent":true`...)
	}
	if r.OnError {
		b = append(b, `,"on_error":true`...)
	}
	return append(b, '}')
}
