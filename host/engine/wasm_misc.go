package engine

import (
	"context"

	"github.com/tetratelabs/wazero/api"

	"github.com/gatehouse/gatehouse/abi"
)

// Capabilities log, clock and random (ABI.md §5 "log, clock, random").
func (e *Engine) miscFuncs() map[string]api.GoModuleFunc {
	hc := e.hc
	return map[string]api.GoModuleFunc{
		abi.FnLog: func(_ context.Context, mod api.Module, s []uint64) {
			inst, ex := e.call(mod, u32(s[0]))
			msg := read(mod, u32(s[2]), u32(s[3]))
			ret(s, hc.Log(inst, ex, i32(s[1]), msg))
		},
		abi.FnNow: func(_ context.Context, _ api.Module, s []uint64) {
			s[0] = uint64(hc.Now())
		},
		abi.FnRandom: func(_ context.Context, mod api.Module, s []uint64) {
			ret(s, hc.Random(read(mod, u32(s[0]), u32(s[1]))))
		},
	}
}
