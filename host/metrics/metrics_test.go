package metrics

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/gateway"
	"github.com/gatehouse/gatehouse/host/hosttest"
)

func scrape(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	b, _ := io.ReadAll(rec.Body)
	return rec.Code, string(b)
}

func TestMetricsFromAGateway(t *testing.T) {
	ctx := context.Background()
	e, err := engine.New(ctx, engine.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			w.WriteHeader(503)
		}
		io.WriteString(w, "ok")
	}))
	defer be.Close()
	cfg := &gateway.Config{
		APIs: []gateway.API{{Name: "shop", PathPrefix: "/shop", Backend: be.URL,
			Policies:   gateway.Policy{Inbound: []gateway.Step{{Module: "probe", Policy: "p", Config: []byte(`"req-header:X-A=1"`), Timeout: gateway.Duration(5 * time.Second)}}},
			Operations: []gateway.Operation{{ID: "get", Method: "GET", Template: "/{p}"}}}},
		Modules: []gateway.ModuleSpec{{Name: "probe", Wasm: hosttest.Probe(t), MinInstances: 1, MaxInstances: 2}},
	}
	m := New()
	g, err := gateway.New(gateway.Options{Engine: e, Source: gateway.NewStaticSource(cfg, ""), Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	ops := &Ops{Metrics: m, Ready: g.Ready}
	mux := http.NewServeMux()
	ops.Register(mux)
	if code, _ := scrape(t, mux, "/readyz"); code != 503 {
		t.Errorf("readyz before a snapshot: %d", code)
	}
	if err := g.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	m.Watch(Sources{Gateway: g, Engine: e, Log: func() LogStats { return LogStats{Written: 7, Dropped: 2, QueueDepth: 3, QueueCap: 4096} }})
	srv := httptest.NewServer(g)
	defer srv.Close()
	for _, p := range []string{"/shop/a", "/shop/b", "/shop/fail", "/nowhere"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	time.Sleep(50 * time.Millisecond) // metrics are observed after the response is written

	code, body := scrape(t, mux, "/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{
		`gatehouse_requests_total{api="shop",operation="get",status_class="2xx"} 2`,
		`gatehouse_requests_total{api="shop",operation="get",status_class="5xx"} 1`,
		`gatehouse_requests_total{api="",operation="",status_class="4xx"} 1`,
		`gatehouse_request_duration_seconds_count{api="shop",operation="get",status_class="2xx"} 2`,
		`gatehouse_policy_duration_seconds_count{stage="probe/p"} 6`, // request and response phases
		`gatehouse_engine_calls_total 6`,
		`gatehouse_engine_traps_total 0`,
		`gatehouse_engine_deadline_kills_total 0`,
		`gatehouse_module_pool_instances{module="probe",`,
		`gatehouse_config_version 1`,
		`gatehouse_config_snapshot_age_seconds `,
		`gatehouse_config_loaded 1`,
		`gatehouse_request_log_dropped_total 2`,
		`gatehouse_request_log_queue_depth 3`,
		`go_goroutines `,
		`process_cpu_seconds_total `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(body, `status_class="3xx"`) {
		t.Error("a status class nobody answered has series")
	}
	if code, _ := scrape(t, mux, "/healthz"); code != 200 {
		t.Errorf("healthz: %d", code)
	}
	if code, _ := scrape(t, mux, "/readyz"); code != 200 {
		t.Errorf("readyz: %d", code)
	}
	ops.StartShutdown()
	if code, _ := scrape(t, mux, "/readyz"); code != 503 {
		t.Errorf("readyz after shutdown began: %d", code)
	}
	if code, _ := scrape(t, mux, "/healthz"); code != 200 {
		t.Errorf("healthz after shutdown began: %d", code)
	}
}

// TestRouteMetricsReuse: a reload resolves the same route instruments, so
// the request path never looks labels up again.
func TestRouteMetricsReuse(t *testing.T) {
	m := New()
	a, b := m.Route("x", "y"), m.Route("x", "y")
	if a != b {
		t.Error("Route returned a new object for the same route")
	}
	r := a.(*routeMetrics)
	allocs := testing.AllocsPerRun(1000, func() { r.ObserveCall(200, time.Millisecond) })
	if allocs != 0 {
		t.Errorf("ObserveCall allocates %.1f", allocs)
	}
	s := m.Stage("mod/p")
	if allocs := testing.AllocsPerRun(1000, func() { s.ObserveStage(time.Microsecond, false) }); allocs != 0 {
		t.Errorf("ObserveStage allocates %.1f", allocs)
	}
}

// TestCacheSeries: cache results counted per API (not per operation), and
// the value cache's entries and bytes as gauges read at scrape time.
func TestCacheSeries(t *testing.T) {
	m := New()
	a, b := m.Route("shop", "get"), m.Route("shop", "list")
	for _, st := range []string{"hit", "hit", "miss", "stale", "revalidated", "bypass", "bogus"} {
		a.(gateway.CacheObserver).ObserveCache(st)
	}
	b.(gateway.CacheObserver).ObserveCache("hit")
	m.Watch(Sources{Cache: func() (int, int64) { return 7, 1234 }, SQLiteMemory: func() int64 { return 4096 }})
	_, body := scrape(t, m.Handler(), "/metrics")
	for _, want := range []string{
		`gatehouse_cache_requests_total{api="shop",result="hit"} 3`,
		`gatehouse_cache_requests_total{api="shop",result="miss"} 1`,
		`gatehouse_cache_requests_total{api="shop",result="stale"} 1`,
		`gatehouse_cache_requests_total{api="shop",result="revalidated"} 1`,
		`gatehouse_cache_requests_total{api="shop",result="bypass"} 1`,
		"gatehouse_cache_entries 7",
		"gatehouse_cache_bytes 1234",
		"gatehouse_sqlite_memory_bytes 4096",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, "bogus") {
		t.Error("an unknown result made a series")
	}

	// Where SQLite cannot tell (no cgo), there is no series rather than a
	// made-up zero.
	m = New()
	m.Watch(Sources{SQLiteMemory: func() int64 { return -1 }})
	if _, body := scrape(t, m.Handler(), "/metrics"); strings.Contains(body, "gatehouse_sqlite_memory_bytes") {
		t.Error("a negative SQLite memory figure made a series")
	}
}
