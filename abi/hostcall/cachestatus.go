package hostcall

import "github.com/gatehouse/gatehouse/abi"

// CacheStatus is what the host counts for the request's response cache
// outcome (ABI v1.2, FieldCacheStatus): the value the guest set, except
// that a reported hit, stale or revalidated answer without a cache_get of
// this request that found a stored response is counted as a miss: neither a
// backend's X-Cache header nor a guest's word alone makes a gateway hit.
// "" when no policy reported anything.
func (x *Exchange) CacheStatus() string {
	switch x.cacheStatus {
	case abi.CacheStatusHit, abi.CacheStatusStale, abi.CacheStatusRevalidated:
		if !x.cacheGetHit {
			return abi.CacheStatusMiss
		}
	}
	return x.cacheStatus
}

// CacheServed reports whether the response came from the gateway's cache
// (hit, stale or revalidated, backed by a cache_get of this request).
func (x *Exchange) CacheServed() bool {
	switch x.CacheStatus() {
	case abi.CacheStatusHit, abi.CacheStatusStale, abi.CacheStatusRevalidated:
		return true
	}
	return false
}

func (x *Exchange) setCacheStatus(v []byte) int32 {
	switch s := string(v); s {
	case abi.CacheStatusHit, abi.CacheStatusMiss, abi.CacheStatusStale, abi.CacheStatusRevalidated, abi.CacheStatusBypass:
		x.cacheStatus = s
		return abi.OK
	}
	return abi.ErrInvalid
}
