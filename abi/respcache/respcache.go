// Package respcache is the layout of the built-in response cache's keys in
// the host's value cache: what cache-lookup and cache-store (the guest)
// write, and what the host's purge (admin API, CLI) finds by API or URL.
// It imports only the standard library, like abi.
//
// Two kinds of key, both starting with Prefix:
//
//	URL record  Prefix + url + "\x00u"
//	variant     Prefix + url + "\x00v" + api + "\x00" + variant
//
// url is URLPart(host, path): the lower-cased Host the client sent (the
// host the API is served under) and the canonical original path, or "#"
// and the SHA-256 of both when long. api is APIPart(name). variant is what
// selects one stored response of that URL (query, the policy's vary_by_*
// values, the origin's Vary values), as it is when short (≤ 160 bytes), else "#" and its
// SHA-256. The URL record is per URL, whatever the API or variant: deleting
// it (an unsafe method's invalidation, a purge) makes every variant of the
// URL unreachable at once. A host may prefix keys with a namespace: Parse
// finds Prefix anywhere in a key.
package respcache

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Prefix starts every key of the response cache.
const Prefix = "gatehouse-response:"

// Limits of the raw (unhashed) parts, so that a key stays under the host's
// 512-byte limit with room for a namespace prefix.
const (
	maxRawURL     = 200
	maxRawAPI     = 64
	maxRawVariant = 160
	// MaxKey is the longest key AppendVariantKey builds (446 bytes).
	MaxKey = len(Prefix) + maxRawURL + 2 + maxRawAPI + 1 + maxRawVariant
)

// URLPart is the url part of a key: lower(host) + path, or "#" + hex
// SHA-256 of lower(host) NUL path when that is longer than 200 bytes or
// contains NUL.
func URLPart(host, path string) string {
	return string(AppendURLPart(nil, host, path))
}

// AppendURLPart appends URLPart(host, path) to dst.
func AppendURLPart(dst []byte, host, path string) []byte {
	mark := len(dst)
	for i := 0; i < len(host); i++ {
		c := host[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	hostEnd := len(dst)
	dst = append(dst, path...)
	raw := dst[mark:]
	if len(raw) <= maxRawURL && !hasNUL(raw) && (len(raw) == 0 || raw[0] != '#') {
		return dst
	}
	h := sha256.New()
	h.Write(dst[mark:hostEnd])
	h.Write([]byte{0})
	h.Write(dst[hostEnd:])
	var sum [sha256.Size]byte
	return hex.AppendEncode(append(dst[:mark], '#'), h.Sum(sum[:0]))
}

// APIPart is the api part of a key: the API's name, or "#" + hex SHA-256 of
// it when longer than 64 bytes or containing NUL or starting with "#".
func APIPart(api string) string {
	if len(api) <= maxRawAPI && !strings.Contains(api, "\x00") && !strings.HasPrefix(api, "#") {
		return api
	}
	sum := sha256.Sum256([]byte(api))
	return "#" + hex.EncodeToString(sum[:])
}

// AppendURLKey appends the URL record's key to dst.
func AppendURLKey(dst []byte, urlPart string) []byte {
	dst = append(dst, Prefix...)
	dst = append(dst, urlPart...)
	return append(dst, "\x00u"...)
}

// AppendVariantKey appends a variant's key to dst; variant is hashed when
// longer than 160 bytes.
func AppendVariantKey(dst []byte, urlPart, apiPart string, variant []byte) []byte {
	dst = append(dst, Prefix...)
	dst = append(dst, urlPart...)
	dst = append(dst, "\x00v"...)
	dst = append(dst, apiPart...)
	dst = append(dst, 0)
	if len(variant) <= maxRawVariant && (len(variant) == 0 || variant[0] != '#') {
		return append(dst, variant...)
	}
	sum := sha256.Sum256(variant)
	return hex.AppendEncode(append(dst, '#'), sum[:])
}

// Key is a parsed response-cache key.
type Key struct {
	URL     string // URLPart
	Variant bool   // a variant (else the URL record)
	API     string // APIPart; variants only
}

// Parse parses a key of the response cache, possibly behind a namespace
// prefix. ok is false for any other key.
func Parse(key string) (k Key, ok bool) {
	i := strings.Index(key, Prefix)
	if i < 0 {
		return Key{}, false
	}
	rest := key[i+len(Prefix):]
	j := strings.IndexByte(rest, 0)
	if j < 0 || j+1 >= len(rest) {
		return Key{}, false
	}
	k.URL = rest[:j]
	switch rest[j+1] {
	case 'u':
		if j+2 != len(rest) {
			return Key{}, false
		}
		return k, true
	case 'v':
		api, _, found := strings.Cut(rest[j+2:], "\x00")
		if !found {
			return Key{}, false
		}
		k.Variant, k.API = true, api
		return k, true
	}
	return Key{}, false
}

func hasNUL(b []byte) bool {
	for _, c := range b {
		if c == 0 {
			return true
		}
	}
	return false
}

// IsVariant reports whether key (possibly behind a namespace prefix) is a
// variant key of the response cache, without allocating: what the host
// checks on every cache_get hit.
func IsVariant(key []byte) bool {
	i := bytes.Index(key, prefixBytes)
	if i < 0 {
		return false
	}
	rest := key[i+len(Prefix):]
	j := bytes.IndexByte(rest, 0)
	return j >= 0 && j+1 < len(rest) && rest[j+1] == 'v' && bytes.IndexByte(rest[j+2:], 0) >= 0
}

var prefixBytes = []byte(Prefix)
