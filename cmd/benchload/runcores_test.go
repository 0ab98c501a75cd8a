package main

import (
	"math"
	"testing"
)

// runCores picks the pinned cores (or "all" unpinned) and counts as foreign
// the busy ticks of the machine that none of ours used, per core.
func TestRunCores(t *testing.T) {
	s0 := map[string]coreTicks{"cpu": {Busy: 1000, Idle: 1000}, "cpu0": {Busy: 500, Idle: 500}, "cpu1": {Busy: 500, Idle: 500}}
	// 200 ticks elapsed per core (400 in all): the server's core (1) 190
	// busy, the generator's (0) 50 busy; ours used 220 of the 240 busy.
	s1 := map[string]coreTicks{"cpu": {Busy: 1240, Idle: 1160}, "cpu0": {Busy: 550, Idle: 650}, "cpu1": {Busy: 690, Idle: 510}}
	server, gen, foreign := runCores(s0, s1, true, 2, 220)
	if math.Abs(server.Busy-95) > 1e-9 || math.Abs(gen.Busy-25) > 1e-9 {
		t.Errorf("pinned: server %.1f%% generator %.1f%%, want 95%% and 25%%", server.Busy, gen.Busy)
	}
	if math.Abs(foreign-10) > 1e-9 {
		t.Errorf("foreign %.2f%% of a core, want 10%%", foreign)
	}
	server, gen, _ = runCores(s0, s1, false, 2, 220)
	if math.Abs(server.Busy-60) > 1e-9 || server != gen {
		t.Errorf("unpinned: server %+v generator %+v, want both the machine's 60%%", server, gen)
	}
	if _, _, f := runCores(s0, s0, true, 2, 0); f != 0 {
		t.Errorf("no elapsed ticks: foreign %v, want 0", f)
	}
}
