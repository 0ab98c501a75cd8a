package engine

import (
	"context"

	"github.com/tetratelabs/wazero/api"

	"github.com/gatehouse/gatehouse/abi"
)

// Capabilities vars and config (ABI.md §5 "vars", "config").
func (e *Engine) varsFuncs() map[string]api.GoModuleFunc {
	hc := e.hc
	return map[string]api.GoModuleFunc{
		abi.FnGetVar: func(_ context.Context, mod api.Module, s []uint64) {
			inst, ex := e.call(mod, u32(s[0]))
			name := read(mod, u32(s[1]), u32(s[2]))
			buf := read(mod, u32(s[3]), u32(s[4]))
			ret(s, hc.GetVar(inst, ex, name, buf))
		},
		abi.FnSetVar: func(_ context.Context, mod api.Module, s []uint64) {
			inst, ex := e.call(mod, u32(s[0]))
			name := read(mod, u32(s[1]), u32(s[2]))
			val := read(mod, u32(s[3]), u32(s[4]))
			ret(s, hc.SetVar(inst, ex, name, val))
		},
	}
}

func (e *Engine) configFuncs() map[string]api.GoModuleFunc {
	hc := e.hc
	return map[string]api.GoModuleFunc{
		abi.FnGetPlan: func(_ context.Context, mod api.Module, s []uint64) {
			inst, ex := e.call(mod, u32(s[0]))
			buf := read(mod, u32(s[2]), u32(s[3]))
			ret(s, hc.GetPlan(inst, ex, u32(s[1]), buf))
		},
		abi.FnGetAttachment: func(_ context.Context, mod api.Module, s []uint64) {
			inst, ex := e.call(mod, u32(s[0]))
			buf := read(mod, u32(s[3]), u32(s[4]))
			ret(s, hc.GetAttachment(inst, ex, u32(s[1]), i32(s[2]), buf))
		},
	}
}
