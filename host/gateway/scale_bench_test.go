package gateway_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/gateway"
	"github.com/gatehouse/gatehouse/host/hosttest"
)

// scaleConfig is n APIs of 5 operations each, a set-header policy per API
// through the built-in module, one subscription (issue 15's catalog).
func scaleConfig(n int) *gateway.Config {
	cfg := &gateway.Config{Subscriptions: []gateway.StaticSubscription{{ID: "s", Key: "bench-key"}}}
	for i := 0; i < n; i++ {
		a := gateway.API{Name: fmt.Sprintf("api%d", i), PathPrefix: fmt.Sprintf("/svc%d/v1", i), Backend: "http://backend.invalid",
			Policies: gateway.Policy{Inbound: []gateway.Step{{Policy: "set-header", Config: []byte(fmt.Sprintf(`{"name":"X-API","value":"%d"}`, i))}}}}
		for j, tm := range []string{"/items", "/items/{id}", "/items/{id}/tags", "/orders", "/orders/{id}"} {
			a.Operations = append(a.Operations, gateway.Operation{ID: fmt.Sprintf("op%d", j), Method: []string{"GET", "GET", "GET", "POST", "DELETE"}[j], Template: tm})
		}
		cfg.APIs = append(cfg.APIs, a)
	}
	return cfg
}

// vmRSS is the process's resident set in MiB (Linux), 0 elsewhere.
func vmRSS() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// BenchmarkCatalogScale builds the real gateway (real wazero, the built-in
// module) over 10, 1,000 and 10,000 APIs × 5 operations and sends calls
// through the last API (the one a single ordered router reaches last), in
// process with a canned backend. It reports the first snapshot build (with
// the module load) and a reload of an equal config (every part reused) in
// ms, and the process RSS and Go heap after them; ns/op is the cost of one
// call; live-MiB the Go heap in use after them (HeapAlloc after a GC).
// GATEHOUSE_SCALE_MAX caps n (default 1000: `make bench` stays
// short; `make bench-scale` sets 10000), GATEHOUSE_SCALE_REBUILD_MAX the
// reload (default: every n). The same call through a gateway built by the
// catalog source from real SQLite with 100,000 subscriptions, where the
// source's own copy of the catalog is live too, is
// host/catalogsource BenchmarkServedScale.
func BenchmarkCatalogScale(b *testing.B) {
	builtin := hosttest.Guest(b, "plugins/builtin")
	max := 1000
	if v, err := strconv.Atoi(os.Getenv("GATEHOUSE_SCALE_MAX")); err == nil {
		max = v
	}
	rebuildMax := 10000
	if v, err := strconv.Atoi(os.Getenv("GATEHOUSE_SCALE_REBUILD_MAX")); err == nil {
		rebuildMax = v
	}
	for _, n := range []int{10, 1000, 10000} {
		if n > max {
			continue
		}
		b.Run(fmt.Sprintf("apis=%d", n), func(b *testing.B) {
			ctx := context.Background()
			e, err := engine.New(ctx, engine.Options{CacheDir: cacheDir, Logger: quiet})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close(ctx)
			cfg := scaleConfig(n)
			src := gateway.NewStaticSource(cfg, "")
			g, err := gateway.New(gateway.Options{Engine: e, Source: src, Transport: cannedTransport{}, Logger: quiet,
				Builtin: builtin, BuiltinVersion: "bench"})
			if err != nil {
				b.Fatal(err)
			}
			defer g.Close()
			start := time.Now()
			if err := g.Reload(ctx); err != nil {
				b.Fatal(err)
			}
			first := time.Since(start)
			// A reload of an equal config: every part is reused
			// (BenchmarkSnapshotBuild has full and one-API-changed builds).
			build := -time.Millisecond
			if n <= rebuildMax {
				src.Set(scaleConfig(n))
				start = time.Now()
				if err := g.Reload(ctx); err != nil {
					b.Fatal(err)
				}
				build = time.Since(start)
			}
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			path := fmt.Sprintf("/svc%d/v1/items/42", n-1)
			b.ResetTimer()
			for b.Loop() {
				req := httptest.NewRequest("GET", path, nil)
				w := httptest.NewRecorder()
				g.ServeHTTP(w, req)
				if w.Code != 200 {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(first.Milliseconds()), "first-build-ms")
			b.ReportMetric(float64(build.Milliseconds()), "rebuild-ms")
			b.ReportMetric(vmRSS(), "rss-MiB")
			b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
			b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "live-MiB")
		})
	}
}

// BenchmarkSnapshotBuild is a snapshot build of n APIs × 5 operations with
// the modules already loaded: full (nothing reused: a start or restore)
// and incremental (one API's policy changed since the serving snapshot:
// what a catalog write pays). GATEHOUSE_SCALE_MAX caps n (default 3000).
func BenchmarkSnapshotBuild(b *testing.B) {
	builtin := hosttest.Guest(b, "plugins/builtin")
	max := 3000
	if v, err := strconv.Atoi(os.Getenv("GATEHOUSE_SCALE_MAX")); err == nil {
		max = v
	}
	for _, n := range []int{1000, 3000, 10000} {
		if n > max {
			continue
		}
		ctx := context.Background()
		e, err := engine.New(ctx, engine.Options{CacheDir: cacheDir, Logger: quiet})
		if err != nil {
			b.Fatal(err)
		}
		cfg := scaleConfig(n)
		g, err := gateway.New(gateway.Options{Engine: e, Source: gateway.NewStaticSource(cfg, ""), Transport: cannedTransport{}, Logger: quiet,
			Builtin: builtin, BuiltinVersion: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		if err := g.Reload(ctx); err != nil {
			b.Fatal(err)
		}
		for _, full := range []bool{true, false} {
			name := fmt.Sprintf("incremental/apis=%d", n)
			if full {
				name = fmt.Sprintf("full/apis=%d", n)
			}
			b.Run(name, func(b *testing.B) {
				i := 0
				for b.Loop() {
					b.StopTimer()
					next := *cfg
					next.APIs = slices.Clone(cfg.APIs)
					i++
					a := &next.APIs[i%n]
					a.Policies = gateway.Policy{Inbound: []gateway.Step{{Policy: "set-header", Config: []byte(fmt.Sprintf(`{"name":"X-API","value":"changed %d"}`, i))}}}
					b.StartTimer()
					reused, release, err := g.BuildForTest(ctx, &next, full)
					if err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					if want := n - 1; !full && reused != want {
						b.Fatalf("reused %d parts, want %d", reused, want)
					}
					release()
					b.StartTimer()
				}
			})
		}
		g.Close()
		e.Close(ctx)
	}
}
