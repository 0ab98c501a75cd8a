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
