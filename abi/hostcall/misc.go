package hostcall

import (
	"io"

	"github.com/gatehouse/gatehouse/abi"
)

// Capabilities log, clock and random (ABI.md §5 "log, clock, random").

// Log is log: the message capped at abi.MaxLogMessage bytes.
func (h *Host) Log(env Env, x *Exchange, level int32, msg []byte) int32 {
	if len(msg) > abi.MaxLogMessage {
		msg = msg[:abi.MaxLogMessage]
	}
	if level < abi.LogDebug || level > abi.LogError {
		return abi.ErrInvalid
	}
	env.Log(x, level, msg)
	return abi.OK
}

// Now is now: the real clock, Unix nanoseconds.
func (h *Host) Now() int64 { return h.svc().now().UnixNano() }

// Random is random: len(buf) crypto-random bytes, at most abi.MaxRandom.
func (h *Host) Random(buf []byte) int32 {
	if len(buf) > abi.MaxRandom {
		return abi.ErrInvalid
	}
	if _, err := io.ReadFull(h.svc().rand(), buf); err != nil {
		return abi.ErrUnavail
	}
	return abi.OK
}
