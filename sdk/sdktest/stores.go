package sdktest

import (
	"errors"
	"math"
	"math/bits"
	"slices"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/abi/hostcall"
)

// The emulator's node-wide stores: in memory, standard library only, so a
// policy's `go test` links no host package and no cgo. They keep the
// semantics abi/ABI.md gives the host's stores (windows, TTLs, leases);
// they do not bound their size or persist anything.

// JWTVerifier verifies tokens for jwt_verify: the claims as JSON, or a
// negative abi status (abi.ErrJWT*). The gateway's verifier
// (host/jwtverify) implements it.
type JWTVerifier = hostcall.JWTVerifier

// Counters are counter_add's windowed counters (fixed and sliding windows,
// as the host counts them).
type Counters struct {
	mu sync.Mutex
	m  map[counterKey]*counterEntry
}

type counterKey struct {
	key    string
	window int64
	mode   int32
}

type counterEntry struct{ start, cur, prev int64 }

// NewCounters returns empty counters.
func NewCounters() *Counters { return &Counters{m: map[counterKey]*counterEntry{}} }

// Add adds delta to key's counter in the window containing now unless that
// would pass limit (> 0): the host's rules (ABI.md §5 "counters").
func (c *Counters) Add(key string, delta, limit int64, window time.Duration, mode int32, now time.Time) (int64, time.Time, bool, error) {
	if len(key) == 0 || window <= 0 || window > abi.MaxCounterWindowMs*time.Millisecond || delta < 0 ||
		mode&^(abi.CounterSliding|abi.CounterPersist) != 0 {
		return 0, time.Time{}, false, errors.New("sdktest: invalid counter_add")
	}
	w, t := int64(window), now.UnixNano()
	start := t / w * w
	if t < 0 && t%w != 0 {
		start -= w
	}
	sliding := mode&abi.CounterSliding != 0
	c.mu.Lock()
	defer c.mu.Unlock()
	k := counterKey{key, w, mode}
	e := c.m[k]
	if e == nil {
		e = &counterEntry{start: start}
		c.m[k] = e
	}
	if start > e.start {
		if sliding && start == e.start+w {
			e.prev = e.cur
		} else {
			e.prev = 0
		}
		e.cur, e.start = 0, start
	}
	end := e.start + w
	if !sliding {
		ok := limit <= 0 || delta <= limit-e.cur
		if ok {
			e.cur += delta
		}
		return e.cur, time.Unix(0, end), ok, nil
	}
	remain := min(end-t, w)
	weighted, _ := mulDivRem(e.prev, remain, w)
	est := e.cur + weighted
	ok := limit <= 0 || delta <= limit-est
	if ok {
		e.cur += delta
		est = e.cur + weighted
	}
	reset := end
	if weighted > 0 {
		// The estimate drops by one when floor(prev*r/w) first falls below
		// weighted: r = ceil(weighted*w/prev) - 1.
		q, rem := mulDivRem(weighted, w, e.prev)
		if rem != 0 {
			q++
		}
		reset = end - (q - 1)
	}
	return est, time.Unix(0, reset), ok, nil
}

// mulDivRem returns floor(a*b/c) and the remainder, for a, b >= 0, c > 0
// and a quotient that fits.
func mulDivRem(a, b, c int64) (int64, int64) {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi >= uint64(c) {
		return math.MaxInt64, 0
	}
	q, r := bits.Div64(hi, lo, uint64(c))
	return int64(q), int64(r)
}

// Cache is the value cache behind cache_get/cache_set/cache_del: entries
// with a TTL, a value of at most MaxValue bytes (the host's per-entry cap).
type Cache struct {
	// MaxValue is the largest value Set stores (default 4 MiB, the host's
	// default per-entry cap).
	MaxValue int
	mu       sync.Mutex
	m        map[string]cacheEntry
}

type cacheEntry struct {
	val     []byte
	expires int64
}

// NewCache returns an empty cache.
func NewCache() *Cache { return &Cache{MaxValue: 4 << 20, m: map[string]cacheEntry{}} }

// Get returns key's value unless it expired.
func (c *Cache) Get(key string, now time.Time) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || now.UnixNano() >= e.expires {
		return nil, false
	}
	return e.val, true
}

// Set stores a copy of val until now+ttl.
func (c *Cache) Set(key string, val []byte, ttl time.Duration, now time.Time) error {
	if len(key) == 0 || ttl <= 0 || ttl > abi.MaxCacheTTLMs*time.Millisecond {
		return errors.New("sdktest: invalid cache_set")
	}
	if len(val) > c.MaxValue {
		return errors.New("sdktest: value above the cache's per-entry cap")
	}
	v := append([]byte(nil), val...)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[key] = cacheEntry{v[:len(v):len(v)], now.UnixNano() + int64(ttl)}
	return nil
}

// Delete removes key.
func (c *Cache) Delete(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, key)
}

// Semaphores back concurrency_acquire.
type Semaphores struct {
	mu sync.Mutex
	m  map[string]int64
}

// NewSemaphores returns semaphores with no slot taken.
func NewSemaphores() *Semaphores { return &Semaphores{m: map[string]int64{}} }

// Acquire takes one slot of key if fewer than limit are taken.
func (s *Semaphores) Acquire(key string, limit int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m[key] >= limit {
		return false
	}
	s.m[key]++
	return true
}

// Release gives one slot of key back.
func (s *Semaphores) Release(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m[key] <= 1 {
		delete(s.m, key)
		return
	}
	s.m[key]--
}

// InFlight returns the slots of key taken now.
func (s *Semaphores) InFlight(key string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[key]
}

// Leases back cache_fill_lease: a lease lives until released or for
// abi.MaxFillLeaseWait ms, whichever is first.
type Leases struct {
	mu sync.Mutex
	m  map[string]*lease
}

type lease struct {
	key     string
	done    chan struct{}
	expires int64
}

func (l *lease) Key() string           { return l.key }
func (l *lease) Done() <-chan struct{} { return l.done }

// NewLeases returns a table with no lease held.
func NewLeases() *Leases { return &Leases{m: map[string]*lease{}} }

// Acquire takes key's lease (ok) or returns the holder's.
func (t *Leases) Acquire(key string, now time.Time) (hostcall.Lease, bool) {
	n := now.UnixNano()
	t.mu.Lock()
	defer t.mu.Unlock()
	if cur := t.m[key]; cur != nil {
		if n < cur.expires {
			return cur, false
		}
		t.endLocked(cur) // too old: its waiters wake, the key is free
	}
	l := &lease{key: key, done: make(chan struct{}), expires: n + abi.MaxFillLeaseWait*int64(time.Millisecond)}
	t.m[key] = l
	return l, true
}

// Release ends a lease (once; later calls do nothing).
func (t *Leases) Release(l hostcall.Lease) {
	ll, ok := l.(*lease)
	if !ok || ll == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.endLocked(ll)
}

func (t *Leases) endLocked(l *lease) {
	select {
	case <-l.done:
		return
	default:
		close(l.done)
	}
	if t.m[l.key] == l {
		delete(t.m, l.key)
	}
}

// Len returns the number of leases held.
func (t *Leases) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}

// Held reports whether key's lease is held (and not expired) at now.
func (t *Leases) Held(key string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	l := t.m[key]
	return l != nil && now.UnixNano() < l.expires
}

// Keys returns the keys in the cache, expired ones not yet removed included,
// in byte order (the host's cache lists them least recently used first; the
// emulator keeps no use order).
func (c *Cache) Keys() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	keys := make([]string, 0, len(c.m))
	for k := range c.m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Len returns the number of entries, expired ones not yet removed included.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
