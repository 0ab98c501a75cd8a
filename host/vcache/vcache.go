// Package vcache is the host side of the cache capability (cache_get,
// cache_set, cache_del): a value cache shared by every module and instance on
// the node (each module in its own namespace, see host/engine), bounded by number of entries and by bytes, with a TTL for each
// entry.
//
// It is built on the (non-thread-safe) simplelru.LRU of
// github.com/hashicorp/golang-lru/v2 behind one mutex. The LRU bounds the
// number of entries; after every Set the least recently used entries are
// evicted until the byte total is at most the byte bound. An entry's size is
// len(key) + len(value). Expired entries are removed when a Get finds them;
// otherwise they age out of the LRU like any other entry, so they count
// against both bounds until then.
//
// There are two key spaces, each with its own LRU and both bounds: keys
// starting with NUL (the namespaced keys of uploaded modules, see
// host/engine) and the others (the built-ins'). A module filling the cache
// evicts only uploaded modules' entries, never a built-in's (the response
// cache, cache-store-value).
//
// Times are passed in by the caller (the host's clock), which keeps the cache
// deterministic and testable.
package vcache

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"

	"github.com/gatehouse/gatehouse/abi"
)

// MaxTTL is the longest TTL Set accepts.
const MaxTTL = abi.MaxCacheTTLMs * time.Millisecond

// MaxKeyLen is the longest key accepted, in bytes: a guest key of up to
// abi.MaxKey bytes under its module's namespace (see host/engine).
const MaxKeyLen = abi.MaxStoredKey

// Defaults used by New for a bound that is zero or negative.
const (
	DefaultMaxEntries = 10000
	DefaultMaxBytes   = 64 << 20
)

var (
	// ErrInvalid is wrapped by the error Set returns for a bad key or TTL
	// (the host maps it to abi.ErrInvalid).
	ErrInvalid = errors.New("vcache: invalid argument")
	// ErrTooLarge is wrapped by the error Set returns for a value above the
	// per-entry cap, maxBytes/16 (the host maps it to abi.ErrTooLarge).
	ErrTooLarge = errors.New("vcache: value too large")
)

type entry struct {
	val     []byte
	expires int64 // Unix ns; the entry is expired at and after this instant
}

// Cache is a bounded TTL value cache. It is safe for concurrent use.
type Cache struct {
	mu       sync.Mutex
	lru      *simplelru.LRU[string, entry]
	bytes    int64
	maxBytes int64
	maxVal   int64
	// mods is the modules' key space (keys starting with NUL); nil in
	// mods itself.
	mods *Cache
}

// space returns the Cache holding key's key space.
func (c *Cache) space(key string) *Cache {
	if c.mods != nil && len(key) > 0 && key[0] == 0 {
		return c.mods
	}
	return c
}

// New returns a cache holding at most maxEntries entries and maxBytes bytes
// (keys plus values) per key space. A single value may be at most
// maxBytes/16 bytes. A bound that is zero or negative gets its default
// (DefaultMaxEntries, DefaultMaxBytes).
func New(maxEntries int, maxBytes int64) *Cache {
	c := newSpace(maxEntries, maxBytes)
	c.mods = newSpace(maxEntries, maxBytes)
	return c
}

func newSpace(maxEntries int, maxBytes int64) *Cache {
	if maxEntries <= 0 {
		maxEntries = DefaultMaxEntries
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	c := &Cache{maxBytes: maxBytes, maxVal: maxBytes / 16}
	l, err := simplelru.NewLRU[string, entry](maxEntries, c.onEvict)
	if err != nil {
		panic(err) // unreachable: maxEntries > 0
	}
	c.lru = l
	return c
}

// onEvict keeps the byte total in step with every removal from the LRU
// (capacity eviction, Remove, RemoveOldest). Called with c.mu held.
func (c *Cache) onEvict(key string, e entry) {
	c.bytes -= int64(len(key) + len(e.val))
}

// Get returns the value stored under key, if present and not expired at now.
// An expired entry is removed and reported as a miss. A hit marks the entry
// most recently used.
//
// The returned slice is the cache's own copy, shared with every other
// caller, and must not be modified (its capacity is clipped to its length, so
// appending to it reallocates rather than writing into the cache). It is not
// copied because the one caller, the cache_get host function, copies it into
// guest memory anyway, and a hit then costs no allocation. The slice stays
// valid after the entry is replaced or evicted: stored values are never
// written to after Set.
func (c *Cache) Get(key string, now time.Time) ([]byte, bool) {
	c = c.space(key)
	t := now.UnixNano()
	c.mu.Lock()
	e, ok := c.lru.Get(key)
	if !ok {
		c.mu.Unlock()
		return nil, false
	}
	if t >= e.expires {
		c.lru.Remove(key)
		c.mu.Unlock()
		return nil, false
	}
	c.mu.Unlock()
	return e.val, true
}

// Set stores a copy of val under key until now+ttl, replacing any previous
// value, and marks it most recently used. Least recently used entries are
// then evicted until both bounds hold.
//
// It fails, storing nothing, with an error wrapping ErrInvalid if key is
// empty or longer than MaxKeyLen bytes or ttl is not in (0, MaxTTL], and with
// one wrapping ErrTooLarge if len(val) is above maxBytes/16.
func (c *Cache) Set(key string, val []byte, ttl time.Duration, now time.Time) error {
	switch {
	case len(key) == 0:
		return fmt.Errorf("%w: empty key", ErrInvalid)
	case len(key) > MaxKeyLen:
		return fmt.Errorf("%w: key is %d bytes, the maximum is %d", ErrInvalid, len(key), MaxKeyLen)
	case ttl <= 0 || ttl > MaxTTL:
		return fmt.Errorf("%w: ttl %v is not in (0, %v]", ErrInvalid, ttl, MaxTTL)
	case int64(len(val)) > c.maxVal:
		return fmt.Errorf("%w: value is %d bytes, the maximum is %d", ErrTooLarge, len(val), c.maxVal)
	}
	// Copy outside the lock; clip capacity so Get's callers cannot append
	// into it.
	c = c.space(key)
	v := make([]byte, len(val))
	copy(v, val)
	e := entry{val: v[:len(v):len(v)], expires: now.UnixNano() + int64(ttl)}

	c.mu.Lock()
	defer c.mu.Unlock()
	// Remove first so the byte total drops by the old entry's size (Add on an
	// existing key replaces the value without calling the evict callback).
	c.lru.Remove(key)
	c.lru.Add(key, e) // may evict the oldest entry via onEvict
	c.bytes += int64(len(key) + len(v))
	for c.bytes > c.maxBytes {
		if _, _, ok := c.lru.RemoveOldest(); !ok {
			break
		}
	}
	return nil
}

// Delete removes key, if present.
func (c *Cache) Delete(key string) {
	c = c.space(key)
	c.mu.Lock()
	c.lru.Remove(key)
	c.mu.Unlock()
}

// Len returns the number of entries (both key spaces), expired ones not yet
// removed included.
func (c *Cache) Len() int {
	c.mu.Lock()
	n := c.lru.Len()
	c.mu.Unlock()
	if c.mods != nil {
		n += c.mods.Len()
	}
	return n
}

// Bytes returns the total size of the entries (keys plus values, both key
// spaces), expired ones not yet removed included.
func (c *Cache) Bytes() int64 {
	c.mu.Lock()
	n := c.bytes
	c.mu.Unlock()
	if c.mods != nil {
		n += c.mods.Bytes()
	}
	return n
}

// Keys returns the keys in the cache, expired ones not yet removed
// included, least recently used first.
func (c *Cache) Keys() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Keys()
}

// DeleteFunc removes every entry whose key del reports true for and returns
// how many it removed. It holds the cache's lock while it runs: del must be
// quick and must not call the cache (the admin purge scans keys with it).
func (c *Cache) DeleteFunc(del func(key string) bool) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, k := range c.lru.Keys() {
		if del(k) {
			c.lru.Remove(k)
			n++
		}
	}
	return n
}
