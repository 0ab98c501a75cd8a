package catalogsource_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	strconvpkg "strconv"
	"sync/atomic"
	"testing"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/catalog/sqlite"
	"github.com/gatehouse/gatehouse/host/catalogsource"
	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/gateway"
	"github.com/gatehouse/gatehouse/host/hosttest"
)

// servedScaleFile returns a real SQLite catalog of n APIs × 5 operations
// (a set-header policy and a subscription requirement each, seedScale)
// with subs all-APIs subscriptions, and the built-in module, written once
// per benchmark run into files (a map n → path) that top removes at its
// end: -count N reuses them.
func servedScaleFile(top, b *testing.B, files map[int]string, builtin []byte, n, subs int) string {
	if p, ok := files[n]; ok {
		return p
	}
	dir, err := os.MkdirTemp("/dev/shm", "gatehouse-bench-")
	if err != nil {
		dir = top.TempDir()
	} else {
		top.Cleanup(func() { os.RemoveAll(dir) })
	}
	path := filepath.Join(dir, "catalog.db")
	st, err := sqlite.OpenWithMasterKey(path, bytes.Repeat([]byte{7}, 32))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if _, err := st.CreateModule(context.Background(), catalog.Module{Name: "builtin", Version: "1.0.0", Wasm: builtin, Manifest: catalog.ModuleManifest{ABIVersion: 1}}); err != nil {
		b.Fatal(err)
	}
	seedScale(b, path, "http://backend.invalid", n, subs)
	files[n] = path
	return path
}

// quietLog drops everything below warnings.
var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// benchUsers numbers the users BenchmarkServedScale creates.
var benchUsers atomic.Int64

// BenchmarkServedScale is the catalog-at-scale call in process: a real
// SQLite catalog of 10, 1,000 and 10,000 APIs × 5 operations with
// GATEHOUSE_SCALE_SUBS subscriptions (default 100,000), read by the real
// source (catalogsource) into the real gateway (real wazero, the built-in
// subscription-key and set-header policies), and one GET through the last
// API with a valid key, answered by an in-process backend into a reused
// writer (no sockets, no httptest request parsing), as
// `make bench-scale` measures over loopback. ns/op and allocs/op are one
// call; live-MiB is the Go heap in use after the first load and build and
// a GC (runtime.ReadMemStats: HeapAlloc), which holds everything the
// source and the gateway keep; scan-MiB the part of it holding pointers
// (what every GC cycle marks); rss-MiB the process's resident set then;
// cpu-ns/op this process's CPU per call; gc/1k-op the GC cycles per
// 1,000 calls and marked-B/op the bytes they marked per call.
// Run with -cpu 1; GATEHOUSE_SCALE_HEAPPROFILE=FILE writes the live heap
// after the build to FILE.<n>. GATEHOUSE_SCALE_MAX caps n (default 1000: `make test`
// never runs it, `go test -bench .` stays short).
func BenchmarkServedScale(b *testing.B) {
	builtin := hosttest.Guest(b, "plugins/builtin")
	max := 1000
	if v, err := strconvpkg.Atoi(os.Getenv("GATEHOUSE_SCALE_MAX")); err == nil {
		max = v
	}
	subs := 100000
	if v, err := strconvpkg.Atoi(os.Getenv("GATEHOUSE_SCALE_SUBS")); err == nil && v >= 0 {
		subs = v
	}
	top, files := b, map[int]string{}
	for _, n := range []int{10, 1000, 10000} {
		if n > max {
			continue
		}
		b.Run(fmt.Sprintf("apis=%d", n), func(b *testing.B) {
			ctx := context.Background()
			path := servedScaleFile(top, b, files, builtin, n, subs)
			st, err := sqlite.OpenWithMasterKey(path, bytes.Repeat([]byte{7}, 32))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			user, err := st.CreateUser(ctx, catalog.User{Email: fmt.Sprintf("bench%d@example.com", benchUsers.Add(1)), Name: "Bench"})
			if err != nil {
				b.Fatal(err)
			}
			sub, key, _, err := st.CreateSubscription(ctx, catalog.Subscription{UserID: user.ID, Scope: catalog.ScopeAll, State: catalog.StateActive})
			if err != nil {
				b.Fatal(err)
			}
			defer st.DeleteSubscription(ctx, sub.ID)

			runtime.GC()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			src := catalogsource.New(st)
			e, err := engine.New(ctx, engine.Options{CacheDir: filepath.Join(os.TempDir(), "gatehouse-bench-cache"), Logger: quietLog,
				Services: &engine.Services{Subscriptions: src}})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close(ctx)
			g, err := gateway.New(gateway.Options{Engine: e, Source: src, Transport: echoAPIBackend{}, Logger: quietLog,
				Builtin: builtin, BuiltinVersion: "bench"})
			if err != nil {
				b.Fatal(err)
			}
			defer g.Close()
			if err := g.Reload(ctx); err != nil {
				b.Fatal(err)
			}
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			rss := rssMiB()
			// The scannable part of the heap: what every GC cycle marks.
			scan := []metrics.Sample{{Name: "/gc/scan/heap:bytes"}, {Name: "/gc/cycles/total:gc-cycles"}}
			metrics.Read(scan)
			// GATEHOUSE_SCALE_HEAPPROFILE=FILE writes the live heap after
			// the build to FILE.<n> (go tool pprof -sample_index=inuse_space).
			if f := os.Getenv("GATEHOUSE_SCALE_HEAPPROFILE"); f != "" {
				out, err := os.Create(fmt.Sprintf("%s.%d", f, n))
				if err != nil {
					b.Fatal(err)
				}
				if err := pprof.Lookup("heap").WriteTo(out, 0); err != nil {
					b.Fatal(err)
				}
				out.Close()
			}

			upath := fmt.Sprintf("/svc%d/v1/items/42", n-1)
			want := strconvpkg.Itoa(n - 1)
			// The request as net/http's server hands it over (no
			// httptest.NewRequest: it parses request text through a new
			// 4 KB reader per call, garbage a server does not make per
			// request); the answer into a reused writer.
			u, err := url.Parse(upath)
			if err != nil {
				b.Fatal(err)
			}
			w := &discardWriter{h: http.Header{}}
			call := func() {
				uc := *u
				req := &http.Request{Method: "GET", URL: &uc, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Host: "gw.example",
					Header: http.Header{catalog.DefaultKeyHeader: {key}}, Body: http.NoBody, RemoteAddr: "192.0.2.1:40000", RequestURI: upath}
				w.reset()
				g.ServeHTTP(w, req)
				if w.code != 200 || w.body.String() != want {
					b.Fatalf("status %d: %q, want 200 %q", w.code, w.body.String(), want)
				}
			}
			call() // the key read from SQLite once, cached from here on
			b.ReportAllocs()
			b.ResetTimer()
			cpu := cpuSeconds()
			for b.Loop() {
				call()
			}
			b.StopTimer()
			// This process's CPU per call (the call, the GC, everything):
			// unlike ns/op it does not grow when another process takes the
			// core (a 2-core machine shared by others).
			b.ReportMetric((cpuSeconds()-cpu)*1e9/float64(b.N), "cpu-ns/op")
			// GC cycles per 1,000 calls and the bytes they marked per call
			// (cycles × scannable heap): the GC's share of a call, which
			// unlike ns/op a loaded machine does not disturb.
			cycles := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
			metrics.Read(cycles)
			nc := float64(cycles[0].Value.Uint64() - scan[1].Value.Uint64())
			b.ReportMetric(nc*1000/float64(b.N), "gc/1k-op")
			b.ReportMetric(nc*float64(scan[0].Value.Uint64())/float64(b.N), "marked-B/op")
			b.ReportMetric(float64(scan[0].Value.Uint64())/(1<<20), "scan-MiB")
			b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "live-MiB")
			b.ReportMetric(float64(ms.HeapAlloc-min(ms.HeapAlloc, before.HeapAlloc))/(1<<20), "built-MiB")
			b.ReportMetric(float64(rss), "rss-MiB")
		})
	}
}

// discardWriter is a ResponseWriter kept across calls: status and body
// for the check, its header map cleared.
type discardWriter struct {
	h    http.Header
	code int
	body bytes.Buffer
}

func (w *discardWriter) reset() {
	clear(w.h)
	w.code = 0
	w.body.Reset()
}

func (w *discardWriter) Header() http.Header { return w.h }

func (w *discardWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *discardWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = 200
	}
	return w.body.Write(p)
}

// echoAPIBackend answers every backend request in process with the
// request's X-API header (what the set-header policy set), as the
// loopback backend of TestRevocationAtScale does.
type echoAPIBackend struct{}

func (echoAPIBackend) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		r.Body.Close()
	}
	body := r.Header.Get("X-API")
	return &http.Response{StatusCode: 200, ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"text/plain"}, "Content-Length": {strconvpkg.Itoa(len(body))}},
		Body:          io.NopCloser(bytes.NewReader([]byte(body))),
		ContentLength: int64(len(body)), Request: r}, nil
}
