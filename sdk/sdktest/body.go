package sdktest

import (
	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/host/bodyconv"
)

// BodyConvert is body_convert (abi/body.go), with the host's converters.
func (x *exchange) BodyConvert(ctx uint32, kind, conversion, flags, max int32, buf []byte) int32 {
	x.check(ctx)
	if kind != abi.KindRequest && kind != abi.KindResponse {
		return abi.ErrInvalid
	}
	if (kind == abi.KindRequest) != x.inRequest() {
		return abi.ErrPhase
	}
	body := &x.body
	if kind == abi.KindResponse {
		body = &x.resp.body
	} else {
		x.bodyRead = true
	}
	if len(*body) > x.h.BodyLimit {
		x.tooLarge = true
		return abi.ErrTooLarge
	}
	res, st, msg := bodyconv.Run(nil, *body, conversion, flags, int(max), min(int(max), x.h.OutputLimit))
	switch st {
	case abi.OK:
		*body = res
	case 1:
		return out(buf, []byte(msg))
	}
	return st
}
