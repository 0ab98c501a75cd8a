package cachelookup_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/abi/respcache"
	"github.com/gatehouse/gatehouse/plugins/cachelookup"
	"github.com/gatehouse/gatehouse/plugins/cachestore"
	"github.com/gatehouse/gatehouse/plugins/internal/cacheentry"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

func init() {
	sdk.Register(cachelookup.Name, cachelookup.New)
	sdk.Register(cachestore.Name, cachestore.New)
}

// backend counts its calls and answers with the call number.
type backend struct {
	calls  int
	status int
	header http.Header
}

func (b *backend) opt() sdktest.Option {
	return sdktest.Backend(func(u *sdktest.Upstream) sdktest.Response {
		b.calls++
		h := http.Header{"Content-Type": {"application/json"}, "X-Multi": {"1", "2"}, "Date": {"today"}, "Cache-Control": {"max-age=3600"}}
		for k, v := range b.header {
			h[k] = v
		}
		status := b.status
		if status == 0 {
			status = 200
		}
		return sdktest.Response{Status: status, Header: h, Body: []byte(`{"call":` + string(rune('0'+b.calls)) + `}`)}
	})
}

// variantKey is the one stored response's key.
func variantKey(t *testing.T, h *sdktest.Host) string {
	t.Helper()
	var keys []string
	for _, k := range h.Cache.Keys() {
		if pk, ok := respcache.Parse(k); ok && pk.Variant {
			keys = append(keys, k)
		}
	}
	if len(keys) != 1 {
		t.Fatalf("stored variants: %q", keys)
	}
	return keys[0]
}

func chain(lookup, store string) []sdktest.Option {
	return []sdktest.Option{sdktest.Attach(cachelookup.Name, lookup), sdktest.Attach(cachestore.Name, store)}
}

func TestMissThenHit(t *testing.T) {
	h := sdktest.New()
	now := time.Unix(1_700_000_000, 0)
	h.Now = func() time.Time { return now }
	b := &backend{}
	opts := append(chain(`{}`, `{"duration":60}`), b.opt())
	req := sdktest.Request{Path: "/pets?limit=2", API: "pets"}

	res := h.Do(req, opts...)
	if res.Err != nil || res.Answered || b.calls != 1 || res.Header.Get("X-Cache") != "MISS" || res.Vars[cacheentry.KeyVar] == "" {
		t.Fatalf("miss: %+v", res)
	}
	res = h.Do(req, opts...)
	if res.Err != nil || !res.Answered || b.calls != 1 || res.Status != 200 || string(res.Body) != `{"call":1}` {
		t.Fatalf("hit: %d %s answered=%v calls=%d err=%v", res.Status, res.Body, res.Answered, b.calls, res.Err)
	}
	if res.Header.Get("X-Cache") != "HIT" || res.Header.Get("Content-Type") != "application/json" ||
		strings.Join(res.Header["X-Multi"], ",") != "1,2" || res.Header.Get("Date") != "today" || res.Header.Get("Age") != "0" {
		t.Errorf("hit headers = %v", res.Header)
	}
	if _, ok := res.Vars[cacheentry.KeyVar]; ok {
		t.Error("hit set the miss variable")
	}
	// Another query, API or method is another entry.
	for _, r := range []sdktest.Request{{Path: "/pets?limit=3", API: "pets"}, {Path: "/pets?limit=2", API: "other"}} {
		if res := h.Do(r, opts...); res.Answered {
			t.Errorf("%+v hit the cache", r)
		}
	}
	if res := h.Do(sdktest.Request{Method: "POST", Path: "/pets?limit=2", API: "pets"}, opts...); res.Answered || res.Header.Get("X-Cache") != "" {
		t.Error("POST was cached")
	}
	// Expiry.
	now = now.Add(61 * time.Second)
	if res := h.Do(req, opts...); res.Answered {
		t.Error("hit after the duration")
	}
}

func TestVaryByHeadersAndSubscription(t *testing.T) {
	h := sdktest.New()
	b := &backend{}
	opts := append(chain(`{"vary_by_headers":["accept"],"vary_by_subscription":true}`, `{"duration":60}`), b.opt())
	do := func(accept string) *sdktest.Result {
		return h.Do(sdktest.Request{Path: "/x", Header: http.Header{"Accept": {accept}}}, opts...)
	}
	do("a/b")
	if !do("a/b").Answered || do("c/d").Answered || !do("c/d").Answered {
		t.Error("vary by header")
	}
}

func TestNotStored(t *testing.T) {
	for name, b := range map[string]*backend{
		"206":                            {status: 206},
		"302 without Expires or max-age": {status: 302, header: http.Header{"Cache-Control": nil}},
		"no-store":                       {header: http.Header{"Cache-Control": {"public, no-store"}}},
		"private":                        {header: http.Header{"Cache-Control": {"private, max-age=60"}}},
		"cookie":                         {header: http.Header{"Set-Cookie": {"a=b"}}},
		"body over the cap":              {header: http.Header{"X-Pad": {"1"}}},
	} {
		h := sdktest.New()
		store := `{"duration":60}`
		if name == "body over the cap" {
			store = `{"duration":60,"max_body_bytes":5}`
		}
		opts := append(chain(`{}`, store), b.opt())
		h.Do(sdktest.Request{Path: "/x"}, opts...)
		if res := h.Do(sdktest.Request{Path: "/x"}, opts...); res.Answered || res.Err != nil || b.calls != 2 {
			t.Errorf("%s: stored (answered %v, calls %d, err %v)", name, res.Answered, b.calls, res.Err)
		}
	}
}

func TestPrivateRequests(t *testing.T) {
	b := &backend{}
	auth := sdktest.Request{Path: "/x", Header: http.Header{"Authorization": {"Bearer t"}}}
	h := sdktest.New()
	opts := append(chain(`{}`, `{"duration":60}`), b.opt())
	h.Do(auth, opts...)
	if h.Do(auth, opts...).Answered {
		t.Error("a request with Authorization was cached")
	}
	opts = append(chain(`{"allow_private_response_caching":true}`, `{"duration":60}`), b.opt())
	h.Do(auth, opts...)
	if !h.Do(auth, opts...).Answered {
		t.Error("allow_private_response_caching did not cache")
	}
}

func TestCorruptEntryIsAMiss(t *testing.T) {
	h := sdktest.New()
	b := &backend{}
	opts := append(chain(`{}`, `{"duration":60}`), b.opt())
	h.Do(sdktest.Request{Path: "/x"}, opts...)
	key := variantKey(t, h)
	h.Cache.Set(key, []byte{9, 9, 9}, time.Minute, h.Now())
	res := h.Do(sdktest.Request{Path: "/x"}, opts...)
	if res.Answered || res.Err != nil || b.calls != 2 || len(res.Logs) == 0 {
		t.Errorf("corrupt entry: %+v", res)
	}
	if res := h.Do(sdktest.Request{Path: "/x"}, opts...); !res.Answered {
		t.Error("not re-stored after a corrupt entry")
	}
}

func TestNoCacheCapability(t *testing.T) {
	h := sdktest.New()
	h.Cache = nil
	b := &backend{}
	res := h.Do(sdktest.Request{Path: "/x"}, append(chain(`{}`, `{"duration":60}`), b.opt())...)
	if res.Err != nil || res.Status != 200 || b.calls != 1 {
		t.Errorf("res = %+v", res)
	}
}

func TestBadConfigs(t *testing.T) {
	for _, tc := range []struct{ config, err string }{
		{`{"vary_by_headers":["bad header"]}`, "not a valid header name"},
		{`{"vary_by_headers":["Accept","accept"]}`, "listed twice"},
		{`{"vary_by_headers":"Accept"}`, `field "vary_by_headers": expected a list`},
		{`{"vary-by-developer":true}`, "unknown field"},
	} {
		if _, err := cachelookup.New([]byte(tc.config)); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("New(%s) = %v, want %q", tc.config, err, tc.err)
		}
	}
}

// TestStampedeWaitsForTheFill: a miss that finds the key's fill lease held
// (another request at the backend) does nothing on its first run; the host
// waits for the fill and runs it again, and it answers from the cache: no
// backend call, headers set once.
func TestStampedeWaitsForTheFill(t *testing.T) {
	h := sdktest.New()
	b := &backend{}
	opts := append(chain(`{"stampede_wait_ms":5000}`, `{"duration":60}`), b.opt())
	req := sdktest.Request{Path: "/pets", API: "pets"}
	// Learn the key (a first miss), then forget the entry.
	res := h.Do(req, opts...)
	key := variantKey(t, h)
	if b.calls != 1 || h.Leases.Len() != 0 {
		t.Fatalf("first miss: %+v, leases %d", res, h.Leases.Len())
	}
	entry, _ := h.Cache.Get(key, h.Now())
	h.Cache.Delete(key)

	release, ok := h.HoldFillLease(key)
	if !ok {
		t.Fatal("hold")
	}
	go func() {
		time.Sleep(30 * time.Millisecond)
		h.Cache.Set(key, entry, time.Minute, h.Now())
		release()
	}()
	res = h.Do(req, opts...)
	if res.Err != nil || !res.Answered || b.calls != 1 || string(res.Body) != `{"call":1}` || len(res.Calls) != 3 {
		t.Fatalf("waiter: answered %v calls %d body %s phases %v err %v", res.Answered, b.calls, res.Body, res.Calls, res.Err)
	}
	if v := res.Header["X-Cache"]; len(v) != 1 || v[0] != "HIT" || strings.Join(res.Header["X-Multi"], ",") != "1,2" {
		t.Errorf("headers set twice? %v", res.Header)
	}
	if _, ok := res.Vars[cacheentry.KeyVar]; ok {
		t.Error("the waiter was marked for cache-store")
	}
}

// TestStampedeFillerFailed: the holder stored nothing; after the wait the
// re-run finds the lease free, takes it and fills the key itself.
func TestStampedeFillerFailed(t *testing.T) {
	h := sdktest.New()
	b := &backend{}
	opts := append(chain(`{}`, `{"duration":60}`), b.opt())
	req := sdktest.Request{Path: "/x"}
	h.Do(sdktest.Request{Path: "/x", Method: "GET"}, append(chain(`{"stampede_wait_ms":0}`, `{"duration":60}`), (&backend{}).opt())...)
	key := variantKey(t, h)
	h.Cache.Delete(key)
	release, _ := h.HoldFillLease(key)
	go func() { time.Sleep(20 * time.Millisecond); release() }()
	res := h.Do(req, opts...)
	if res.Err != nil || res.Answered || b.calls != 1 || res.Header.Get("X-Cache") != "MISS" {
		t.Fatalf("filler after a failed fill: %+v", res)
	}
	if h.Leases.Len() != 0 {
		t.Error("lease left")
	}
	if res := h.Do(req, opts...); !res.Answered || b.calls != 1 {
		t.Error("not cached by the new filler")
	}
}

// TestStampedeOff: with stampede_wait_ms 0 a held lease is ignored: every
// miss goes to the backend, as before.
func TestStampedeOff(t *testing.T) {
	h := sdktest.New()
	b := &backend{}
	opts := append(chain(`{"stampede_wait_ms":0}`, `{"duration":60}`), b.opt())
	req := sdktest.Request{Path: "/x"}
	h.Do(req, opts...)
	key := variantKey(t, h)
	h.Cache.Delete(key)
	release, _ := h.HoldFillLease(key)
	defer release()
	res := h.Do(req, opts...)
	if res.Answered || b.calls != 2 || len(res.Calls) != 2 || res.Vars[cacheentry.KeyVar] == "" {
		t.Fatalf("off: %+v", res)
	}
	for _, cfg := range []string{`{"stampede_wait_ms":-1}`, `{"stampede_wait_ms":30001}`} {
		if _, err := cachelookup.New([]byte(cfg)); err == nil {
			t.Errorf("%s accepted", cfg)
		}
	}
}
