// Package upstream holds the rules for the backend call that the gateway,
// the engine's host functions and the sdktest emulator share: the retry
// spec and timeout a policy hands to the host (abi.FieldBackendRetry,
// ABI v1.1). Which backend URLs are acceptable is the egress rule, in
// abi/egress.
//
// It imports only the standard library.
package upstream

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/gatehouse/gatehouse/abi"
	"math/rand/v2"
	"strconv"
	"time"
)

// MaxURLLen caps a backend URL a policy may set.
const MaxURLLen = abi.MaxBackendURL

// Limits of a retry spec.
const (
	MaxRetryCount = abi.MaxRetryCount
	MaxRetryWait  = 300 * time.Second
	MaxTimeout    = abi.MaxBackendTimeoutMs * time.Millisecond
)

// Retry is a parsed retry spec: what the retry policy asks of the host.
// The host sends the request once and again up to Count times while the
// backend's status matches (Statuses, or a class in Classes: 5 is 5xx) or,
// with OnError, while the transport fails (connection refused, reset,
// attempt timeout).
type Retry struct {
	Count         int           // 1–50 retries
	Interval      time.Duration // wait between attempts
	MaxInterval   time.Duration // cap of the exponential wait (0: none)
	Delta         time.Duration // linear / exponential increment (0: fixed interval)
	FirstFast     bool          // the first retry runs at once
	Statuses      []int         // status codes that are retried
	Classes       []int         // status classes (1–5) that are retried
	NonIdempotent bool          // also retry POST, PATCH and other non-idempotent methods
	OnError       bool          // also retry transport failures
}

// wire is the JSON encoding of a Retry (abi/ABI.md, field 18).
type wire struct {
	Count         int   `json:"count"`
	IntervalMS    int64 `json:"interval_ms"`
	MaxIntervalMS int64 `json:"max_interval_ms,omitempty"`
	DeltaMS       int64 `json:"delta_ms,omitempty"`
	FirstFast     bool  `json:"first_fast_retry,omitempty"`
	Statuses      []int `json:"statuses,omitempty"`
	Classes       []int `json:"classes,omitempty"`
	NonIdempotent bool  `json:"non_idempotent,omitempty"`
	OnError       bool  `json:"on_error,omitempty"`
}

// ParseRetry decodes and checks a retry spec (strict: unknown fields and
// out-of-range values are errors).
func ParseRetry(b []byte) (*Retry, error) {
	if len(b) > 4<<10 {
		return nil, errors.New("retry spec too long")
	}
	var w wire
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&w); err != nil {
		return nil, fmt.Errorf("retry spec: %v", err)
	}
	if d.More() {
		return nil, errors.New("retry spec: trailing data")
	}
	maxMS := MaxRetryWait.Milliseconds()
	switch {
	case w.Count < 1 || w.Count > MaxRetryCount:
		return nil, fmt.Errorf("retry spec: count must be 1–%d", MaxRetryCount)
	case w.IntervalMS < 0 || w.IntervalMS > maxMS, w.MaxIntervalMS < 0 || w.MaxIntervalMS > maxMS, w.DeltaMS < 0 || w.DeltaMS > maxMS:
		return nil, fmt.Errorf("retry spec: waits must be 0–%d ms", maxMS)
	case len(w.Statuses) == 0 && len(w.Classes) == 0 && !w.OnError:
		return nil, errors.New("retry spec: nothing to retry on")
	case len(w.Statuses) > 64:
		return nil, errors.New("retry spec: too many statuses")
	}
	for _, s := range w.Statuses {
		if s < 100 || s > 599 {
			return nil, fmt.Errorf("retry spec: status %d out of range", s)
		}
	}
	for _, c := range w.Classes {
		if c < 1 || c > 5 {
			return nil, fmt.Errorf("retry spec: class %d out of range", c)
		}
	}
	return &Retry{
		Count: w.Count, Interval: time.Duration(w.IntervalMS) * time.Millisecond,
		MaxInterval: time.Duration(w.MaxIntervalMS) * time.Millisecond, Delta: time.Duration(w.DeltaMS) * time.Millisecond,
		FirstFast: w.FirstFast, Statuses: w.Statuses, Classes: w.Classes,
		NonIdempotent: w.NonIdempotent, OnError: w.OnError,
	}, nil
}

// Encode returns the canonical encoding of r (what get_field answers).
func (r *Retry) Encode() []byte {
	b, _ := json.Marshal(wire{
		Count: r.Count, IntervalMS: r.Interval.Milliseconds(), MaxIntervalMS: r.MaxInterval.Milliseconds(),
		DeltaMS: r.Delta.Milliseconds(), FirstFast: r.FirstFast, Statuses: r.Statuses, Classes: r.Classes,
		NonIdempotent: r.NonIdempotent, OnError: r.OnError,
	})
	return b
}

// Retryable reports whether a response with this status is retried.
func (r *Retry) Retryable(status int) bool {
	for _, s := range r.Statuses {
		if s == status {
			return true
		}
	}
	for _, c := range r.Classes {
		if status/100 == c {
			return true
		}
	}
	return false
}

// Applies reports whether requests with this method are retried at all:
// idempotent methods (GET, HEAD, OPTIONS, PUT, DELETE, TRACE) always,
// others only with NonIdempotent.
func (r *Retry) Applies(method string) bool {
	return r.NonIdempotent || Idempotent(method)
}

// Idempotent reports whether method is idempotent (RFC 9110 §9.2.2).
func Idempotent(method string) bool {
	switch method {
	case "GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE":
		return true
	}
	return false
}

// Wait is the wait before retry n (1 for the first retry), as in Azure API
// Management: the interval alone gives fixed waits; with delta, linear
// waits interval + (n-1)·delta; with delta and max interval, exponential
// waits interval + (2^(n-1) − 1)·random(0.8·delta, 1.2·delta), capped at
// the max interval. With FirstFast the first retry does not wait.
func (r *Retry) Wait(n int) time.Duration {
	if n == 1 && r.FirstFast {
		return 0
	}
	if r.FirstFast {
		n-- // the waits start after the fast retry
	}
	w := r.Interval
	switch {
	case r.Delta > 0 && r.MaxInterval > 0:
		k := n - 1
		if k > 30 {
			k = 30
		}
		f := 0.8 + 0.4*rand.Float64()
		w += time.Duration(float64(int64(1)<<k-1) * f * float64(r.Delta))
		if w > r.MaxInterval || w < 0 {
			w = r.MaxInterval
		}
	case r.Delta > 0:
		w += time.Duration(n-1) * r.Delta
	}
	if w > MaxRetryWait {
		w = MaxRetryWait
	}
	return w
}

// ParseTimeout decodes a timeout field value: decimal milliseconds,
// 1 ms–600 s.
func ParseTimeout(b []byte) (time.Duration, error) {
	if len(b) == 0 || len(b) > 9 {
		return 0, errors.New("timeout: 1–600000 ms")
	}
	ms, err := strconv.Atoi(string(b))
	if err != nil || ms < 1 || time.Duration(ms)*time.Millisecond > MaxTimeout {
		return 0, errors.New("timeout: 1–600000 ms")
	}
	return time.Duration(ms) * time.Millisecond, nil
}
