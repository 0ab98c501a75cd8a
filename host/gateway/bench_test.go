package gateway_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/host/counter"
	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/gateway"
	"github.com/gatehouse/gatehouse/host/hosttest"
	"github.com/gatehouse/gatehouse/host/metrics"
	"github.com/gatehouse/gatehouse/host/vcache"
)

// cannedTransport answers every backend request in-process, so the chain
// benchmarks price the gateway's own work (edge, routing, policies, proxy
// plumbing) without socket noise; the loopback harness covers real I/O.
type cannedTransport struct{}

var cannedBody = bytes.Repeat([]byte("x"), 100)

func (cannedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	return &http.Response{StatusCode: 200, ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"text/plain"}, "Content-Length": {"100"}},
		Body:          io.NopCloser(bytes.NewReader(cannedBody)),
		ContentLength: 100, Request: r}, nil
}

var quiet = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

// BenchmarkChain runs a request through chains of 0, 1, 2, 4 and 8 probe
// steps that each set a request header. Consecutive steps of one module are
// one guest call (a plan), so "separate" alternates two modules to force one
// call per step.
func BenchmarkChain(b *testing.B) {
	probe := hosttest.Probe(b)
	for _, n := range []int{0, 1, 2, 4, 8} {
		for _, mode := range []string{"planned", "separate"} {
			if n < 2 && mode == "separate" {
				continue
			}
			b.Run(strconv.Itoa(n)+"/"+mode, func(b *testing.B) {
				var steps []gateway.Step
				for i := 0; i < n; i++ {
					mod := "probe"
					if mode == "separate" && i%2 == 1 {
						mod = "probe2"
					}
					steps = append(steps, gateway.Step{Module: mod, Policy: "p", Config: jsonString("req-header:X-S" + strconv.Itoa(i) + "=v"), Timeout: gateway.Duration(5 * time.Second)})
				}
				cfg := &gateway.Config{
					Modules: []gateway.ModuleSpec{{Name: "probe", Wasm: probe, MinInstances: 2, MaxInstances: 2}, {Name: "probe2", Wasm: probe, MinInstances: 2, MaxInstances: 2}},
					APIs:    []gateway.API{{Name: "a", PathPrefix: "/a", Backend: "http://backend.invalid", Policies: gateway.Policy{Inbound: steps}}},
				}
				ctx := context.Background()
				e, err := engine.New(ctx, engine.Options{CacheDir: cacheDir, Logger: quiet})
				if err != nil {
					b.Fatal(err)
				}
				defer e.Close(ctx)
				g, err := gateway.New(gateway.Options{Engine: e, Source: gateway.NewStaticSource(cfg, ""), Transport: cannedTransport{}, Logger: quiet})
				if err != nil {
					b.Fatal(err)
				}
				defer g.Close()
				if err := g.Reload(ctx); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						req := httptest.NewRequest("GET", "/a/items/1", nil)
						req.Header.Set("User-Agent", "bench")
						w := httptest.NewRecorder()
						g.ServeHTTP(w, req)
						if w.Code != 200 {
							b.Errorf("status %d: %s", w.Code, w.Body)
							return
						}
					}
				})
			})
		}
	}
}

// BenchmarkBuiltinChain is the design's reference chain through the real
// built-in module (trusted runtime): 0, 1 (set-header) and 4 policies (key
// check, rate limit, header set, cache miss), with an in-process backend.
func BenchmarkBuiltinChain(b *testing.B) {
	builtin := hosttest.Guest(b, "plugins/builtin")
	four := []gateway.Step{
		{Policy: "subscription-key", Config: []byte(`{}`)},
		{Policy: "rate-limit", Config: []byte(`{"calls":1000000000,"renewal_period":60}`)},
		{Policy: "set-header", Config: []byte(`{"name":"X-Bench","value":"1"}`)},
		{Policy: "cache-lookup", Config: []byte(`{}`)},
	}
	for _, tc := range []struct {
		name    string
		steps   []gateway.Step
		guarded bool
		// observed: with Prometheus metrics, trace context and a
		// (no-op) Observer, as `gatehouse serve` runs.
		observed bool
	}{{"0", nil, false, false}, {"1", four[2:3], false, false}, {"4", four, false, false}, {"4-observed", four, false, true}, {"4-guarded", four, true, false},
		{"key-only", four[0:1], false, false}, {"rate-only", four[1:2], false, false}, {"cache-only", four[3:4], false, false}} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			svc := &engine.Services{Counters: counter.New(counter.Options{}), Cache: vcache.New(1000, 1<<20)}
			e, err := engine.New(ctx, engine.Options{CacheDir: cacheDir, Logger: quiet, Services: svc})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close(ctx)
			cfg := &gateway.Config{
				APIs:          []gateway.API{{Name: "a", PathPrefix: "/a", Backend: "http://backend.invalid", Policies: gateway.Policy{Inbound: tc.steps}}},
				Subscriptions: []gateway.StaticSubscription{{ID: "s", Key: "bench-key"}},
			}
			o := gateway.Options{Engine: e, Source: gateway.NewStaticSource(cfg, ""), Transport: cannedTransport{}, Logger: quiet,
				Builtin: builtin, BuiltinVersion: "bench", GuardBuiltin: tc.guarded}
			if tc.observed {
				o.Metrics, o.Observer, o.TraceContext = metrics.New(), nopObserver{}, true
			}
			g, err := gateway.New(o)
			if err != nil {
				b.Fatal(err)
			}
			defer g.Close()
			svc.Subscriptions = g
			if err := g.Reload(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest("GET", "/a/items/1", nil)
					req.Header.Set("Ocp-Apim-Subscription-Key", "bench-key")
					w := httptest.NewRecorder()
					g.ServeHTTP(w, req)
					if w.Code != 200 {
						b.Errorf("status %d: %s", w.Code, w.Body)
						return
					}
				}
			})
		})
	}
}
