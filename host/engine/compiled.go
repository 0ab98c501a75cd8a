package engine

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"runtime"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental"

	"github.com/gatehouse/gatehouse/host/wasmcheck"
)

// Compiled code is shared by every Module loaded from the same bytes on
// the same runtime (docs/benchmarks.md "Memory and start (issue 12)"): the
// catalog's registration of the built-in module, the gateway's load of it
// and a Precompile started at process start compile (or read from the
// compilation cache) once, and the code stays mapped once. A compile in
// progress is waited for, not repeated.

type compiledKey struct {
	sum     [sha256.Size]byte
	trusted bool
}

type compiledEntry struct {
	done chan struct{} // closed when cm or err is set
	cm   wazero.CompiledModule
	err  error
	refs int // guarded by Engine.compMu
}

// compile returns the compiled module for bin on the runtime trusted
// chooses, sharing one compilation per (bytes, runtime), and the function
// that releases this reference (the last release closes the code). sum is
// sha256(bin); workers is how many goroutines compile functions.
func (e *Engine) compile(ctx context.Context, bin []byte, sum [sha256.Size]byte, trusted bool, workers int) (wazero.CompiledModule, func(), error) {
	return e.compileWith(ctx, bin, sum, trusted, workers, nil)
}

// compileWith is compile that runs prepare (if the compile is not shared
// with one already started) after the compile is registered — so that
// concurrent loads of the bytes wait for it — and before wazero compiles:
// PrecompileSeeded writes its seed there.
func (e *Engine) compileWith(ctx context.Context, bin []byte, sum [sha256.Size]byte, trusted bool, workers int, prepare func()) (wazero.CompiledModule, func(), error) {
	k := compiledKey{sum, trusted}
	ce, owner := e.claim(k)
	return e.finish(ctx, k, ce, owner, bin, trusted, workers, prepare)
}

// claim takes a reference on the compile of k, registering it if none is
// held or running (owner: the caller must compile, with finish).
func (e *Engine) claim(k compiledKey) (ce *compiledEntry, owner bool) {
	e.compMu.Lock()
	defer e.compMu.Unlock()
	if e.compiled == nil {
		e.compiled = map[compiledKey]*compiledEntry{}
	}
	if ce, ok := e.compiled[k]; ok {
		ce.refs++
		return ce, false
	}
	ce = &compiledEntry{done: make(chan struct{}), refs: 1}
	e.compiled[k] = ce
	e.compiles++
	return ce, true
}

// finish compiles a claimed compile (owner), or waits for it.
func (e *Engine) finish(ctx context.Context, k compiledKey, ce *compiledEntry, owner bool, bin []byte, trusted bool, workers int, prepare func()) (wazero.CompiledModule, func(), error) {
	if !owner {
		select {
		case <-ce.done:
		case <-ctx.Done():
			e.releaseCompiled(k, ce)
			return nil, nil, ctx.Err()
		}
		if ce.err != nil {
			e.releaseCompiled(k, ce)
			return nil, nil, ce.err
		}
		return ce.cm, sync.OnceFunc(func() { e.releaseCompiled(k, ce) }), nil
	}
	if prepare != nil {
		prepare()
	}
	rt := e.rt
	if trusted {
		rt = e.rtTrusted
	}
	cctx := ctx
	if workers > 1 {
		cctx = experimental.WithCompilationWorkers(ctx, workers)
	}
	// Without custom sections and with the data segments packed: the
	// module's meaning, less to decode and keep (wasmcheck.ForCompile).
	prepared := wasmcheck.ForCompile(bin)
	cm, err := rt.CompileModule(cctx, prepared)
	if err != nil && e.opts.CacheDir != "" && ctx.Err() == nil {
		// A seeded cache entry wazero cannot read (a torn write, a corrupt
		// binary): removed, and the module compiled as without a seed.
		if path := e.takeSeeded(k); path != "" {
			if rmErr := os.Remove(path); rmErr == nil || errors.Is(rmErr, os.ErrNotExist) {
				e.seedStats.Refused.Add(1)
				e.log.Warn("engine: the precompiled entry of the compilation cache was refused; compiling", "err", err)
				cm, err = rt.CompileModule(cctx, prepared)
			}
		}
	}
	ce.cm, ce.err = cm, err
	if err != nil {
		// A failed compile is not kept: the next load tries again.
		e.compMu.Lock()
		if e.compiled[k] == ce {
			delete(e.compiled, k)
		}
		ce.refs--
		e.compMu.Unlock()
		close(ce.done)
		return nil, nil, err
	}
	close(ce.done)
	return cm, sync.OnceFunc(func() { e.releaseCompiled(k, ce) }), nil
}

func (e *Engine) releaseCompiled(k compiledKey, ce *compiledEntry) {
	e.compMu.Lock()
	ce.refs--
	last := ce.refs == 0
	if last && e.compiled[k] == ce {
		delete(e.compiled, k)
	}
	e.compMu.Unlock()
	if last && ce.cm != nil {
		ce.cm.Close(context.Background())
	}
}

// Precompile starts compiling bin for the trusted (built-in) or guarded
// runtime in the background, so that the work overlaps whatever the caller
// does before it loads the module (opening the catalog, the listeners). A
// Load of the same bytes on the same runtime meanwhile waits for this
// compile instead of starting its own. The compiled code is held until
// release is called (call it once the module is loaded); errors are
// reported by the Load that uses it.
func (e *Engine) Precompile(bin []byte, trusted bool) (release func()) {
	return e.PrecompileSeeded(bin, nil, trusted)
}

// PrecompileSeeded is Precompile that first writes seed (BuildSeed's
// output for bin on this runtime, embedded in the binary) into the
// compilation cache dir when the entry is not there yet, so that the
// compile is a cache read. A seed that does not fit bin, this runtime,
// platform or wazero version is skipped with a log line (the compile then
// compiles); a nil seed is Precompile.
func (e *Engine) PrecompileSeeded(bin, seed []byte, trusted bool) (release func()) {
	if len(bin) == 0 || e.closed.Load() {
		return func() {}
	}
	sum := sha256.Sum256(bin)
	ready := make(chan func(), 1)
	var prepare func()
	if seed != nil {
		// Seeded once the compile is registered: a Load of the same bytes
		// meanwhile waits for this compile rather than compiling beside the
		// seeding (and wazero's entry being replaced by the seed's).
		prepare = func() {
			switch path, err := e.seedCache(seed, sum, trusted); {
			case err != nil:
				e.seedStats.Skipped.Add(1)
				e.log.Info("engine: the binary's precompiled built-in module is not used; compiling", "reason", err)
			case path != "":
				e.seedStats.Written.Add(1)
				e.log.Debug("engine: compilation cache seeded from the binary", "entry", path)
			}
		}
	}
	// Claimed now, not in the goroutine: a Load right after this call
	// waits for this compile (and its seeding) instead of starting its own.
	k := compiledKey{sum, trusted}
	ce, owner := e.claim(k)
	go func() {
		// On every core: nothing is served yet at process start, and a
		// cold compile of the 5 MB built-in module takes about half the
		// time on 2 cores. (A compilation-cache hit only decodes and
		// validates, single-threaded in wazero.) Loads later (uploads,
		// reloads) compile on one goroutine, beside the traffic.
		_, rel, err := e.finish(context.Background(), k, ce, owner, bin, trusted, runtime.GOMAXPROCS(0), prepare)
		if err != nil {
			rel = func() {}
		}
		ready <- rel
	}()
	return sync.OnceFunc(func() { (<-ready)() })
}

// CompileStats are how many distinct compiled modules the engine holds and
// how many compiles (or compilation-cache reads) it started (tests: a
// module loaded twice from the same bytes is compiled once).
func (e *Engine) CompileStats() (held int, compiles int64) {
	e.compMu.Lock()
	defer e.compMu.Unlock()
	return len(e.compiled), e.compiles
}

// SeedStats returns what seeds did (PrecompileSeeded).
func (e *Engine) SeedStats() SeedStats {
	return SeedStats{Written: e.seedStats.Written.Load(), Skipped: e.seedStats.Skipped.Load(), Refused: e.seedStats.Refused.Load()}
}
