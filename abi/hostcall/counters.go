package hostcall

import (
	"encoding/binary"
	"time"

	"github.com/gatehouse/gatehouse/abi"
)

// Capability counters (ABI.md §5 "counters").

// CounterAdd is counter_add; out receives count and reset time (also on
// ErrLimit).
func (h *Host) CounterAdd(env Env, x *Exchange, key []byte, delta, limit, windowMs int64, mode int32, o *[abi.CounterOutSize]byte) int32 {
	c := h.svc().Counters
	if c == nil {
		return abi.ErrUnavail
	}
	k, kok := env.StoredKey(key)
	if !kok || windowMs <= 0 || windowMs > abi.MaxCounterWindowMs || delta < 0 {
		return abi.ErrInvalid
	}
	count, reset, ok, err := c.Add(k, delta, limit, time.Duration(windowMs)*time.Millisecond, mode, h.svc().now())
	if err != nil {
		return abi.ErrInvalid
	}
	binary.LittleEndian.PutUint64(o[0:], uint64(count))
	binary.LittleEndian.PutUint64(o[8:], uint64(reset.UnixMilli()))
	if !ok {
		return abi.ErrLimit
	}
	return abi.OK
}
