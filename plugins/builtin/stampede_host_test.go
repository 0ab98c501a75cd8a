package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/host/counter"
	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/gateway"
	"github.com/gatehouse/gatehouse/host/hosttest"
	"github.com/gatehouse/gatehouse/host/vcache"
)

// TestCacheStampedeThroughGateway runs cache-lookup + cache-store as the
// gateway runs them (the built .wasm, real HTTP over loopback): concurrent
// misses on one cold key reach the backend once, private responses are
// never shared, and stampede_wait_ms 0 keeps the old behaviour.
func TestCacheStampedeThroughGateway(t *testing.T) {
	const n = 64
	var calls, badAfter atomic.Int64
	var mu sync.Mutex
	perPath := map[string]int{}
	// gate, when set, holds backend calls until n have arrived.
	var gateMu sync.Mutex
	var gate chan struct{}
	var gateCount int
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := calls.Add(1)
		if v := r.Header.Values("X-After"); len(v) != 1 {
			badAfter.Add(1)
		}
		mu.Lock()
		perPath[r.URL.Path]++
		mu.Unlock()
		gateMu.Lock()
		g := gate
		if g != nil {
			gateCount++
			if gateCount == n {
				close(g)
			}
		}
		gateMu.Unlock()
		if g != nil {
			select {
			case <-g:
			case <-time.After(10 * time.Second):
			}
		} else {
			time.Sleep(100 * time.Millisecond)
		}
		switch {
		case strings.HasSuffix(r.URL.Path, "/private"):
			w.Header().Set("Cache-Control", "private, max-age=60")
		case strings.HasSuffix(r.URL.Path, "/reval"):
			// Fresh for 1 s, then revalidated: 304 to a matching
			// validator, which makes the stored response fresh for a
			// minute (RFC 9111 §4.3.4: the 304's headers update it), so
			// a burst slower than a second on a loaded machine still
			// finds it fresh.
			w.Header().Set("Cache-Control", "max-age=1")
			w.Header().Set("ETag", `"r"`)
			if r.Header.Get("If-None-Match") == `"r"` {
				w.Header().Set("Cache-Control", "max-age=60")
				w.WriteHeader(http.StatusNotModified)
				return
			}
		default:
			w.Header().Set("Cache-Control", "max-age=60")
		}
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "call %d %s", c, r.URL.Path)
	}))
	defer backend.Close()

	ctx := context.Background()
	leases := vcache.NewLeases(0)
	svc := &engine.Services{Counters: counter.New(counter.Options{}), Cache: vcache.New(1000, 1<<20), Leases: leases}
	e, err := engine.New(ctx, engine.Options{CacheDir: t.TempDir(), Services: svc})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	step := func(p, cfg string) gateway.Step { return gateway.Step{Policy: p, Config: []byte(cfg)} }
	// subscription-key and a rate-limit of exactly n calls run in the same
	// stage as cache-lookup: the re-run of a waiter must not run them again
	// (the key is stripped by then; the limit would count twice).
	api := func(name, lookup string) gateway.API {
		return gateway.API{Name: name, PathPrefix: "/" + name, Backend: backend.URL, Policies: gateway.Policy{
			Inbound: []gateway.Step{
				step("subscription-key", `{}`),
				step("rate-limit-by-key", fmt.Sprintf(`{"calls":%d,"renewal_period":60,"counter_key":"subscription"}`, n)),
				step("cache-lookup", lookup),
				// After cache-lookup in its stage: runs once per request
				// that goes on, on the re-run for a waiter.
				step("set-header", `{"name":"X-After","value":"1","exists_action":"append"}`),
			},
			Outbound: []gateway.Step{step("cache-store", `{"duration":60}`)},
		}}
	}
	cfg := &gateway.Config{
		APIs: []gateway.API{
			api("on", `{}`),
			api("sub", `{"vary_by_subscription":true,"stampede_wait_ms":5000}`),
			api("off", `{"stampede_wait_ms":0}`),
		},
		// One pair of subscriptions per subtest: each sends at most n calls
		// (the rate limit) with each.
		Subscriptions: []gateway.StaticSubscription{{ID: "s1", Key: "key-1"}, {ID: "s2", Key: "key-2"}, {ID: "s3", Key: "key-3"},
			{ID: "s4", Key: "key-4"}, {ID: "s5", Key: "key-5"}, {ID: "s6", Key: "key-6"}, {ID: "s7", Key: "key-7"}, {ID: "s8", Key: "key-8"}, {ID: "s9", Key: "key-9"}},
	}
	g, err := gateway.New(gateway.Options{Engine: e, Source: gateway.NewStaticSource(cfg, ""), Builtin: hosttest.Guest(t, "plugins/builtin"), BuiltinVersion: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	svc.Subscriptions = g
	if err := g.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	defer srv.Close()

	type result struct {
		status       int
		body, xcache string
	}
	do := func(path, key string) result {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Ocp-Apim-Subscription-Key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return result{status: -1, body: err.Error()}
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return result{resp.StatusCode, string(b), resp.Header.Get("X-Cache")}
	}
	burst := func(path string, keys ...string) []result {
		out := make([]result, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				out[i] = do(path, keys[i%len(keys)])
			}()
		}
		close(start)
		wg.Wait()
		return out
	}
	drained := func() {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); leases.Len() != 0; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d fill leases still held", leases.Len())
			}
		}
	}
	backendCalls := func(path string) int {
		mu.Lock()
		defer mu.Unlock()
		return perPath[path]
	}

	t.Run("one cold key, 64 concurrent misses, one backend call", func(t *testing.T) {
		t0 := time.Now()
		res := burst("/on/cold", "key-1")
		if got := backendCalls("/cold"); got != 1 {
			t.Errorf("backend saw %d calls, want 1", got)
		}
		hits := 0
		for i, r := range res {
			if r.status != 200 || r.body != res[0].body || !strings.HasSuffix(r.body, " /cold") {
				t.Errorf("response %d: %+v (first %+v)", i, r, res[0])
			}
			if r.xcache == "HIT" {
				hits++
			}
		}
		if hits != n-1 {
			t.Errorf("%d hits, want %d", hits, n-1)
		}
		t.Logf("64 concurrent cold misses: %v, backend calls %d", time.Since(t0), backendCalls("/cold"))
		drained()
	})

	t.Run("stale entry, 64 concurrent revalidations, one conditional backend call", func(t *testing.T) {
		first := do("/on/reval", "key-2")
		if first.status != 200 || backendCalls("/reval") != 1 {
			t.Fatalf("first: %+v, backend calls %d", first, backendCalls("/reval"))
		}
		time.Sleep(1100 * time.Millisecond) // max-age=1: now stale (the real clock: this test runs concurrency for real)
		res := burst("/on/reval", "key-2", "key-9")
		if got := backendCalls("/reval"); got != 2 {
			t.Errorf("backend saw %d calls, want 2 (the fill and one revalidation)", got)
		}
		revalidated := 0
		for i, r := range res {
			if r.status != 200 || r.body != first.body {
				t.Errorf("response %d: %+v, want the stored body %q", i, r, first.body)
			}
			if r.xcache == "REVALIDATED" {
				revalidated++
			}
		}
		if revalidated != 1 {
			t.Errorf("%d revalidated answers, want 1 (the others hit the refreshed entry)", revalidated)
		}
		drained()
	})

	t.Run("private response never shared", func(t *testing.T) {
		res := burst("/on/private", "key-3", "key-4")
		seen := map[string]bool{}
		for i, r := range res {
			if r.status != 200 || r.xcache == "HIT" || seen[r.body] {
				t.Errorf("response %d: %+v served twice or from the cache", i, r)
			}
			seen[r.body] = true
		}
		if got := backendCalls("/private"); got != n {
			t.Errorf("backend saw %d calls, want %d", got, n)
		}
		// The waiters' re-runs ran set-header once: policies after
		// cache-lookup do not run on a busy first run.
		if b := badAfter.Load(); b != 0 {
			t.Errorf("%d backend calls without exactly one X-After", b)
		}
		drained()
	})

	t.Run("vary by subscription: one fill each, never across", func(t *testing.T) {
		res := burst("/sub/per-sub", "key-5", "key-6")
		if got := backendCalls("/per-sub"); got != 2 {
			t.Errorf("backend saw %d calls, want 2 (one per subscription)", got)
		}
		bySub := map[int]string{}
		for i, r := range res {
			s := i % 2
			if r.status != 200 {
				t.Errorf("response %d: %+v", i, r)
				continue
			}
			if b, ok := bySub[s]; ok && b != r.body {
				t.Errorf("subscription %d got %q and %q", s+1, b, r.body)
			}
			bySub[s] = r.body
		}
		if bySub[0] == bySub[1] {
			t.Errorf("both subscriptions got %q", bySub[0])
		}
		drained()
	})

	t.Run("stampede_wait_ms 0: every miss goes to the backend", func(t *testing.T) {
		gateMu.Lock()
		gate, gateCount = make(chan struct{}), 0
		gateMu.Unlock()
		defer func() { gateMu.Lock(); gate = nil; gateMu.Unlock() }()
		res := burst("/off/cold", "key-7")
		if got := backendCalls("/cold"); got != 1+n {
			t.Errorf("backend saw %d calls for /cold in all, want 1 + %d", got, n)
		}
		for i, r := range res {
			if r.status != 200 || r.xcache != "MISS" {
				t.Errorf("response %d: %+v", i, r)
			}
		}
		if r := do("/off/cold", "key-8"); r.xcache != "HIT" {
			t.Errorf("after: %+v", r)
		}
		if leases.Len() != 0 {
			t.Errorf("%d leases with stampede off", leases.Len())
		}
	})
}
