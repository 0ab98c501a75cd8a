package analytics

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// TestWriteAllocationsPerRecord: writing a batch of the records one API's
// traffic makes (same API, operation, subscription, client, method, path;
// new request ids and times) allocates nothing per record: the insert's
// arguments are interfaces over reused slots (refInt, refString), so
// neither the times, durations and request ids nor the repeated text
// columns are boxed per row (it was 12 per record, then 4).
func TestWriteAllocationsPerRecord(t *testing.T) {
	w, err := openWriter(WriterOptions{Path: filepath.Join(t.TempDir(), "logs.db"), FlushInterval: time.Hour}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(context.Background())
	const n = 1024
	t0 := time.Now()
	batch := make([]queued, n)
	next := 0
	fill := func() {
		for i := range batch {
			next++
			batch[i].r = Record{Time: t0.Add(time.Duration(next) * time.Microsecond), RequestID: fmt.Sprintf("b7c1d2e3-%d", next),
				API: "bench", Operation: "get-items", Product: "starter", Subscription: "sub-1", User: "user-1",
				ClientIP: "192.0.2.1", Method: "GET", Path: "/bench/items", Status: 200, BackendStatus: 200,
				Total: 900 * time.Microsecond, Backend: 700 * time.Microsecond, Policies: 30 * time.Microsecond, BytesOut: 100}
		}
	}
	// The writer goroutine is idle (nothing queued, hourly ticks): the
	// test drives flush itself.
	fill()
	w.flush(batch)
	var per float64
	for range 3 {
		fill() // (its allocations are counted below and subtracted)
		made := testing.AllocsPerRun(1, fill)
		total := testing.AllocsPerRun(1, func() { fill(); w.flush(batch) })
		per = (total - made) / n
		if per <= 0.5 {
			break
		}
	}
	t.Logf("%.2f allocations per record written", per)
	if per > 0.5 {
		t.Errorf("%.2f allocations per record written, want ≤ 0.5", per)
	}
	if s := w.Stats(); s.Written < 2*n {
		t.Errorf("written %d", s.Written)
	}
}

// TestRefValues: the insert's reused argument slots are read when bound,
// so a slot written after its interface was made binds the new value.
func TestRefValues(t *testing.T) {
	var n int64 = 7
	var s = "a"
	vi, vs := refInt(&n), refString(&s)
	n, s = 1<<40, "request-2"
	if got, ok := vi.(int64); !ok || got != 1<<40 {
		t.Errorf("refInt reads %v (%T)", vi, vi)
	}
	if got, ok := vs.(string); !ok || got != "request-2" {
		t.Errorf("refString reads %v (%T)", vs, vs)
	}
	if n := testing.AllocsPerRun(100, func() { n++; s = "request-3" }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}
