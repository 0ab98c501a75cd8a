package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/hosttest"
)

// TestGuestMemoriesUnmapped: instances discarded for every reason — the
// deadline, a trap, an exit, a memory limit — and a closed module leave no
// guest memory mapped.
func TestGuestMemoriesUnmapped(t *testing.T) {
	if engine.MappedMemories() < 0 {
		t.Skip("no mapped guest memory on this platform")
	}
	ctx := context.Background()
	base := engine.MappedMemories()
	e := newEngine(t)
	m, err := e.Load(ctx, "probe", "1.0.0", hosttest.Probe(t), engine.LoadOptions{Min: 1, Max: 2})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 12 {
		cfg := []string{`"loop"`, `"panic"`, `"exit"`, `"grow:20"`}[i%4]
		p, err := m.NewPlan(m.Attach("probe", []byte(cfg)))
		if err != nil {
			t.Fatal(err)
		}
		_, err = m.Call(newExchange(), engine.PhaseRequest, p, engine.CallOptions{Deadline: 50 * time.Millisecond, MaxPages: 300})
		if err == nil {
			t.Fatalf("%s: no error", cfg)
		}
	}
	if n := engine.MappedMemories() - base; n > 2 {
		t.Errorf("%d guest memories mapped after 12 discarded calls with a pool of at most 2", n)
	}
	m.Close(ctx)
	for deadline := time.Now().Add(5 * time.Second); engine.MappedMemories() > base && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if n := engine.MappedMemories() - base; n != 0 {
		t.Errorf("%d guest memories still mapped after the module closed", n)
	}
}

// TestGuestMemoryReported: GuestMemory adds up the live instances' linear
// memory, and its resident part is no more than it and not nothing.
func TestGuestMemoryReported(t *testing.T) {
	e := newEngine(t)
	if size, res := e.GuestMemory(); size != 0 || res != 0 {
		t.Fatalf("no instance yet, guest memory %d (resident %d)", size, res)
	}
	m, err := e.Load(context.Background(), "probe", "1.0.0", hosttest.Probe(t), engine.LoadOptions{Min: 1, Max: 2})
	if err != nil {
		t.Fatal(err)
	}
	size, res := e.GuestMemory()
	t.Logf("one probe instance: linear memory %.1f MiB, resident %.1f MiB", float64(size)/(1<<20), float64(res)/(1<<20))
	if size < 64<<10 || res <= 0 || res > size {
		t.Fatalf("guest memory %d, resident %d", size, res)
	}
	// A guest that keeps 8 MiB it wrote grows both.
	p, err := m.NewPlan(m.Attach("probe", []byte(`"grow:8"`)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Call(newExchange(), engine.PhaseRequest, p, engine.CallOptions{Deadline: 5 * time.Second, MaxPages: 1000}); err != nil {
		t.Fatal(err)
	}
	size2, res2 := e.GuestMemory()
	t.Logf("after grow:8: linear memory %.1f MiB, resident %.1f MiB", float64(size2)/(1<<20), float64(res2)/(1<<20))
	if size2 < size+8<<20 || res2 > size2 {
		t.Fatalf("after growing 8 MiB: guest memory %d → %d, resident %d → %d", size, size2, res, res2)
	}
	m.Close(context.Background())
	if size, res := e.GuestMemory(); size != 0 || res != 0 {
		t.Fatalf("module closed, guest memory %d (resident %d)", size, res)
	}
}
