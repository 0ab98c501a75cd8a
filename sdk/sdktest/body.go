package sdktest

import (
	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/abi/hostcall"
)

// BodyConvert is body_convert (abi/body.go): the gateway's rules and
// converters (abi/hostcall, abi/bodyconv).
func (x *exchange) BodyConvert(ctx uint32, kind, conversion, flags, max int32, buf []byte) int32 {
	x.check(ctx)
	if kind == abi.KindRequest && x.ex.Phase == hostcall.PhaseRequest {
		x.bodyRead = true
	}
	return x.hc.BodyConvert(x.env(), &x.ex, kind, conversion, flags, max, buf)
}
