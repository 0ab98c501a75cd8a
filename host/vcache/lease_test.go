package vcache

import (
	"testing"
	"time"
)

func TestLeases(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	tb := NewLeases(2)
	a, ok := tb.Acquire("k", now)
	if !ok || a == nil {
		t.Fatal("first acquire")
	}
	b, ok := tb.Acquire("k", now)
	if ok || b != a {
		t.Fatal("second acquire got the lease")
	}
	select {
	case <-a.Done():
		t.Fatal("done before release")
	default:
	}
	tb.Release(a)
	tb.Release(a) // idempotent
	<-a.Done()
	if tb.Len() != 0 || tb.Held("k", now) {
		t.Fatal("released lease still held")
	}
	c, ok := tb.Acquire("k", now)
	if !ok || c == a {
		t.Fatal("re-acquire after release")
	}
	// An old lease's release does not end the new one.
	tb.Release(a)
	if !tb.Held("k", now) {
		t.Fatal("stale release ended the new lease")
	}
	// Expiry: dropped, waiters woken, the key leased again.
	later := now.Add(MaxLeaseTTL)
	d, ok := tb.Acquire("k", later)
	if !ok || d == c {
		t.Fatal("expired lease not dropped")
	}
	<-c.Done()
	tb.Release(c) // after the drop: nothing
	if !tb.Held("k", later) {
		t.Fatal("dropped lease's release ended the new one")
	}
	// Bound: full of live leases → nil, false; expired ones are swept.
	if _, ok := tb.Acquire("j", later); !ok {
		t.Fatal("j")
	}
	if l, ok := tb.Acquire("x", later); ok || l != nil {
		t.Fatal("over the bound")
	}
	if _, ok := tb.Acquire("x", later.Add(MaxLeaseTTL)); !ok || tb.Len() != 1 {
		t.Fatalf("sweep: len %d", tb.Len())
	}
}
