package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
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
