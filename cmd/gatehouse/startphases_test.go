package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// TestStartPhases: the ready line's start_ms group has every phase, in
// order, each the time since the previous mark.
func TestStartPhases(t *testing.T) {
	p := newStartPhases()
	time.Sleep(20 * time.Millisecond)
	p.mark("first")
	p.mark("second")
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("gateway ready", p.attr())
	var line struct {
		StartMs map[string]float64 `json:"start_ms"`
	}
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("%v: %s", err, buf.Bytes())
	}
	if len(line.StartMs) != 2 || line.StartMs["first"] < 20 || line.StartMs["second"] >= line.StartMs["first"] {
		t.Fatalf("start_ms = %v, want first ≥ 20 ms and a shorter second", line.StartMs)
	}
	if i, j := bytes.Index(buf.Bytes(), []byte(`"first"`)), bytes.Index(buf.Bytes(), []byte(`"second"`)); i < 0 || j < i {
		t.Fatalf("phases out of order: %s", buf.Bytes())
	}
	if p.total() < 20*time.Millisecond {
		t.Fatalf("total %v", p.total())
	}
}

func gcPercent() int {
	p := debug.SetGCPercent(-1)
	debug.SetGCPercent(p)
	return p
}

// TestPauseGCForStart: collections are paced off until restore, which
// puts back the GOGC and memory limit that were set; a heap passing half
// the cap gets the pacing back without waiting for restore.
func TestPauseGCForStart(t *testing.T) {
	pct, limit := gcPercent(), debug.SetMemoryLimit(-1)
	restore := pauseGCForStart(1 << 40)
	if got := gcPercent(); got != -1 {
		t.Fatalf("GOGC during start %d, want off", got)
	}
	restore()
	restore() // idempotent
	if got, gotLimit := gcPercent(), debug.SetMemoryLimit(-1); got != pct || gotLimit != limit {
		t.Fatalf("after restore GOGC %d, limit %d; want %d, %d", got, gotLimit, pct, limit)
	}

	restore = pauseGCForStart(64 << 20)
	defer restore()
	if got := debug.SetMemoryLimit(-1); got != min(limit, 64<<20) {
		t.Fatalf("memory limit during start %d, want %d", got, min(limit, 64<<20))
	}
	held := make([][]byte, 0, 40)
	for i := 0; i < 40; i++ { // 40 MiB, past half the cap
		b := make([]byte, 1<<20)
		for j := range b {
			b[j] = byte(j)
		}
		held = append(held, b)
	}
	deadline := time.Now().Add(5 * time.Second)
	for gcPercent() == -1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got, gotLimit := gcPercent(), debug.SetMemoryLimit(-1); got != pct || gotLimit != limit {
		t.Fatalf("with %d MiB of heap: GOGC %d, limit %d; want the pacing back (%d, %d)", len(held), got, gotLimit, pct, limit)
	}
	runtime.KeepAlive(held)
}
