package engine

import (
	"context"

	"github.com/tetratelabs/wazero/api"

	"github.com/gatehouse/gatehouse/abi"
)

// Capability body (ABI.md §5 "body").
func (e *Engine) bodyFuncs() map[string]api.GoModuleFunc {
	hc := e.hc
	return map[string]api.GoModuleFunc{
		abi.FnGetBody: func(_ context.Context, mod api.Module, s []uint64) {
			inst, ex := e.call(mod, u32(s[0]))
			buf := read(mod, u32(s[2]), u32(s[3]))
			ret(s, hc.GetBody(inst, ex, i32(s[1]), buf))
		},
		abi.FnSetBody: func(_ context.Context, mod api.Module, s []uint64) {
			inst, ex := e.call(mod, u32(s[0]))
			data := read(mod, u32(s[2]), u32(s[3]))
			ret(s, hc.SetBody(inst, ex, i32(s[1]), data))
		},
	}
}
