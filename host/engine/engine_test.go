package engine_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/hosttest"
)

var cacheDir string

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "gatehouse-engine-cache-")
	if err != nil {
		panic(err)
	}
	cacheDir = d
	code := m.Run()
	os.RemoveAll(d)
	os.Exit(code)
}

func newEngine(t testing.TB) *engine.Engine {
	t.Helper()
	e, err := engine.New(context.Background(), engine.Options{CacheDir: cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(context.Background()) })
	return e
}

func TestLoadRejectsBadModules(t *testing.T) {
	e := newEngine(t)
	probe := hosttest.Probe(t)
	i32 := []byte{hosttest.I32}
	entry := hosttest.Func{Params: []byte{hosttest.I32, hosttest.I32}, Results: i32}
	withImport := func(im hosttest.Import) []byte {
		s := hosttest.Minimal()
		s.Imports = append(s.Imports, im)
		return s.Build()
	}
	noEntry := hosttest.Minimal()
	noEntry.Exports = noEntry.Exports[:1]
	noMem := hosttest.Minimal()
	noMem.MemoryPages = -1
	bigMem := hosttest.Minimal()
	bigMem.MemoryPages = 2000
	impMem := hosttest.Minimal()
	impMem.ImportMemory = true
	badSig := hosttest.Minimal()
	badSig.Exports[1].Type = hosttest.Func{Params: i32, Results: i32}
	v2 := hosttest.Minimal()
	v2.Exports[0].Name = "gatehouse_abi_v2"
	cases := []struct {
		name string
		bin  []byte
		want string
	}{
		{"empty", nil, "empty file"},
		{"not wasm", []byte("#!/bin/sh\necho hi\n"), "not a WebAssembly module"},
		{"truncated", probe[:len(probe)/2], "invalid policy module"},
		{"truncated header", probe[:6], "not a WebAssembly module"},
		{"missing entry points", noEntry.Build(), "missing export: a module needs on_request"},
		{"no memory", noMem.Build(), `missing export "memory"`},
		{"memory too big", bigMem.Build(), "over limit of 1024 pages"},
		{"imported memory", impMem.Build(), "imports memory env.memory"},
		{"entry signature", badSig.Build(), "export on_request has signature (i32) -> (i32)"},
		{"abi v2 marker", v2.Build(), "built for ABI v2"},
		{"unknown host function", withImport(hosttest.Import{Module: "gatehouse_v1", Name: "open_socket", Type: hosttest.Func{Results: i32}}), "gatehouse_v1.open_socket: no such host function"},
		{"host function wrong signature", withImport(hosttest.Import{Module: "gatehouse_v1", Name: "now", Type: hosttest.Func{Results: i32}}), "gatehouse_v1.now with signature () -> (i32); ABI v1 says () -> (i64)"},
		{"env import", withImport(hosttest.Import{Module: "env", Name: "steal", Type: hosttest.Func{}}), `module "env" is not provided`},
		{"wasi sock", withImport(hosttest.Import{Module: "wasi_snapshot_preview1", Name: "sock_accept", Type: hosttest.Func{Params: []byte{hosttest.I32, hosttest.I32, hosttest.I32}, Results: i32}}), "sock_accept, which is not an allowed WASI function"},
		{"future host module", withImport(hosttest.Import{Module: "gatehouse_v2", Name: "now", Type: hosttest.Func{Results: []byte{hosttest.I64}}}), `built for host module "gatehouse_v2"`},
		{"go guest abi v2", hosttest.Guest(t, "host/hosttest/guests/abiv2"), "built for ABI v2"},
		{"go guest env import", hosttest.Guest(t, "host/hosttest/guests/badimport"), "env.steal_secrets"},
		{"go guest no entry", hosttest.Guest(t, "host/hosttest/guests/noexports"), "missing export: a module needs"},
	}
	_ = entry
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.LiveInstances()
			_, err := e.Load(context.Background(), c.name, "1.0.0", c.bin, engine.LoadOptions{})
			if err == nil {
				t.Fatal("loaded; want an error")
			}
			if !errors.Is(err, engine.ErrInvalidModule) {
				t.Errorf("error %v does not wrap ErrInvalidModule", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not name the problem (%q)", err, c.want)
			}
			if e.LiveInstances() != before {
				t.Errorf("live instances %d -> %d after a failed load", before, e.LiveInstances())
			}
		})
	}
}

func TestValidateMinimalAndProbe(t *testing.T) {
	e := newEngine(t)
	info, err := e.Validate(context.Background(), hosttest.Minimal().Build())
	if err != nil {
		t.Fatal(err)
	}
	if !info.OnRequest || info.OnResponse || len(info.Capabilities) != 0 {
		t.Errorf("minimal info = %+v", info)
	}
	info, err = e.Validate(context.Background(), hosttest.Probe(t))
	if err != nil {
		t.Fatal(err)
	}
	if !info.OnRequest || !info.OnResponse || info.ABIMajor != 1 {
		t.Errorf("probe info = %+v", info)
	}
	for _, c := range []string{abi.CapHTTP, abi.CapBody, abi.CapVars, abi.CapConfig, abi.CapClock} {
		if !strings.Contains(strings.Join(info.Capabilities, ","), c) {
			t.Errorf("capabilities %v lack %s", info.Capabilities, c)
		}
	}
	if e.LiveInstances() != 0 {
		t.Errorf("validate left %d live instances", e.LiveInstances())
	}
}

type harness struct {
	e *engine.Engine
	m *engine.Module
}

func loadProbe(t testing.TB, po engine.LoadOptions) harness {
	e := newEngine(t)
	m, err := e.Load(context.Background(), "probe", "1.0.0", hosttest.Probe(t), po)
	if err != nil {
		t.Fatal(err)
	}
	return harness{e, m}
}

func (h harness) plan(t testing.TB, cfgs ...string) *engine.Plan {
	var atts []*engine.Attachment
	for _, c := range cfgs {
		atts = append(atts, h.m.Attach("probe", []byte(c)))
	}
	p, err := h.m.NewPlan(atts...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func newExchange() *engine.Exchange {
	return &engine.Exchange{Method: "GET", Path: "/pets/7", ReqHeader: http.Header{}, RequestID: "r1",
		Params: []engine.Param{{Name: "id", Value: "7"}}}
}

func TestCallHappyPaths(t *testing.T) {
	h := loadProbe(t, engine.LoadOptions{Min: 1, Max: 2})
	p := h.plan(t, "req-header:X-A=1;set-var:who=alice", "var-to-header:who;param-to-header:id")
	ex := newExchange()
	res, err := h.m.Call(ex, engine.PhaseRequest, p, relaxed)
	if err != nil || res != abi.ActionContinue {
		t.Fatalf("res=%d err=%v", res, err)
	}
	if got := ex.ReqHeader.Get("X-A"); got != "1" {
		t.Errorf("X-A = %q", got)
	}
	if got := ex.ReqHeader.Get("X-Var-Who"); got != "alice" {
		t.Errorf("X-Var-Who = %q (vars shared between attachments)", got)
	}
	if got := ex.ReqHeader.Get("X-Param-Id"); got != "7" {
		t.Errorf("X-Param-Id = %q", got)
	}
	// early answer
	p2 := h.plan(t, "respond:401=no key", "req-header:X-B=never")
	ex = newExchange()
	res, err = h.m.Call(ex, engine.PhaseRequest, p2, relaxed)
	if err != nil || res != abi.ActionStop || !ex.Answered || ex.Status != 401 || string(ex.RespBody.Bytes) != "no key" {
		t.Fatalf("early answer: res=%d err=%v answered=%v status=%d body=%q", res, err, ex.Answered, ex.Status, ex.RespBody.Bytes)
	}
	if ex.ReqHeader.Get("X-B") != "" {
		t.Error("attachment after an early answer ran")
	}
	// response phase
	p3 := h.plan(t, "status:201;resp-header:X-R=yes;resp-body-upper")
	ex = newExchange()
	ex.Status, ex.RespHeader = 200, http.Header{}
	ex.RespBody = engine.Body{Src: strings.NewReader("hello"), Limit: 100}
	ex.RespBody.Load([]byte("hello")) // received by the gateway before the call
	res, err = h.m.Call(ex, engine.PhaseResponse, p3, relaxed)
	if err != nil || res != 0 || ex.Status != 201 || ex.RespHeader.Get("X-R") != "yes" || string(ex.RespBody.Bytes) != "HELLO" {
		t.Fatalf("response phase: res=%d err=%v status=%d hdr=%v body=%q", res, err, ex.Status, ex.RespHeader, ex.RespBody.Bytes)
	}
	// A body still on the wire is never read inside the call: get_body
	// answers ErrUnavail (the policy fails) and the reader is untouched.
	src := &countingReader{r: strings.NewReader("hello")}
	ex = newExchange()
	ex.Status, ex.RespHeader = 200, http.Header{}
	ex.RespBody = engine.Body{Src: src, Limit: 100}
	res, err = h.m.Call(ex, engine.PhaseResponse, p3, relaxed)
	if err == nil || res != abi.ErrUnavail || src.n != 0 || ex.RespBody.Buffered() {
		t.Fatalf("body not received: res=%d err=%v reads=%d", res, err, src.n)
	}
}

func TestHostileGuests(t *testing.T) {
	h := loadProbe(t, engine.LoadOptions{Min: 1, Max: 2})
	ok := h.plan(t, "req-header:X-Ok=1")
	cases := []struct {
		cfg  string
		kind error
	}{
		{"loop", engine.ErrDeadline},
		{"panic", nil},
		{"membomb", errMemBomb},
		{"badptr", nil},
		{"badhandle", nil},
		{"exit", nil},
		{"grow:20", engine.ErrMemoryLimit},
		{"fail", engine.ErrGuest},
	}
	for _, c := range cases {
		t.Run(c.cfg, func(t *testing.T) {
			p := h.plan(t, c.cfg)
			start := time.Now()
			// a short deadline where it is under test, a long one elsewhere
			// (the race detector slows guests down ~10x)
			dl := 5 * time.Second
			if c.kind == engine.ErrDeadline || c.kind == errMemBomb {
				dl = 100 * time.Millisecond
			}
			_, err := h.m.Call(newExchange(), engine.PhaseRequest, p, engine.CallOptions{Deadline: dl, MaxPages: 300})
			var ce *engine.CallError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v; want a CallError", err)
			}
			if c.kind == errMemBomb {
				// capped either by the runtime's page limit (a Go
				// out-of-memory exit) or by the deadline: both discard it
				if !ce.IsTrap() && !errors.Is(err, engine.ErrDeadline) {
					t.Errorf("err = %v; want a trap or the deadline", err)
				}
			} else if c.kind == nil && !ce.IsTrap() {
				t.Errorf("err = %v; want a trap", err)
			}
			if c.kind != nil && c.kind != errMemBomb && !errors.Is(err, c.kind) {
				t.Errorf("err = %v; want %v", err, c.kind)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("call took %v", d)
			}
			t.Logf("%s: %v", c.cfg, err)
			// the next call works on a healthy instance
			ex := newExchange()
			if _, err := h.m.Call(ex, engine.PhaseRequest, ok, relaxed); err != nil || ex.ReqHeader.Get("X-Ok") != "1" {
				t.Fatalf("next call: err=%v hdr=%v", err, ex.ReqHeader)
			}
		})
	}
	st := h.e.Stats()
	if st.DeadlineKills < 1 || st.Traps < 4 || st.MemoryKills < 1 {
		t.Errorf("stats = %+v", st)
	}
	// the pool refills to Min off the request path
	waitFor(t, func() bool { _, total := h.m.PoolStats(); return total >= 1 })
}

var errMemBomb = errors.New("memory bomb")

func waitFor(t testing.TB, f func() bool) {
	t.Helper()
	for i := 0; i < 200; i++ {
		if f() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("condition not met in 2s")
}

// TestPoolHammer runs many goroutines through a small pool with a mix of
// healthy and trapping calls; afterwards instances and goroutines return to
// their baseline.
func TestPoolHammer(t *testing.T) {
	h := loadProbe(t, engine.LoadOptions{Min: 1, Max: 3})
	good := h.plan(t, "req-header:X-A=1")
	bad := h.plan(t, "panic")
	baseG := runtime.NumGoroutine()
	var wg sync.WaitGroup
	var okN, badN atomic.Int64
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 60; i++ {
				p := good
				if (g+i)%15 == 0 {
					p = bad
				}
				ex := newExchange()
				_, err := h.m.Call(ex, engine.PhaseRequest, p, engine.CallOptions{Deadline: 2 * time.Second})
				if p == good {
					if err != nil || ex.ReqHeader.Get("X-A") != "1" {
						t.Errorf("good call: %v", err)
					}
					okN.Add(1)
				} else {
					if err == nil {
						t.Error("panic call succeeded")
					}
					badN.Add(1)
				}
			}
		}(g)
	}
	wg.Wait()
	if okN.Load() == 0 || badN.Load() == 0 {
		t.Fatal("hammer did not mix calls")
	}
	waitFor(t, func() bool {
		idle, total := h.m.PoolStats()
		return idle == total && total <= 3 && int64(total) == h.e.LiveInstances()
	})
	waitFor(t, func() bool { return runtime.NumGoroutine() <= baseG+1 })
	h.m.Close(context.Background())
	if n := h.e.LiveInstances(); n != 0 {
		t.Errorf("live instances after close = %d", n)
	}
}

func TestResponseSkipFlag(t *testing.T) {
	h := loadProbe(t, engine.LoadOptions{})
	p := h.plan(t, "continue")
	for i := 0; i < 3; i++ {
		ex := newExchange()
		ex.RespHeader = http.Header{}
		if _, err := h.m.Call(ex, engine.PhaseResponse, p, relaxed); err != nil {
			t.Fatal(err)
		}
	}
}

type lines struct {
	mu  sync.Mutex
	buf []string
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, string(p))
	return len(p), nil
}

func (l *lines) all() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.buf, "")
}

// TestGuestOutputIsLoggedAndRateLimited: stdout/stderr reach the gateway
// log with the module's name, at most GuestLogRate lines per second.
func TestGuestOutputIsLoggedAndRateLimited(t *testing.T) {
	var out lines
	log := slog.New(slog.NewTextHandler(&out, nil))
	e, err := engine.New(context.Background(), engine.Options{CacheDir: cacheDir, Logger: log, GuestLogRate: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(context.Background())
	m, err := e.Load(context.Background(), "noisy", "2.0.0", hosttest.Probe(t), engine.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := m.NewPlan(m.Attach("p", []byte(`"print:hello"`)))
	start := time.Now()
	for i := 0; i < 50; i++ {
		if _, err := m.Call(newExchange(), engine.PhaseRequest, p, relaxed); err != nil {
			t.Fatal(err)
		}
	}
	windows := int(time.Since(start)/time.Second) + 1 // a slow machine may span more than one window
	time.Sleep(1100 * time.Millisecond)
	m.Call(newExchange(), engine.PhaseRequest, p, relaxed) // opens a new window: reports the suppressed count
	got := out.all()
	if n := strings.Count(got, "probe says hello"); n < 5 || n > 5*windows+1 {
		t.Errorf("%d guest lines logged; want the rate limit of 5 per second (+1 in the new window)\n%s", n, got)
	}
	if !strings.Contains(got, "module=noisy@2.0.0") || !strings.Contains(got, "stream=stderr") {
		t.Errorf("guest lines lack the module name or stream:\n%s", got)
	}
	if !strings.Contains(got, "guest log lines suppressed") || (windows == 1 && !strings.Contains(got, "lines=45")) {
		t.Errorf("no suppressed-lines summary:\n%s", got)
	}
}

// TestTrustedOverrunIsLoggedNotKilled: a trusted module has no loop checks,
// so an overrun cannot be stopped; the call completes and is counted. The
// same call guarded is stopped at its deadline.
func TestTrustedOverrunIsLoggedNotKilled(t *testing.T) {
	e := newEngine(t)
	for _, trusted := range []bool{true, false} {
		m, err := e.Load(context.Background(), "probe", "1", hosttest.Probe(t), engine.LoadOptions{Trusted: trusted})
		if err != nil {
			t.Fatal(err)
		}
		p, _ := m.NewPlan(m.Attach("p", []byte(`"sleep-ms:80"`)))
		_, err = m.Call(newExchange(), engine.PhaseRequest, p, engine.CallOptions{Deadline: 20 * time.Millisecond})
		if trusted && err != nil {
			t.Errorf("trusted overrun failed the call: %v", err)
		}
		if !trusted && !errors.Is(err, engine.ErrDeadline) {
			t.Errorf("guarded overrun: err = %v; want ErrDeadline", err)
		}
		m.Close(context.Background())
	}
	if st := e.Stats(); st.SlowTrusted != 1 || st.DeadlineKills != 1 {
		t.Errorf("stats = %+v", st)
	}
}

// relaxed is for calls whose timing is not under test: the test machine may
// be saturated (go test runs packages in parallel), and a wall-clock policy
// deadline counts time the goroutine waits for a CPU.
var relaxed = engine.CallOptions{Deadline: 5 * time.Second}

// countingReader counts Read calls.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) { c.n++; return c.r.Read(p) }

// TestEngineCloseDuringCall: closing the engine while a call runs (a
// shutdown whose drain timed out) lets the call finish on its memory: the
// guest's memory lives in its own mapping (linmem.go), and unmapping it
// under a running guest would crash the process, not fail the call.
func TestEngineCloseDuringCall(t *testing.T) {
	for _, trusted := range []bool{false, true} {
		t.Run(map[bool]string{false: "guarded", true: "trusted"}[trusted], func(t *testing.T) {
			e := newEngine(t)
			m, err := e.Load(context.Background(), "probe", "1.0.0", hosttest.Probe(t), engine.LoadOptions{Min: 1, Max: 1, Trusted: trusted})
			if err != nil {
				t.Fatal(err)
			}
			p, err := m.NewPlan(m.Attach("probe", []byte(`"sleep-ms:300"`)), m.Attach("probe", []byte(`"req-header:X-After=1"`)))
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			ex := newExchange()
			go func() {
				_, err := m.Call(ex, engine.PhaseRequest, p, relaxed)
				done <- err
			}()
			time.Sleep(100 * time.Millisecond)
			e.Close(context.Background())
			select {
			case err := <-done:
				// The call either finished (trusted: nothing stops it) or
				// was stopped because its instance was closed; either way
				// the process is still here.
				t.Logf("call after the engine closed under it: err=%v X-After=%q", err, ex.ReqHeader.Get("X-After"))
			case <-time.After(10 * time.Second):
				t.Fatal("the call never returned")
			}
		})
	}
}
