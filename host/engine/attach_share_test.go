package engine_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/host/engine"
)

// Equal attachments (policy and config) are one registered attachment
// while any plan holds it; each plan's release gives back its own share,
// and the last one frees it.
func TestAttachSharedByContent(t *testing.T) {
	h := loadProbe(t, engine.LoadOptions{Min: 1, Max: 1})
	a1 := h.m.Attach("continue", []byte(`{"x":1}`))
	a2 := h.m.Attach("continue", []byte(`{"x":1}`))
	other := h.m.Attach("continue", []byte(`{"x":2}`))
	empty1, empty2 := h.m.Attach("continue", nil), h.m.Attach("continue", []byte("{}"))
	if a1 != a2 || a1 == other || empty1 != empty2 {
		t.Fatalf("sharing: a1==a2 %v, a1==other %v, nil config == {} %v", a1 == a2, a1 == other, empty1 == empty2)
	}
	p1, err := h.m.NewPlan(a1, other)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := h.m.NewPlan(a2, empty1)
	if err != nil {
		t.Fatal(err)
	}
	p3, err := h.m.NewPlan(empty2)
	if err != nil {
		t.Fatal(err)
	}
	if a, pl := h.m.Registered(); a != 3 || pl != 3 {
		t.Fatalf("registered: %d attachments, %d plans (want 3, 3)", a, pl)
	}
	h.m.Release([]*engine.Plan{p1})
	if got := h.m.PlanAttachments(p2); got[0] != a1 || got[1] != empty1 {
		t.Fatalf("after the first plan's release the second lost %v", got)
	}
	if a, _ := h.m.Registered(); a != 2 {
		t.Fatalf("after one release: %d attachments, want 2 (x:1 still held, x:2 freed)", a)
	}
	h.m.Release([]*engine.Plan{p2, p3})
	if a, pl := h.m.Registered(); a != 0 || pl != 0 {
		t.Fatalf("after every release: %d attachments, %d plans", a, pl)
	}
	// Attached again after being freed: a new registration.
	if a3 := h.m.Attach("continue", []byte(`{"x":1}`)); a3 == a1 || a3.ID == a1.ID {
		t.Fatal("a freed attachment came back")
	}
}
