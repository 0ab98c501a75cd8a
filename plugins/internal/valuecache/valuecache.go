// Package valuecache is what cache-lookup-value and cache-store-value share:
// the key under which a value lives in the host's value cache.
package valuecache

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/gatehouse/gatehouse/plugins/internal/template"
	"github.com/gatehouse/gatehouse/sdk"
)

// KeyPrefix starts every key of these policies in the shared value cache
// (distinct from the response cache's "gatehouse-response:").
const KeyPrefix = "gatehouse-value:"

// maxKey is the longest rendered key used as it is; longer ones are hashed
// (the host takes keys of at most 512 bytes).
const maxKey = 256

// MaxValue is the largest value stored: a variable holds at most 64 KiB.
const MaxValue = 64 << 10

// ParseKey parses the key template of field "key".
func ParseKey(s string) (*template.Template, error) {
	if s == "" {
		return nil, fmt.Errorf("key is required")
	}
	return template.Parse("key", s)
}

// AppendKey appends the cache key for the current request to dst: the
// prefix and the rendered template, or "#" and its SHA-256 when the
// rendering is longer than 256 bytes.
func AppendKey(dst []byte, t *template.Template, c *sdk.Context) []byte {
	dst = append(dst, KeyPrefix...)
	mark := len(dst)
	dst, _ = t.Render(dst, c, 0)
	if v := dst[mark:]; len(v) > maxKey {
		sum := sha256.Sum256(v)
		dst = hex.AppendEncode(append(dst[:mark], '#'), sum[:])
	}
	return dst
}
