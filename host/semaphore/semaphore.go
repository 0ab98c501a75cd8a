// Package semaphore is the host side of the concurrency_acquire capability
// (ABI v1.1): named counting semaphores that bound how many requests are in
// flight per key, shared by every module and instance on the node.
//
// Unlike the windowed counters of host/counter, a slot is not tied to time:
// it is taken by Acquire and given back by Release, which the gateway calls
// when the request that took it ends. A key whose count drops to zero is
// deleted, so the Set holds only keys with requests in flight.
//
// The Set is sharded (64 shards chosen by an FNV-1a hash of the key, a
// mutex each). Acquire allocates only the key string of a new entry.
// Semaphores live in memory and are not shared between nodes.
package semaphore

import "sync"

const numShards = 64

// Set holds the semaphores. It is safe for concurrent use; the zero value is
// ready to use.
type Set struct {
	shards [numShards]shard
}

type shard struct {
	mu sync.Mutex
	m  map[string]int64
	_  [48]byte // keep shards on separate cache lines
}

// New returns an empty Set.
func New() *Set { return &Set{} }

func (s *Set) shard(key string) *shard {
	h := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		h ^= uint32(key[i])
		h *= 16777619
	}
	return &s.shards[h%numShards]
}

// Acquire takes one slot of key if fewer than limit are taken and reports
// whether it did. A limit below 1 never grants a slot.
func (s *Set) Acquire(key string, limit int64) bool {
	if limit < 1 {
		return false
	}
	sh := s.shard(key)
	sh.mu.Lock()
	n := sh.m[key]
	if n >= limit {
		sh.mu.Unlock()
		return false
	}
	if sh.m == nil {
		sh.m = make(map[string]int64)
	}
	sh.m[key] = n + 1
	sh.mu.Unlock()
	return true
}

// Release gives back one slot of key. Releasing a key with no slot taken
// does nothing.
func (s *Set) Release(key string) {
	sh := s.shard(key)
	sh.mu.Lock()
	if n, ok := sh.m[key]; ok {
		if n <= 1 {
			delete(sh.m, key)
		} else {
			sh.m[key] = n - 1
		}
	}
	sh.mu.Unlock()
}

// InFlight returns the slots of key currently taken.
func (s *Set) InFlight(key string) int64 {
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.m[key]
}

// Len returns the number of keys with at least one slot taken.
func (s *Set) Len() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}
