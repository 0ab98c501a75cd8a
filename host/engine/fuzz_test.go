package engine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/hosttest"
)

// FuzzLoad feeds module bytes to Load: whatever the input, Load returns a
// module or an error wrapping ErrInvalidModule, never panics, and leaves no
// instance behind on failure.
func FuzzLoad(f *testing.F) {
	min := hosttest.Minimal()
	f.Add(min.Build())
	noMem := hosttest.Minimal()
	noMem.MemoryPages = -1
	f.Add(noMem.Build())
	withImp := hosttest.Minimal()
	withImp.Imports = []hosttest.Import{{Module: "gatehouse_v1", Name: "now", Type: hosttest.Func{Results: []byte{hosttest.I64}}}}
	f.Add(withImp.Build())
	f.Add([]byte("\x00asm\x01\x00\x00\x00"))
	f.Add([]byte("not wasm at all"))
	e, err := engine.New(context.Background(), engine.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { e.Close(context.Background()) })
	f.Fuzz(func(t *testing.T, bin []byte) {
		m, err := e.Load(context.Background(), "fuzz", "0", bin, engine.LoadOptions{Min: 1, Max: 1})
		if err != nil {
			if !errors.Is(err, engine.ErrInvalidModule) {
				t.Fatalf("error %v does not wrap ErrInvalidModule", err)
			}
			if n := e.LiveInstances(); n != 0 {
				t.Fatalf("%d live instances after a failed load", n)
			}
			return
		}
		m.Close(context.Background())
	})
}

var (
	probeOnce sync.Once
	probeEng  *engine.Engine
	probeMod  *engine.Module
	probeErr  error
)

// FuzzHostCalls has a guest call host functions with arbitrary handles,
// pointers and lengths. Every call either succeeds or fails as a guest
// fault (our Trap, or a Wasm trap): a Go runtime error inside a host
// function would mean a host bug that wazero's recover merely hid.
func FuzzHostCalls(f *testing.F) {
	f.Add(uint8(0), uint32(0xFFFFFFFF), uint32(0), uint32(0), uint32(64), uint32(0), uint32(0))
	f.Add(uint8(1), uint32(0xFFFFFFFF), uint32(0), uint32(0), uint32(5), uint32(100), uint32(1000))
	f.Add(uint8(2), uint32(0xFFFFFFFF), uint32(1), uint32(0), uint32(3), uint32(16), uint32(4))
	f.Add(uint8(3), uint32(0xFFFFFFFF), uint32(99), uint32(0), uint32(1<<31), uint32(0), uint32(0))
	f.Add(uint8(5), uint32(0xFFFFFFFF), uint32(0), uint32(300), uint32(0), uint32(70000), uint32(0))
	f.Add(uint8(7), uint32(0xFFFFFFFF), uint32(200), uint32(0), uint32(4000000000), uint32(0), uint32(0))
	f.Add(uint8(8), uint32(0xFFFFFFFF), uint32(0), uint32(8), uint32(1), uint32(5), uint32(65530))
	f.Add(uint8(2), uint32(12345), uint32(0), uint32(0), uint32(3), uint32(16), uint32(4))
	f.Fuzz(func(t *testing.T, fn uint8, ctx, a, b, c, d, e uint32) {
		probeOnce.Do(func() {
			bin, err := hosttest.BuildGuest("host/hosttest/guests/probe")
			if err != nil {
				probeErr = err
				return
			}
			probeEng, probeErr = engine.New(context.Background(), engine.Options{CacheDir: cacheDir})
			if probeErr == nil {
				probeMod, probeErr = probeEng.Load(context.Background(), "probe", "1", bin, engine.LoadOptions{Min: 1, Max: 2})
			}
		})
		if probeErr != nil {
			t.Fatal(probeErr)
		}
		cfg := fmt.Sprintf(`"raw:%d:%d:%d:%d:%d:%d:%d"`, fn, ctx, a, b, c, d, e)
		p, err := probeMod.NewPlan(probeMod.Attach("p", []byte(cfg)))
		if err != nil {
			t.Fatal(err)
		}
		defer probeMod.Release([]*engine.Plan{p})
		_, err = probeMod.Call(newExchange(), engine.PhaseRequest, p, engine.CallOptions{})
		var ce *engine.CallError
		if err != nil && errors.As(err, &ce) && ce.IsTrap() {
			msg := ce.Err.Error()
			if !strings.Contains(msg, "guest misuse") && !strings.Contains(msg, "wasm error") {
				t.Fatalf("host fault, not a guest trap: %v", err)
			}
		}
	})
}
