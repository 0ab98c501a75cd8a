//go:build !wasip1

package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/host/counter"
	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/gateway"
	"github.com/gatehouse/gatehouse/host/hosttest"
	"github.com/gatehouse/gatehouse/host/vcache"
)

// BenchmarkResponseCache prices the response cache's hit path through the
// real gateway over loopback (real wazero, the built-in module, real HTTP
// client and server), against the same request proxied to a loopback
// backend that answers at once, 1 KiB bodies:
//
//	backend       no policy: the gateway proxies every request
//	hit           cache-lookup + cache-store, every request a fresh hit
//	hit/conditional  a hit answered 304 to the client's If-None-Match
//	miss+store    cache-lookup + cache-store, every request a new URL: lookup, backend, store
//
// The cost of a hit for a client is hit's ns/op; what the gateway saves
// per hit is backend's ns/op minus hit's plus the real backend's own time.
// cpu-µs/op is the whole process's CPU time (client, gateway and the
// loopback backend, getrusage) per request: steadier than wall time on a
// shared machine.
func BenchmarkResponseCache(b *testing.B) {
	body := strings.Repeat("x", 1024)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, body)
	}))
	defer backend.Close()
	ctx := context.Background()
	svc := &engine.Services{Counters: counter.New(counter.Options{}), Cache: vcache.New(100000, 256<<20), Leases: vcache.NewLeases(0)}
	e, err := engine.New(ctx, engine.Options{CacheDir: b.TempDir(), Services: svc})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close(ctx)
	step := func(p, cfg string) gateway.Step { return gateway.Step{Policy: p, Config: []byte(cfg)} }
	cfg := &gateway.Config{APIs: []gateway.API{
		{Name: "plain", PathPrefix: "/plain", Backend: backend.URL},
		{Name: "cached", PathPrefix: "/cached", Backend: backend.URL, Policies: gateway.Policy{
			Inbound:  []gateway.Step{step("cache-lookup", `{}`)},
			Outbound: []gateway.Step{step("cache-store", `{"duration":3600}`)},
		}},
	}}
	g, err := gateway.New(gateway.Options{Engine: e, Source: gateway.NewStaticSource(cfg, ""), Builtin: hosttest.Guest(b, "plugins/builtin"), BuiltinVersion: "test"})
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close()
	if err := g.Reload(ctx); err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(g)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	get := func(b *testing.B, path string, h map[string]string, want int, xcache string) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want || (xcache != "" && resp.Header.Get("X-Cache") != xcache) {
			b.Fatalf("%s: %d X-Cache %q", path, resp.StatusCode, resp.Header.Get("X-Cache"))
		}
	}
	b.Run("backend", func(b *testing.B) {
		defer cpuPerOp(b)()
		for i := 0; i < b.N; i++ {
			get(b, "/plain/item", nil, 200, "")
		}
	})
	get(b, "/cached/item", nil, 200, "MISS")
	b.Run("hit", func(b *testing.B) {
		defer cpuPerOp(b)()
		for i := 0; i < b.N; i++ {
			get(b, "/cached/item", nil, 200, "HIT")
		}
	})
	b.Run("hit/conditional", func(b *testing.B) {
		defer cpuPerOp(b)()
		for i := 0; i < b.N; i++ {
			get(b, "/cached/item", map[string]string{"If-None-Match": `"v1"`}, 304, "HIT")
		}
	})
	n := 0
	b.Run("miss+store", func(b *testing.B) {
		defer cpuPerOp(b)()
		for i := 0; i < b.N; i++ {
			n++
			get(b, "/cached/new?i="+strconv.Itoa(n), nil, 200, "MISS")
		}
	})
}

// cpuPerOp reports the process's CPU time per op (cpu-µs/op) when the
// returned function runs.
func cpuPerOp(b *testing.B) func() {
	start := processCPU()
	return func() {
		b.ReportMetric(float64((processCPU()-start).Microseconds())/float64(b.N), "cpu-µs/op")
	}
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
