package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/gatehouse/gatehouse/abi/hostcall"
)

// Options configure an Engine. Zero values take the defaults in comments.
type Options struct {
	// CacheDir holds wazero's on-disk compilation cache ("" = no disk cache).
	CacheDir string
	// HardMemoryPages is the runtime-wide cap on any instance's memory
	// (1024 pages = 64 MiB). Per-attachment limits are checked after each call.
	HardMemoryPages uint32
	// Logger receives engine events and guest output (slog.Default()).
	Logger *slog.Logger
	// Services back the capability host functions.
	Services *Services
	// GuestLogRate is how many guest log lines per second per module reach
	// the log before the rest are counted and summarised (20).
	GuestLogRate int
	// InitDeadline bounds instantiation (including _initialize) and the
	// ABI marker call of guarded modules (5 s): a guest that loops there
	// fails the load with ErrInitDeadline instead of wedging the loader.
	InitDeadline time.Duration
	// Budgets are the per-request limits the host enforces (zero fields:
	// the abi.Max* defaults).
	Budgets Budgets
}

// Engine is one wazero runtime shared by every module version.
type Engine struct {
	opts Options
	rt   wazero.Runtime // guarded: loop back-edges check for a stop request
	// rtTrusted runs modules loaded with Trusted: no loop checks (≈4× faster
	// guest loops and host calls, no per-call goroutine) but a runaway guest
	// cannot be stopped, only failed when it returns. For built-ins only.
	rtTrusted wazero.Runtime
	cache     wazero.CompilationCache
	log       *slog.Logger
	// hc is the semantics layer the host functions call (abi/hostcall).
	hc *hostcall.Host

	slotsMu sync.Mutex
	slots   atomic.Pointer[[]*instance] // copy-on-write; index = handle slot
	free    []uint32

	modsMu sync.Mutex
	mods   map[*Module]struct{}

	// compiled shares compiled code between modules of the same bytes
	// (compiled.go).
	compMu   sync.Mutex
	compiled map[compiledKey]*compiledEntry
	compiles int64
	// seeded names the cache entry a seed wrote or found, per compile key
	// (seed.go); guarded by compMu.
	seeded    map[compiledKey]string
	seedStats struct{ Written, Skipped, Refused atomic.Int64 }

	liveInstances atomic.Int64
	stats         Stats
	closed        atomic.Bool
}

// Stats are engine-wide counters, read with Engine.Stats.
type Stats struct {
	Calls, Traps, DeadlineKills, MemoryKills, Discards, Instantiations atomic.Int64
	// SlowTrusted counts trusted calls that returned after their deadline.
	SlowTrusted atomic.Int64
}

// StatsSnapshot is a copy of Stats.
type StatsSnapshot struct {
	Calls, Traps, DeadlineKills, MemoryKills, Discards, Instantiations, LiveInstances, SlowTrusted int64
}

// New creates the runtime, the WASI module and the gatehouse_v1 host module.
func New(ctx context.Context, o Options) (*Engine, error) {
	if o.HardMemoryPages == 0 {
		o.HardMemoryPages = 1024
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.GuestLogRate == 0 {
		o.GuestLogRate = 20
	}
	if o.Services == nil {
		o.Services = &Services{}
	}
	if o.InitDeadline <= 0 {
		o.InitDeadline = 5 * time.Second
	}
	o.Budgets = o.Budgets.WithDefaults()
	e := &Engine{opts: o, log: o.Logger, mods: map[*Module]struct{}{}}
	e.hc = hostcall.New(o.Services, o.Budgets)
	cfg := wazero.NewRuntimeConfigCompiler().
		WithCloseOnContextDone(true). // compiles loop checks so a runaway guest can be stopped
		WithMemoryLimitPages(o.HardMemoryPages)
	if o.CacheDir != "" {
		if err := os.MkdirAll(o.CacheDir, 0o700); err != nil {
			return nil, fmt.Errorf("engine: compilation cache dir: %w", err)
		}
		c, err := wazero.NewCompilationCacheWithDir(o.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("engine: compilation cache: %w", err)
		}
		e.cache = c
		cfg = cfg.WithCompilationCache(c)
	}
	e.rt = wazero.NewRuntimeWithConfig(ctx, cfg)
	// The compilation cache key includes the termination flag, so the two
	// runtimes can share one cache dir safely.
	e.rtTrusted = wazero.NewRuntimeWithConfig(ctx, cfg.WithCloseOnContextDone(false))
	empty := []*instance{}
	e.slots.Store(&empty)
	for _, rt := range []wazero.Runtime{e.rt, e.rtTrusted} {
		if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
			e.rt.Close(ctx)
			e.rtTrusted.Close(ctx)
			return nil, fmt.Errorf("engine: wasi: %w", err)
		}
		if err := e.instantiateHost(ctx, rt); err != nil {
			e.rt.Close(ctx)
			e.rtTrusted.Close(ctx)
			return nil, fmt.Errorf("engine: host module: %w", err)
		}
	}
	return e, nil
}

// CacheDir returns the conventional compilation cache dir inside a data dir.
func CacheDir(dataDir string) string { return filepath.Join(dataDir, "cache", "wazero") }

// Stats returns a snapshot of the engine counters.
func (e *Engine) Stats() StatsSnapshot {
	return StatsSnapshot{
		Calls: e.stats.Calls.Load(), Traps: e.stats.Traps.Load(),
		DeadlineKills: e.stats.DeadlineKills.Load(), MemoryKills: e.stats.MemoryKills.Load(),
		Discards: e.stats.Discards.Load(), Instantiations: e.stats.Instantiations.Load(),
		LiveInstances: e.liveInstances.Load(), SlowTrusted: e.stats.SlowTrusted.Load(),
	}
}

// LiveInstances is the number of instantiated guest instances.
func (e *Engine) LiveInstances() int64 { return e.liveInstances.Load() }

// Close closes every module and the runtime.
func (e *Engine) Close(ctx context.Context) error {
	if !e.closed.CompareAndSwap(false, true) {
		return nil
	}
	e.modsMu.Lock()
	mods := make([]*Module, 0, len(e.mods))
	for m := range e.mods {
		mods = append(mods, m)
	}
	e.modsMu.Unlock()
	for _, m := range mods {
		m.Close(ctx)
	}
	err := e.rt.Close(ctx)
	_ = e.rtTrusted.Close(ctx)
	if e.cache != nil {
		_ = e.cache.Close(ctx)
	}
	return err
}

// Slot table: maps a ctx handle to the instance running a call.

func (e *Engine) allocSlot(inst *instance) uint32 {
	e.slotsMu.Lock()
	defer e.slotsMu.Unlock()
	old := *e.slots.Load()
	if n := len(e.free); n > 0 {
		s := e.free[n-1]
		e.free = e.free[:n-1]
		next := append([]*instance(nil), old...)
		next[s] = inst
		e.slots.Store(&next)
		return s
	}
	next := append(append([]*instance(nil), old...), inst)
	e.slots.Store(&next)
	return uint32(len(next) - 1)
}

func (e *Engine) freeSlot(s uint32) {
	e.slotsMu.Lock()
	defer e.slotsMu.Unlock()
	old := *e.slots.Load()
	if int(s) >= len(old) || old[s] == nil {
		return
	}
	next := append([]*instance(nil), old...)
	next[s] = nil
	e.slots.Store(&next)
	e.free = append(e.free, s)
}

func (e *Engine) slot(s uint32) *instance {
	t := *e.slots.Load()
	if int(s) >= len(t) {
		return nil
	}
	return t[s]
}

// Errors returned by calls; the gateway maps them to fail modes and metrics.
var (
	ErrDeadline    = errors.New("policy deadline exceeded")
	ErrMemoryLimit = errors.New("policy memory limit exceeded")
	ErrNoInstance  = errors.New("no policy instance available before the deadline")
	ErrClosed      = errors.New("module closed")
	ErrGuest       = errors.New("policy reported a failure")
	// ErrInitDeadline: instantiation (_initialize) or the ABI marker call
	// ran past Options.InitDeadline.
	ErrInitDeadline = errors.New("module start-up deadline exceeded")
)
