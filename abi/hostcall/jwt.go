package hostcall

import (
	"context"

	"github.com/gatehouse/gatehouse/abi"
)

// Capability jwt (ABI.md §5 "jwt").

// JWTVerify is jwt_verify: the claims as JSON, or an ErrJWT* status.
func (h *Host) JWTVerify(env Env, x *Exchange, token, cfg, buf []byte) int32 {
	v := h.svc().JWT
	if v == nil {
		return abi.ErrUnavail
	}
	claims, st, err := v.Verify(x.context(), string(token), cfg)
	if err != nil || st < 0 {
		if st >= 0 {
			st = abi.ErrJWTSig
		}
		return st
	}
	return out(buf, claims)
}

func (x *Exchange) context() context.Context {
	if x.Ctx == nil {
		return context.Background()
	}
	return x.Ctx
}
