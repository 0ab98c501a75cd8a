package edge

import "net/http"

// StripIdentityHeaders removes, in place, the request headers that only the
// gateway may set, so that a client cannot supply them itself:
//
//   - every name starting with "X-Forwarded-" (X-Forwarded-For, -Host,
//     -Proto, -Port, -Prefix, ...),
//   - "Forwarded" (RFC 7239), "X-Real-IP" and "X-Client-IP",
//   - every name starting with "X-Gatehouse-",
//   - every name in extra.
//
// Names are matched after lowercasing ASCII letters and replacing each '_'
// with '-', on both sides, so "X_Forwarded_For", "x-FORWARDED_for" and the
// key "X_forwarded_for" that net/http stores for an underscore name are all
// removed. The keys of h need not be in canonical form. X-Request-Id is
// deliberately kept.
//
// It does not allocate.
func StripIdentityHeaders(h http.Header, extra []string) {
	for k := range h {
		if isIdentityHeader(k, extra) {
			delete(h, k) // deleting during range is allowed
		}
	}
}

// isIdentityHeader reports whether name is one of the names
// StripIdentityHeaders removes.
func isIdentityHeader(name string, extra []string) bool {
	if hasPrefixNorm(name, "x-forwarded-") ||
		hasPrefixNorm(name, "x-gatehouse-") ||
		equalNorm(name, "forwarded") ||
		equalNorm(name, "x-real-ip") ||
		equalNorm(name, "x-client-ip") {
		return true
	}
	for _, e := range extra {
		if equalNorm(name, e) {
			return true
		}
	}
	return false
}

// normByte lowercases an ASCII letter and maps '_' to '-'. Only ASCII is
// folded: header names are tokens, which are ASCII, and folding Unicode
// (say, the Kelvin sign to 'k') would match names no HTTP peer treats alike.
func normByte(c byte) byte {
	switch {
	case 'A' <= c && c <= 'Z':
		return c + ('a' - 'A')
	case c == '_':
		return '-'
	}
	return c
}

// equalNorm reports whether a and b are equal after normByte on both.
func equalNorm(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if normByte(a[i]) != normByte(b[i]) {
			return false
		}
	}
	return true
}

// hasPrefixNorm reports whether s starts with prefix after normByte on
// both.
func hasPrefixNorm(s, prefix string) bool {
	return len(s) >= len(prefix) && equalNorm(s[:len(prefix)], prefix)
}
