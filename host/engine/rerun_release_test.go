package engine_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/host/engine"
)

// TestSuffixPlanReleasedWithItsPlan: a fill-wait re-run plan made by
// SuffixPlan is released with the plan it is a suffix of, so a released
// catalog generation leaves no plan registered (Module.Registered), and a
// suffix of a released plan is not handed out again.
func TestSuffixPlanReleasedWithItsPlan(t *testing.T) {
	h := loadProbe(t, engine.LoadOptions{Min: 1, Max: 1})
	p := h.plan(t, "continue", "continue", "continue")
	s, err := h.m.SuffixPlan(p, 1)
	if err != nil || s == p || len(s.Attachments) != 2 {
		t.Fatalf("suffix: %v %v", s, err)
	}
	if again, _ := h.m.SuffixPlan(p, 1); again != s {
		t.Error("a second SuffixPlan made another plan")
	}
	// The three equal attachments are one (Module.Attach shares them).
	if a, pl := h.m.Registered(); a != 1 || pl != 2 {
		t.Fatalf("registered before release: %d attachments, %d plans", a, pl)
	}
	h.m.Release([]*engine.Plan{p})
	if a, pl := h.m.Registered(); a != 0 || pl != 0 {
		t.Errorf("registered after release: %d attachments, %d plans (want 0, 0)", a, pl)
	}
	if _, err := h.m.SuffixPlan(p, 1); err == nil {
		t.Error("SuffixPlan of a released plan succeeded")
	}
}
