package engine

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/gatehouse/gatehouse/abi"
)

// The wazero adapter of the host functions: each one resolves its ctx handle
// and its (ptr, len) pairs in guest memory — trapping on misuse — and calls
// the semantics layer (abi/hostcall), which holds every rule. The adapter
// files follow ABI.md §5's capability groups (wasm_*.go).

// Trap is the panic value host functions use for guest misuse; wazero turns
// it into an error from the call, and the instance is discarded.
type Trap struct{ Reason string }

func (t Trap) Error() string { return "gatehouse: guest misuse: " + t.Reason }

func trap(format string, a ...any) { panic(Trap{fmt.Sprintf(format, a...)}) }

func u32(v uint64) uint32         { return uint32(v) }
func i32(v uint64) int32          { return int32(uint32(v)) }
func ret(stack []uint64, v int32) { stack[0] = uint64(uint32(v)) }

// call resolves the ctx handle to the instance serving it; any mismatch traps.
func (e *Engine) call(mod api.Module, h uint32) (*instance, *Exchange) {
	inst := e.slot(h & 0xfffff)
	if h == 0 || inst == nil || inst.handle != h || inst.mod != mod || inst.ex == nil {
		trap("invalid context handle %#x", h)
	}
	return inst, inst.ex
}

// read returns guest memory [ptr, ptr+n) or traps.
func read(mod api.Module, ptr, n uint32) []byte {
	b, ok := mod.Memory().Read(ptr, n)
	if !ok {
		trap("out of range memory access: ptr=%d len=%d (memory %d bytes)", ptr, n, mod.Memory().Size())
	}
	return b
}

// The instance is the semantics layer's Env: what the calling module sees.

// Plan implements hostcall.Env.
func (inst *instance) Plan(id uint32) ([]byte, bool) {
	p := inst.m.plan(id)
	if p == nil {
		return nil, false
	}
	return p.enc, true
}

// Attachment implements hostcall.Env: only the module's own attachments.
func (inst *instance) Attachment(id uint32) (string, []byte, bool) {
	a := inst.m.attachment(id)
	if a == nil {
		return "", nil, false
	}
	return a.Policy, a.Config, true
}

// StoredKey implements hostcall.Env: the module's namespace (ABI.md §10).
func (inst *instance) StoredKey(key []byte) (string, bool) { return inst.storedKey(key) }

// Log implements hostcall.Env: the guest's log line, rate-limited per module.
func (inst *instance) Log(ex *Exchange, level int32, msg []byte) {
	var l slog.Level
	switch level {
	case abi.LogDebug:
		l = slog.LevelDebug
	case abi.LogInfo:
		l = slog.LevelInfo
	case abi.LogWarn:
		l = slog.LevelWarn
	default:
		l = slog.LevelError
	}
	if inst.m.e.log.Enabled(context.Background(), l) {
		inst.m.log.line(l, "log", string(msg), ex.RequestID)
	}
}

// BackendRefused implements hostcall.Env.
func (inst *instance) BackendRefused(ex *Exchange, err error) {
	inst.m.e.log.Warn("policy backend URL refused", "request_id", ex.RequestID, "api", ex.API, "err", err)
}

func (e *Engine) instantiateHost(ctx context.Context, rt wazero.Runtime) error {
	b := rt.NewHostModuleBuilder(abi.HostModule)
	fns := map[string]api.GoModuleFunc{}
	for _, group := range []map[string]api.GoModuleFunc{
		e.httpFuncs(), e.bodyFuncs(), e.varsFuncs(), e.configFuncs(), e.miscFuncs(),
		e.counterFuncs(), e.cacheFuncs(), e.jwtFuncs(), e.subscriptionFuncs(), e.concurrencyFuncs(),
	} {
		for name, fn := range group {
			fns[name] = fn
		}
	}
	for _, hf := range abi.HostFuncs() {
		fn, ok := fns[hf.Name]
		if !ok {
			return fmt.Errorf("host function %s not implemented", hf.Name)
		}
		params := make([]api.ValueType, len(hf.Sig.Params))
		for i, t := range hf.Sig.Params {
			params[i] = api.ValueType(t)
		}
		results := make([]api.ValueType, len(hf.Sig.Results))
		for i, t := range hf.Sig.Results {
			results[i] = api.ValueType(t)
		}
		b = b.NewFunctionBuilder().WithGoModuleFunction(fn, params, results).Export(hf.Name)
	}
	_, err := b.Instantiate(ctx)
	return err
}
