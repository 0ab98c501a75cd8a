package vcache

import (
	"sync"
	"time"
)

// Fill leases (cache_fill_lease, ABI v1.1): cache stampede protection. The
// first call that misses a key takes its fill lease and goes to the backend;
// the calls that miss it while the lease is held wait, in the gateway and
// outside any guest, for the lease to end (Lease.Done), then look the key up
// again.

// MaxLeaseTTL is how long a fill lease may live: a lease older than this is
// dropped (its waiters are woken) and the key may be leased again. It is also
// the longest wait cache_fill_lease accepts.
const MaxLeaseTTL = 30 * time.Second

// DefaultMaxLeases bounds the leases held at once when NewLeases gets 0.
const DefaultMaxLeases = 10000

// Lease is one held fill lease.
type Lease struct {
	key     string
	done    chan struct{}
	expires int64 // Unix ns
	ended   bool  // guarded by Leases.mu
}

// Key returns the leased key.
func (l *Lease) Key() string { return l.key }

// Done is closed when the lease ends (released, or dropped after
// MaxLeaseTTL).
func (l *Lease) Done() <-chan struct{} { return l.done }

// Leases is the node's table of fill leases, keyed by cache key. It is safe
// for concurrent use.
type Leases struct {
	mu  sync.Mutex
	m   map[string]*Lease
	max int
	ttl time.Duration
}

// NewLeases returns a table holding at most max leases at once (0 or less:
// DefaultMaxLeases), each living at most MaxLeaseTTL.
func NewLeases(max int) *Leases {
	if max <= 0 {
		max = DefaultMaxLeases
	}
	return &Leases{m: map[string]*Lease{}, max: max, ttl: MaxLeaseTTL}
}

// Acquire takes the lease on key. It returns the new lease and ok=true when
// the key was free (or its lease had expired, which is then dropped); when
// another holder has it, it returns that holder's lease (to wait on its
// Done) and ok=false. When the table is full of live leases it returns nil,
// false: the caller goes on without a lease.
func (t *Leases) Acquire(key string, now time.Time) (l *Lease, ok bool) {
	n := now.UnixNano()
	t.mu.Lock()
	defer t.mu.Unlock()
	if cur := t.m[key]; cur != nil {
		if n < cur.expires {
			return cur, false
		}
		t.endLocked(cur)
	}
	if len(t.m) >= t.max {
		for _, cur := range t.m {
			if n >= cur.expires {
				t.endLocked(cur)
			}
		}
		if len(t.m) >= t.max {
			return nil, false
		}
	}
	l = &Lease{key: key, done: make(chan struct{}), expires: n + int64(t.ttl)}
	t.m[key] = l
	return l, true
}

// Release ends l: it leaves the table (if still there) and Done is closed.
// Releasing an ended lease does nothing, so each lease ends exactly once.
func (t *Leases) Release(l *Lease) {
	if l == nil {
		return
	}
	t.mu.Lock()
	t.endLocked(l)
	t.mu.Unlock()
}

func (t *Leases) endLocked(l *Lease) {
	if l.ended {
		return
	}
	l.ended = true
	if t.m[l.key] == l {
		delete(t.m, l.key)
	}
	close(l.done)
}

// Len returns the number of leases in the table (expired ones not yet
// dropped included).
func (t *Leases) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}

// Held reports whether a live lease is held on key at now.
func (t *Leases) Held(key string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	l := t.m[key]
	return l != nil && now.UnixNano() < l.expires
}
