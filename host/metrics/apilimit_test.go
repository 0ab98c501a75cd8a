package metrics

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/gateway"
)

// apiSeries counts the series of metric (a counter with an api label) per
// api label in a scrape.
func apiSeries(t *testing.T, m *Metrics, metric string) map[string]int {
	t.Helper()
	_, body := scrape(t, m.Handler(), "/metrics")
	re := regexp.MustCompile(`(?m)^gatehouse_` + metric + `\{api="([^"]*)"`)
	out := map[string]int{}
	for _, g := range re.FindAllStringSubmatch(body, -1) {
		out[g[1]]++
	}
	return out
}

// overflowGauge reads gatehouse_metrics_label_overflow{label}.
func overflowGauge(t *testing.T, m *Metrics, label string) string {
	t.Helper()
	_, body := scrape(t, m.Handler(), "/metrics")
	re := regexp.MustCompile(`(?m)^gatehouse_metrics_label_overflow\{label="` + label + `"\} (\S+)$`)
	g := re.FindStringSubmatch(body)
	if g == nil {
		t.Fatalf("no overflow gauge for %s", label)
	}
	return g[1]
}

// TestAPILimit: past the API cap, APIs are counted under api="_other"
// (API-level calls under operation "", operations under "_other"), sharing
// one route; their operations take no place under the operation cap.
func TestAPILimit(t *testing.T) {
	m := New()
	m.LimitAPIs(3)
	m.LimitOperations(7)
	for i := 0; i < 5; i++ {
		for _, op := range []string{"", "a", "b"} {
			m.Route(fmt.Sprintf("api%d", i), op).ObserveCall(200, time.Millisecond)
		}
	}
	want := "map[_other/:1 _other/_other:1 api0/:1 api0/a:1 api0/b:1 api1/:1 api1/a:1 api1/b:1 api2/:1 api2/a:1 api2/b:1]"
	if got := fmt.Sprint(requestSeries(t, m)); got != want {
		t.Fatalf("series %s, want %s", got, want)
	}
	if m.Route("api3", "a") != m.Route("api4", "b") || m.Route("api3", "") != m.Route("api4", "") {
		t.Error("two APIs past the cap do not share the _other routes")
	}
	if m.Route("api3", "") == m.Route("api3", "a") {
		t.Error("an overflowed API's API-level calls and operations share a route")
	}
	// Six operation places used by api0-2; the seventh is still free.
	m.Route("api0", "c").ObserveCall(200, time.Millisecond)
	m.Route("api1", "d").ObserveCall(200, time.Millisecond)
	got := requestSeries(t, m)
	if got["api0/c"] != 1 || got["api1/_other"] != 1 || got["api1/d"] != 0 {
		t.Errorf("operation cap within admitted APIs: %v", got)
	}
	// An API whose ID is literally _other is never admitted (it would take
	// a place and then share the overflow series anyway).
	m2 := New()
	m2.LimitAPIs(5)
	m2.Route(OverflowAPI, "x").ObserveCall(200, time.Millisecond)
	m2.Route("real", "x").ObserveCall(200, time.Millisecond)
	if got := fmt.Sprint(requestSeries(t, m2)); got != "map[_other/_other:1 real/x:1]" {
		t.Errorf("API named _other: %s", got)
	}
}

// TestAPILimitOffAndZero: -1 admits every API; 0 none (no per-API series).
func TestAPILimitOffAndZero(t *testing.T) {
	m := New()
	m.LimitAPIs(-1)
	for i := 0; i < DefaultAPILimit+10; i++ {
		m.Route(fmt.Sprintf("api%d", i), "").ObserveCall(200, time.Millisecond)
	}
	if n := len(requestSeries(t, m)); n != DefaultAPILimit+10 {
		t.Errorf("uncapped: %d series, want %d", n, DefaultAPILimit+10)
	}
	m = New()
	for i := 0; i < DefaultAPILimit+10; i++ {
		m.Route(fmt.Sprintf("api%d", i), "").ObserveCall(200, time.Millisecond)
	}
	if got := requestSeries(t, m); len(got) != DefaultAPILimit+1 || got["_other/"] != 1 {
		t.Errorf("default cap: %d series (_other %d), want %d", len(got), got["_other/"], DefaultAPILimit+1)
	}
	m = New()
	m.LimitAPIs(0)
	m.Route("x", "").ObserveCall(200, time.Millisecond)
	m.Route("y", "a").ObserveCall(200, time.Millisecond)
	m.Route("", "").ObserveCall(404, time.Millisecond)
	if got := fmt.Sprint(requestSeries(t, m)); got != "map[/:1 _other/:1 _other/_other:1]" {
		t.Errorf("limit 0: series %s", got)
	}
}

// TestAPILimitDeleteFrees: deleting an admitted API frees its place for the
// next API resolved; the _other API's series leave when no API of the
// snapshot is counted there; the overflow gauge follows.
func TestAPILimitDeleteFrees(t *testing.T) {
	m := New()
	m.LimitAPIs(2)
	m.LimitOperations(1)
	keep := map[[2]string]bool{}
	call := func(api, op string) {
		m.Route(api, op).ObserveCall(200, time.Millisecond)
		m.Route(api, op).(gateway.CacheObserver).ObserveCache(abi.CacheStatusHit)
		m.Route(api, op).(gateway.GRPCMetrics).ObserveGRPC(5)
		keep[[2]string{api, op}] = true
	}
	call("a", "")
	call("a", "x")
	call("a", "x2") // past the operation cap: a/_other
	call("b", "")
	call("b", "y") // past the operation cap: b/_other
	call("c", "")
	call("c", "z")
	m.RetainRoutes(keep)
	if got := fmt.Sprint(requestSeries(t, m)); got != "map[_other/:1 _other/_other:1 a/:1 a/_other:1 a/x:1 b/:1 b/_other:1]" {
		t.Fatalf("before: %s", got)
	}
	if a, o := overflowGauge(t, m, "api"), overflowGauge(t, m, "operation"); a != "1" || o != "2" {
		t.Errorf("overflow gauge api %s operation %s, want 1 and 2", a, o)
	}
	// a is deleted: its series go (cache and gRPC too), its place is free.
	for k := range keep {
		if k[0] == "a" {
			delete(keep, k)
		}
	}
	m.RetainRoutes(keep)
	for _, metric := range []string{"requests_total", "cache_requests_total", "grpc_calls_total"} {
		if n := apiSeries(t, m, metric)["a"]; n != 0 {
			t.Errorf("%s: deleted API a still has %d series", metric, n)
		}
	}
	call("d", "")
	call("d", "w") // a's operation place is free too
	m.RetainRoutes(keep)
	if got := fmt.Sprint(requestSeries(t, m)); got != "map[_other/:1 _other/_other:1 b/:1 b/_other:1 d/:1 d/w:1]" {
		t.Fatalf("after a new API: %s", got)
	}
	// c (the only API under _other) is deleted: the _other series go.
	for k := range keep {
		if k[0] == "c" {
			delete(keep, k)
		}
	}
	m.RetainRoutes(keep)
	for _, metric := range []string{"requests_total", "cache_requests_total", "grpc_calls_total"} {
		if n := apiSeries(t, m, metric)[OverflowAPI]; n != 0 {
			t.Errorf("%s: _other has %d series with no API counted there", metric, n)
		}
	}
	if a := overflowGauge(t, m, "api"); a != "0" {
		t.Errorf("overflow gauge api %s, want 0", a)
	}
}

// sums gathers the registry and adds up requests_total, the duration
// histogram's counts, cache_requests_total and grpc_calls_total over every
// series, and counts the distinct api labels of requests_total.
func sums(t *testing.T, m *Metrics) (requests, durations, cache, grpc float64, apis int) {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			switch mf.GetName() {
			case "gatehouse_requests_total":
				requests += mt.GetCounter().GetValue()
				for _, l := range mt.GetLabel() {
					if l.GetName() == "api" {
						seen[l.GetValue()] = true
					}
				}
			case "gatehouse_request_duration_seconds":
				durations += float64(mt.GetHistogram().GetSampleCount())
			case "gatehouse_cache_requests_total":
				cache += mt.GetCounter().GetValue()
			case "gatehouse_grpc_calls_total":
				grpc += mt.GetCounter().GetValue()
			}
		}
	}
	return requests, durations, cache, grpc, len(seen)
}

// TestAPILimitLosesNoCall: calls spread at random over 3,000 APIs of 5
// operations with the default caps: every call is in exactly one series of
// each metric, and no more than the cap of APIs (plus _other) is labelled.
func TestAPILimitLosesNoCall(t *testing.T) {
	m := New()
	rnd := rand.New(rand.NewPCG(1, 2))
	const calls = 60000
	for i := 0; i < calls; i++ {
		api := fmt.Sprintf("api%d", rnd.IntN(3000))
		op := ""
		if j := rnd.IntN(6); j > 0 {
			op = fmt.Sprintf("op%d", j)
		}
		r := m.Route(api, op)
		r.ObserveCall([]int{200, 404, 503}[rnd.IntN(3)], time.Millisecond)
		r.(gateway.CacheObserver).ObserveCache(abi.CacheStatusMiss)
		r.(gateway.GRPCMetrics).ObserveGRPC(rnd.IntN(20) - 1)
	}
	req, dur, cache, grpc, apis := sums(t, m)
	if req != calls || dur != calls || cache != calls || grpc != calls {
		t.Errorf("sums over the series: requests %v, durations %v, cache %v, grpc %v; want %d each", req, dur, cache, grpc, calls)
	}
	if apis != DefaultAPILimit+1 {
		t.Errorf("%d api labels, want %d (the cap and _other)", apis, DefaultAPILimit+1)
	}
}

// TestAPILimitThroughGateway: a real gateway (real wazero engine, loopback
// HTTP) with --metrics-apis 2 and four APIs: two labelled, two under
// _other, every call counted once; deleting a labelled API through a reload
// frees its place for a new one, also for one created by the same write;
// a config the gateway refuses takes no place.
func TestAPILimitThroughGateway(t *testing.T) {
	ctx := context.Background()
	e, err := engine.New(ctx, engine.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/fail") {
			w.WriteHeader(503)
		}
		io.WriteString(w, "ok")
	}))
	defer be.Close()
	api := func(name string) gateway.API {
		return gateway.API{Name: name, PathPrefix: "/" + name, Backend: be.URL,
			Operations: []gateway.Operation{{ID: "get", Method: "GET", Template: "/{p}"}}}
	}
	cfg := &gateway.Config{APIs: []gateway.API{api("a"), api("b"), api("c"), api("d")}}
	src := gateway.NewStaticSource(cfg, "")
	m := New()
	m.LimitAPIs(2)
	g, err := gateway.New(gateway.Options{Engine: e, Source: src, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if err := g.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	defer srv.Close()
	made := 0
	get := func(path string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		made++
	}
	// The metrics are observed after the response is written: wait for them.
	settle := func(want int) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			req, dur, _, _, _ := sums(t, m)
			if req == float64(want) && dur == float64(want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("sums over the series: requests %v, durations %v; want %d calls", req, dur, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	for _, p := range []string{"/a/x", "/a/fail", "/b/x", "/c/x", "/c/fail", "/d/x", "/d/x", "/nowhere"} {
		get(p)
	}
	settle(made)
	_, body := scrape(t, m.Handler(), "/metrics")
	for _, want := range []string{
		`gatehouse_requests_total{api="a",operation="get",status_class="2xx"} 1`,
		`gatehouse_requests_total{api="a",operation="get",status_class="5xx"} 1`,
		`gatehouse_requests_total{api="b",operation="get",status_class="2xx"} 1`,
		`gatehouse_requests_total{api="_other",operation="_other",status_class="2xx"} 3`,
		`gatehouse_requests_total{api="_other",operation="_other",status_class="5xx"} 1`,
		`gatehouse_requests_total{api="",operation="",status_class="4xx"} 1`,
		`gatehouse_metrics_label_overflow{label="api"} 2`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, `api="c"`) || strings.Contains(body, `api="d"`) {
		t.Error("an API past the cap has its own series")
	}

	// Delete a (2 calls): its series go. Then add e: it takes a's place;
	// c and d, resolved before, stay under _other.
	src.Set(&gateway.Config{APIs: []gateway.API{api("b"), api("c"), api("d")}})
	if err := g.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	made -= 2
	settle(made)
	src.Set(&gateway.Config{APIs: []gateway.API{api("b"), api("c"), api("d"), api("e")}})
	if err := g.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/e/x", "/e/x", "/b/x", "/c/x"} {
		get(p)
	}
	settle(made)
	_, body = scrape(t, m.Handler(), "/metrics")
	for _, want := range []string{
		`gatehouse_requests_total{api="e",operation="get",status_class="2xx"} 2`,
		`gatehouse_requests_total{api="b",operation="get",status_class="2xx"} 2`,
		`gatehouse_requests_total{api="_other",operation="_other",status_class="2xx"} 4`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("after the reload /metrics lacks %s", want)
		}
	}
	if strings.Contains(body, `api="a"`) {
		t.Error("the deleted API a still has series")
	}

	// One write deletes b and creates f: the gateway gives b's place back
	// before it builds, so f takes it.
	src.Set(&gateway.Config{APIs: []gateway.API{api("c"), api("d"), api("e"), api("f")}})
	if err := g.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	made -= 2 // b's
	get("/f/x")
	settle(made)
	_, body = scrape(t, m.Handler(), "/metrics")
	if !strings.Contains(body, `gatehouse_requests_total{api="f",operation="get",status_class="2xx"} 1`) || strings.Contains(body, `api="b"`) {
		t.Errorf("an API created by the write that deleted another did not take its place:\n%s", body)
	}

	// A config the gateway refuses (two APIs on one prefix) gives no
	// place away for good: the next config keeps e's and f's labels.
	bad := api("g")
	bad.PathPrefix = "/c"
	src.Set(&gateway.Config{APIs: []gateway.API{api("c"), api("d"), bad}})
	if err := g.Reload(ctx); err == nil {
		t.Fatal("a config with a duplicate prefix was accepted")
	}
	src.Set(&gateway.Config{APIs: []gateway.API{api("c"), api("d"), api("e"), api("f"), api("h")}})
	if err := g.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	get("/e/x")
	get("/h/x")
	settle(made)
	_, body = scrape(t, m.Handler(), "/metrics")
	for _, want := range []string{
		`gatehouse_requests_total{api="e",operation="get",status_class="2xx"} 3`,
		`gatehouse_requests_total{api="_other",operation="_other",status_class="2xx"} 5`,
		`gatehouse_metrics_label_overflow{label="api"} 3`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("after a refused config /metrics lacks %s", want)
		}
	}
}

// TestAPILimitHammer: routes resolved and observed from several goroutines
// while snapshots swap (RetainRoutes with changing API sets) and Prometheus
// scrapes; run with -race. The admitted APIs never exceed the cap.
func TestAPILimitHammer(t *testing.T) {
	m := New()
	m.LimitAPIs(20)
	m.LimitOperations(30)
	done := make(chan struct{})
	errs := make(chan string, 8)
	for w := 0; w < 4; w++ {
		go func(w int) {
			rnd := rand.New(rand.NewPCG(uint64(w), 7))
			for i := 0; i < 3000; i++ {
				r := m.Route(fmt.Sprintf("api%d", rnd.IntN(60)), []string{"", "a", "b"}[rnd.IntN(3)])
				r.ObserveCall(200+100*rnd.IntN(4), time.Millisecond)
				r.(gateway.CacheObserver).ObserveCache(abi.CacheStatusHit)
				r.(gateway.GRPCMetrics).ObserveGRPC(rnd.IntN(17))
			}
			errs <- ""
		}(w)
	}
	go func() {
		rnd := rand.New(rand.NewPCG(9, 9))
		for {
			select {
			case <-done:
				errs <- ""
				return
			default:
			}
			keep := map[[2]string]bool{}
			for i := 0; i < 60; i++ {
				if rnd.IntN(4) > 0 {
					for _, op := range []string{"", "a", "b"} {
						keep[[2]string{fmt.Sprintf("api%d", i), op}] = true
					}
				}
			}
			m.RetainRoutes(keep)
			if _, err := m.Registry().Gather(); err != nil {
				errs <- err.Error()
				return
			}
			m.mu.Lock()
			n, ops := len(m.apis), m.opCount
			m.mu.Unlock()
			if n > 20 || ops < 0 || ops > 30 {
				errs <- fmt.Sprintf("%d APIs admitted (cap 20), %d operations (cap 30)", n, ops)
				return
			}
		}
	}()
	for i := 0; i < 4; i++ {
		if e := <-errs; e != "" {
			t.Fatal(e)
		}
	}
	close(done)
	if e := <-errs; e != "" {
		t.Fatal(e)
	}
}

// TestReleaseAPIs: the gateway gives the places of the APIs a config drops
// back before building it; a build that fails keeps the served labels and
// what it admitted is dropped at the next build, so refused configs never
// push the labelled APIs past the cap.
func TestReleaseAPIs(t *testing.T) {
	m := New()
	m.LimitAPIs(2)
	m.LimitOperations(10)
	// build is what the gateway does: release, resolve, and on success swap.
	build := func(ok bool, apis ...string) {
		set := map[string]bool{}
		keep := map[[2]string]bool{}
		for _, a := range apis {
			set[a] = true
			keep[[2]string{a, ""}] = true
			keep[[2]string{a, "op"}] = true
		}
		m.ReleaseAPIs(set)
		for _, a := range apis {
			m.Route(a, "")
			m.Route(a, "op")
		}
		if ok {
			m.RetainRoutes(keep)
		}
	}
	call := func(apis ...string) {
		for _, a := range apis {
			m.Route(a, "op").ObserveCall(200, time.Millisecond)
		}
	}
	build(true, "a", "b")
	call("a", "b")
	build(true, "a", "c") // b deleted, c created by the same write
	call("a", "c")
	if got := fmt.Sprint(requestSeries(t, m)); got != "map[a/op:1 c/op:1]" {
		t.Fatalf("c did not take b's place: %s", got)
	}
	// Two refused configs that dropped a and c and admitted d, e, then f.
	build(false, "d", "e")
	build(false, "f")
	// The next good config has them all: a and c keep their labels (they
	// served all along), the refused builds' admissions took no place.
	build(true, "a", "c", "d", "e", "f")
	call("a", "c", "d", "e", "f")
	if got := fmt.Sprint(requestSeries(t, m)); got != "map[_other/_other:1 a/op:1 c/op:1]" {
		t.Errorf("after refused configs: %s", got)
	}
	m.mu.Lock()
	n, ops := len(m.apis), m.opCount
	m.mu.Unlock()
	if n != 2 || ops != 2 {
		t.Errorf("%d APIs and %d operations admitted, want 2 and 2", n, ops)
	}
	if a := overflowGauge(t, m, "api"); a != "3" {
		t.Errorf("overflow gauge api %s, want 3", a)
	}
}
