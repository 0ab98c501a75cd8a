package main

import (
	"context"
	"io"
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
	"github.com/gatehouse/gatehouse/host/vcache"
)

// TestBackendControlThroughGateway runs set-backend-service, forward-request
// and retry as the gateway runs them (the built .wasm, real HTTP over
// loopback): the host honours the backend fields (ABI v1.1).
func TestBackendControlThroughGateway(t *testing.T) {
	var mu sync.Mutex
	seen := map[string][]string{} // by path: "METHOD body" per request
	record := func(r *http.Request) int {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		seen[r.URL.Path] = append(seen[r.URL.Path], r.Method+" "+string(b))
		return len(seen[r.URL.Path])
	}
	count := func(path string) []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen[path]...)
	}
	handler := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := record(r)
			path := strings.TrimPrefix(r.URL.Path, "/base")
			switch {
			case strings.HasPrefix(path, "/slow"):
				// Far longer than any bound below, so that a bound
				// with room for a loaded machine still tells a
				// timed-out attempt from one that waited.
				select {
				case <-time.After(10 * time.Second):
				case <-r.Context().Done():
					return
				}
			case strings.HasPrefix(path, "/flaky") && n <= 2:
				w.WriteHeader(http.StatusServiceUnavailable)
				io.WriteString(w, "unavailable")
				return
			case strings.HasPrefix(path, "/down"):
				w.WriteHeader(http.StatusServiceUnavailable)
				io.WriteString(w, "down "+name)
				return
			case strings.HasPrefix(path, "/moved"):
				http.Redirect(w, r, "/final", http.StatusFound)
				return
			}
			io.WriteString(w, name+" "+r.Method+" "+r.URL.Path+" ?"+r.URL.RawQuery)
		})
	}
	primary := httptest.NewServer(handler("primary"))
	defer primary.Close()
	other := httptest.NewServer(handler("other"))
	defer other.Close()

	ctx := context.Background()
	svc := &engine.Services{Counters: counter.New(counter.Options{}), Cache: vcache.New(100, 1<<20)}
	e, err := engine.New(ctx, engine.Options{CacheDir: t.TempDir(), Services: svc})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	step := func(p, cfg string) gateway.Step { return gateway.Step{Policy: p, Config: []byte(cfg)} }
	op := func(id, method, tmpl string, backend ...gateway.Step) gateway.Operation {
		return gateway.Operation{ID: id, Method: method, Template: tmpl, Policies: gateway.Policy{Backend: backend}}
	}
	retry3 := step("retry", `{"condition":[502,503,504],"count":3,"interval":0.01}`)
	cfg := &gateway.Config{APIs: []gateway.API{
		// other is on loopback, not the API's own backend: the switch to
		// it needs an egress allow entry (docs/egress.md).
		{Name: "b", PathPrefix: "/b", Backend: primary.URL + "/base", EgressAllow: []string{strings.TrimPrefix(other.URL, "http://")}, Operations: []gateway.Operation{
			op("switch", "GET", "/switch/{id}", step("set-backend-service", `{"base_url":"`+other.URL+`/v2"}`)),
			op("plain", "GET", "/plain/{id}"),
			op("meta", "GET", "/meta", step("set-backend-service", `{"base_url":"http://169.254.169.254/latest"}`)),
			op("slow", "GET", "/slow", step("forward-request", `{"timeout_ms":100}`)),
			op("flakyput", "PUT", "/flaky/put", retry3),
			op("flakypost", "POST", "/flaky/post", retry3),
			op("flakypostok", "POST", "/flaky/postok", step("retry", `{"condition":["5xx"],"count":3,"interval":0,"retry_non_idempotent":true}`)),
			op("down", "GET", "/down", step("retry", `{"condition":[503],"count":2,"interval":0,"first_fast_retry":true}`)),
			op("moved", "GET", "/moved", step("forward-request", `{"follow_redirects":true}`)),
			op("movedplain", "GET", "/moved2"),
		}},
		{Name: "small", PathPrefix: "/small", Backend: primary.URL, BodyLimit: 8, Operations: []gateway.Operation{
			op("put", "PUT", "/flaky/small", retry3),
			op("slow", "GET", "/slow/retried", step("forward-request", `{"timeout_ms":100}`),
				step("retry", `{"condition":[503],"count":2,"interval":0,"retry_on_error":true}`)),
		}},
		{Name: "s", PathPrefix: "/s", Backend: primary.URL, Operations: []gateway.Operation{
			{ID: "slow", Method: "GET", Template: "/slow", Policies: gateway.Policy{
				Backend: []gateway.Step{step("forward-request", `{"timeout_ms":100}`)},
				OnError: []gateway.Step{step("return-response", `{"status":503,"body":"fallback {var.gatehouse.error.status}","content_type":"text/plain"}`)},
			}},
		}},
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

	do := func(method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if body == "" {
			req.Body = nil
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	t.Run("set-backend-service", func(t *testing.T) {
		if st, body := do("GET", "/b/switch/7?x=1", ""); st != 200 || body != "other GET /v2/switch/7 ?x=1" {
			t.Errorf("switched: %d %q", st, body)
		}
		if st, body := do("GET", "/b/plain/7", ""); st != 200 || body != "primary GET /base/plain/7 ?" {
			t.Errorf("not switched: %d %q", st, body)
		}
		if st, _ := do("GET", "/b/meta", ""); st != 500 {
			t.Errorf("metadata backend: %d, want 500", st)
		}
	})
	t.Run("forward-request timeout", func(t *testing.T) {
		t0 := time.Now()
		st, body := do("GET", "/b/slow", "")
		if st != 504 || !strings.Contains(body, `"statusCode":504`) || time.Since(t0) > 5*time.Second {
			t.Errorf("timeout: %d %q after %v", st, body, time.Since(t0))
		}
		if st, body := do("GET", "/s/slow", ""); st != 503 || body != "fallback 504" {
			t.Errorf("timeout with on-error: %d %q", st, body)
		}
	})
	t.Run("retry", func(t *testing.T) {
		before := g.BackendRetries()
		st, body := do("PUT", "/b/flaky/put", "payload")
		if got := count("/base/flaky/put"); st != 200 || len(got) != 3 || got[0] != "PUT payload" || got[1] != got[0] || got[2] != got[0] {
			t.Errorf("PUT: %d %q, backend saw %q", st, body, got)
		}
		if n := g.BackendRetries() - before; n != 2 {
			t.Errorf("retries counted: %d", n)
		}
		st, _ = do("POST", "/b/flaky/post", "payload")
		if got := count("/base/flaky/post"); st != 503 || len(got) != 1 {
			t.Errorf("POST retried by default: %d, backend saw %q", st, got)
		}
		st, _ = do("POST", "/b/flaky/postok", "p2")
		if got := count("/base/flaky/postok"); st != 200 || len(got) != 3 || got[2] != "POST p2" {
			t.Errorf("POST with retry_non_idempotent: %d, backend saw %q", st, got)
		}
		// the body is buffered for replay, within the API's limit
		req, _ := http.NewRequest("PUT", srv.URL+"/small/flaky/small", io.MultiReader(strings.NewReader("0123456789abcdef")))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := count("/flaky/small"); resp.StatusCode != 413 || len(got) != 0 {
			t.Errorf("over the body limit: %d, backend saw %q", resp.StatusCode, got)
		}
		// attempt timeouts are retried with retry_on_error, each attempt bounded
		t0 := time.Now()
		st, _ = do("GET", "/small/slow/retried", "")
		if got := count("/slow/retried"); st != 504 || len(got) != 3 || time.Since(t0) > 5*time.Second {
			t.Errorf("retry on timeout: %d, backend saw %d, after %v", st, len(got), time.Since(t0))
		}
		st, body = do("GET", "/b/down", "")
		if got := count("/base/down"); st != 503 || body != "down primary" || len(got) != 3 {
			t.Errorf("bounded: %d %q, backend saw %d", st, body, len(got))
		}
	})
	t.Run("follow-redirects", func(t *testing.T) {
		if st, body := do("GET", "/b/moved", ""); st != 200 || body != "primary GET /final ?" {
			t.Errorf("followed: %d %q", st, body)
		}
		req, _ := http.NewRequest("GET", srv.URL+"/b/moved2", nil)
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 302 {
			t.Errorf("not followed by default: %d", resp.StatusCode)
		}
	})
}
