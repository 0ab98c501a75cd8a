package engine

import "github.com/gatehouse/gatehouse/abi"

// The response cache's outcome for a request (ABI v1.2 FieldCacheStatus):
// the guest reports it; the host believes a served-from-cache outcome only
// when a cache_get of this request found an entry.

// CacheStatus is what the response cache did for the request, as the host
// counts it: "" (no cache policy ran), or one of abi.CacheStatus*. A guest
// that reports hit, stale or revalidated without any cache_get hit in this
// request is counted as a miss: neither a backend's X-Cache header nor a
// policy's word alone makes a gateway cache hit.
func (x *Exchange) CacheStatus() string {
	switch x.cacheStatus {
	case abi.CacheStatusHit, abi.CacheStatusStale, abi.CacheStatusRevalidated:
		if !x.cacheGetHit {
			return abi.CacheStatusMiss
		}
	}
	return x.cacheStatus
}

// CacheServed reports whether the response sent came from the response
// cache (hit, stale or revalidated, backed by a cache_get hit).
func (x *Exchange) CacheServed() bool {
	switch x.CacheStatus() {
	case abi.CacheStatusHit, abi.CacheStatusStale, abi.CacheStatusRevalidated:
		return true
	}
	return false
}

// setCacheStatus is set_field FieldCacheStatus: one of the known values.
func (x *Exchange) setCacheStatus(v []byte) int32 {
	switch s := string(v); s {
	case abi.CacheStatusHit, abi.CacheStatusMiss, abi.CacheStatusStale, abi.CacheStatusRevalidated, abi.CacheStatusBypass:
		x.cacheStatus = s
		return abi.OK
	}
	return abi.ErrInvalid
}
