package hostcall

import (
	"sync"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/abi/bodyconv"
)

// convertBufs holds the output buffers of body_convert between calls (the
// result is copied into the body).
var convertBufs = sync.Pool{New: func() any { return new([]byte) }}

// BodyConvert is body_convert (ABI v1.2, abi/body.go): the body of kind
// converted by the host's converter (abi/bodyconv) and replaced, under the
// rules of get_body (received, within the attachment's body cap) and
// set_body (the phase, the output cap). It never reads a socket.
func (h *Host) BodyConvert(env Env, x *Exchange, kind, conversion, flags, max int32, buf []byte) int32 {
	var b *Body
	switch {
	case kind == abi.KindRequest && x.Phase != PhaseResponse:
		b = &x.ReqBody
	case kind == abi.KindResponse && x.Phase == PhaseResponse:
		b = &x.RespBody
	case kind == abi.KindRequest || kind == abi.KindResponse:
		return abi.ErrPhase
	default:
		return abi.ErrInvalid
	}
	data, ok, notReceived := b.inMemory()
	if notReceived {
		return abi.ErrUnavail // as get_body: never read a socket in a guest call
	}
	if !ok || (x.BodyCap > 0 && len(data) > x.BodyCap) {
		return abi.ErrTooLarge
	}
	p := convertBufs.Get().(*[]byte)
	res, st, msg := bodyconv.Run((*p)[:0], data, conversion, flags, int(max), min(int(max), x.outputCap()))
	switch st {
	case abi.OK:
		b.set(res)
	case 1:
		st = outString(buf, msg)
	}
	if cap(res) <= 256<<10 {
		*p = res[:0]
		convertBufs.Put(p)
	}
	return st
}
