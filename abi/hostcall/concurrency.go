package hostcall

import "github.com/gatehouse/gatehouse/abi"

// Capability concurrency (ABI.md §5 "concurrency", ABI v1.1).

// ConcurrencyAcquire is concurrency_acquire: one slot of the key's
// semaphore, held by the exchange until the call ends (ReleaseHeld).
func (h *Host) ConcurrencyAcquire(env Env, x *Exchange, key []byte, limit int64) int32 {
	sem := h.svc().Semaphores
	if sem == nil {
		return abi.ErrUnavail
	}
	k, kok := env.StoredKey(key)
	if !kok || len(key) > abi.MaxConcurrencyKey || limit < 1 {
		return abi.ErrInvalid
	}
	if b := h.Budgets.HeldSlots; len(x.held) >= b {
		return refuse(env, x, budgetSlots, abi.FnConcurrencyAcquire, len(x.held), b)
	}
	if !sem.Acquire(k, limit) {
		return abi.ErrLimit
	}
	x.hold(sem, k)
	return abi.OK
}
