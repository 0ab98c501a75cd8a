package analytics

import (
	"context"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
	"unsafe"
)

const sizeofQueued = unsafe.Sizeof(queued{})

func TestRecordQueueBoundOrderClose(t *testing.T) {
	q := recordQueue{max: 3}
	for i := range 3 {
		n, ok := q.push(&Record{Status: 200 + i})
		if !ok || n != i+1 {
			t.Fatalf("push %d: n %d ok %v", i, n, ok)
		}
	}
	if _, ok := q.push(&Record{Status: 299}); ok {
		t.Fatal("a push past the bound was kept")
	}
	got := q.take(nil)
	if len(got) != 3 || got[0].r.Status != 200 || got[2].r.Status != 202 {
		t.Fatalf("take: %d records, %+v", len(got), got)
	}
	if q.len() != 0 {
		t.Fatalf("len %d after take", q.len())
	}
	// The buffer handed back is reused: no allocation for pushes that fit.
	got = q.take(got)
	if n := testing.AllocsPerRun(100, func() {
		q.push(&Record{Status: 1})
		q.take(q.take(nil)[:0])
	}); n != 0 {
		t.Errorf("%v allocations per push into a reused buffer", n)
	}
	q.push(&Record{Status: 204})
	if last := q.close(); len(last) != 1 || last[0].r.Status != 204 {
		t.Fatalf("close returned %+v", last)
	}
	if _, ok := q.push(&Record{Status: 205}); ok {
		t.Fatal("a push after close was kept")
	}
	if q.len() != 0 {
		t.Fatalf("len %d after close", q.len())
	}
}

func TestBufferKeeperLetsGoAfterQuiet(t *testing.T) {
	var k bufferKeeper
	big := make([]queued, 4096)
	big[0].r.API = "kept until cleared"
	b := k.keep(big, 4096) // fully used: kept
	if cap(b) != 4096 || len(b) != 0 {
		t.Fatalf("used buffer: len %d cap %d", len(b), cap(b))
	}
	if big[0].r.API != "" {
		t.Error("a kept buffer still holds a record's strings")
	}
	for i := 1; i < quietTakes; i++ {
		if b = k.keep(b[:10], 10); b == nil {
			t.Fatalf("let go after %d quiet takes, want %d", i, quietTakes)
		}
	}
	// A busy take resets the count.
	b = k.keep(b[:2000], 2000)
	for i := 1; i < quietTakes; i++ {
		if b = k.keep(b[:10], 10); b == nil {
			t.Fatalf("let go after %d quiet takes following a busy one", i)
		}
	}
	if b = k.keep(b[:10], 10); b != nil {
		t.Fatalf("kept (cap %d) after %d quiet takes", cap(b), quietTakes)
	}
	small := make([]queued, keepCap)
	for range 3 * quietTakes {
		if small = k.keep(small[:0], 0); small == nil {
			t.Fatal("a small buffer was let go")
		}
	}
}

// TestWriterQueueMemoryFollowsUse: a writer with the default queue holds
// no queue-sized buffer at open, grows for a burst, writes every record,
// and lets the burst's buffers go once the traffic is quiet again.
func TestWriterQueueMemoryFollowsUse(t *testing.T) {
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	h0 := heap()
	w, err := openWriter(WriterOptions{Path: filepath.Join(t.TempDir(), "logs.db"), FlushInterval: 5 * time.Millisecond}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(context.Background())
	open := heap()
	if open > h0 && open-h0 > 1<<20 {
		t.Errorf("an open writer holds %d KiB of heap (the queue made whole would be %d KiB)", (open-h0)>>10, DefaultQueueSize*int(sizeofQueued)>>10)
	}
	// A burst from several goroutines, as request goroutines log.
	const perG, gs = 3000, 4
	var wg sync.WaitGroup
	var kept sync.Map
	for g := range gs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := 0
			for i := range perG {
				r := Record{Time: time.Now(), API: "burst", Status: 200, RequestID: string(rune('a' + g)), Total: time.Duration(i)}
				if w.Log(&r) {
					n++
				}
			}
			kept.Store(g, n)
		}()
	}
	wg.Wait()
	accepted := 0
	kept.Range(func(_, v any) bool { accepted += v.(int); return true })
	deadline := time.Now().Add(10 * time.Second)
	for w.Stats().Written < int64(accepted) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	s := w.Stats()
	if s.Written != int64(accepted) || s.Written+s.Dropped != perG*gs {
		t.Fatalf("stats %+v, %d accepted of %d", s, accepted, perG*gs)
	}
	busy := heap()
	// Quiet: a trickle for more than quietTakes ticks.
	for range 3 * quietTakes {
		w.Log(&Record{Time: time.Now(), API: "trickle", Status: 200})
		time.Sleep(6 * time.Millisecond)
	}
	deadline = time.Now().Add(5 * time.Second)
	var after uint64
	for {
		after = heap()
		if after < open+512<<10 || time.Now().After(deadline) {
			break
		}
		w.Log(&Record{Time: time.Now(), API: "trickle", Status: 200})
		time.Sleep(6 * time.Millisecond)
	}
	// The writer's own buffers (statement arguments, rollup aggregates:
	// ≈ 300 KiB after this burst) stay; a queue buffer of the burst's
	// size (thousands of records of ≈ 300 bytes) must be gone.
	if busy < open+1<<20 {
		t.Fatalf("the burst grew the heap by %d KiB only: the test tests nothing", (busy-open)>>10)
	}
	if after > open+512<<10 {
		t.Errorf("after the burst and %d quiet ticks the writer holds %d KiB more than at open (%d KiB right after the burst)", 3*quietTakes, (after-open)>>10, (busy-open)>>10)
	}
	t.Logf("heap: %d KiB before open, %d at open, %d after the burst, %d after it went quiet", h0>>10, open>>10, busy>>10, after>>10)
}
