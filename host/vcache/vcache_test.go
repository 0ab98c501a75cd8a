package vcache

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2030, 1, 2, 12, 0, 0, 0, time.UTC)

func mustSet(t testing.TB, c *Cache, key string, val []byte, ttl time.Duration, now time.Time) {
	t.Helper()
	if err := c.Set(key, val, ttl, now); err != nil {
		t.Fatalf("Set(%q): %v", key, err)
	}
}

func TestGetSetDelete(t *testing.T) {
	c := New(10, 1<<20)
	if _, ok := c.Get("a", t0); ok {
		t.Fatal("hit on empty cache")
	}
	mustSet(t, c, "a", []byte("one"), time.Minute, t0)
	if v, ok := c.Get("a", t0); !ok || string(v) != "one" {
		t.Fatalf("Get = %q %v", v, ok)
	}
	mustSet(t, c, "a", []byte("three"), time.Minute, t0)
	if v, ok := c.Get("a", t0); !ok || string(v) != "three" {
		t.Fatalf("after replace Get = %q %v", v, ok)
	}
	if c.Len() != 1 || c.Bytes() != int64(len("a")+len("three")) {
		t.Fatalf("Len=%d Bytes=%d", c.Len(), c.Bytes())
	}
	c.Delete("a")
	c.Delete("never")
	if _, ok := c.Get("a", t0); ok || c.Len() != 0 || c.Bytes() != 0 {
		t.Fatalf("after Delete: ok=%v Len=%d Bytes=%d", ok, c.Len(), c.Bytes())
	}
	// An empty value is a value.
	mustSet(t, c, "empty", nil, time.Minute, t0)
	if v, ok := c.Get("empty", t0); !ok || len(v) != 0 {
		t.Fatalf("empty value: %q %v", v, ok)
	}
}

func TestTTL(t *testing.T) {
	c := New(10, 1<<20)
	mustSet(t, c, "k", []byte("v"), 10*time.Second, t0)
	if _, ok := c.Get("k", t0.Add(10*time.Second-1)); !ok {
		t.Fatal("miss one nanosecond before expiry")
	}
	if _, ok := c.Get("k", t0.Add(10*time.Second)); ok {
		t.Fatal("hit at expiry")
	}
	// The expired entry was removed, not just hidden.
	if c.Len() != 0 || c.Bytes() != 0 {
		t.Fatalf("expired entry kept: Len=%d Bytes=%d", c.Len(), c.Bytes())
	}
	// Set again renews the TTL.
	mustSet(t, c, "k", []byte("v"), time.Second, t0)
	mustSet(t, c, "k", []byte("v"), time.Hour, t0.Add(500*time.Millisecond))
	if _, ok := c.Get("k", t0.Add(time.Minute)); !ok {
		t.Fatal("renewed TTL not honoured")
	}
}

func TestInvalid(t *testing.T) {
	c := New(10, 1600) // values up to 100 bytes
	cases := []struct {
		name string
		key  string
		val  []byte
		ttl  time.Duration
		want error
	}{
		{"zero ttl", "k", nil, 0, ErrInvalid},
		{"negative ttl", "k", nil, -time.Second, ErrInvalid},
		{"ttl over 24h", "k", nil, MaxTTL + 1, ErrInvalid},
		{"empty key", "", nil, time.Second, ErrInvalid},
		{"long key", strings.Repeat("k", MaxKeyLen+1), nil, time.Second, ErrInvalid},
		{"too large", "k", make([]byte, 101), time.Second, ErrTooLarge},
	}
	for _, tc := range cases {
		if err := c.Set(tc.key, tc.val, tc.ttl, t0); !errors.Is(err, tc.want) {
			t.Errorf("%s: err=%v, want %v", tc.name, err, tc.want)
		}
	}
	if c.Len() != 0 {
		t.Fatalf("failed Sets stored %d entries", c.Len())
	}
	mustSet(t, c, "k", make([]byte, 100), MaxTTL, t0)
	// A failed Set leaves the previous value alone.
	if err := c.Set("k", make([]byte, 101), time.Second, t0); !errors.Is(err, ErrTooLarge) {
		t.Fatal(err)
	}
	if v, ok := c.Get("k", t0); !ok || len(v) != 100 {
		t.Fatal("failed Set disturbed the previous value")
	}
}

func TestEntryBound(t *testing.T) {
	c := New(3, 1<<20)
	for _, k := range []string{"a", "b", "c"} {
		mustSet(t, c, k, []byte(k), time.Hour, t0)
	}
	c.Get("a", t0) // a is now the most recently used; b the least
	mustSet(t, c, "d", []byte("d"), time.Hour, t0)
	if _, ok := c.Get("b", t0); ok {
		t.Fatal("least recently used entry not evicted")
	}
	for _, k := range []string{"a", "c", "d"} {
		if _, ok := c.Get(k, t0); !ok {
			t.Fatalf("%s evicted", k)
		}
	}
	if c.Len() != 3 || c.Bytes() != 6 {
		t.Fatalf("Len=%d Bytes=%d, want 3 6", c.Len(), c.Bytes())
	}
}

func TestByteBound(t *testing.T) {
	const maxBytes = 16 * 100 // per-value cap 100
	c := New(1000, maxBytes)
	val := make([]byte, 98) // with a 2-byte key, 100 bytes an entry
	for i := 0; i < 16; i++ {
		mustSet(t, c, fmt.Sprintf("%02d", i), val, time.Hour, t0)
	}
	if c.Len() != 16 || c.Bytes() != maxBytes {
		t.Fatalf("full: Len=%d Bytes=%d", c.Len(), c.Bytes())
	}
	c.Get("00", t0)
	// One more entry pushes out the least recently used one ("01").
	mustSet(t, c, "16", val, time.Hour, t0)
	if _, ok := c.Get("01", t0); ok {
		t.Fatal("01 not evicted")
	}
	if _, ok := c.Get("00", t0); !ok {
		t.Fatal("recently used 00 evicted")
	}
	// Small entries fill the space several large ones freed.
	for i := 0; i < 1000; i++ {
		mustSet(t, c, fmt.Sprintf("small-%04d", i), []byte("x"), time.Hour, t0)
		if c.Bytes() > maxBytes {
			t.Fatalf("Bytes=%d > %d", c.Bytes(), maxBytes)
		}
	}
	// Bytes equals the sum of what is left.
	var sum int64
	for _, k := range c.lru.Keys() {
		e, _ := c.lru.Peek(k)
		sum += int64(len(k) + len(e.val))
	}
	if sum != c.Bytes() {
		t.Fatalf("Bytes=%d, sum of entries=%d", c.Bytes(), sum)
	}
	// Growing a value in place is accounted too.
	c2 := New(10, maxBytes)
	mustSet(t, c2, "k", make([]byte, 10), time.Hour, t0)
	mustSet(t, c2, "k", make([]byte, 90), time.Hour, t0)
	if c2.Bytes() != 91 {
		t.Fatalf("after replace Bytes=%d, want 91", c2.Bytes())
	}
}

func TestCopySemantics(t *testing.T) {
	c := New(10, 1<<20)
	buf := []byte("hello")
	mustSet(t, c, "k", buf, time.Hour, t0)
	copy(buf, "HELLO")
	v, _ := c.Get("k", t0)
	if string(v) != "hello" {
		t.Fatalf("cache changed with the caller's slice: %q", v)
	}
	// Appending to a returned slice must not write into the cache.
	_ = append(v, '!')
	v2, _ := c.Get("k", t0)
	if cap(v2) != len(v2) || string(v2) != "hello" {
		t.Fatalf("returned slice has spare capacity or changed: %q cap %d", v2, cap(v2))
	}
	// A slice returned before a replacement keeps its contents.
	mustSet(t, c, "k", []byte("world"), time.Hour, t0)
	if string(v) != "hello" {
		t.Fatalf("earlier result changed by a later Set: %q", v)
	}
}

func TestConcurrent(t *testing.T) {
	c := New(200, 16*1024)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 3000; i++ {
				k := fmt.Sprintf("k%d", (i*7+g)%300)
				now := t0.Add(time.Duration(i) * time.Millisecond)
				switch i % 5 {
				case 0, 1:
					want := []byte(k + "-value")
					if err := c.Set(k, want, time.Second, now); err != nil {
						t.Error(err)
						return
					}
				case 2:
					c.Delete(k)
				default:
					if v, ok := c.Get(k, now); ok && !bytes.Equal(v, []byte(k+"-value")) {
						t.Errorf("Get(%q) = %q", k, v)
						return
					}
				}
				if b := c.Bytes(); b > 16*1024 || b < 0 {
					t.Errorf("Bytes=%d", b)
					return
				}
				if c.Len() > 200 {
					t.Errorf("Len=%d", c.Len())
					return
				}
			}
		}(g)
	}
	wg.Wait()
}

func BenchmarkGetHit(b *testing.B) {
	c := New(10000, 64<<20)
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = fmt.Sprintf("policy:key-%d", i)
		mustSet(b, c, keys[i], bytes.Repeat([]byte{'v'}, 256), time.Hour, t0)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, ok := c.Get(keys[i&1023], t0); !ok {
			b.Fatal("miss")
		}
	}
}

func BenchmarkGetHitParallel(b *testing.B) {
	c := New(10000, 64<<20)
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = fmt.Sprintf("policy:key-%d", i)
		mustSet(b, c, keys[i], bytes.Repeat([]byte{'v'}, 256), time.Hour, t0)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			if _, ok := c.Get(keys[i&1023], t0); !ok {
				b.Fatal("miss")
			}
		}
	})
}

// TestKeySpacesDoNotEvictEachOther: entries of the modules' key space
// (keys starting with NUL) stored by the thousand never evict a built-in's
// entry; each space keeps its own bounds.
func TestKeySpacesDoNotEvictEachOther(t *testing.T) {
	c := New(10, 1000)
	mustSet(t, c, "gatehouse-response:abc", []byte("cached"), time.Hour, t0)
	for i := 0; i < 5000; i++ {
		mustSet(t, c, fmt.Sprintf("\x00evil\x00k-%d", i), []byte("0123456789"), time.Hour, t0)
	}
	if v, ok := c.Get("gatehouse-response:abc", t0); !ok || string(v) != "cached" {
		t.Fatalf("built-in entry evicted by the modules' space: %q %v", v, ok)
	}
	if c.Len() != 11 || c.Bytes() > 2000 {
		t.Fatalf("Len=%d Bytes=%d: a space grew past its bounds", c.Len(), c.Bytes())
	}
	c.Delete("\x00evil\x00k-4999")
	if _, ok := c.Get("\x00evil\x00k-4999", t0); ok || c.Len() != 10 {
		t.Fatalf("delete in the modules' space: Len=%d", c.Len())
	}
}
