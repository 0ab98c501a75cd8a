package hostcall

import (
	"context"
	"crypto/rand"
	"io"
	"time"
)

// Subscription is what the catalog says about a subscription key; its JSON
// is what subscription_lookup answers.
type Subscription struct {
	ID         string `json:"id"`
	State      string `json:"state"`
	Scope      string `json:"scope"`
	Product    string `json:"product,omitempty"`
	User       string `json:"user,omitempty"`
	APIAllowed bool   `json:"api_allowed"`
}

// Counters are atomic windowed counters (host/counter implements it).
type Counters interface {
	Add(key string, delta, limit int64, window time.Duration, mode int32, now time.Time) (count int64, resetAt time.Time, ok bool, err error)
}

// ValueCache is a bounded TTL cache (host/vcache implements it). Set fails
// for a value above the cache's per-entry cap.
type ValueCache interface {
	Get(key string, now time.Time) ([]byte, bool)
	Set(key string, val []byte, ttl time.Duration, now time.Time) error
	Delete(key string)
}

// JWTVerifier verifies tokens (host/jwtverify implements it): claims as
// JSON, or a negative abi status.
type JWTVerifier interface {
	Verify(ctx context.Context, token string, config []byte) (claims []byte, status int32, err error)
}

// SubscriptionLookup finds a subscription by key for a given API.
type SubscriptionLookup interface {
	LookupSubscription(ctx context.Context, key, api string) (Subscription, bool, error)
}

// Semaphores are named counting semaphores: Acquire takes one slot if fewer
// than limit are taken; Release gives one back.
type Semaphores interface {
	Acquire(key string, limit int64) bool
	Release(key string)
}

// Lease is one cache fill lease: Done is closed when it ends.
type Lease interface {
	Key() string
	Done() <-chan struct{}
}

// FillLeases is the table of cache fill leases: Acquire takes key's lease
// (ok) or returns the holder's (a nil Lease: the table is full); Release
// ends a lease exactly once.
type FillLeases interface {
	Acquire(key string, now time.Time) (l Lease, ok bool)
	Release(l Lease)
}

// Services are the node-wide capabilities behind the host functions. A nil
// field makes the matching host functions answer abi.ErrUnavail.
type Services struct {
	Counters      Counters
	Cache         ValueCache
	JWT           JWTVerifier
	Subscriptions SubscriptionLookup
	Semaphores    Semaphores
	// Leases back cache_fill_lease; nil (or a nil Cache) makes it answer
	// ErrUnavail.
	Leases FillLeases
	// Now is the real clock; nil means time.Now.
	Now func() time.Time
	// Rand is the source of random; nil means crypto/rand.
	Rand io.Reader
}

func (s Services) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

func (s Services) rand() io.Reader {
	if s.Rand == nil {
		return rand.Reader
	}
	return s.Rand
}
