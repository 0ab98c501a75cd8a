package gateway_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/gateway"
	"github.com/gatehouse/gatehouse/host/metrics"
)

// maxServeAllocs is the most allocations the gateway itself may make for a
// proxied call without policies, served as `gatehouse serve` serves it
// (metrics, an Observer, trace context), besides the transport's and the
// request's own. It was 14 before the cuts of hotpath2 (X-Request-Id, the
// forwarded and traceparent values in one array, no empty vars map, no
// escaping RouteMatch, no client address formatting): undoing any of those
// fails this test. What is left: the request id and traceparent strings,
// the header value array, and what forwarding needs (the outbound request,
// its URL and header map, the 1xx trace context).
const maxServeAllocs = 8

// TestServeHTTPAllocations counts the request path's allocations.
func TestServeHTTPAllocations(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("coverage instrumentation and the race detector change allocation counts")
	}
	ctx := context.Background()
	e, err := engine.New(ctx, engine.Options{CacheDir: cacheDir, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	cfg := &gateway.Config{APIs: []gateway.API{{Name: "a", PathPrefix: "/a", Backend: "http://backend.invalid"}}}
	g, err := gateway.New(gateway.Options{Engine: e, Source: gateway.NewStaticSource(cfg, ""), Transport: cannedTransport{}, Logger: quiet,
		Observer: nopObserver{}, Metrics: metrics.New(), TraceContext: true})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if err := g.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	// The request as net/http's server hands it over, and a reused writer.
	var req *http.Request
	newReq := func() {
		req = &http.Request{Method: "GET", URL: &url.URL{Path: "/a/items/1"}, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{"User-Agent": {"wrk"}}, Body: http.NoBody, Host: "gw.example", RemoteAddr: "192.0.2.1:40000", RequestURI: "/a/items/1"}
	}
	w := &sinkRecorder{h: http.Header{}}
	serve := func() {
		newReq()
		clear(w.h)
		w.code = 0
		g.ServeHTTP(w, req)
		if w.code != 200 {
			t.Fatalf("status %d", w.code)
		}
	}
	serve()
	total := testing.AllocsPerRun(500, serve)
	harness := testing.AllocsPerRun(500, newReq)
	transport := testing.AllocsPerRun(500, func() {
		r, _ := cannedTransport{}.RoundTrip(req)
		r.Body.Close()
	})
	own := total - harness - transport
	t.Logf("allocations per call: %.0f in all, %.0f the request, %.0f the transport, %.0f the gateway's", total, harness, transport, own)
	if own > maxServeAllocs {
		t.Errorf("the gateway allocates %.0f times per proxied call, want ≤ %d", own, maxServeAllocs)
	}
}

// sinkRecorder is a reused ResponseWriter that discards the body.
type sinkRecorder struct {
	h    http.Header
	code int
}

func (r *sinkRecorder) Header() http.Header { return r.h }
func (r *sinkRecorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}
func (r *sinkRecorder) Write(p []byte) (int, error) {
	if r.code == 0 {
		r.code = 200
	}
	return len(p), nil
}
