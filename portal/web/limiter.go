package web

import (
	"sync"
	"time"
)

// Sign-in rate limits: failed attempts per account and per client address
// within LimitWindow.
const (
	LimitWindow     = 15 * time.Minute
	MaxAccountFails = 5
	MaxClientFails  = 20
	maxLimiterKeys  = 100000
)

// Limiter counts failed sign-ins per key (an account, a client address)
// in a sliding window.
type Limiter struct {
	mu   sync.Mutex
	now  func() time.Time
	hits map[string][]time.Time
}

// NewLimiter returns a Limiter reading the clock now.
func NewLimiter(now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{now: now, hits: map[string][]time.Time{}}
}

// Blocked returns how long key must wait, or 0 while it has fewer than
// max failures in the window.
func (l *Limiter) Blocked(key string, max int) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	h := l.prune(key, now)
	if len(h) < max {
		return 0
	}
	return h[0].Add(LimitWindow).Sub(now)
}

// Fail records a failure for each key.
func (l *Limiter) Fail(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.hits) > maxLimiterKeys {
		for k := range l.hits {
			if len(l.prune(k, now)) == 0 {
				delete(l.hits, k)
			}
		}
	}
	for _, k := range keys {
		l.hits[k] = append(l.prune(k, now), now)
	}
}

// Reset forgets key's failures (after a successful sign-in).
func (l *Limiter) Reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.hits, key)
}

func (l *Limiter) prune(key string, now time.Time) []time.Time {
	h := l.hits[key]
	i := 0
	for i < len(h) && now.Sub(h[i]) >= LimitWindow {
		i++
	}
	h = h[i:]
	if len(h) == 0 {
		delete(l.hits, key)
		return nil
	}
	l.hits[key] = h
	return h
}
