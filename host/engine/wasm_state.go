package engine

import (
	"context"

	"github.com/tetratelabs/wazero/api"

	"github.com/gatehouse/gatehouse/abi"
)

// Capabilities counters, cache (and fill leases), jwt, subscription and
// concurrency (ABI.md §5): the node-wide services, keys namespaced per
// module by the instance (StoredKey).

func (e *Engine) counterFuncs() map[string]api.GoModuleFunc {
	hc := e.hc
	return map[string]api.GoModuleFunc{
		abi.FnCounterAdd: func(_ context.Context, mod api.Module, s []uint64) {
			inst, ex := e.call(mod, u32(s[0]))
			key := read(mod, u32(s[1]), u32(s[2]))
			o := (*[abi.CounterOutSize]byte)(read(mod, u32(s[7]), abi.CounterOutSize))
			ret(s, hc.CounterAdd(inst, ex, key, int64(s[3]), int64(s[4]), int64(s[5]), i32(s[6]), o))
		},
	}
}

func (e *Engine) cacheFuncs() map[string]api.GoModuleFunc {
	hc := e.hc
	return map[string]api.GoModuleFunc{
		abi.FnCacheGet: func(_ context.Context, mod api.Module, s []uint64) {
			inst, ex := e.call(mod, u32(s[0]))
			key := read(mod, u32(s[1]), u32(s[2]))
			buf := read(mod, u32(s[3]), u32(s[4]))
			ret(s, hc.CacheGet(inst, ex, key, buf))
		},
		abi.FnCacheSet: func(_ context.Context, mod api.Module, s []uint64) {
			inst, ex := e.call(mod, u32(s[0]))
			key := read(mod, u32(s[1]), u32(s[2]))
			val := read(mod, u32(s[3]), u32(s[4]))
			ret(s, hc.CacheSet(inst, ex, key, val, int64(s[5])))
		},
		abi.FnCacheDel: func(_ context.Context, mod api.Module, s []uint64) {
			inst, ex := e.call(mod, u32(s[0]))
			ret(s, hc.CacheDel(inst, ex, read(mod, u32(s[1]), u32(s[2]))))
		},
		abi.FnCacheFillLease: func(_ context.Context, mod api.Module, s []uint64) {
			inst, ex := e.call(mod, u32(s[0]))
			key := read(mod, u32(s[1]), u32(s[2]))
			ret(s, hc.CacheFillLease(inst, ex, key, int64(s[3])))
		},
	}
}

func (e *Engine) jwtFuncs() map[string]api.GoModuleFunc {
	hc := e.hc
	return map[string]api.GoModuleFunc{
		abi.FnJWTVerify: func(_ context.Context, mod api.Module, s []uint64) {
			inst, ex := e.call(mod, u32(s[0]))
			tok := read(mod, u32(s[1]), u32(s[2]))
			cfg := read(mod, u32(s[3]), u32(s[4]))
			buf := read(mod, u32(s[5]), u32(s[6]))
			ret(s, hc.JWTVerify(inst, ex, tok, cfg, buf))
		},
	}
}

func (e *Engine) subscriptionFuncs() map[string]api.GoModuleFunc {
	hc := e.hc
	return map[string]api.GoModuleFunc{
		abi.FnSubscriptionLookup: func(_ context.Context, mod api.Module, s []uint64) {
			inst, ex := e.call(mod, u32(s[0]))
			key := read(mod, u32(s[1]), u32(s[2]))
			buf := read(mod, u32(s[3]), u32(s[4]))
			ret(s, hc.SubscriptionLookup(inst, ex, key, buf))
		},
		abi.FnSubscriptionCheck: func(_ context.Context, mod api.Module, s []uint64) {
			inst, ex := e.call(mod, u32(s[0]))
			name := read(mod, u32(s[1]), u32(s[2]))
			q := read(mod, u32(s[3]), u32(s[4]))
			ret(s, hc.SubscriptionCheck(inst, ex, name, q, i32(s[5])))
		},
	}
}

func (e *Engine) concurrencyFuncs() map[string]api.GoModuleFunc {
	hc := e.hc
	return map[string]api.GoModuleFunc{
		abi.FnConcurrencyAcquire: func(_ context.Context, mod api.Module, s []uint64) {
			inst, ex := e.call(mod, u32(s[0]))
			key := read(mod, u32(s[1]), u32(s[2]))
			ret(s, hc.ConcurrencyAcquire(inst, ex, key, int64(s[3])))
		},
	}
}
