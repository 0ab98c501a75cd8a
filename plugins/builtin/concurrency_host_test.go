package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/host/counter"
	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/gateway"
	"github.com/gatehouse/gatehouse/host/hosttest"
	"github.com/gatehouse/gatehouse/host/semaphore"
	"github.com/gatehouse/gatehouse/host/vcache"
)

// TestLimitConcurrencyThroughGateway runs limit-concurrency as the gateway
// runs it (the built .wasm, real HTTP over loopback): at most max_count
// calls reach the backend at a time, and the host gives every slot back
// when the call ends, on every path.
func TestLimitConcurrencyThroughGateway(t *testing.T) {
	arrived := make(chan struct{}, 16)
	var mu sync.Mutex
	release := make(chan struct{})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/block") {
			mu.Lock()
			rel := release
			mu.Unlock()
			arrived <- struct{}{}
			select {
			case <-rel:
			case <-r.Context().Done():
				return
			}
		}
		io.WriteString(w, "ok "+r.URL.Path)
	}))
	defer backend.Close()
	// A backend address that refuses connections.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String()
	ln.Close()

	ctx := context.Background()
	sems := semaphore.New()
	svc := &engine.Services{Counters: counter.New(counter.Options{}), Cache: vcache.New(100, 1<<20), Semaphores: sems}
	e, err := engine.New(ctx, engine.Options{CacheDir: t.TempDir(), Services: svc})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	step := func(p, cfg string) gateway.Step { return gateway.Step{Policy: p, Config: []byte(cfg)} }
	limit := step("limit-concurrency", `{"max_count":2,"counter_key":"header:X-Scope"}`)
	op := func(id, tmpl string, inbound ...gateway.Step) gateway.Operation {
		return gateway.Operation{ID: id, Method: "GET", Template: tmpl, Policies: gateway.Policy{Inbound: inbound}}
	}
	cfg := &gateway.Config{APIs: []gateway.API{
		{Name: "c", PathPrefix: "/c", Backend: backend.URL, Operations: []gateway.Operation{
			op("block", "/block", limit),
			op("plain", "/plain", limit),
			op("early", "/early", limit, step("return-response", `{"status":201,"body":"early"}`)),
			op("broken", "/broken", limit, step("set-header", `{"name":""}`)),
			{ID: "timeout", Method: "GET", Template: "/slow/block", Policies: gateway.Policy{
				Inbound: []gateway.Step{limit}, Backend: []gateway.Step{step("forward-request", `{"timeout_ms":50}`)}}},
		}},
		{Name: "down", PathPrefix: "/down", Backend: refused, Operations: []gateway.Operation{op("down", "/x", limit)}},
	}}
	g, err := gateway.New(gateway.Options{Engine: e, Source: gateway.NewStaticSource(cfg, ""), Builtin: hosttest.Guest(t, "plugins/builtin"), BuiltinVersion: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if err := g.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	defer srv.Close()

	type result struct {
		status          int
		body, retryWait string
	}
	do := func(ctx context.Context, scope, path string) result {
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+path, nil)
		req.Header.Set("X-Scope", scope)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return result{status: -1, body: err.Error()}
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return result{resp.StatusCode, string(b), resp.Header.Get("Retry-After")}
	}
	// drained waits until the scope holds no slot: the gateway releases
	// slots when ServeHTTP returns, just after the client got the answer.
	drained := func(t *testing.T, scope string) {
		t.Helper()
		key := "limit-concurrency:h:" + scope
		for deadline := time.Now().Add(5 * time.Second); sems.InFlight(key) != 0; {
			if time.Now().After(deadline) {
				t.Fatalf("scope %s: %d slots still held", scope, sems.InFlight(key))
			}
			time.Sleep(5 * time.Millisecond)
		}
		if sems.Len() != 0 {
			t.Fatalf("%d semaphore keys left", sems.Len())
		}
	}

	t.Run("five concurrent, two pass", func(t *testing.T) {
		results := make(chan result, 5)
		for range 5 {
			go func() { results <- do(ctx, "a", "/c/block") }()
		}
		for range 2 {
			select {
			case <-arrived:
			case <-time.After(10 * time.Second):
				t.Fatal("two calls did not reach the backend")
			}
		}
		for range 3 {
			r := <-results
			if r.status != 429 || r.retryWait != "1" ||
				r.body != `{"statusCode":429,"message":"Too many concurrent requests. Try again later."}` {
				t.Errorf("refused call: %+v", r)
			}
		}
		select {
		case <-arrived:
			t.Fatal("a third call reached the backend")
		default:
		}
		if n := sems.InFlight("limit-concurrency:h:a"); n != 2 {
			t.Errorf("in flight %d, want 2", n)
		}
		// Another scope is not limited by a.
		if r := do(ctx, "b", "/c/plain"); r.status != 200 {
			t.Errorf("scope b: %+v", r)
		}
		mu.Lock()
		close(release)
		release = make(chan struct{})
		mu.Unlock()
		for range 2 {
			if r := <-results; r.status != 200 || r.body != "ok /block" {
				t.Errorf("admitted call: %+v", r)
			}
		}
		drained(t, "a")
		// After they finished, new calls pass.
		for range 3 {
			if r := do(ctx, "a", "/c/plain"); r.status != 200 {
				t.Errorf("after release: %+v", r)
			}
		}
		drained(t, "a")
	})

	// Each path below ends the call another way; max_count is 2, so three
	// calls in a row would be refused if any slot leaked.
	for _, tc := range []struct {
		name, path string
		status     int
	}{
		{"backend refused", "/down/x", 502},
		{"backend timeout", "/c/slow/block", 504},
		{"later policy answers", "/c/early", 201},
		{"later policy fails", "/c/broken", 500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i := range 3 {
				if r := do(ctx, tc.name, tc.path); r.status != tc.status {
					t.Fatalf("call %d: %+v, want %d", i, r, tc.status)
				}
				drained(t, tc.name)
			}
			// Drain the arrivals of the timed-out calls.
			for len(arrived) > 0 {
				<-arrived
			}
		})
	}

	t.Run("client gone", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan result, 1)
		go func() { done <- do(cctx, "gone", "/c/block") }()
		select {
		case <-arrived:
		case <-time.After(10 * time.Second):
			t.Fatal("call did not reach the backend")
		}
		if n := sems.InFlight("limit-concurrency:h:gone"); n != 1 {
			t.Errorf("in flight %d, want 1", n)
		}
		cancel()
		<-done
		drained(t, "gone")
	})
}
