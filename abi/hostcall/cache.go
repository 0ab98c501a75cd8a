package hostcall

import (
	"time"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/abi/respcache"
)

// Capability cache (ABI.md §5 "cache", "cache fill leases").

// CacheGet is cache_get. A hit under a response-cache variant key
// (abi/respcache) is what backs a reported cache hit (FieldCacheStatus).
func (h *Host) CacheGet(env Env, x *Exchange, key, buf []byte) int32 {
	c := h.svc().Cache
	if c == nil {
		return abi.ErrUnavail
	}
	k, kok := env.StoredKey(key)
	if !kok {
		return abi.ErrNotFound // an empty or over-long key was never stored
	}
	v, ok := c.Get(k, h.svc().now())
	if !ok {
		return abi.ErrNotFound
	}
	if respcache.IsVariant(key) {
		x.cacheGetHit = true
	}
	return out(buf, v)
}

// CacheSet is cache_set. Storing a key whose fill lease the request holds
// ends that lease (the waiters find the entry).
func (h *Host) CacheSet(env Env, x *Exchange, key, val []byte, ttlMs int64) int32 {
	c := h.svc().Cache
	if c == nil {
		return abi.ErrUnavail
	}
	k, kok := env.StoredKey(key)
	if !kok || ttlMs <= 0 || ttlMs > abi.MaxCacheTTLMs {
		return abi.ErrInvalid
	}
	if err := c.Set(k, val, time.Duration(ttlMs)*time.Millisecond, h.svc().now()); err != nil {
		return abi.ErrTooLarge
	}
	if len(x.leases) > 0 {
		x.releaseLease(k)
	}
	return abi.OK
}

// CacheDel is cache_del.
func (h *Host) CacheDel(env Env, x *Exchange, key []byte) int32 {
	c := h.svc().Cache
	if c == nil {
		return abi.ErrUnavail
	}
	k, kok := env.StoredKey(key)
	if !kok {
		return abi.OK // nothing can be stored under it
	}
	c.Delete(k)
	return abi.OK
}

// CacheFillLease is cache_fill_lease (ABI v1.1): the key's fill lease, held
// by the exchange until the call ends or it stores the key; when another
// call holds it, the exchange records a fill wait for the gateway.
func (h *Host) CacheFillLease(env Env, x *Exchange, key []byte, waitMs int64) int32 {
	t := h.svc().Leases
	if t == nil || h.svc().Cache == nil {
		return abi.ErrUnavail
	}
	k, kok := env.StoredKey(key)
	if !kok || waitMs < 0 || waitMs > abi.MaxFillLeaseWait {
		return abi.ErrInvalid
	}
	if x.Phase != PhaseRequest {
		return abi.ErrPhase
	}
	if x.holdsLease(k) {
		return abi.OK
	}
	if b := h.Budgets.HeldLeases; len(x.leases) >= b {
		return refuse(env, x, budgetLeases, abi.FnCacheFillLease, len(x.leases), b)
	}
	l, ok := t.Acquire(k, h.svc().now())
	switch {
	case ok:
		x.holdLease(t, l)
		return abi.OK
	case l == nil: // the table is full: go on without a lease
		return abi.ErrUnavail
	case x.fillWaited:
		// This request already waited for a fill (this is the re-run): it
		// goes to the backend without a lease, never waits twice.
		return abi.ErrUnavail
	}
	if waitMs > 0 && x.fillWait == nil {
		x.fillWait, x.fillWaitD = l.Done(), time.Duration(waitMs)*time.Millisecond
	}
	return abi.ErrLimit
}
