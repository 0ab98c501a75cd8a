package sdk

import (
	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/sdk/internal/imports"
)

// SetCacheStatus reports what the response cache did for this request (ABI
// v1.2, field 20): one of abi.CacheStatusHit, CacheStatusMiss,
// CacheStatusStale, CacheStatusRevalidated, CacheStatusBypass. Allowed in
// any phase; the last report wins. The host counts it per API in its
// metrics and request log, and counts a served-from-cache outcome only if a
// cache_get of this request found a response-cache entry.
func (c *Context) SetCacheStatus(status string) error {
	return errOf(imports.SetField(c.handle, abi.FieldCacheStatus, bytesOf(status)))
}

// CacheStatus returns what SetCacheStatus reported for this request, or "".
func (c *Context) CacheStatus() string { return c.field(abi.FieldCacheStatus) }
