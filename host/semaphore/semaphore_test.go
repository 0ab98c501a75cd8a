package semaphore_test

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gatehouse/gatehouse/host/semaphore"
)

func TestAcquireRelease(t *testing.T) {
	s := semaphore.New()
	if s.Acquire("k", 0) || s.Acquire("k", -1) {
		t.Fatal("limit < 1 granted a slot")
	}
	if !s.Acquire("k", 2) || !s.Acquire("k", 2) {
		t.Fatal("first two slots refused")
	}
	if s.Acquire("k", 2) {
		t.Fatal("third slot granted with limit 2")
	}
	if !s.Acquire("k", 3) {
		t.Fatal("a larger limit on the same key refused")
	}
	if !s.Acquire("other", 1) || s.InFlight("k") != 3 || s.InFlight("other") != 1 {
		t.Fatalf("in flight k=%d other=%d", s.InFlight("k"), s.InFlight("other"))
	}
	s.Release("k")
	if !s.Acquire("k", 3) {
		t.Fatal("released slot not reusable")
	}
	for range 3 {
		s.Release("k")
	}
	s.Release("other")
	if s.Len() != 0 || s.InFlight("k") != 0 {
		t.Fatalf("entries with count 0 kept: len %d", s.Len())
	}
	s.Release("never") // no-op
	if s.Len() != 0 {
		t.Fatal("Release of an unknown key created an entry")
	}
	var zero semaphore.Set
	if !zero.Acquire("z", 1) {
		t.Fatal("zero Set unusable")
	}
}

// TestConcurrent runs many goroutines against a few keys and checks that no
// key ever has more than its limit in flight.
func TestConcurrent(t *testing.T) {
	s := semaphore.New()
	const limit = 3
	keys := []string{"a", "b", "c"}
	var inside [3]atomic.Int64
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				k := (g + i) % len(keys)
				if !s.Acquire(keys[k], limit) {
					continue
				}
				if n := inside[k].Add(1); n > limit {
					t.Errorf("key %s: %d in flight, limit %d", keys[k], n, limit)
				}
				inside[k].Add(-1)
				s.Release(keys[k])
			}
		}()
	}
	wg.Wait()
	if s.Len() != 0 {
		t.Fatalf("%d keys left after every slot was released", s.Len())
	}
}

func TestAcquireAllocs(t *testing.T) {
	s := semaphore.New()
	s.Acquire("held", 10) // keeps the entry alive
	key := "held"
	n := testing.AllocsPerRun(100, func() {
		if s.Acquire(key, 10) {
			s.Release(key)
		}
	})
	if n != 0 {
		t.Fatalf("%v allocations per acquire/release of an existing key", n)
	}
}

func BenchmarkAcquireRelease(b *testing.B) {
	s := semaphore.New()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if s.Acquire("bench", 1<<30) {
				s.Release("bench")
			}
		}
	})
}
