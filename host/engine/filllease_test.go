package engine_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/vcache"
)

// countingLeases wraps a vcache.Leases and counts the leases that really
// ended, to check each is released exactly once.
type countingLeases struct {
	*vcache.Leases
	ended int
}

func (c *countingLeases) Release(l *vcache.Lease) {
	select {
	case <-l.Done():
	default:
		c.ended++
	}
	c.Leases.Release(l)
}

func leaseStatus(t *testing.T, ex *engine.Exchange) int32 {
	t.Helper()
	v, ok := ex.Var("lease")
	if !ok {
		t.Fatal("no lease status")
	}
	n, _ := strconv.Atoi(v)
	return int32(n)
}

// TestCacheFillLease checks cache_fill_lease's statuses, the fill wait it
// records for the gateway, the early release by cache_set, and that each
// lease ends exactly once whatever ended the call: a continue, an early
// answer, a failure, a trap.
func TestCacheFillLease(t *testing.T) {
	leases := &countingLeases{Leases: vcache.NewLeases(0)}
	h := loadProbeWith(t, &engine.Services{Cache: vcache.New(100, 1<<20), Leases: leases})

	filler := newExchange()
	if _, err := h.m.Call(filler, engine.PhaseRequest, h.plan(t, "lease:k=500"), relaxed); err != nil || leaseStatus(t, filler) != abi.OK || filler.Leases() != 1 {
		t.Fatalf("first: err=%v status=%d leases=%d", err, leaseStatus(t, filler), filler.Leases())
	}
	if _, _, ok := filler.TakeFillWait(); ok {
		t.Fatal("the filler was asked to wait")
	}
	// Again in the same request: already held, nothing more.
	if _, err := h.m.Call(filler, engine.PhaseRequest, h.plan(t, "lease:k=500"), relaxed); err != nil || leaseStatus(t, filler) != abi.OK || filler.Leases() != 1 {
		t.Fatalf("again: err=%v leases=%d", err, filler.Leases())
	}

	waiter := newExchange()
	if _, err := h.m.Call(waiter, engine.PhaseRequest, h.plan(t, "lease:k=500"), relaxed); err != nil || leaseStatus(t, waiter) != abi.ErrLimit || waiter.Leases() != 0 {
		t.Fatalf("busy: err=%v status=%d", err, leaseStatus(t, waiter))
	}
	done, wait, ok := waiter.TakeFillWait()
	if !ok || wait != 500*time.Millisecond {
		t.Fatalf("fill wait: %v %v", wait, ok)
	}
	if _, _, ok := waiter.TakeFillWait(); ok {
		t.Fatal("the fill wait was not cleared")
	}
	// After its wait, the request never waits again: busy is ErrUnavail.
	if _, err := h.m.Call(waiter, engine.PhaseRequest, h.plan(t, "lease:k=500"), relaxed); err != nil || leaseStatus(t, waiter) != abi.ErrUnavail {
		t.Fatalf("second wait: err=%v status=%d", err, leaseStatus(t, waiter))
	}
	if _, _, ok := waiter.TakeFillWait(); ok {
		t.Fatal("a second fill wait")
	}
	// wait 0: busy, no wait asked.
	nowait := newExchange()
	h.m.Call(nowait, engine.PhaseRequest, h.plan(t, "lease:k=0"), relaxed)
	if _, _, ok := nowait.TakeFillWait(); ok || leaseStatus(t, nowait) != abi.ErrLimit {
		t.Fatal("wait 0")
	}

	// The filler stores the key: its lease ends then, not at the end.
	select {
	case <-done:
		t.Fatal("done before the store")
	default:
	}
	if _, err := h.m.Call(filler, engine.PhaseResponse, h.plan(t, "store:k=v"), relaxed); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	default:
		t.Fatal("cache_set did not end the lease")
	}
	if filler.Leases() != 0 || leases.ended != 1 {
		t.Fatalf("after the store: leases=%d ended=%d", filler.Leases(), leases.ended)
	}
	filler.Reset()
	if leases.ended != 1 || leases.Len() != 0 {
		t.Fatalf("after reset: ended=%d len=%d", leases.ended, leases.Len())
	}

	// Invalid arguments and phase.
	for _, cfg := range []string{"lease:=1", "lease:k=-1", "lease:k=" + strconv.Itoa(abi.MaxFillLeaseWait+1), "lease:" + strings.Repeat("k", 513) + "=1"} {
		ex := newExchange()
		h.m.Call(ex, engine.PhaseRequest, h.plan(t, cfg), relaxed)
		if leaseStatus(t, ex) != abi.ErrInvalid || ex.Leases() != 0 {
			t.Errorf("%.40s: status %d", cfg, leaseStatus(t, ex))
		}
	}
	if leases.Len() != 0 {
		t.Fatalf("invalid calls took leases: %d", leases.Len())
	}

	// The lease stays held when the call ends badly, until the exchange is
	// released, then ends exactly once: early answer, failure, trap.
	for _, cfg := range []string{"lease:e=1;respond:201=x", "lease:e=1;fail", "lease:e=1;panic"} {
		before := leases.ended
		ex := newExchange()
		_, err := h.m.Call(ex, engine.PhaseRequest, h.plan(t, cfg), relaxed)
		if ex.Leases() != 1 || leases.Len() != 1 {
			t.Fatalf("%s: err=%v leases=%d", cfg, err, ex.Leases())
		}
		ex.ReleaseHeld()
		ex.Reset()
		if leases.ended != before+1 || leases.Len() != 0 {
			t.Fatalf("%s: %d ended, %d left", cfg, leases.ended-before, leases.Len())
		}
	}
}

func TestCacheFillLeaseUnavailable(t *testing.T) {
	for name, svc := range map[string]*engine.Services{
		"no leases": {Cache: vcache.New(10, 1<<20)},
		"no cache":  {Leases: vcache.NewLeases(0)},
	} {
		h := loadProbeWith(t, svc)
		ex := newExchange()
		h.m.Call(ex, engine.PhaseRequest, h.plan(t, "lease:k=1"), relaxed)
		if leaseStatus(t, ex) != abi.ErrUnavail || ex.Leases() != 0 {
			t.Errorf("%s: status %d", name, leaseStatus(t, ex))
		}
	}
	// A full table: go on without a lease.
	h := loadProbeWith(t, &engine.Services{Cache: vcache.New(10, 1<<20), Leases: vcache.NewLeases(1)})
	a, b := newExchange(), newExchange()
	h.m.Call(a, engine.PhaseRequest, h.plan(t, "lease:a=1"), relaxed)
	h.m.Call(b, engine.PhaseRequest, h.plan(t, "lease:b=1"), relaxed)
	if leaseStatus(t, a) != abi.OK || leaseStatus(t, b) != abi.ErrUnavail {
		t.Errorf("full table: %d %d", leaseStatus(t, a), leaseStatus(t, b))
	}
	a.Reset()
}
