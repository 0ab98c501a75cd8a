package engine_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/hosttest"
	"github.com/gatehouse/gatehouse/host/semaphore"
)

// countingSems wraps a semaphore.Set and counts releases, to check each
// slot is given back exactly once.
type countingSems struct {
	*semaphore.Set
	releases int
}

func (c *countingSems) Release(key string) { c.releases++; c.Set.Release(key) }

func loadProbeWith(t *testing.T, svc *engine.Services) harness {
	t.Helper()
	e, err := engine.New(context.Background(), engine.Options{CacheDir: cacheDir, Services: svc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(context.Background()) })
	m, err := e.Load(context.Background(), "probe", "1.0.0", hosttest.Probe(t), engine.LoadOptions{Min: 1, Max: 2})
	if err != nil {
		t.Fatal(err)
	}
	return harness{e, m}
}

// TestConcurrencyAcquire checks concurrency_acquire's statuses, that the
// exchange holds what it took until ReleaseHeld (or Reset), and that each
// slot is released exactly once whatever ended the call: a continue, an
// early answer, a failure, a trap.
func TestConcurrencyAcquire(t *testing.T) {
	sems := &countingSems{Set: semaphore.New()}
	h := loadProbeWith(t, &engine.Services{Semaphores: sems})

	info, err := h.e.Validate(context.Background(), hosttest.Probe(t))
	if err != nil || !strings.Contains(strings.Join(info.Capabilities, ","), abi.CapConcurrency) {
		t.Errorf("probe capabilities %v lack %s (err %v)", info.Capabilities, abi.CapConcurrency, err)
	}

	// Two slots of k in one call (a second acquire holds a second slot),
	// then a third is refused.
	ex := newExchange()
	res, err := h.m.Call(ex, engine.PhaseRequest, h.plan(t, "acquire:k=2;acquire:k=2"), relaxed)
	if err != nil || res != abi.ActionContinue || ex.Held() != 2 || sems.InFlight(h.m.StoredKey("k")) != 2 {
		t.Fatalf("res=%d err=%v held=%d in flight=%d", res, err, ex.Held(), sems.InFlight(h.m.StoredKey("k")))
	}
	ex2 := newExchange()
	res, err = h.m.Call(ex2, engine.PhaseRequest, h.plan(t, "acquire:k=2"), relaxed)
	if err != nil || res != abi.ActionStop || ex2.Status != 429 || ex2.Held() != 0 {
		t.Fatalf("over the limit: res=%d err=%v status=%d held=%d", res, err, ex2.Status, ex2.Held())
	}
	ex.ReleaseHeld()
	ex.ReleaseHeld() // idempotent
	ex.Reset()       // also releases; nothing left
	if sems.releases != 2 || sems.Len() != 0 {
		t.Fatalf("releases=%d keys=%d, want 2 and 0", sems.releases, sems.Len())
	}

	// Invalid arguments.
	for _, cfg := range []string{"acquire:=1", "acquire:k=0", "acquire:k=-1", "acquire:" + strings.Repeat("k", abi.MaxConcurrencyKey+1) + "=1"} {
		ex := newExchange()
		_, err := h.m.Call(ex, engine.PhaseRequest, h.plan(t, cfg), relaxed)
		if err == nil || ex.Held() != 0 {
			t.Errorf("%.40s: err=%v held=%d, want a failure", cfg, err, ex.Held())
		}
	}
	if sems.Len() != 0 {
		t.Fatalf("invalid calls took slots: %d keys", sems.Len())
	}

	// The slot stays held when the call ends badly, until the exchange is
	// released: early answer, policy failure, trap.
	for _, cfg := range []string{"acquire:e=1;respond:201=x", "acquire:e=1;fail", "acquire:e=1;panic"} {
		before := sems.releases
		ex := newExchange()
		_, err := h.m.Call(ex, engine.PhaseRequest, h.plan(t, cfg), relaxed)
		if ex.Held() != 1 || sems.InFlight(h.m.StoredKey("e")) != 1 {
			t.Fatalf("%s: err=%v held=%d in flight=%d", cfg, err, ex.Held(), sems.InFlight(h.m.StoredKey("e")))
		}
		ex.Reset()
		ex.Reset()
		if sems.releases != before+1 || sems.InFlight(h.m.StoredKey("e")) != 0 {
			t.Fatalf("%s: %d releases, in flight %d", cfg, sems.releases-before, sems.InFlight(h.m.StoredKey("e")))
		}
	}
}

func TestConcurrencyUnavailable(t *testing.T) {
	h := loadProbeWith(t, &engine.Services{})
	ex := newExchange()
	_, err := h.m.Call(ex, engine.PhaseRequest, h.plan(t, "acquire:k=1"), relaxed)
	if err == nil || !strings.Contains(err.Error(), "-5") && !strings.Contains(err.Error(), "unavailable") {
		t.Errorf("no semaphores: err=%v", err)
	}
	if ex.Held() != 0 {
		t.Error("held a slot without semaphores")
	}
}
