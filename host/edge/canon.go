package edge

import "github.com/gatehouse/gatehouse/abi/canon"

// The path and query rules live in abi/canon, shared with the host
// functions (abi/hostcall) and the SDK's emulator; these names keep the
// edge's API.

// ErrBadPath is the sentinel wrapped by every error CanonicalPath returns.
var ErrBadPath = canon.ErrBadPath

// CanonicalPath is canon.CanonicalPath: the one decoded, normalized path the
// gateway uses for routing, policies, cache keys and forwarding.
func CanonicalPath(escaped string) (string, error) { return canon.CanonicalPath(escaped) }

// EscapePath is canon.EscapePath.
func EscapePath(canonical string) string { return canon.EscapePath(canonical) }

// QueryValue is canon.QueryValue.
func QueryValue(rawQuery, name string) (string, bool) { return canon.QueryValue(rawQuery, name) }

// RemoveQueryParam is canon.RemoveQueryParam.
func RemoveQueryParam(rawQuery, name string) string { return canon.RemoveQueryParam(rawQuery, name) }
