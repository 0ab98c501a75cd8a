package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/gateway"
	"github.com/gatehouse/gatehouse/host/hosttest"
)

var cacheDir string

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "gatehouse-gw-cache-")
	if err != nil {
		panic(err)
	}
	cacheDir = d
	gateway.TestCacheDir = d
	code := m.Run()
	os.RemoveAll(d)
	os.Exit(code)
}

// backend is a real loopback echo server that counts hits.
type backend struct {
	*httptest.Server
	hits atomic.Int64
	last atomic.Pointer[http.Request]
}

func newBackend(t testing.TB) *backend {
	b := &backend{}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		r2 := r.Clone(context.Background())
		r2.Body = io.NopCloser(strings.NewReader(string(body)))
		b.last.Store(r2)
		if r.URL.Path == "/slow" {
			time.Sleep(300 * time.Millisecond)
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("X-Backend", "yes")
		w.Header().Set("X-Request-Id", "backend-chosen")
		io.WriteString(w, "echo "+r.Method+" "+r.URL.RequestURI()+" "+string(body))
	}))
	t.Cleanup(b.Close)
	return b
}

type env struct {
	t   testing.TB
	e   *engine.Engine
	g   *gateway.Gateway
	src *gateway.StaticSource
	srv *httptest.Server
	be  *backend
}

// probeStep attaches the probe with a relaxed deadline: timing is not under
// test here, and a saturated test machine must not turn into 500s.
func probeStep(cfg string) gateway.Step {
	return gateway.Step{Module: "probe", Policy: "probe", Config: jsonString(cfg), Timeout: gateway.Duration(5 * time.Second)}
}

func jsonString(s string) json.RawMessage { b, _ := json.Marshal(s); return b }

func newEnv(t testing.TB, cfg *gateway.Config) *env {
	t.Helper()
	ctx := context.Background()
	e, err := engine.New(ctx, engine.Options{CacheDir: cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	probe := hosttest.Probe(t)
	be := newBackend(t)
	for i := range cfg.APIs {
		if cfg.APIs[i].Backend == "" {
			cfg.APIs[i].Backend = be.URL
		}
	}
	cfg.Modules = append(cfg.Modules,
		gateway.ModuleSpec{Name: "probe", Wasm: probe, MinInstances: 1, MaxInstances: 4},
		gateway.ModuleSpec{Name: "probe2", Wasm: probe, MinInstances: 1, MaxInstances: 2})
	src := gateway.NewStaticSource(cfg, "")
	g, err := gateway.New(gateway.Options{Engine: e, Source: src, PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	en := &env{t: t, e: e, g: g, src: src, srv: srv, be: be}
	t.Cleanup(func() {
		srv.Close()
		g.Close()
		e.Close(ctx)
	})
	return en
}

func (en *env) do(method, path string, hdr http.Header, body string) (*http.Response, string) {
	en.t.Helper()
	req, err := http.NewRequest(method, en.srv.URL+path, strings.NewReader(body))
	if err != nil {
		en.t.Fatal(err)
	}
	if body == "" {
		req.Body = http.NoBody
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		en.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func api(name, prefix string, pol gateway.Policy, ops ...gateway.Operation) gateway.API {
	return gateway.API{Name: name, PathPrefix: prefix, Policies: pol, Operations: ops}
}

func TestChainOrderEarlyAnswerAndResponsePhase(t *testing.T) {
	en := newEnv(t, &gateway.Config{
		Policies: gateway.Policy{Inbound: []gateway.Step{probeStep("order:global")}},
		APIs: []gateway.API{
			api("ordered", "/ordered", gateway.Policy{
				Inbound:  []gateway.Step{probeStep("order:api1"), {Base: true}, {Module: "probe2", Policy: "p", Config: jsonString("order:api2")}},
				Outbound: []gateway.Step{probeStep("append-header:one"), {Module: "probe2", Policy: "p", Config: jsonString("append-header:two")}},
			}, gateway.Operation{ID: "get", Method: "GET", Template: "/items/{id}", Policies: gateway.Policy{
				Inbound: []gateway.Step{{Base: true}, probeStep("order:op;param-to-header:id")},
			}}),
			api("early", "/early", gateway.Policy{
				Inbound:  []gateway.Step{probeStep("respond:401=denied"), probeStep("order:never")},
				Outbound: []gateway.Step{probeStep("resp-header:X-Out=ran")},
			}),
			api("transform", "/transform", gateway.Policy{
				Inbound:  []gateway.Step{{Base: false, Module: "probe", Policy: "p", Config: jsonString("continue")}},
				Outbound: []gateway.Step{probeStep("status:203;resp-body-upper;resp-header:X-T=1")},
			}),
		},
	})
	resp, body := en.do("GET", "/ordered/items/42", nil, "")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d body %s", resp.StatusCode, body)
	}
	last := en.be.last.Load()
	if got := last.Header.Get("X-Order"); got != "api1,global,api2,op" {
		t.Errorf("request X-Order = %q; want api1,global,api2,op (base expands in place, modules in order)", got)
	}
	if got := last.Header.Get("X-Param-Id"); got != "42" {
		t.Errorf("path param = %q", got)
	}
	if last.URL.Path != "/items/42" {
		t.Errorf("backend path = %q; the API prefix is not forwarded", last.URL.Path)
	}
	if got := resp.Header.Get("X-Order"); got != "one,two" {
		t.Errorf("response X-Order = %q", got)
	}

	hits := en.be.hits.Load()
	resp, body = en.do("GET", "/early/x", nil, "")
	if resp.StatusCode != 401 || body != "denied" {
		t.Errorf("early answer: %d %q", resp.StatusCode, body)
	}
	if en.be.hits.Load() != hits {
		t.Error("backend was called after an early answer")
	}
	if resp.Header.Get("X-Out") != "ran" {
		t.Error("outbound section did not run on the early answer")
	}

	resp, body = en.do("POST", "/transform/x?q=1", nil, "hello")
	if resp.StatusCode != 203 || body != "ECHO POST /X?Q=1 HELLO" || resp.Header.Get("X-T") != "1" {
		t.Errorf("transform: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	if resp.ContentLength != int64(len(body)) {
		t.Errorf("content-length %d for %d bytes", resp.ContentLength, len(body))
	}
	if ids := resp.Header.Values("X-Request-Id"); len(ids) != 1 || ids[0] == "backend-chosen" || ids[0] != en.be.last.Load().Header.Get("X-Request-Id") {
		t.Errorf("X-Request-Id = %v; want exactly the gateway's id, the one the backend received", ids)
	}
}

func TestFailModesAndOnError(t *testing.T) {
	en := newEnv(t, &gateway.Config{
		APIs: []gateway.API{
			api("closed", "/closed", gateway.Policy{Inbound: []gateway.Step{probeStep("fail")}}),
			api("open", "/open", gateway.Policy{Inbound: []gateway.Step{{Module: "probe", Policy: "p", Config: jsonString("panic"), FailMode: "open"}, probeStep("req-header:X-After=1")}}),
			api("fallback", "/fallback", gateway.Policy{Inbound: []gateway.Step{{Module: "probe", Policy: "p", Config: jsonString("fail"), FailMode: "fallback", Fallback: &gateway.Fallback{Status: 503, Body: `{"down":true}`}}}}),
			api("onerror", "/onerror", gateway.Policy{
				Inbound: []gateway.Step{probeStep("panic")},
				OnError: []gateway.Step{probeStep("respond:418=teapot")},
			}),
			api("outfail", "/outfail", gateway.Policy{Outbound: []gateway.Step{probeStep("fail")}}),
			api("outfallback", "/outfallback", gateway.Policy{Outbound: []gateway.Step{{Module: "probe", Policy: "p", Config: jsonString("fail"), FailMode: "fallback", Fallback: &gateway.Fallback{Status: 503, Body: `{"down":"out"}`}}}}),
			{Name: "deadbackend", PathPrefix: "/dead", Backend: "http://127.0.0.1:1"},
		},
	})
	resp, body := en.do("GET", "/closed/x", nil, "")
	if resp.StatusCode != 500 || !strings.Contains(body, `"statusCode":500`) || strings.Contains(body, "probe") {
		t.Errorf("closed: %d %s (want a generic 500 without internal detail)", resp.StatusCode, body)
	}
	resp, body = en.do("GET", "/open/x", nil, "")
	if resp.StatusCode != 200 || en.be.last.Load().Header.Get("X-After") != "1" {
		t.Errorf("open: %d %s", resp.StatusCode, body)
	}
	resp, body = en.do("GET", "/fallback/x", nil, "")
	if resp.StatusCode != 503 || body != `{"down":true}` || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("fallback: %d %s", resp.StatusCode, body)
	}
	resp, body = en.do("GET", "/onerror/x", nil, "")
	if resp.StatusCode != 418 || body != "teapot" {
		t.Errorf("on-error: %d %s", resp.StatusCode, body)
	}
	resp, body = en.do("GET", "/outfail/x", nil, "")
	if resp.StatusCode != 500 || !strings.Contains(body, "Internal server error") {
		t.Errorf("outbound failure: %d %s", resp.StatusCode, body)
	}
	// a fallback in the response phase replaces the backend's response whole
	resp, body = en.do("GET", "/outfallback/x", nil, "")
	if resp.StatusCode != 503 || body != `{"down":"out"}` || resp.Header.Get("Content-Type") != "application/json" ||
		resp.Header.Get("X-Backend") != "" || len(resp.Header.Values("X-Request-Id")) != 1 {
		t.Errorf("response-phase fallback: %d %s %v", resp.StatusCode, body, resp.Header)
	}
	resp, body = en.do("GET", "/dead/x", nil, "")
	if resp.StatusCode != 502 || !strings.Contains(body, "Bad gateway") || strings.Contains(body, "127.0.0.1") {
		t.Errorf("dead backend: %d %s", resp.StatusCode, body)
	}
}

// TestRunawayGuestDoesNotStopOtherAPIs: a looping policy ends at its
// deadline with a generic 5xx, and another API keeps serving meanwhile.
func TestRunawayGuestDoesNotStopOtherAPIs(t *testing.T) {
	const deadline = 1500 * time.Millisecond
	en := newEnv(t, &gateway.Config{APIs: []gateway.API{
		api("loop", "/loop", gateway.Policy{Inbound: []gateway.Step{{Module: "probe", Policy: "p", Config: jsonString("loop"), Timeout: gateway.Duration(deadline)}}}),
		api("fine", "/fine", gateway.Policy{}),
	}})
	// One runaway call holds one core until its deadline (native guest code
	// is not preemptible); on a 2-core machine the other core keeps serving.
	loopDone := make(chan time.Duration, 1)
	go func() {
		start := time.Now()
		resp, body := en.do("GET", "/loop/x", nil, "")
		if resp.StatusCode != 500 || strings.Contains(body, "deadline") || strings.Contains(body, "probe") {
			t.Errorf("loop: %d %s; want a generic 500", resp.StatusCode, body)
		}
		loopDone <- time.Since(start)
	}()
	time.Sleep(100 * time.Millisecond)
	for i := 0; i < 20; i++ {
		start := time.Now()
		resp, _ := en.do("GET", "/fine/x", nil, "")
		if resp.StatusCode != 200 {
			t.Errorf("fine API: %d during a runaway guest", resp.StatusCode)
		}
		if d := time.Since(start); d > deadline/2 {
			t.Errorf("fine API took %v during a runaway guest", d)
		}
	}
	select {
	case d := <-loopDone:
		t.Errorf("the runaway call ended after %v, before the other API's 20 calls did; the test proves nothing", d)
	default:
	}
	d := <-loopDone
	if d < deadline-100*time.Millisecond || d > deadline+3*time.Second {
		t.Errorf("loop request took %v; want about the %v deadline", d, deadline)
	}
	if en.e.Stats().DeadlineKills < 1 {
		t.Errorf("deadline kills = %d", en.e.Stats().DeadlineKills)
	}
}

func TestEdgeHygiene(t *testing.T) {
	en := newEnv(t, &gateway.Config{APIs: []gateway.API{
		{Name: "a", PathPrefix: "/a", BodyLimit: 100, Policies: gateway.Policy{Inbound: []gateway.Step{probeStep("req-header:X-Policy=set")}}},
		{Name: "b", PathPrefix: "/b", BodyLimit: 100, Policies: gateway.Policy{Inbound: []gateway.Step{probeStep("req-header:X-Policy=set;resp-body-upper")}}},
	}})
	// dot segments resolve before routing
	resp, body := en.do("GET", "/x/../a/./items/%7Eok", nil, "")
	if resp.StatusCode != 200 || en.be.last.Load().URL.Path != "/items/~ok" {
		t.Errorf("dot segments: %d %s path=%s", resp.StatusCode, body, en.be.last.Load().URL.Path)
	}
	for _, p := range []string{"/a/x%2Fy", "/a/x%5Cy", "/a/x%00y", "/../a/x"} {
		code, body := rawGet(t, en.srv.URL, p)
		if code != 400 || !strings.Contains(body, "Bad request") {
			t.Errorf("%s: %d %s; want 400", p, code, body)
		}
	}
	// identity headers are rebuilt, not appended; underscore variants too
	hdr := http.Header{"X-Forwarded-For": {"6.6.6.6"}, "X_forwarded_for": {"7.7.7.7"}, "X-Gatehouse-Subscription": {"forged"}, "Connection": {"X-Policy"}}
	resp, _ = en.do("GET", "/a/h", hdr, "")
	last := en.be.last.Load()
	if xff := last.Header.Get("X-Forwarded-For"); xff != "127.0.0.1" {
		t.Errorf("X-Forwarded-For = %q; want the peer only", xff)
	}
	for k := range last.Header {
		if strings.EqualFold(strings.ReplaceAll(k, "_", "-"), "x-forwarded-for") && k != "X-Forwarded-For" || strings.HasPrefix(strings.ToLower(k), "x-gatehouse") {
			t.Errorf("backend got client header %s", k)
		}
	}
	if last.Header.Get("X-Policy") != "set" {
		t.Error("a client's Connection header removed a header a policy set")
	}
	// body limit: declared and streamed
	resp, body = en.do("POST", "/a/big", nil, strings.Repeat("x", 101))
	if resp.StatusCode != 413 {
		t.Errorf("oversized body: %d %s", resp.StatusCode, body)
	}
	resp, _ = en.do("POST", "/a/ok", nil, strings.Repeat("x", 100))
	if resp.StatusCode != 200 {
		t.Errorf("body at the limit: %d", resp.StatusCode)
	}
	resp, body = en.do("GET", "/nowhere", nil, "")
	if resp.StatusCode != 404 || !strings.Contains(body, "requestId") {
		t.Errorf("unknown path: %d %s", resp.StatusCode, body)
	}
}

func rawGet(t testing.TB, base, path string) (int, string) {
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET "+path+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	b, _ := io.ReadAll(conn)
	s := string(b)
	code := 0
	if len(s) > 12 {
		for _, c := range s[9:12] {
			code = code*10 + int(c-'0')
		}
	}
	return code, s
}

func TestMethodMismatchAndReload(t *testing.T) {
	cfg := &gateway.Config{APIs: []gateway.API{
		api("a", "/a", gateway.Policy{Inbound: []gateway.Step{probeStep("req-header:X-Gen=1")}}, gateway.Operation{ID: "get", Method: "GET", Template: "/x"}),
	}}
	en := newEnv(t, cfg)
	if resp, _ := en.do("DELETE", "/a/x", nil, ""); resp.StatusCode != 405 {
		t.Errorf("method mismatch: %d", resp.StatusCode)
	}
	en.do("GET", "/a/x", nil, "")
	if en.be.last.Load().Header.Get("X-Gen") != "1" {
		t.Fatal("generation 1 policy did not run")
	}
	cfg2 := *cfg
	cfg2.APIs = []gateway.API{api("a", "/a", gateway.Policy{Inbound: []gateway.Step{probeStep("req-header:X-Gen=2")}}, gateway.Operation{ID: "get", Method: "GET", Template: "/x"})}
	cfg2.APIs[0].Backend = en.be.URL
	cfg2.Modules = cfg.Modules
	en.src.Set(&cfg2)
	en.g.Start()
	// Deadlines generous for a loaded machine (make test runs packages
	// side by side); each wait ends as soon as its condition holds.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		en.do("GET", "/a/x", nil, "")
		if en.be.last.Load().Header.Get("X-Gen") == "2" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if en.be.last.Load().Header.Get("X-Gen") != "2" {
		t.Fatal("new config did not reach traffic within 10s")
	}
	// The old generation closes once its last request is done.
	for deadline := time.Now().Add(5 * time.Second); en.g.LiveSnapshots() != 1 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if n := en.g.LiveSnapshots(); n != 1 {
		t.Errorf("live snapshots = %d; the old generation was not closed", n)
	}
	// a bad config keeps the last good one serving
	bad := cfg2
	bad.APIs = []gateway.API{{Name: "a", PathPrefix: "no-slash", Backend: "file:///etc/passwd"}}
	en.src.Set(&bad)
	for deadline := time.Now().Add(5 * time.Second); en.g.LastError() == nil && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if resp, _ := en.do("GET", "/a/x", nil, ""); resp.StatusCode != 200 {
		t.Errorf("after a bad config: %d", resp.StatusCode)
	}
	if err := en.g.LastError(); err == nil || !strings.Contains(err.Error(), "apis[0].backend") || !strings.Contains(err.Error(), "apis[0].path") {
		t.Errorf("last error = %v; want field paths", err)
	}
	if en.be.last.Load().Header.Get("X-Gen") != "2" {
		t.Error("after a bad config the last good one does not serve")
	}
}

// TestLoadRunReturnsToBaseline drives concurrent traffic, then checks that
// goroutines, instances and snapshots return to their baseline.
func TestLoadRunReturnsToBaseline(t *testing.T) {
	en := newEnv(t, &gateway.Config{APIs: []gateway.API{
		api("a", "/a", gateway.Policy{Inbound: []gateway.Step{probeStep("req-header:X-A=1")}, Outbound: []gateway.Step{probeStep("resp-header:X-B=2")}}),
	}})
	http.DefaultClient.CloseIdleConnections()
	time.Sleep(50 * time.Millisecond)
	baseG := runtime.NumGoroutine()
	baseI := en.e.LiveInstances()
	tr := &http.Transport{MaxIdleConnsPerHost: 8}
	cl := &http.Client{Transport: tr}
	var wg sync.WaitGroup
	var bad atomic.Int64
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 150; i++ {
				resp, err := cl.Get(en.srv.URL + "/a/x")
				if err != nil {
					bad.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || resp.Header.Get("X-B") != "2" {
					bad.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if bad.Load() != 0 {
		t.Errorf("%d bad responses", bad.Load())
	}
	tr.CloseIdleConnections()
	en.srv.CloseClientConnections()
	en.g.CloseIdleConnections()
	var g int
	for i := 0; i < 100; i++ {
		g = runtime.NumGoroutine()
		if g <= baseG+2 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if g > baseG+2 {
		t.Errorf("goroutines %d after load; baseline %d", g, baseG)
	}
	if li := en.e.LiveInstances(); li > 6 || li < baseI {
		t.Errorf("live instances %d after load (baseline %d, pool max 4+2)", li, baseI)
	}
	en.g.Close()
	if n := en.e.LiveInstances(); n != 0 {
		t.Errorf("live instances after gateway close = %d", n)
	}
}

func TestPerAttachmentBodyAndOutputCaps(t *testing.T) {
	en := newEnv(t, &gateway.Config{APIs: []gateway.API{
		api("readcap", "/readcap", gateway.Policy{Outbound: []gateway.Step{{Module: "probe", Policy: "p", Config: jsonString("resp-body-upper"), MaxBodyBytes: 5}}}),
		api("readok", "/readok", gateway.Policy{Outbound: []gateway.Step{{Module: "probe", Policy: "p", Config: jsonString("resp-body-upper"), MaxBodyBytes: 1000}}}),
		api("outcap", "/outcap", gateway.Policy{Inbound: []gateway.Step{{Module: "probe", Policy: "p", Config: jsonString("respond:200=longer than three"), MaxOutputBytes: 3}}}),
	}})
	if resp, body := en.do("GET", "/readcap/x", nil, ""); resp.StatusCode != 500 {
		t.Errorf("body over the attachment's read cap: %d %s", resp.StatusCode, body)
	}
	if resp, body := en.do("GET", "/readok/x", nil, ""); resp.StatusCode != 200 || body != "ECHO GET /X " {
		t.Errorf("body under the cap: %d %q", resp.StatusCode, body)
	}
	if resp, body := en.do("GET", "/outcap/x", nil, ""); resp.StatusCode != 500 || strings.Contains(body, "longer") {
		t.Errorf("answer over the output cap: %d %s", resp.StatusCode, body)
	}
}

// TestReloadHammer swaps snapshots while traffic runs: every request is
// answered by one generation or the next (never a 5xx), and afterwards only
// the current generation and the modules it uses are alive.
func TestReloadHammer(t *testing.T) {
	mk := func(gen int) *gateway.Config {
		return &gateway.Config{APIs: []gateway.API{
			api("a", "/a", gateway.Policy{Inbound: []gateway.Step{probeStep("req-header:X-Gen=" + strconv.Itoa(gen))}}),
		}}
	}
	en := newEnv(t, mk(0))
	base := en.src
	var stop atomic.Bool
	var wg sync.WaitGroup
	var bad, total atomic.Int64
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				resp, err := http.Get(en.srv.URL + "/a/x")
				if err != nil {
					bad.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				total.Add(1)
				if resp.StatusCode != 200 {
					bad.Add(1)
				}
			}
		}()
	}
	for gen := 1; gen <= 20; gen++ {
		cfg := mk(gen)
		cfg.APIs[0].Backend = en.be.URL
		probe := hosttest.Probe(t)
		cfg.Modules = []gateway.ModuleSpec{{Name: "probe", Wasm: probe, MinInstances: 1, MaxInstances: 4}, {Name: "probe2", Wasm: probe, MinInstances: 1, MaxInstances: 2}}
		base.Set(cfg)
		if err := en.g.Reload(context.Background()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(15 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	if bad.Load() != 0 || total.Load() < 50 {
		t.Errorf("%d bad of %d requests during reloads", bad.Load(), total.Load())
	}
	if n := en.g.LiveSnapshots(); n != 1 {
		t.Errorf("live snapshots = %d after reloads", n)
	}
	// only what is attached is loaded (probe2 is not), and unchanged bytes
	// are shared across generations rather than reloaded
	if n := len(en.g.Modules()); n != 1 {
		t.Errorf("loaded modules = %d; want 1", n)
	}
	en.do("GET", "/a/x", nil, "")
	if last := en.be.last.Load(); last.Header.Get("X-Gen") != "20" {
		t.Errorf("last request ran generation %q", last.Header.Get("X-Gen"))
	}
}

// TestPreflightReachesAPIPolicy: a CORS preflight to an API whose operations
// do not declare OPTIONS runs the API-level policy (where cors lives); a
// plain OPTIONS still gets 405.
func TestPreflightReachesAPIPolicy(t *testing.T) {
	en := newEnv(t, &gateway.Config{APIs: []gateway.API{
		api("a", "/a", gateway.Policy{Inbound: []gateway.Step{probeStep("respond:200=preflight answered")}},
			gateway.Operation{ID: "get", Method: "GET", Template: "/items/{id}", Policies: gateway.Policy{Inbound: []gateway.Step{probeStep("continue")}}}),
	}})
	hdr := http.Header{"Origin": {"https://app.example"}, "Access-Control-Request-Method": {"GET"}}
	if resp, body := en.do("OPTIONS", "/a/items/1", hdr, ""); resp.StatusCode != 200 || body != "preflight answered" {
		t.Errorf("preflight: %d %q", resp.StatusCode, body)
	}
	if resp, _ := en.do("OPTIONS", "/a/items/1", nil, ""); resp.StatusCode != 405 {
		t.Errorf("plain OPTIONS: %d; want 405", resp.StatusCode)
	}
	if resp, _ := en.do("OPTIONS", "/other/x", hdr, ""); resp.StatusCode != 404 {
		t.Errorf("preflight outside any API: %d; want 404", resp.StatusCode)
	}
}
