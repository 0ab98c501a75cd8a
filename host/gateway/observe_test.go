package gateway_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/gateway"
	"github.com/gatehouse/gatehouse/host/hosttest"
)

// recorder is an Observer that keeps copies of the records.
type recorder struct {
	mu   sync.Mutex
	recs []gateway.CallRecord
}

func (r *recorder) Observe(c *gateway.CallRecord) {
	r.mu.Lock()
	r.recs = append(r.recs, *c)
	r.mu.Unlock()
}

func (r *recorder) all() []gateway.CallRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]gateway.CallRecord(nil), r.recs...)
}

// waitRecords waits for n records (Observe runs after the response is
// written, so a client can see the answer first).
func (r *recorder) waitRecords(t *testing.T, n int) []gateway.CallRecord {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if recs := r.all(); len(recs) >= n {
			return recs
		}
	}
	recs := r.all()
	t.Fatalf("%d records, want %d", len(recs), n)
	return nil
}

type routeCount struct {
	mu     sync.Mutex
	routes map[string]int
	stages map[string]int
}

func (m *routeCount) Route(api, op string) gateway.RouteMetrics {
	return routeObs{m: m, key: api + "/" + op}
}
func (m *routeCount) Stage(label string) gateway.StageMetrics { return stageObs{m: m, key: label} }

type routeObs struct {
	m   *routeCount
	key string
}

func (o routeObs) ObserveCall(status int, _ time.Duration) {
	o.m.mu.Lock()
	o.m.routes[o.key+" "+http.StatusText(status)]++
	o.m.mu.Unlock()
}

type stageObs struct {
	m   *routeCount
	key string
}

func (o stageObs) ObserveStage(time.Duration, bool) {
	o.m.mu.Lock()
	o.m.stages[o.key]++
	o.m.mu.Unlock()
}

func TestCallRecords(t *testing.T) {
	builtin := hosttest.Guest(t, "plugins/builtin")
	ctx := context.Background()
	svc := &engine.Services{}
	e, err := engine.New(ctx, engine.Options{CacheDir: cacheDir, Logger: quiet, Services: svc})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	be := newBackend(t)
	cfg := &gateway.Config{
		APIs: []gateway.API{
			{Name: "keyed", PathPrefix: "/keyed", Backend: be.URL, SensitiveQuery: []string{"Secret"},
				Policies:   gateway.Policy{Inbound: []gateway.Step{{Policy: "subscription-key", Config: []byte(`{"allow_query":true,"query":"my-key"}`)}}},
				Operations: []gateway.Operation{{ID: "get-item", Method: "GET", Template: "/items/{id}"}}},
			{Name: "plain", PathPrefix: "/plain", Backend: be.URL},
		},
		Subscriptions: []gateway.StaticSubscription{{ID: "s1", Key: "good-key-0123456789", Product: "gold", User: "u1"}},
	}
	rec := &recorder{}
	met := &routeCount{routes: map[string]int{}, stages: map[string]int{}}
	g, err := gateway.New(gateway.Options{Engine: e, Source: gateway.NewStaticSource(cfg, ""), Logger: quiet,
		Builtin: builtin, BuiltinVersion: "test", Observer: rec, Metrics: met, TraceContext: true,
		SensitiveQueryParams: []string{"extra"}})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	svc.Subscriptions = g
	if err := g.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if g.SnapshotBuilt().IsZero() || time.Since(g.SnapshotBuilt()) > time.Minute {
		t.Errorf("SnapshotBuilt = %v", g.SnapshotBuilt())
	}
	srv := httptest.NewServer(g)
	defer srv.Close()
	en := &env{t: t, srv: srv, be: be}

	const incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	// 1: keyed call with the key in the query, credentials in headers.
	resp, body := en.do("GET", "/keyed/items/7?a=1&my-key=good-key-0123456789&Token=tok-9f8e&SECRET=sec-7d6c&extra=ext-5b4a&b=2", http.Header{
		"Authorization": {"Bearer very-secret-bearer"}, "Cookie": {"session=cookie-secret"}, "Traceparent": {incoming}}, "")
	if resp.StatusCode != 200 {
		t.Fatalf("keyed: %d %s", resp.StatusCode, body)
	}
	if got := be.last.Load().Header.Get("Traceparent"); got != incoming {
		t.Errorf("backend traceparent = %q, want the incoming %q", got, incoming)
	}
	reqID1, bytes1 := resp.Header.Get("X-Request-Id"), len(body)
	// 2: no key: 401 from the policy, the backend not called.
	if resp, _ := en.do("GET", "/keyed/items/8", nil, ""); resp.StatusCode != 401 {
		t.Fatalf("no key: %d", resp.StatusCode)
	}
	// 3: a body through an API without policies; no traceparent: one is made.
	if resp, _ := en.do("POST", "/plain/x?q=1", nil, "hello"); resp.StatusCode != 200 {
		t.Fatalf("plain: %d", resp.StatusCode)
	}
	made := be.last.Load().Header.Get("Traceparent")
	// 4: no route.
	if resp, _ := en.do("GET", "/nowhere?token=nowhere-tok", nil, ""); resp.StatusCode != 404 {
		t.Fatalf("nowhere: %d", resp.StatusCode)
	}

	recs := rec.waitRecords(t, 4)
	time.Sleep(50 * time.Millisecond)
	if recs = rec.all(); len(recs) != 4 {
		t.Fatalf("%d records for 4 calls", len(recs))
	}
	byPath := map[string]gateway.CallRecord{}
	for _, r := range recs {
		byPath[r.Path] = r
		// No credential reaches a record, in any field.
		v := reflect.ValueOf(r)
		for i := 0; i < v.NumField(); i++ {
			if s, ok := v.Field(i).Interface().(string); ok {
				for _, secret := range []string{"good-key-0123456789", "very-secret-bearer", "cookie-secret", "tok-9f8e", "sec-7d6c", "ext-5b4a", "nowhere-tok"} {
					if strings.Contains(s, secret) {
						t.Errorf("record field %s = %q contains %q", v.Type().Field(i).Name, s, secret)
					}
				}
			}
		}
	}
	r1 := byPath["/keyed/items/7"]
	if r1.RequestID != reqID1 || r1.API != "keyed" || r1.Operation != "get-item" || r1.Method != "GET" ||
		r1.Product != "gold" || r1.Subscription != "s1" || r1.User != "u1" || r1.Status != 200 || r1.BackendStatus != 200 ||
		r1.BytesOut != int64(bytes1) || r1.ClientIP != "127.0.0.1" || r1.CacheHit || r1.PolicyError != "" {
		t.Errorf("keyed record: %+v", r1)
	}
	if want := "a=1&my-key=***&Token=***&SECRET=***&extra=***&b=2"; r1.Query != want {
		t.Errorf("redacted query = %q, want %q", r1.Query, want)
	}
	if r1.Total <= 0 || r1.Backend <= 0 || r1.Policies <= 0 || r1.Backend+r1.Policies > r1.Total || time.Since(r1.Time) > time.Minute {
		t.Errorf("keyed timings: total %v backend %v policies %v time %v", r1.Total, r1.Backend, r1.Policies, r1.Time)
	}
	if r1.TraceID != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("trace id %q", r1.TraceID)
	}
	r2 := byPath["/keyed/items/8"]
	if r2.Status != 401 || r2.BackendStatus != 0 || r2.Backend != 0 || r2.Product != "" || r2.Policies <= 0 {
		t.Errorf("401 record: %+v", r2)
	}
	r3 := byPath["/plain/x"]
	if r3.API != "plain" || r3.Operation != "" || r3.Method != "POST" || r3.BytesIn != 5 || r3.Query != "q=1" || r3.Status != 200 || r3.Policies != 0 {
		t.Errorf("plain record: %+v", r3)
	}
	if len(made) != 55 || !strings.HasPrefix(made, "00-") || !strings.HasSuffix(made, "-01") || made[3:35] != r3.TraceID {
		t.Errorf("generated traceparent %q, record trace id %q", made, r3.TraceID)
	}
	r4 := byPath["/nowhere"]
	if r4.Status != 404 || r4.API != "" || r4.Query != "token=***" {
		t.Errorf("404 record: %+v", r4)
	}

	met.mu.Lock()
	defer met.mu.Unlock()
	if met.routes["keyed/get-item OK"] != 1 || met.routes["keyed/get-item Unauthorized"] != 1 || met.routes["plain/ OK"] != 1 || met.routes["/ Not Found"] != 1 {
		t.Errorf("route metrics: %v", met.routes)
	}
	if met.stages["builtin/subscription-key"] != 4 {
		t.Errorf("stage metrics: %v (want the key check's request and response phases of 2 keyed calls)", met.stages)
	}
}

func TestRedactQuery(t *testing.T) {
	names := []string{"subscription-key", "token"}
	for in, want := range map[string]string{
		"":                           "",
		"a=1&b=2":                    "a=1&b=2",
		"subscription-key=abc":       "subscription-key=***",
		"a=1&TOKEN=x&token":          "a=1&TOKEN=***&token=***",
		"subscription%2Dkey=abc&c=d": "subscription%2Dkey=***&c=d",
		"a=1&&tok=2&token=3=4":       "a=1&&tok=2&token=***",
	} {
		if got := gateway.RedactQuery(in, names); got != want {
			t.Errorf("RedactQuery(%q) = %q, want %q", in, got, want)
		}
	}
}

type nopObserver struct{}

func (nopObserver) Observe(*gateway.CallRecord) {}

// TestObserverAllocations: observing a call costs no allocation (beyond the
// redaction of a sensitive query), and the request path without an
// Observer is unchanged.
func TestObserverAllocations(t *testing.T) {
	ctx := context.Background()
	e, err := engine.New(ctx, engine.Options{CacheDir: cacheDir, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	cfg := &gateway.Config{APIs: []gateway.API{{Name: "a", PathPrefix: "/a", Backend: "http://backend.invalid",
		Policies: gateway.Policy{Inbound: []gateway.Step{probeStep("req-header:X-A=1")}}}},
		Modules: []gateway.ModuleSpec{{Name: "probe", Wasm: hosttest.Probe(t), MinInstances: 1, MaxInstances: 2}}}
	allocs := func(obs gateway.Observer) float64 {
		g, err := gateway.New(gateway.Options{Engine: e, Source: gateway.NewStaticSource(cfg, ""), Transport: cannedTransport{}, Logger: quiet, Observer: obs})
		if err != nil {
			t.Fatal(err)
		}
		defer g.Close()
		if err := g.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest("GET", "/a/items/1?x=1", nil)
		w := httptest.NewRecorder()
		return testing.AllocsPerRun(200, func() {
			clear(w.Header())
			w.Body.Reset()
			req.Header = http.Header{}
			g.ServeHTTP(w, req)
			if w.Code != 200 {
				t.Fatalf("status %d", w.Code)
			}
		})
	}
	without, with := allocs(nil), allocs(nopObserver{})
	t.Logf("allocations per call: %.1f without an observer, %.1f with", without, with)
	if with > without+0.5 {
		t.Errorf("an observer adds %.1f allocations per call", with-without)
	}
}
