package hostcall

import "github.com/gatehouse/gatehouse/abi"

// Capability body (ABI.md §5 "body").

func (x *Exchange) outputCap() int {
	if x.OutputCap == 0 {
		return abi.DefaultMaxOutput
	}
	return x.OutputCap
}

// GetBody is get_body. It never reads a socket: a body the host did not
// receive before the call answers ErrUnavail.
func (h *Host) GetBody(env Env, x *Exchange, kind int32, buf []byte) int32 {
	var b *Body
	switch kind {
	case abi.KindRequest:
		b = &x.ReqBody
		if x.Phase == PhaseResponse && !b.Buffered() {
			return abi.ErrPhase // streamed to the backend already
		}
	case abi.KindResponse:
		if x.Phase != PhaseResponse {
			return abi.ErrPhase
		}
		b = &x.RespBody
	default:
		return abi.ErrInvalid
	}
	data, ok, notReceived := b.inMemory()
	if notReceived {
		return abi.ErrUnavail
	}
	if !ok || (x.BodyCap > 0 && len(data) > x.BodyCap) {
		return abi.ErrTooLarge
	}
	return out(buf, data)
}

// SetBody is set_body.
func (h *Host) SetBody(env Env, x *Exchange, kind int32, data []byte) int32 {
	limit := x.outputCap()
	switch {
	case kind == abi.KindRequest && x.Phase != PhaseResponse:
		if len(data) > limit {
			return abi.ErrTooLarge
		}
		x.ReqBody.set(data)
	case kind == abi.KindResponse && x.Phase == PhaseResponse:
		if len(data) > limit {
			return abi.ErrTooLarge
		}
		x.RespBody.set(data)
	case kind == abi.KindRequest || kind == abi.KindResponse:
		return abi.ErrPhase
	default:
		return abi.ErrInvalid
	}
	return abi.OK
}
