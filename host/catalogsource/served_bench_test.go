package catalogsource_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/catalog/analytics"
	"github.com/gatehouse/gatehouse/catalog/sqlite"
	"github.com/gatehouse/gatehouse/host/catalogsource"
	"github.com/gatehouse/gatehouse/host/counter"
	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/gateway"
	"github.com/gatehouse/gatehouse/host/hosttest"
	"github.com/gatehouse/gatehouse/host/metrics"
)

// The served-chain benchmark is the in-process twin of benchload's gw-0
// and gw-4 targets: the gateway as `gatehouse serve` runs it (SQLite
// catalog, the subscription key cache, the request log written to a real
// SQLite file, Prometheus metrics, W3C trace context, the console tracer),
// with the 4-policy chain (subscription-key from
// subscriptionRequired, rate-limit-by-key per subscription, set-header on
// the request, set-header on the response) or none. The backend is
// in-process (cannedBackend) and so is the client (a reused
// ResponseWriter, a request built per call as the server would), so the
// figure is the gateway's own work per request. The request log's writer
// runs in the same process and its CPU is part of ns/op: the writer is
// closed (every record committed) before the timer stops. Run it with
// -cpu 1 (the benchmark's gateway has one core) and a fixed count, e.g.
//
//	go test -run '^$' -bench ServedChain -benchmem -cpu 1 -benchtime 20000x -count 5 ./host/catalogsource/

// cannedBackend answers every backend request in-process with a 100-byte
// body (like benchload's backend).
type cannedBackend struct{}

var servedBody = bytes.Repeat([]byte("x"), 100)

func (cannedBackend) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	return &http.Response{StatusCode: 200, ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/json"}, "Content-Length": {"100"}},
		Body:          io.NopCloser(bytes.NewReader(servedBody)),
		ContentLength: 100, Request: r}, nil
}

// sinkWriter is a reused ResponseWriter that keeps the status and the
// header and discards the body.
type sinkWriter struct {
	h    http.Header
	code int
	n    int
	keep *bytes.Buffer // the body, when set (the first call)
}

func (s *sinkWriter) Header() http.Header { return s.h }
func (s *sinkWriter) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
}
func (s *sinkWriter) Write(p []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	s.n += len(p)
	if s.keep != nil {
		s.keep.Write(p)
	}
	return len(p), nil
}

// servedLog is cmd/gatehouse's requestLog (the Observer `serve` installs)
// with a writer that each benchmark run replaces.
type servedLog struct {
	w atomic.Pointer[analytics.Writer]
}

func (l *servedLog) Observe(c *gateway.CallRecord) {
	r := analytics.Record{
		Time: c.Time, RequestID: c.RequestID, API: c.API, Operation: c.Operation,
		Product: c.Product, Subscription: c.Subscription, User: c.User,
		ClientIP: c.ClientIP, Method: c.Method, Path: c.Path, Query: c.Query,
		Status: c.Status, BackendStatus: c.BackendStatus,
		Total: c.Total, Backend: c.Backend, Policies: c.Policies,
		BytesIn: c.BytesIn, BytesOut: c.BytesOut, CacheHit: c.CacheHit, CacheStatus: c.CacheStatus,
		PolicyError: c.PolicyError, GRPC: c.GRPC, GRPCStatus: c.GRPCStatus,
	}
	l.w.Load().Log(&r)
}

// servedGateway is one served-chain setup.
type servedGateway struct {
	g   *gateway.Gateway
	key string // the subscription's primary key ("" without policies)
	log *servedLog
}

func tbMust[T any](tb testing.TB) func(v T, err error) T {
	return func(v T, err error) T {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
		return v
	}
}

// newServedGateway builds a catalog-mode gateway with 0 or 4 policies;
// with logged, calls go to a request log (set per run by the caller). Its
// files and its closing belong to owner (a benchmark's cleanups run after
// every run of its function; the setup outlives them).
func newServedGateway(tb, owner testing.TB, builtin []byte, cacheDir string, policies int, logged bool) *servedGateway {
	tb.Helper()
	ctx := context.Background()
	mk := make([]byte, 32)
	if _, err := rand.Read(mk); err != nil {
		tb.Fatal(err)
	}
	st, err := sqlite.OpenWithMasterKey(filepath.Join(owner.TempDir(), "catalog.db"), mk)
	if err != nil {
		tb.Fatal(err)
	}
	owner.Cleanup(func() { st.Close() })
	tbMust[catalog.Module](tb)(st.CreateModule(ctx, catalog.Module{Name: "builtin", Version: "1.0.0", Wasm: builtin, Manifest: catalog.ModuleManifest{ABIVersion: 1}}))
	api := tbMust[catalog.API](tb)(st.CreateAPI(ctx, catalog.API{ID: "bench", Name: "Bench", PathPrefix: "/bench", BackendURL: "http://127.0.0.1:9", SubscriptionRequired: policies == 4}))
	key := ""
	if policies == 4 {
		if err := st.SetPolicy(ctx, catalog.PolicyDoc{Scope: catalog.ScopeAPI, ScopeID: api.ID,
			Inbound: []catalog.PolicyEntry{{Base: true},
				{Module: "builtin", Policy: "rate-limit-by-key", Config: json.RawMessage(`{"calls":1000000000,"renewal_period":60,"counter_key":"subscription"}`)},
				{Module: "builtin", Policy: "set-header", Config: json.RawMessage(`{"name":"X-Bench","value":"1"}`)}},
			Outbound: []catalog.PolicyEntry{{Base: true},
				{Module: "builtin", Policy: "set-header", Config: json.RawMessage(`{"name":"X-Bench-Out","value":"1","phase":"response"}`)}},
		}); err != nil {
			tb.Fatal(err)
		}
		user := tbMust[catalog.User](tb)(st.CreateUser(ctx, catalog.User{Email: "bench@example.com", Name: "Bench"}))
		if _, key, _, err = st.CreateSubscription(ctx, catalog.Subscription{UserID: user.ID, Scope: catalog.ScopeAll, State: catalog.StateActive}); err != nil {
			tb.Fatal(err)
		}
	}
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	src := catalogsource.New(st)
	svc := &engine.Services{Subscriptions: src, Counters: counter.New(counter.Options{})}
	e, err := engine.New(ctx, engine.Options{CacheDir: cacheDir, Services: svc, Logger: quiet})
	if err != nil {
		tb.Fatal(err)
	}
	tr, err := gateway.NewTracer(mk)
	if err != nil {
		tb.Fatal(err)
	}
	sg := &servedGateway{key: key}
	o := gateway.Options{Engine: e, Source: src, Builtin: builtin, BuiltinVersion: "bench", Logger: quiet,
		Transport: cannedBackend{}, Metrics: metrics.New(), TraceContext: true, Tracer: tr}
	if logged {
		sg.log = &servedLog{}
		o.Observer = sg.log
	}
	g, err := gateway.New(o)
	if err != nil {
		tb.Fatal(err)
	}
	if err := g.Reload(ctx); err != nil {
		tb.Fatal(err)
	}
	owner.Cleanup(func() {
		g.Close()
		e.Close(ctx)
	})
	sg.g = g
	return sg
}

// serve sends one request as net/http's server hands it to the handler.
func (sg *servedGateway) serve(w *sinkWriter) {
	h := http.Header{"User-Agent": {"wrk"}, "Accept": {"*/*"}}
	if sg.key != "" {
		h[catalog.DefaultKeyHeader] = []string{sg.key}
	}
	r := &http.Request{Method: "GET", URL: &url.URL{Path: "/bench/"}, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: http.NoBody, Host: "127.0.0.1:8080", RemoteAddr: "127.0.0.1:40000", RequestURI: "/bench/"}
	clear(w.h)
	w.code, w.n = 0, 0
	sg.g.ServeHTTP(w, r)
}

// processCPU is the process's user + system CPU time so far.
func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkServedChain(b *testing.B) {
	parent := b
	builtin := hosttest.Guest(b, "plugins/builtin")
	// wazero's compilation cache, kept across runs (keyed by wazero's
	// version and the module's bytes), so that a run does not spend its
	// first seconds compiling the built-in module.
	cacheDir := filepath.Join(os.TempDir(), "gatehouse-served-bench-cache")
	setups := map[string]*servedGateway{}
	for _, tc := range []struct {
		name     string
		policies int
		logged   bool
	}{{"0", 0, true}, {"4", 4, true}, {"4-nolog", 4, false}} {
		b.Run(tc.name, func(b *testing.B) {
			sg := setups[tc.name]
			if sg == nil {
				sg = newServedGateway(b, parent, builtin, cacheDir, tc.policies, tc.logged)
				setups[tc.name] = sg
			}
			var lw *analytics.Writer
			if sg.log != nil {
				var err error
				lw, err = analytics.OpenWriter(analytics.WriterOptions{Path: filepath.Join(b.TempDir(), "logs.db")})
				if err != nil {
					b.Fatal(err)
				}
				sg.log.w.Store(lw)
			}
			w := &sinkWriter{h: http.Header{}, keep: &bytes.Buffer{}}
			sg.serve(w) // first call: the key cache, the counter
			if w.code != 200 || (tc.policies == 4 && w.h.Get("X-Bench-Out") != "1") {
				b.Fatalf("status %d, header %v, body %s", w.code, w.h, w.keep)
			}
			w.keep = nil
			for range 2000 { // warm: guest memory, pools, the writer's statements
				sg.serve(w)
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := processCPU(b)
			for i := 0; i < b.N; i++ {
				sg.serve(w)
				if w.code != 200 {
					b.Fatalf("status %d", w.code)
				}
			}
			if lw != nil {
				// Every record committed, inside the timed region.
				if err := lw.Close(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			// The process's CPU time per call (user + system: the request
			// path, the log writer, the GC), which waiting for a core on a
			// loaded machine does not inflate as it does ns/op.
			b.ReportMetric(float64((processCPU(b)-cpu0).Nanoseconds())/1e3/float64(b.N), "cpu-µs/op")
			if lw != nil {
				s := lw.Stats()
				if s.Written+s.Dropped != int64(b.N)+2001 {
					b.Fatalf("request log: %+v for %d calls", s, b.N+2001)
				}
				b.ReportMetric(float64(s.Dropped)/float64(b.N), "dropped/op")
			}
		})
	}
}
