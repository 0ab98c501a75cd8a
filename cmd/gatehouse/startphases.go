package main

import (
	"context"
	"log/slog"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/plugins/embedded"
)

// startPhases times the steps of `serve` from the start of the process's
// work to ready (docs/benchmarks.md "Memory and start (issue 12)"): logged
// with the "gateway ready" line, so a slow start says where it went.
type startPhases struct {
	start, last time.Time
	names       []string
	ms          []float64
}

func newStartPhases() *startPhases {
	now := time.Now()
	return &startPhases{start: now, last: now}
}

// mark ends the phase name (the time since the previous mark).
func (p *startPhases) mark(name string) {
	now := time.Now()
	p.names = append(p.names, name)
	p.ms = append(p.ms, float64(now.Sub(p.last).Microseconds())/1000)
	p.last = now
}

// total is the time since the timer started.
func (p *startPhases) total() time.Duration { return time.Since(p.start) }

// attr is the phases as one log attribute: {"name": ms, …} in order.
func (p *startPhases) attr() slog.Attr {
	attrs := make([]any, 0, len(p.names))
	for i, n := range p.names {
		attrs = append(attrs, slog.Float64(n, p.ms[i]))
	}
	return slog.Group("start_ms", attrs...)
}

// returnStartMemory collects the garbage of start-up (module decoding and
// compilation, the catalog read, template parsing: tens of MB) and returns
// the freed pages to the OS at once, instead of leaving them to the
// runtime's background scavenger, which releases them over minutes, or
// never while the heap stays under its goal. One GC, off the ready path.
// The built-in module's and its seed's file pages, read once at start (5 +
// 3 MB of the binary), leave the resident set too, and so do the SQLite
// page caches of start-up (migrations, the seed, the first catalog load,
// the log's recovery: shrinkers) with the C heap pages they freed.
func returnStartMemory(log *slog.Logger, shrinkers ...func(context.Context) error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, shrink := range shrinkers {
		if err := shrink(ctx); err != nil {
			log.Debug("start memory: shrinking a SQLite pool", "err", err)
		}
	}
	mallocTrim()
	debug.FreeOSMemory()
	embedded.ReleasePages()
}

// startHeapCap: past this much heap during start, collections resume at
// once (pauseGCForStart).
const startHeapCap = 128 << 20

// pauseGCForStart turns the garbage collector's proportional pacing off
// until the returned function is called at ready (or on a failed start):
// a start allocates its live heap from nothing, and with GOGC=100 the
// collector ran three or four cycles on the way, marking a heap that is
// still growing (≈ 20–140 ms of CPU in a warm start of the 4-policy
// gateway, gctrace). The garbage left is returned once after ready
// (returnStartMemory). A start whose heap passes capBytes (a big catalog)
// gets the usual pacing back at once, from a watchdog reading the heap
// every 10 ms, and the memory limit is capBytes meanwhile (or a lower
// GOMEMLIMIT the operator set), so nothing runs away between two reads.
// The restore is idempotent.
func pauseGCForStart(capBytes uint64) (restore func()) {
	limit := debug.SetMemoryLimit(-1) // the current limit (GOMEMLIMIT), unchanged
	pct := debug.SetGCPercent(-1)
	debug.SetMemoryLimit(min(limit, int64(capBytes)))
	done := make(chan struct{})
	var once sync.Once
	restore = func() {
		once.Do(func() {
			close(done)
			debug.SetGCPercent(pct)
			debug.SetMemoryLimit(limit)
		})
	}
	go func() {
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			metrics.Read(s)
			if s[0].Value.Kind() == metrics.KindUint64 && s[0].Value.Uint64() >= capBytes/2 {
				restore()
				return
			}
		}
	}()
	return restore
}
