package engine

import (
	"context"

	"github.com/tetratelabs/wazero/api"

	"github.com/gatehouse/gatehouse/abi"
)

// Capability http (ABI.md §5 "http", "backend", "cache status").
func (e *Engine) httpFuncs() map[string]api.GoModuleFunc {
	hc := e.hc
	return map[string]api.GoModuleFunc{
		abi.FnGetField: func(_ context.Context, mod api.Module, s []uint64) {
			inst, ex := e.call(mod, u32(s[0]))
			buf := read(mod, u32(s[2]), u32(s[3]))
			ret(s, hc.GetField(inst, ex, i32(s[1]), buf))
		},
		abi.FnSetField: func(_ context.Context, mod api.Module, s []uint64) {
			inst, ex := e.call(mod, u32(s[0]))
			val := read(mod, u32(s[2]), u32(s[3]))
			ret(s, hc.SetField(inst, ex, i32(s[1]), val))
		},
		abi.FnGetHeader: func(_ context.Context, mod api.Module, s []uint64) {
			inst, ex := e.call(mod, u32(s[0]))
			name := read(mod, u32(s[2]), u32(s[3]))
			buf := read(mod, u32(s[4]), u32(s[5]))
			ret(s, hc.GetHeader(inst, ex, i32(s[1]), name, buf))
		},
		abi.FnGetHeaders: func(_ context.Context, mod api.Module, s []uint64) {
			inst, ex := e.call(mod, u32(s[0]))
			buf := read(mod, u32(s[2]), u32(s[3]))
			ret(s, hc.GetHeaders(inst, ex, i32(s[1]), buf))
		},
		abi.FnSetHeader: e.setHeader(false),
		abi.FnAddHeader: e.setHeader(true),
		abi.FnDelHeader: func(_ context.Context, mod api.Module, s []uint64) {
			inst, ex := e.call(mod, u32(s[0]))
			name := read(mod, u32(s[2]), u32(s[3]))
			ret(s, hc.DelHeader(inst, ex, i32(s[1]), name))
		},
		abi.FnGetStatus: func(_ context.Context, mod api.Module, s []uint64) {
			inst, ex := e.call(mod, u32(s[0]))
			ret(s, hc.GetStatus(inst, ex))
		},
		abi.FnSetStatus: func(_ context.Context, mod api.Module, s []uint64) {
			inst, ex := e.call(mod, u32(s[0]))
			ret(s, hc.SetStatus(inst, ex, i32(s[1])))
		},
		abi.FnSendResponse: func(_ context.Context, mod api.Module, s []uint64) {
			inst, ex := e.call(mod, u32(s[0]))
			body := read(mod, u32(s[2]), u32(s[3]))
			ret(s, hc.SendResponse(inst, ex, i32(s[1]), body))
		},
		abi.FnGetParam: func(_ context.Context, mod api.Module, s []uint64) {
			inst, ex := e.call(mod, u32(s[0]))
			name := read(mod, u32(s[1]), u32(s[2]))
			buf := read(mod, u32(s[3]), u32(s[4]))
			ret(s, hc.GetParam(inst, ex, name, buf))
		},
	}
}

func (e *Engine) setHeader(add bool) api.GoModuleFunc {
	hc := e.hc
	return func(_ context.Context, mod api.Module, s []uint64) {
		inst, ex := e.call(mod, u32(s[0]))
		name := read(mod, u32(s[2]), u32(s[3]))
		val := read(mod, u32(s[4]), u32(s[5]))
		ret(s, hc.SetHeader(inst, ex, add, i32(s[1]), name, val))
	}
}
