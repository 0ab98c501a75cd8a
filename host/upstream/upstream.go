// Package upstream keeps the host's names for the backend-call rules, which
// live in abi/upstream so that the host functions (abi/hostcall) and the
// SDK's emulator share them without importing host packages.
package upstream

import (
	"time"

	"github.com/gatehouse/gatehouse/abi/upstream"
)

// MaxURLLen caps a backend URL a policy may set.
const MaxURLLen = upstream.MaxURLLen

// Limits of a retry spec.
const (
	MaxRetryCount = upstream.MaxRetryCount
	MaxRetryWait  = upstream.MaxRetryWait
	MaxTimeout    = upstream.MaxTimeout
)

// Retry is a parsed retry spec (abi/upstream.Retry).
type Retry = upstream.Retry

// ParseRetry decodes and checks a retry spec.
func ParseRetry(b []byte) (*Retry, error) { return upstream.ParseRetry(b) }

// ParseTimeout decodes a timeout field value.
func ParseTimeout(b []byte) (time.Duration, error) { return upstream.ParseTimeout(b) }

// Idempotent reports whether a method is retried without non_idempotent.
func Idempotent(method string) bool { return upstream.Idempotent(method) }
