package engine_test

import (
	"context"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/hosttest"
)

// TestCompiledCodeShared: modules loaded from the same bytes on the same
// runtime share one compiled module, which lives until the last of them
// (or a Precompile hold) lets go; a module keeps working after another
// one of the same bytes closes.
func TestCompiledCodeShared(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t)
	bin := hosttest.Probe(t)
	load := func(trusted bool) *engine.Module {
		t.Helper()
		m, err := e.Load(ctx, "probe", "1.0.0", bin, engine.LoadOptions{Min: 1, Max: 2, Trusted: trusted})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	call := func(m *engine.Module) {
		t.Helper()
		p, err := m.NewPlan(m.Attach("probe", []byte("req-header:X-A=1")))
		if err != nil {
			t.Fatal(err)
		}
		ex := newExchange()
		if res, err := m.Call(ex, engine.PhaseRequest, p, relaxed); err != nil || res != abi.ActionContinue || ex.ReqHeader.Get("X-A") != "1" {
			t.Fatalf("call: res=%d err=%v X-A=%q", res, err, ex.ReqHeader.Get("X-A"))
		}
	}
	stats := func(wantHeld int, wantCompiles int64, what string) {
		t.Helper()
		if held, n := e.CompileStats(); held != wantHeld || n != wantCompiles {
			t.Fatalf("%s: %d compiled modules held, %d compiles; want %d, %d", what, held, n, wantHeld, wantCompiles)
		}
	}
	m1, m2 := load(false), load(false)
	stats(1, 1, "two loads of the same bytes")
	m3 := load(true)
	stats(2, 2, "a trusted load (its own runtime)")
	m1.Close(ctx)
	m1.Close(ctx) // twice: released once
	// m2 still runs from the shared code after m1 closed.
	call(m2)
	call(m2)
	m4 := load(false)
	stats(2, 2, "a load while another module of the bytes is open")
	call(m4)
	m2.Close(ctx)
	m4.Close(ctx)
	m3.Close(ctx)
	stats(0, 2, "every module closed")

	// A Precompile hold keeps the code for the Load that follows, and the
	// code goes with the last release.
	release := e.Precompile(bin, false)
	m5 := load(false)
	stats(1, 3, "Precompile then Load")
	release()
	release() // idempotent
	call(m5)
	m5.Close(ctx)
	stats(0, 3, "after the hold and the module")

	// Concurrent loads of bytes not compiled yet wait for one compile.
	_, before := e.CompileStats()
	mods := make([]*engine.Module, 4)
	errs := make([]error, len(mods))
	var wg sync.WaitGroup
	for i := range mods {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mods[i], errs[i] = e.Load(ctx, "probe", "1.0.0", bin, engine.LoadOptions{Min: 1, Max: 1})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	stats(1, before+1, "four concurrent loads")
	for _, m := range mods {
		call(m)
		m.Close(ctx)
	}
	stats(0, before+1, "the concurrent loads closed")

	// A failed compile is not kept.
	bad := append([]byte(nil), bin[:len(bin)/2]...)
	if _, err := e.Load(ctx, "bad", "1.0.0", bad, engine.LoadOptions{}); err == nil {
		t.Fatal("a truncated module loaded")
	}
	e.Precompile(bad, false)()
	// (Load refused the truncated bytes before compiling; Precompile tried.)
	stats(0, before+2, "after a failed compile")
}
