package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"log/slog"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/sys"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/abi/hostcall"
)

func abiMinor() int { return abi.Minor }

// instance is one guest instance. It serves one call at a time.
type instance struct {
	m      *Module
	mod    api.Module
	mem    *guestMemory // nil: wazero's own memory (linmem.go)
	onReq  api.Function
	onResp api.Function
	marker api.Function
	slot   uint32
	stack  [2]uint64

	// set for the length of a call; read by host functions on the same goroutine
	ex     *Exchange
	handle uint32
	seq    uint32

	cctx *callCtx // guarded modules only

	// keyBuf builds namespaced keys (storedKey); api is the API the
	// instance is borrowed for (pool accounting), "" when idle.
	keyBuf   []byte
	api      string
	borrowed bool
	keys     hostcall.Interner // storedKey's strings
}

func (m *Module) newInstance(ctx context.Context) (*instance, error) {
	cfg := wazero.NewModuleConfig().
		WithName(""). // anonymous: many instances of one module
		WithStartFunctions().
		WithStdout(m.log.writer("stdout")).
		WithStderr(m.log.writer("stderr"))
	if m.info.initialize {
		cfg = cfg.WithStartFunctions(abi.ExportInitialize)
	}
	// Instantiation runs _initialize: under the init deadline (guarded
	// modules are stopped at it; the trusted runtime has no loop checks).
	ictx, cancel := context.WithTimeout(ctx, m.e.opts.InitDeadline)
	alloc, mem := memoryAllocator(m.data)
	if alloc != nil {
		ictx = experimental.WithMemoryAllocator(ictx, alloc)
	}
	mod, err := m.rt.InstantiateModule(ictx, m.cm, cfg)
	cancel()
	if mem != nil {
		mem.m.leave() // unmaps it if instantiation failed and wazero freed it meanwhile
	}
	if err != nil {
		if g := mem.get(); g != nil {
			g.Free() // whether or not wazero did (idempotent)
		}
		return nil, m.initErr(err)
	}
	inst := &instance{m: m, mod: mod, mem: mem.get(),
		onReq:  mod.ExportedFunction(abi.ExportOnRequest),
		onResp: mod.ExportedFunction(abi.ExportOnResponse),
		marker: mod.ExportedFunction(abi.ExportVersion),
	}
	if !m.trusted {
		inst.cctx = newCallCtx()
	}
	inst.slot = m.e.allocSlot(inst)
	m.e.liveInstances.Add(1)
	m.e.stats.Instantiations.Add(1)
	return inst, nil
}

// initErr turns a start-up failure at the init deadline into an error that
// says so (wazero reports it as an exit with a deadline code).
func (m *Module) initErr(err error) error {
	var exit *sys.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == sys.ExitCodeDeadlineExceeded {
		return fmt.Errorf("%w: did not return within %v (init deadline); a module must not loop in _initialize or %s", ErrInitDeadline, m.e.opts.InitDeadline, abi.ExportVersion)
	}
	return err
}

func (inst *instance) close(ctx context.Context) {
	if inst.cctx != nil {
		inst.cctx.stop()
	}
	inst.m.e.freeSlot(inst.slot)
	_ = inst.mod.Close(ctx)
	// Unmapped here too: wazero skips freeing the resources of a module
	// its deadline watcher closed when the call then trapped (it frees
	// them only on a normal return). Free is idempotent, and deferred if
	// a call still runs; a call on a freed memory is refused (enter).
	if inst.mem != nil {
		inst.mem.Free()
	}
	inst.m.e.liveInstances.Add(-1)
}

func (inst *instance) abiMinor(ctx context.Context) (int32, error) {
	inst.stack[0] = 0
	ctx, cancel := context.WithTimeout(ctx, inst.m.e.opts.InitDeadline)
	defer cancel()
	if !inst.mem.enter() {
		return 0, errInstanceClosed
	}
	err := inst.marker.CallWithStack(ctx, inst.stack[:])
	inst.mem.leave()
	if err != nil {
		return 0, err
	}
	return int32(uint32(inst.stack[0])), nil
}

// handle packs the slot and a per-call sequence number so a stale or forged
// ctx is detected: low 20 bits slot, high 12 bits sequence (never 0).
func (inst *instance) nextHandle() uint32 {
	inst.seq = (inst.seq + 1) & 0xfff
	if inst.seq == 0 {
		inst.seq = 1
	}
	return inst.seq<<20 | inst.slot&0xfffff
}

// callFailed discards the instance of a call that returned an error and
// says why. (Apart from Call so that the successful path does not move the
// errors.As target to the heap: one allocation per call.)
func (m *Module) callFailed(inst *instance, callErr error, ran time.Duration) error {
	m.pool.discard(inst)
	var exit *sys.ExitError
	exited := errors.As(callErr, &exit)
	if exited && exit.ExitCode() == sys.ExitCodeDeadlineExceeded {
		m.e.stats.DeadlineKills.Add(1)
		return &CallError{Module: m.Name, Kind: ErrDeadline, Err: fmt.Errorf("after %v", ran.Round(time.Millisecond))}
	}
	m.e.stats.Traps.Add(1)
	if exited {
		callErr = fmt.Errorf("guest exited with code %d", exit.ExitCode())
	}
	return &CallError{Module: m.Name, Err: callErr}
}

// CallOptions are the per-attachment limits of one call.
type CallOptions struct {
	Deadline time.Duration // per call (50 ms)
	MaxPages uint32        // memory pages after the call (256)
	// MaxBody caps the body bytes get_body hands this attachment (0: the
	// API's body limit); a larger body answers ErrTooLarge.
	MaxBody int
	// MaxOutput caps bodies the attachment sets or answers with (1 MiB).
	MaxOutput int
	// QueueTimeout bounds the wait for an idle instance when all are busy
	// (1s). It is separate from Deadline, which starts when the guest does:
	// under CPU saturation, queueing is normal and must not count as the
	// guest's own time.
	QueueTimeout time.Duration
}

// CallError describes a failed call for logs and metrics. Its text is for
// the gateway log only, never for clients.
type CallError struct {
	Module string
	Kind   error // ErrDeadline, ErrMemoryLimit, ErrGuest, ErrNoInstance, or nil for a trap
	Result int32
	Err    error
}

func (e *CallError) Error() string {
	switch {
	case errors.Is(e.Kind, ErrGuest):
		return fmt.Sprintf("module %s: policy failed (result %d)", e.Module, e.Result)
	case e.Kind != nil && e.Err != nil:
		return fmt.Sprintf("module %s: %v: %v", e.Module, e.Kind, e.Err)
	case e.Kind != nil:
		return fmt.Sprintf("module %s: %v", e.Module, e.Kind)
	}
	return fmt.Sprintf("module %s: trap: %v", e.Module, e.Err)
}

func (e *CallError) Unwrap() error {
	if e.Kind != nil {
		return e.Kind
	}
	return e.Err
}

// IsTrap reports whether the guest trapped (the instance was discarded).
func (e *CallError) IsTrap() bool { return e.Kind == nil }

// Call runs one phase of a plan for an exchange: borrow an instance, call
// on_request or on_response, return the instance (or discard it on any
// error). The result is the guest's action (abi.ActionContinue/Stop).
func (m *Module) Call(ex *Exchange, phase Phase, p *Plan, o CallOptions) (int32, error) {
	res, _, err := m.CallTimed(ex, phase, p, o)
	return res, err
}

// clockBase is the origin of the engine's monotonic readings: time.Since
// of it reads one clock (time.Now reads two), and reading clocks is not
// free on every machine (≈ 30 ns each on the KVM guests we measure on,
// where a request used to read them 26 times).
var clockBase = time.Now()

// CallTimed is Call that also returns how long the call took, from its
// start to its return (waiting for an instance included; 0 when the
// module was not called): what a caller timing its policies would measure
// around Call, without reading the clock again.
func (m *Module) CallTimed(ex *Exchange, phase Phase, p *Plan, o CallOptions) (int32, time.Duration, error) {
	pi := 0
	if phase == PhaseResponse {
		pi = 1
	}
	// A module without this entry point (known since load) is never called.
	if p.skip[pi].Load() || (phase == PhaseResponse && !m.info.OnResponse) || (phase != PhaseResponse && !m.info.OnRequest) {
		return abi.ActionContinue, 0, nil
	}
	if o.Deadline <= 0 {
		o.Deadline = 50 * time.Millisecond
	}
	if o.MaxPages == 0 {
		o.MaxPages = 256
	}
	if o.QueueTimeout <= 0 {
		o.QueueTimeout = time.Second
	}
	ctx := ex.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	t0 := time.Since(clockBase)
	inst, idle, err := m.pool.get(ctx, ex.API, o.QueueTimeout)
	if err != nil {
		return 0, time.Since(clockBase) - t0, &CallError{Module: m.Name, Kind: ErrNoInstance, Err: err}
	}
	// The guest's own time (its deadline) starts now: after a wait for an
	// instance, or one being made, read the clock again.
	start := t0
	if !idle {
		start = time.Since(clockBase)
	}
	fn := inst.onReq
	if phase == PhaseResponse {
		fn = inst.onResp
	}
	m.e.stats.Calls.Add(1)
	h := inst.nextHandle()
	inst.ex, inst.handle = ex, h
	ex.Phase = phase
	ex.BodyCap, ex.OutputCap = o.MaxBody, o.MaxOutput
	ex.ClearFillWait() // a fill wait is asked for by, and taken after, one call
	inst.stack[0], inst.stack[1] = uint64(h), uint64(p.ID)
	var callErr error
	entered := inst.mem.enter()
	if !entered {
		callErr = errInstanceClosed
	} else if m.trusted {
		// No loop checks: closing the instance mid-call could not stop it,
		// so there is no watchdog; an overrun is only logged below.
		callErr = fn.CallWithStack(context.Background(), inst.stack[:])
	} else {
		// wazero's own watcher (compiled in with the loop checks) closes
		// the instance at the deadline, deferring the release of its
		// resources to the call's goroutine. Closing it ourselves from a
		// timer raced with WASI functions still running (go test -race).
		inst.cctx.arm(h, clockBase.Add(start+o.Deadline))
		callErr = fn.CallWithStack(inst.cctx, inst.stack[:])
		inst.cctx.disarm()
	}
	if entered {
		inst.mem.leave()
	}
	end := time.Since(clockBase)
	if m.trusted && callErr == nil {
		if d := end - start; d > o.Deadline {
			m.e.stats.SlowTrusted.Add(1)
			m.log.line(slog.LevelWarn, "engine", fmt.Sprintf("trusted policy call took %v (deadline %v); not stopped: trusted modules run without termination checks", d.Round(time.Millisecond), o.Deadline), ex.RequestID)
		}
	}
	inst.ex, inst.handle = nil, 0
	res := int32(uint32(inst.stack[0]))

	took := end - t0
	if callErr != nil {
		return 0, took, m.callFailed(inst, callErr, end-start)
	}
	if mem := inst.mod.Memory(); mem != nil && mem.Size()/65536 > o.MaxPages {
		m.e.stats.MemoryKills.Add(1)
		m.pool.discard(inst)
		return 0, took, &CallError{Module: m.Name, Kind: ErrMemoryLimit, Err: fmt.Errorf("%d pages > %d", mem.Size()/65536, o.MaxPages)}
	}
	m.pool.put(inst)
	if res < 0 {
		return res, took, &CallError{Module: m.Name, Kind: ErrGuest, Result: res}
	}
	if res&abi.FlagNoHandler != 0 {
		p.skip[pi].Store(true)
	}
	ex.NoteResult(res) // ABI v1.2 FlagRerunFrom
	return res & abi.ActionMask, took, nil
}
