package counter

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/abi"
)

var t0 = time.Date(2030, 1, 2, 12, 0, 0, 0, time.UTC)

func mustAdd(t *testing.T, s *Store, key string, delta, limit int64, window time.Duration, mode int32, now time.Time) (int64, time.Time, bool) {
	t.Helper()
	c, r, ok, err := s.Add(key, delta, limit, window, mode, now)
	if err != nil {
		t.Fatalf("Add(%q, %d, %d, %v, %#x): %v", key, delta, limit, window, mode, err)
	}
	return c, r, ok
}

func TestFixedWindow(t *testing.T) {
	s := New(Options{})
	now := t0.Add(30 * time.Second) // 12:00:30
	wantReset := t0.Add(time.Minute)
	for i := int64(1); i <= 3; i++ {
		c, r, ok := mustAdd(t, s, "k", 1, 3, time.Minute, abi.CounterFixed, now)
		if !ok || c != i || !r.Equal(wantReset) {
			t.Fatalf("add %d: count=%d reset=%v ok=%v; want %d %v true", i, c, r, ok, i, wantReset)
		}
	}
	c, r, ok := mustAdd(t, s, "k", 1, 3, time.Minute, abi.CounterFixed, now)
	if ok || c != 3 || !r.Equal(wantReset) {
		t.Fatalf("over limit: count=%d reset=%v ok=%v; want 3 %v false", c, r, ok, wantReset)
	}
	// The last nanosecond of the window still counts in it.
	if _, _, ok := mustAdd(t, s, "k", 1, 3, time.Minute, abi.CounterFixed, wantReset.Add(-1)); ok {
		t.Fatal("add in the last nanosecond of a full window was accepted")
	}
	// The next window starts from zero.
	c, r, ok = mustAdd(t, s, "k", 1, 3, time.Minute, abi.CounterFixed, wantReset)
	if !ok || c != 1 || !r.Equal(wantReset.Add(time.Minute)) {
		t.Fatalf("next window: count=%d reset=%v ok=%v", c, r, ok)
	}
}

func TestRefusedAddsNothing(t *testing.T) {
	s := New(Options{})
	mustAdd(t, s, "k", 2, 3, time.Hour, 0, t0)
	if c, _, ok := mustAdd(t, s, "k", 2, 3, time.Hour, 0, t0); ok || c != 2 {
		t.Fatalf("count=%d ok=%v; want 2 false", c, ok)
	}
	if c, _, ok := mustAdd(t, s, "k", 1, 3, time.Hour, 0, t0); !ok || c != 3 {
		t.Fatalf("count=%d ok=%v; want 3 true", c, ok)
	}
	// delta 0 reads.
	if c, _, ok := mustAdd(t, s, "k", 0, 3, time.Hour, 0, t0); !ok || c != 3 {
		t.Fatalf("read: count=%d ok=%v; want 3 true", c, ok)
	}
	// A delta larger than any limit must not overflow into acceptance.
	if c, _, ok := mustAdd(t, s, "k", math.MaxInt64, 3, time.Hour, 0, t0); ok || c != 3 {
		t.Fatalf("huge delta: count=%d ok=%v", c, ok)
	}
}

func TestNoLimitSaturates(t *testing.T) {
	s := New(Options{})
	mustAdd(t, s, "k", 1<<62, 0, time.Hour, 0, t0)
	mustAdd(t, s, "k", 1<<62, 0, time.Hour, 0, t0)
	c, _, ok := mustAdd(t, s, "k", 1<<62, 0, time.Hour, 0, t0)
	if !ok || c != 1<<63-1 {
		t.Fatalf("count=%d ok=%v; want MaxInt64 true", c, ok)
	}
}

func TestBeforeEpochAlignment(t *testing.T) {
	s := New(Options{})
	now := time.Unix(-90, 0) // -1m30s: window [-2m, -1m)
	_, r, _ := mustAdd(t, s, "k", 1, 0, time.Minute, 0, now)
	if want := time.Unix(-60, 0); !r.Equal(want) {
		t.Fatalf("reset %v, want %v", r, want)
	}
}

func TestInvalid(t *testing.T) {
	s := New(Options{})
	cases := []struct {
		name   string
		key    string
		delta  int64
		window time.Duration
		mode   int32
	}{
		{"empty key", "", 1, time.Second, 0},
		{"long key", strings.Repeat("x", MaxKeyLen+1), 1, time.Second, 0},
		{"zero window", "k", 1, 0, 0},
		{"negative window", "k", 1, -time.Second, 0},
		{"window too long", "k", 1, MaxWindow + 1, 0},
		{"negative delta", "k", -1, time.Second, 0},
		{"unknown mode", "k", 1, time.Second, 2},
		{"unknown high mode", "k", 1, time.Second, abi.CounterPersist | 0x100},
	}
	for _, c := range cases {
		_, _, ok, err := s.Add(c.key, c.delta, 10, c.window, c.mode, t0)
		if !errors.Is(err, ErrInvalid) || ok {
			t.Errorf("%s: ok=%v err=%v; want ErrInvalid", c.name, ok, err)
		}
	}
	if s.Len() != 0 {
		t.Fatalf("invalid calls created %d counters", s.Len())
	}
	// The boundaries themselves are valid.
	mustAdd(t, s, strings.Repeat("x", MaxKeyLen), 1, 0, MaxWindow, 0, t0)
	mustAdd(t, s, "k", 0, 0, 1, abi.CounterSliding|abi.CounterPersist, t0)
}

func TestDistinctCounters(t *testing.T) {
	s := New(Options{})
	modes := []int32{abi.CounterFixed, abi.CounterSliding, abi.CounterFixed | abi.CounterPersist, abi.CounterSliding | abi.CounterPersist}
	for _, w := range []time.Duration{time.Minute, time.Hour} {
		for _, m := range modes {
			if c, _, ok := mustAdd(t, s, "k", 1, 1, w, m, t0); !ok || c != 1 {
				t.Fatalf("window %v mode %#x: count=%d ok=%v; want a fresh counter", w, m, c, ok)
			}
		}
	}
	if c, _, ok := mustAdd(t, s, "other", 1, 1, time.Minute, 0, t0); !ok || c != 1 {
		t.Fatalf("other key: count=%d ok=%v", c, ok)
	}
	if s.Len() != 9 {
		t.Fatalf("Len=%d, want 9", s.Len())
	}
}

func TestSlidingWindow(t *testing.T) {
	s := New(Options{})
	const w = 10 * time.Second
	sl := abi.CounterSliding
	// Window 0 = [t0, t0+10s): 10 hits.
	for i := 0; i < 10; i++ {
		mustAdd(t, s, "k", 1, 10, w, sl, t0.Add(time.Second))
	}
	if _, _, ok := mustAdd(t, s, "k", 1, 10, w, sl, t0.Add(2*time.Second)); ok {
		t.Fatal("11th hit in the first window accepted")
	}
	// 2.5 s into window 1, the previous window weighs 75%: 10*0.75 = 7.5 -> 7.
	at := t0.Add(w + 2500*time.Millisecond)
	c, r, ok := mustAdd(t, s, "k", 0, 10, w, sl, at)
	if !ok || c != 7 {
		t.Fatalf("estimate=%d ok=%v; want 7 true", c, ok)
	}
	// The estimate drops to 6 when 10*remaining/10s < 7, i.e. remaining < 7s:
	// at t0+w+3s+1ns.
	wantReset := t0.Add(w + 3*time.Second + 1)
	if !r.Equal(wantReset) {
		t.Fatalf("reset %v, want %v", r.Sub(t0), wantReset.Sub(t0))
	}
	if c, _, _ := mustAdd(t, s, "k", 0, 10, w, sl, wantReset.Add(-1)); c != 7 {
		t.Fatalf("estimate just before reset = %d, want 7", c)
	}
	if c, _, _ := mustAdd(t, s, "k", 0, 10, w, sl, wantReset); c != 6 {
		t.Fatalf("estimate at reset = %d, want 6", c)
	}
	// Back at 2.5 s: 3 more fit, a 4th does not.
	c, _, ok = mustAdd(t, s, "k", 3, 10, w, sl, at)
	if !ok || c != 10 {
		t.Fatalf("after +3: estimate=%d ok=%v; want 10 true", c, ok)
	}
	if c, _, ok := mustAdd(t, s, "k", 1, 10, w, sl, at); ok || c != 10 {
		t.Fatalf("over limit: estimate=%d ok=%v; want 10 false", c, ok)
	}
	// Window 2 starts with window 1's 3 hits as prev; at its start they weigh 100%.
	if c, _, _ := mustAdd(t, s, "k", 0, 10, w, sl, t0.Add(2*w)); c != 3 {
		t.Fatalf("window 2 start: estimate=%d, want 3", c)
	}
	// After a gap of more than one window nothing carries over, and with
	// nothing weighted the reset is the window end.
	c, r, _ = mustAdd(t, s, "k", 0, 10, w, sl, t0.Add(5*w+time.Second))
	if c != 0 || !r.Equal(t0.Add(6*w)) {
		t.Fatalf("after gap: estimate=%d reset=%v", c, r.Sub(t0))
	}
}

func TestClockBackCountsInCurrentWindow(t *testing.T) {
	s := New(Options{})
	mustAdd(t, s, "k", 1, 0, time.Minute, 0, t0.Add(time.Minute))
	c, r, _ := mustAdd(t, s, "k", 1, 0, time.Minute, 0, t0.Add(time.Second))
	if c != 2 || !r.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("count=%d reset=%v", c, r)
	}
	c, _, _ = mustAdd(t, s, "s", 1, 0, time.Minute, abi.CounterSliding, t0.Add(time.Minute))
	c2, _, _ := mustAdd(t, s, "s", 1, 0, time.Minute, abi.CounterSliding, t0)
	if c != 1 || c2 != 2 {
		t.Fatalf("sliding: %d %d", c, c2)
	}
}

// TestHammer proves the check-and-add is atomic: with a fixed window and a
// limit, exactly min(limit, N*M) adds succeed.
func TestHammer(t *testing.T) {
	const n, m = 16, 2000
	for _, limit := range []int64{1, 777, 12345, n*m - 1, n * m, n*m + 5} {
		for _, mode := range []int32{abi.CounterFixed, abi.CounterSliding} {
			s := New(Options{})
			var okCount atomic.Int64
			var wg sync.WaitGroup
			for g := 0; g < n; g++ {
				wg.Add(1)
				go func(g int) {
					defer wg.Done()
					for i := 0; i < m; i++ {
						// Other keys interleaved so several shards are busy.
						if _, _, _, err := s.Add(fmt.Sprintf("noise-%d", i%32), 1, 0, time.Hour, mode, t0); err != nil {
							t.Error(err)
							return
						}
						_, _, ok, err := s.Add("hot", 1, limit, time.Hour, mode, t0)
						if err != nil {
							t.Error(err)
							return
						}
						if ok {
							okCount.Add(1)
						}
					}
				}(g)
			}
			wg.Wait()
			want := min(limit, n*m)
			if got := okCount.Load(); got != want {
				t.Fatalf("limit %d mode %d: %d adds succeeded, want %d", limit, mode, got, want)
			}
			if c, _, _ := mustAdd(t, s, "hot", 0, 0, time.Hour, mode, t0); c != want {
				t.Fatalf("limit %d mode %d: final count %d, want %d", limit, mode, c, want)
			}
		}
	}
}

func TestMemoryBound(t *testing.T) {
	s := New(Options{MaxKeys: 1000})
	limit := ((1000 + numShards - 1) / numShards) * numShards
	for i := 0; i < 50000; i++ {
		mustAdd(t, s, fmt.Sprintf("key-%d", i), 1, 0, time.Hour, 0, t0.Add(time.Duration(i)*time.Microsecond))
		if i%997 == 0 && s.Len() > limit {
			t.Fatalf("after %d keys Len=%d > %d", i+1, s.Len(), limit)
		}
	}
	if l := s.Len(); l > limit || l < limit/2 {
		t.Fatalf("Len=%d, want in [%d, %d]", l, limit/2, limit)
	}
	// The most recent key survived.
	if c, _, _ := mustAdd(t, s, "key-49999", 0, 0, time.Hour, 0, t0.Add(50*time.Millisecond)); c != 1 {
		t.Fatalf("most recent key lost (count %d)", c)
	}
}

func has(s *Store, key string, w time.Duration, mode int32) bool {
	sh := s.shardFor(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	_, ok := sh.m[ckey{key, int64(w), mode}]
	return ok
}

func TestEvictExpiredFirstThenOldest(t *testing.T) {
	s := newStore(Options{MaxKeys: 8}, 1, false)
	ms := time.Millisecond
	// k0..k7 used at t0+0..7ms with an hour window, except k3 which has a
	// 1 ms window and so has expired by t0+5ms.
	for i := 0; i < 8; i++ {
		w := time.Hour
		if i == 3 {
			w = ms
		}
		mustAdd(t, s, fmt.Sprintf("k%d", i), 1, 0, w, 0, t0.Add(time.Duration(i)*ms))
	}
	// Touch k0 again so k1 becomes the least recently used.
	mustAdd(t, s, "k0", 1, 0, time.Hour, 0, t0.Add(8*ms))
	mustAdd(t, s, "k8", 1, 0, time.Hour, 0, t0.Add(9*ms))
	if has(s, "k3", ms, 0) {
		t.Fatal("expired k3 not evicted")
	}
	for _, k := range []string{"k0", "k1", "k2", "k4", "k5", "k6", "k7", "k8"} {
		if !has(s, k, time.Hour, 0) {
			t.Fatalf("%s evicted while an expired entry was available", k)
		}
	}
	// Nothing has expired now: the least recently used entry (k1) goes.
	mustAdd(t, s, "k9", 1, 0, time.Hour, 0, t0.Add(10*ms))
	if has(s, "k1", time.Hour, 0) {
		t.Fatal("least recently used k1 not evicted")
	}
	if !has(s, "k0", time.Hour, 0) || !has(s, "k9", time.Hour, 0) {
		t.Fatal("wrong entry evicted")
	}
	if s.Len() != 8 {
		t.Fatalf("Len=%d, want 8", s.Len())
	}
}

func TestEvictAmortised(t *testing.T) {
	s := newStore(Options{MaxKeys: 80}, 1, false)
	for i := 0; i < 80; i++ {
		mustAdd(t, s, fmt.Sprintf("k%d", i), 1, 0, time.Hour, 0, t0.Add(time.Duration(i)))
	}
	mustAdd(t, s, "new", 1, 0, time.Hour, 0, t0.Add(100))
	// 80 -> 70 (the 10 oldest) + "new".
	if s.Len() != 71 {
		t.Fatalf("Len=%d, want 71", s.Len())
	}
	for i := 0; i < 80; i++ {
		if got, want := has(s, fmt.Sprintf("k%d", i), time.Hour, 0), i >= 10; got != want {
			t.Fatalf("k%d present=%v, want %v", i, got, want)
		}
	}
}

func TestLazySweep(t *testing.T) {
	s := newStore(Options{}, 1, false)
	mustAdd(t, s, "short", 1, 0, time.Millisecond, 0, t0)
	mustAdd(t, s, "slide", 1, 0, time.Second, abi.CounterSliding, t0)
	mustAdd(t, s, "long", 1, 0, time.Hour, 0, t0)
	// Within the sweep interval nothing is swept.
	mustAdd(t, s, "long", 1, 0, time.Hour, 0, t0.Add(500*time.Millisecond))
	if s.Len() != 3 {
		t.Fatalf("Len=%d, want 3", s.Len())
	}
	// At t0+1.5s: "short" expired; "slide" still weighs in the sliding estimate.
	mustAdd(t, s, "long", 1, 0, time.Hour, 0, t0.Add(1500*time.Millisecond))
	if has(s, "short", time.Millisecond, 0) || !has(s, "slide", time.Second, abi.CounterSliding) {
		t.Fatal("sweep at 1.5s removed the wrong entries")
	}
	mustAdd(t, s, "long", 1, 0, time.Hour, 0, t0.Add(3*time.Second))
	if has(s, "slide", time.Second, abi.CounterSliding) || s.Len() != 1 {
		t.Fatalf("sweep at 3s: Len=%d", s.Len())
	}
}

func TestLazySweepAfterClockStepsBack(t *testing.T) {
	s := newStore(Options{}, 1, false)
	far := t0.Add(365 * 24 * time.Hour)
	mustAdd(t, s, "long", 1, 0, time.Hour, 0, far) // sweeps, next sweep due far+1s
	mustAdd(t, s, "short", 1, 0, time.Millisecond, 0, t0)
	mustAdd(t, s, "long", 1, 0, time.Hour, 0, t0.Add(time.Second))
	if has(s, "short", time.Millisecond, 0) {
		t.Fatal("no sweep after the clock stepped back")
	}
}

func BenchmarkAddParallel(b *testing.B) {
	s := New(Options{})
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = fmt.Sprintf("tenant-%d:route-%d", i, i*7)
		s.Add(keys[i], 1, 0, time.Minute, abi.CounterFixed, t0)
	}
	b.ReportAllocs()
	b.ResetTimer()
	var seed atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		i := int(seed.Add(1)) * 131
		for pb.Next() {
			i++
			if _, _, _, err := s.Add(keys[i&1023], 1, 0, time.Minute, abi.CounterFixed, t0); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkAddParallelSliding(b *testing.B) {
	s := New(Options{})
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = fmt.Sprintf("tenant-%d:route-%d", i, i*7)
	}
	b.ReportAllocs()
	b.ResetTimer()
	var seed atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		i := int(seed.Add(1)) * 131
		for pb.Next() {
			i++
			if _, _, _, err := s.Add(keys[i&1023], 1, 1<<40, time.Minute, abi.CounterSliding, t0.Add(time.Duration(i))); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestKeySpacesDoNotEvictEachOther: counters created by the hundred
// thousand in the namespaced space (keys starting with NUL: uploaded
// modules) never evict the built-ins' counters, which keep their counts.
func TestKeySpacesDoNotEvictEachOther(t *testing.T) {
	s := New(Options{MaxKeys: 640})
	for i := 0; i < 100; i++ {
		mustAdd(t, s, fmt.Sprintf("rate-limit:sub-%d", i), 5, 0, time.Hour, 0, t0)
	}
	for i := 0; i < 100000; i++ {
		mustAdd(t, s, fmt.Sprintf("\x00evil\x00k-%d", i), 1, 0, time.Hour, 0, t0.Add(time.Duration(i)*time.Microsecond))
	}
	for i := 0; i < 100; i++ {
		if c, _, _ := mustAdd(t, s, fmt.Sprintf("rate-limit:sub-%d", i), 0, 0, time.Hour, 0, t0.Add(time.Second)); c != 5 {
			t.Fatalf("built-in counter %d evicted by the namespaced space (count %d)", i, c)
		}
	}
	if l := s.Len(); l > 2*640+2*64 {
		t.Fatalf("Len=%d: a space grew past its bound", l)
	}
}
