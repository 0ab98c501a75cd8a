package canon

import (
	"net/url"
	"strings"
)

// QueryValue returns the first value of a query parameter (unescaped) in a
// raw query; ok is false when it is absent or empty.
func QueryValue(rawQuery, name string) (value string, ok bool) {
	for q := rawQuery; q != ""; {
		var part string
		part, q, _ = strings.Cut(q, "&")
		k, v, _ := strings.Cut(part, "=")
		if uk, err := url.QueryUnescape(k); err != nil || uk != name {
			continue
		}
		uv, err := url.QueryUnescape(v)
		if err != nil {
			return "", false
		}
		return uv, uv != ""
	}
	return "", false
}

// RemoveQueryParam drops every occurrence of a parameter from a raw query,
// keeping the rest byte for byte (no re-encoding, no reordering).
func RemoveQueryParam(rawQuery, name string) string {
	var b strings.Builder
	for q := rawQuery; q != ""; {
		var part string
		part, q, _ = strings.Cut(q, "&")
		k, _, _ := strings.Cut(part, "=")
		if uk, err := url.QueryUnescape(k); err == nil && uk == name {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(part)
	}
	return b.String()
}
