package engine

import (
	"context"
	"sync"

	"github.com/tetratelabs/wazero/api"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/host/bodyconv"
)

// convertBufs holds the output buffers of body_convert between calls.
var convertBufs = sync.Pool{New: func() any { return new([]byte) }}

// hBodyConvert is body_convert (abi/body.go): the body of kind converted by
// the host's converter (host/bodyconv) and replaced, under the same rules as
// get_body (received, within the attachment's body cap) and set_body (the
// phase, the output cap).
func (e *Engine) hBodyConvert(_ context.Context, mod api.Module, s []uint64) {
	_, ex := e.call(mod, u32(s[0]))
	kind, conversion, flags, max := i32(s[1]), i32(s[2]), i32(s[3]), int(i32(s[4]))
	buf, capacity := u32(s[5]), u32(s[6])
	read(mod, buf, capacity) // validates the buffer even when unused
	var b *Body
	switch {
	case kind == abi.KindRequest && ex.Phase != PhaseResponse:
		b = &ex.ReqBody
	case kind == abi.KindResponse && ex.Phase == PhaseResponse:
		b = &ex.RespBody
	case kind == abi.KindRequest || kind == abi.KindResponse:
		ret(s, abi.ErrPhase)
		return
	default:
		ret(s, abi.ErrInvalid)
		return
	}
	data, ok, notReceived := b.inMemory()
	if notReceived {
		ret(s, abi.ErrUnavail) // as get_body: never read a socket in a guest call
		return
	}
	if !ok || (ex.BodyCap > 0 && len(data) > ex.BodyCap) {
		ret(s, abi.ErrTooLarge)
		return
	}
	limit := ex.OutputCap
	if limit == 0 {
		limit = 1 << 20
	}
	p := convertBufs.Get().(*[]byte)
	res, st, msg := bodyconv.Run((*p)[:0], data, conversion, flags, max, min(max, limit))
	switch st {
	case abi.OK:
		b.set(res)
		ret(s, abi.OK)
	case 1:
		ret(s, out(mod, buf, capacity, []byte(msg)))
	default:
		ret(s, st)
	}
	if cap(res) <= 256<<10 {
		*p = res[:0]
		convertBufs.Put(p)
	}
}
