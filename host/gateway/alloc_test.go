package gateway_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/gateway"
	"github.com/gatehouse/gatehouse/host/h1client"
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

// wrappedTransport hides an *h1client.Transport behind another type, so
// that the gateway cannot know h1client sends the request.
type wrappedTransport struct{ http.RoundTripper }

// TestOutboundHeaderReused: a call sent by h1client leaves its outbound
// request, URL and header map to the pooled call for the next request, and
// gives h1client the 1xx hook without a trace context — four allocations
// fewer per call than through a transport the gateway cannot vouch for (and
// the request copy that context costs) — and nothing of one request's
// headers reaches the next.
func TestOutboundHeaderReused(t *testing.T) {
	if !h1client.Handles(httptest.NewRequest("GET", "http://backend.test/", nil)) {
		t.Skip("h1client sends nothing itself on this platform")
	}
	ctx := context.Background()
	seen := make(chan http.Header, 1)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case seen <- r.Header.Clone():
		default:
		}
		w.Write([]byte("ok"))
	}))
	defer backend.Close()
	e, err := engine.New(ctx, engine.Options{CacheDir: cacheDir, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	newGateway := func(tr http.RoundTripper) *gateway.Gateway {
		cfg := &gateway.Config{APIs: []gateway.API{{Name: "a", PathPrefix: "/a", Backend: backend.URL}}}
		g, err := gateway.New(gateway.Options{Engine: e, Source: gateway.NewStaticSource(cfg, ""), Transport: tr, Logger: quiet,
			Observer: nopObserver{}, Metrics: metrics.New(), TraceContext: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := g.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		return g
	}
	h1 := h1client.New(gateway.NewTransport())
	defer h1.CloseIdleConnections()
	g := newGateway(h1)
	defer g.Close()
	call := func(g *gateway.Gateway, h http.Header) http.Header {
		r := httptest.NewRequest("GET", "http://gw.example/a/items/1", nil)
		r.Header = h
		w := &sinkRecorder{h: http.Header{}}
		g.ServeHTTP(w, r)
		if w.code != 200 {
			t.Fatalf("status %d", w.code)
		}
		select {
		case got := <-seen:
			return got
		default:
			return nil
		}
	}
	// The pooled call is reused on one goroutine (sync.Pool's per-P
	// cache), so the second request gets the first one's map.
	first := call(g, http.Header{"X-First": {"1"}, "Authorization": {"Bearer one"}, "User-Agent": {"t"}})
	if first.Get("X-First") != "1" || first.Get("Authorization") != "Bearer one" {
		t.Fatalf("first request's headers at the backend: %v", first)
	}
	for range 3 {
		second := call(g, http.Header{"X-Second": {"2"}, "User-Agent": {"t"}})
		if _, ok := second["X-First"]; ok {
			t.Fatalf("the second request carried the first one's X-First: %v", second)
		}
		if _, ok := second["Authorization"]; ok {
			t.Fatalf("the second request carried the first one's Authorization: %v", second)
		}
		if second.Get("X-Second") != "2" || second.Get("X-Request-Id") == "" || second.Get("X-Forwarded-For") == "" {
			t.Fatalf("second request's headers at the backend: %v", second)
		}
	}
	if testing.CoverMode() != "" || raceEnabled {
		return // allocation counts change under instrumentation
	}
	gw := newGateway(wrappedTransport{h1})
	defer gw.Close()
	h := http.Header{"User-Agent": {"wrk"}}
	own := testing.AllocsPerRun(300, func() { call(g, h) })
	other := testing.AllocsPerRun(300, func() { call(gw, h) })
	t.Logf("allocations per call: %.0f through h1client, %.0f through a transport the gateway cannot vouch for", own, other)
	if other-own < 4 {
		t.Errorf("reusing the outbound request, URL and map saved %.0f allocations per call, want ≥ 4", other-own)
	}
}
