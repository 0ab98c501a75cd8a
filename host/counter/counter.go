// Package counter is the host side of the counter_add capability: atomic,
// windowed counters for rate limits and quotas, shared by every module and
// instance on the node.
//
// A counter is identified by its key together with its window length and its
// mode, so the same key used with two windows (or with a fixed and a sliding
// window) is two independent counters.
//
// Two window kinds are supported:
//
//   - abi.CounterFixed: windows are aligned to multiples of the window length
//     since the Unix epoch; the count resets at each boundary.
//   - abi.CounterSliding: the common sliding-window-counter approximation.
//     The estimate at time t is
//     prev*(1 - elapsed/window) + current, where prev is the count of the
//     previous aligned window, current the count of the window containing t
//     and elapsed the time since that window started. The weighted part is
//     rounded down. The limit is checked against this estimate.
//
// abi.CounterPersist may be OR-ed into the mode. Counters live in memory and
// are not shared between nodes; a Store opened with Options.PersistPath also
// keeps the counters that carry the persist bit and have a window of at least
// Options.PersistMinWindow in a SQLite file, so that a restart does not reset
// them (see persist.go: flushed every Options.FlushInterval, loaded by Open).
// Without PersistPath they are lost when the process exits. The persist bit
// is part of the counter's identity, so a persisted quota and an in-memory
// rate limit with the same key and window do not mix.
//
// The Store is sharded (64 shards per key space chosen by an FNV-1a hash of
// the key, a mutex each). There are two key spaces: keys starting with NUL
// (the namespaced keys of uploaded modules, see host/engine) and the others
// (the built-ins'); each holds at most about Options.MaxKeys counters, so
// one space filling up never evicts the other's counters. When a shard
// is over its share it evicts counters whose windows have expired first and
// then the least recently used ones, persisted counters last. Expired
// counters are also swept lazily, at most once per second (of the
// caller-supplied clock) per shard.
package counter

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/abi"
)

// DefaultMaxKeys is the default bound on the number of counters a Store holds.
const DefaultMaxKeys = 100000

// MaxKeyLen is the longest key accepted, in bytes: a guest key of up to
// abi.MaxKey bytes under its module's namespace (see host/engine).
const MaxKeyLen = abi.MaxStoredKey

// MaxWindow is the longest window accepted.
const MaxWindow = abi.MaxCounterWindowMs * time.Millisecond

// ErrInvalid is wrapped by every error Add returns: the arguments were
// invalid (the host maps it to abi.ErrInvalid). A refused increment is not an
// error; it is reported by ok=false.
var ErrInvalid = errors.New("counter: invalid argument")

const (
	numShards = 64
	// sweepEvery is how often (by the caller's clock) a shard is swept of
	// expired counters.
	sweepEvery = int64(time.Second)
	// modeMask holds every mode bit this store knows.
	modeMask = abi.CounterSliding | abi.CounterPersist
)

// Options configures a Store.
type Options struct {
	// MaxKeys bounds the number of counters held per key space
	// (approximately: each of a space's 64 shards holds at most
	// ceil(MaxKeys/64), and at least 1). Zero or negative means
	// DefaultMaxKeys.
	MaxKeys int

	// PersistPath, when not empty, is a SQLite file (created if missing,
	// WAL journal) that keeps the persisted counters across restarts: those
	// whose mode has abi.CounterPersist and whose window is at least
	// PersistMinWindow. Open loads it (dropping expired windows); changed
	// counters are written every FlushInterval, in one transaction, and by
	// Close. Add never does I/O. After a crash (kill -9) a counter has lost
	// at most the increments of the last FlushInterval.
	PersistPath string
	// FlushInterval is how often changed counters are written; zero or
	// negative means DefaultFlushInterval.
	FlushInterval time.Duration
	// PersistMinWindow is the shortest window that is persisted: shorter
	// (rate-limit) windows stay in memory only. Zero or negative means
	// DefaultPersistMinWindow.
	PersistMinWindow time.Duration
	// OnFlushError, if not nil, is told about failed background flushes
	// (the counters are retried at the next flush).
	OnFlushError func(error)
}

// Store holds the counters. It is safe for concurrent use. The zero value is
// not usable; call New.
type Store struct {
	shards   []shard
	perShard int
	split    bool // two key spaces (see newStore)

	// minPersist is the shortest persisted window in ns; math.MaxInt64 when
	// the Store does not persist, so that the check in Add is one compare.
	minPersist atomic.Int64
	db         *persister
}

type ckey struct {
	key    string
	window int64 // nanoseconds
	mode   int32
}

type entry struct {
	start    int64 // start of the current window, Unix ns
	cur      int64 // count in the current window
	prev     int64 // count in the window before (sliding only)
	lastUsed int64 // Unix ns of the latest Add (the caller's clock)
	dirty    bool  // queued in the shard's dirty list (persisted counters)
}

// dirtyRef is a persisted counter changed since the last flush.
type dirtyRef struct {
	k ckey
	e *entry
}

type shard struct {
	mu        sync.Mutex
	m         map[ckey]*entry
	nextSweep int64
	scratch   []int64    // reused by evict
	dirty     []dirtyRef // persisted counters changed since the last flush
	_         [64]byte
}

// New returns a Store. Without Options.PersistPath it is empty and New
// cannot fail. With PersistPath it is Open, and New panics if the file
// cannot be opened or read: use Open to handle that error.
func New(opts Options) *Store {
	if opts.PersistPath == "" {
		return newStore(opts, numShards, true)
	}
	s, err := Open(opts)
	if err != nil {
		panic(err)
	}
	return s
}

// newStore makes a Store of n shards per key space: with split, 2n shards,
// the first n for the built-in space (keys not starting with NUL) and the
// last n for the modules' namespaced space (keys starting with NUL, see
// host/engine), so that counters created in one space never evict the
// other's: a module creating counters by the hundred thousand cannot reset
// a built-in rate limit. Each space holds about MaxKeys.
func newStore(opts Options, n int, split bool) *Store {
	maxKeys := opts.MaxKeys
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	per := (maxKeys + n - 1) / n
	if per < 1 {
		per = 1
	}
	total := n
	if split {
		total = 2 * n
	}
	s := &Store{shards: make([]shard, total), perShard: per, split: split}
	s.minPersist.Store(math.MaxInt64)
	for i := range s.shards {
		s.shards[i].m = make(map[ckey]*entry)
	}
	return s
}

// Len returns the number of counters currently held, expired ones included
// until they are swept or evicted.
func (s *Store) Len() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}

// shardFor returns key's shard: in its key space's half when split.
func (s *Store) shardFor(key string) *shard {
	if !s.split {
		return &s.shards[fnv1a(key)%uint64(len(s.shards))]
	}
	half := uint64(len(s.shards) / 2)
	i := fnv1a(key) % half
	if len(key) > 0 && key[0] == 0 {
		i += half
	}
	return &s.shards[i]
}

func fnv1a(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// floorDiv returns floor(a/b) for b > 0.
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && (a < 0) {
		q--
	}
	return q
}

// Add atomically checks and adds delta to the counter key for the window
// containing now.
//
// If limit > 0 and the count (fixed) or the estimate (sliding) plus delta
// would exceed limit, nothing is added and ok is false. Otherwise delta is
// added (saturating at math.MaxInt64) and ok is true. A delta of 0 reads the
// counter.
//
// count is the count after the call, or the current count when refused; for
// a sliding window it is the estimate described in the package doc. resetAt
// is when the current window ends for a fixed window; for a sliding window it
// is when the estimate will next drop by one, or the end of the current
// window if the estimate will not drop before then.
//
// err (wrapping ErrInvalid) is returned, and nothing is counted, when key is
// empty or longer than MaxKeyLen bytes, window is not in (0, MaxWindow],
// delta is negative or mode has unknown bits.
//
// If now is earlier than the start of the counter's current window (a clock
// stepped back), the call counts into the current window.
func (s *Store) Add(key string, delta, limit int64, window time.Duration, mode int32, now time.Time) (count int64, resetAt time.Time, ok bool, err error) {
	switch {
	case len(key) == 0:
		return 0, time.Time{}, false, fmt.Errorf("%w: empty key", ErrInvalid)
	case len(key) > MaxKeyLen:
		return 0, time.Time{}, false, fmt.Errorf("%w: key is %d bytes, the maximum is %d", ErrInvalid, len(key), MaxKeyLen)
	case window <= 0 || window > MaxWindow:
		return 0, time.Time{}, false, fmt.Errorf("%w: window %v is not in (0, %v]", ErrInvalid, window, MaxWindow)
	case delta < 0:
		return 0, time.Time{}, false, fmt.Errorf("%w: negative delta %d", ErrInvalid, delta)
	case mode&^modeMask != 0:
		return 0, time.Time{}, false, fmt.Errorf("%w: unknown mode bits %#x", ErrInvalid, mode&^modeMask)
	}
	w := int64(window)
	t := now.UnixNano()
	start := floorDiv(t, w) * w
	sliding := mode&abi.CounterSliding != 0
	persist := mode&abi.CounterPersist != 0 && w >= s.minPersist.Load()

	sh := s.shardFor(key)
	sh.mu.Lock()
	if t >= sh.nextSweep || t < sh.nextSweep-2*sweepEvery { // due, or the clock stepped back
		sh.sweep(t)
		sh.nextSweep = t + sweepEvery
	}
	k := ckey{key: key, window: w, mode: mode}
	e := sh.m[k]
	if e == nil {
		if len(sh.m) >= s.perShard {
			sh.evict(t, s.perShard, s.minPersist.Load())
		}
		e = &entry{start: start}
		sh.m[k] = e
	}
	if start > e.start {
		// Roll over to the window containing now.
		if sliding && start == e.start+w {
			e.prev = e.cur
		} else {
			e.prev = 0
		}
		e.cur = 0
		e.start = start
	}
	if t > e.lastUsed {
		e.lastUsed = t
	}

	end := e.start + w
	if !sliding {
		ok = limit <= 0 || delta <= limit-e.cur
		if ok {
			e.cur = satAdd(e.cur, delta)
			if persist && delta > 0 && !e.dirty {
				e.dirty = true
				sh.dirty = append(sh.dirty, dirtyRef{k, e})
			}
		}
		count = e.cur
		sh.mu.Unlock()
		return count, time.Unix(0, end), ok, nil
	}

	// Sliding: the previous window's count weighted by the part of it that
	// still overlaps the sliding window [now-w, now].
	remain := end - t // in (0, w] unless the clock stepped back
	if remain > w {
		remain = w
	}
	weighted := mulDiv(e.prev, remain, w)
	est := satAdd(e.cur, weighted)
	ok = limit <= 0 || delta <= limit-est
	if ok {
		e.cur = satAdd(e.cur, delta)
		est = satAdd(e.cur, weighted)
		if persist && delta > 0 && !e.dirty {
			e.dirty = true
			sh.dirty = append(sh.dirty, dirtyRef{k, e})
		}
	}
	reset := end
	if weighted > 0 {
		// The estimate drops by one when floor(prev*r/w) first falls below
		// weighted, i.e. at the largest remaining time r with
		// prev*r < weighted*w: r = ceil(weighted*w/prev) - 1.
		q, rem := mulDivRem(weighted, w, e.prev)
		if rem != 0 {
			q++
		}
		reset = end - (q - 1)
	}
	sh.mu.Unlock()
	return est, time.Unix(0, reset), ok, nil
}

func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// mulDiv returns floor(a*b/c) for a, b >= 0, c > 0 and b <= c.
func mulDiv(a, b, c int64) int64 {
	q, _ := mulDivRem(a, b, c)
	return q
}

// mulDivRem returns floor(a*b/c) and the remainder, for a, b >= 0 and c > 0,
// provided the quotient fits in 63 bits.
func mulDivRem(a, b, c int64) (int64, int64) {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	q, r := bits.Div64(hi, lo, uint64(c))
	return int64(q), int64(r)
}

// expired reports whether the counter no longer contributes to any count at
// time t: a fixed window has ended, or for a sliding window even the window
// after it has ended.
func expired(k ckey, e *entry, t int64) bool {
	end := e.start + k.window
	if k.mode&abi.CounterSliding != 0 {
		end += k.window
	}
	return t >= end
}

// sweep removes expired counters. Called with the lock held.
func (sh *shard) sweep(t int64) {
	for k, e := range sh.m {
		if expired(k, e, t) {
			delete(sh.m, k)
		}
	}
}

// evict makes room for new counters when the shard is full: it removes the
// expired counters and, if that frees less than an eighth of the shard's
// share, the least recently used ones down to seven eighths of it, so that
// the scan is amortised over many inserts. Persisted counters (persist bit,
// window of at least minPersist) go last: they are only evicted when the
// others do not free enough, so that a flood of new rate-limit keys does not
// push a quota out of memory (a new counter would start from zero, and the
// next flush would write that). Called with the lock held.
func (sh *shard) evict(t int64, per int, minPersist int64) {
	sh.sweep(t)
	target := per - per/8
	if target >= per {
		target = per - 1
	}
	if len(sh.m) <= target {
		return
	}
	need := len(sh.m) - target
	persisted := func(k ckey) bool { return k.mode&abi.CounterPersist != 0 && k.window >= minPersist }
	// Pass 0: the counters that are not persisted; pass 1: all that remain.
	for pass := 0; pass < 2 && need > 0; pass++ {
		// Find the lastUsed time at or below which enough entries fall.
		sh.scratch = sh.scratch[:0]
		for k, e := range sh.m {
			if pass == 1 || !persisted(k) {
				sh.scratch = append(sh.scratch, e.lastUsed)
			}
		}
		if len(sh.scratch) == 0 {
			continue
		}
		slices.Sort(sh.scratch)
		cut := sh.scratch[min(need, len(sh.scratch))-1]
		// Everything older than cut goes; then entries used exactly at cut
		// until enough are gone.
		for k, e := range sh.m {
			if e.lastUsed < cut && (pass == 1 || !persisted(k)) {
				delete(sh.m, k)
				need--
			}
		}
		for k, e := range sh.m {
			if need == 0 {
				break
			}
			if e.lastUsed == cut && (pass == 1 || !persisted(k)) {
				delete(sh.m, k)
				need--
			}
		}
	}
	if cap(sh.scratch) > 4*per {
		sh.scratch = nil
	}
}
