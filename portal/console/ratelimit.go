package console

import (
	"sort"
	"sync"
	"time"
)

// rateLimiter is a token bucket per developer: perMinute calls a minute,
// bursts up to perMinute. Buckets of developers idle for over a minute
// (full again) are dropped, so memory stays bounded by active developers.
type rateLimiter struct {
	mu        sync.Mutex
	perMinute float64
	now       func() time.Time
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newRateLimiter(perMinute int, now func() time.Time) *rateLimiter {
	return &rateLimiter{perMinute: float64(perMinute), now: now, buckets: map[string]*bucket{}}
}

// allow takes a token of user's bucket; when there is none it returns how
// long until there is.
func (l *rateLimiter) allow(user string) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.lastSweep) > time.Minute {
		for k, b := range l.buckets {
			if now.Sub(b.last) > time.Minute {
				delete(l.buckets, k)
			}
		}
		l.lastSweep = now
	}
	b := l.buckets[user]
	if b == nil {
		b = &bucket{tokens: l.perMinute, last: now}
		l.buckets[user] = b
	}
	if el := now.Sub(b.last); el > 0 {
		b.tokens = min(l.perMinute, b.tokens+el.Minutes()*l.perMinute)
	}
	b.last = now
	if b.tokens < 1 {
		return time.Duration((1 - b.tokens) / l.perMinute * float64(time.Minute)), false
	}
	b.tokens--
	return 0, true
}

func sortStrings(s []string) { sort.Strings(s) }
