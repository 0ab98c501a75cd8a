package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/catalog/sqlite"
	"github.com/gatehouse/gatehouse/host/catalogsource"
	"github.com/gatehouse/gatehouse/host/counter"
	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/gateway"
	"github.com/gatehouse/gatehouse/plugins/embedded"
	"github.com/gatehouse/gatehouse/portal/console"
)

// consoleStack is the console over the real thing: a SQLite catalog seeded
// with the demo, the built-in Wasm policies on wazero, the gateway built
// from the catalog (catalogsource) with a console tracer, a recording echo
// backend, and the relay mounted like the portal mounts it.
type consoleStack struct {
	st        *sqlite.Store
	g         *gateway.Gateway
	gw        *httptest.Server
	portal    *httptest.Server
	tracer    *gateway.Tracer
	mu        sync.Mutex
	seen      []*http.Request // what the backend got
	elseHits  atomic.Int64
	elsewhere *httptest.Server
	demoKey   string
	getItem   catalog.Operation
	echoPost  catalog.Operation
}

func newConsoleStack(t testing.TB) *consoleStack {
	t.Helper()
	if embedded.Builtin() == nil {
		t.Fatal("the built-in module is not built: run `make wasm` first")
	}
	ctx := context.Background()
	t.Setenv(catalog.MasterKeyEnv, "")
	st, err := openCatalog(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := &consoleStack{st: st}
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.seen = append(s.seen, r.Clone(context.Background()))
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"path": r.URL.Path, "hello": r.Header.Get("X-Hello")})
	}))
	t.Cleanup(be.Close)
	s.elsewhere = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.elseHits.Add(1) }))
	t.Cleanup(s.elsewhere.Close)

	counters := counter.New(counter.Options{})
	src := catalogsource.New(st)
	svc := &engine.Services{Subscriptions: src, Counters: counters}
	e, err := engine.New(ctx, engine.Options{CacheDir: t.TempDir(), Services: svc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(context.Background()) })
	if err := registerBuiltin(ctx, st, e, slog.Default()); err != nil {
		t.Fatal(err)
	}
	if err := seedDemo(ctx, st, be.URL); err != nil {
		t.Fatal(err)
	}
	keys, err := st.ShowKeys(ctx, demoSubscription)
	if err != nil {
		t.Fatal(err)
	}
	s.demoKey = keys.Primary
	ops, err := st.ListOperations(ctx, demoAPI)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range ops {
		switch o.Name {
		case "get-item":
			s.getItem = o
		case "echo-post":
			s.echoPost = o
		}
	}
	if s.getItem.ID == "" || s.echoPost.ID == "" {
		t.Fatalf("demo operations: %+v", ops)
	}
	if s.tracer, err = newConsoleTracer(); err != nil {
		t.Fatal(err)
	}
	s.g, err = gateway.New(gateway.Options{Engine: e, Source: src, Builtin: embedded.Builtin(), BuiltinVersion: embedded.BuiltinVersion(),
		PollInterval: 50 * time.Millisecond, Tracer: s.tracer})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.g.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	s.g.Start()
	s.gw = httptest.NewServer(s.g)
	t.Cleanup(func() { s.gw.Close(); s.g.Close() })

	c, err := newConsole(st, s.gw.Listener.Addr(), "https://api.example.com", s.tracer, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	s.mountConsole(t, c)
	return s
}

// mountConsole serves c as the portal mounts it, the user taken from a
// test header standing in for the session.
func (s *consoleStack) mountConsole(t testing.TB, c *console.Console) {
	mux := http.NewServeMux()
	mux.Handle("/console/api/", c.Handler(func(r *http.Request) (string, bool) {
		u := r.Header.Get("X-Test-User")
		return u, u != ""
	}))
	s.portal = httptest.NewServer(mux)
	t.Cleanup(s.portal.Close)
}

func (s *consoleStack) send(t *testing.T, user string, req map[string]any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(req)
	hr, _ := http.NewRequest("POST", s.portal.URL+"/console/api/send", bytes.NewReader(b))
	hr.Header.Set("X-Test-User", user)
	res, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("not JSON (%d): %q", res.StatusCode, raw)
	}
	return res.StatusCode, out
}

// direct calls the gateway as any client would, with a trace header.
func (s *consoleStack) direct(t *testing.T, path, key, token string) (*http.Response, string) {
	t.Helper()
	hr, _ := http.NewRequest("GET", s.gw.URL+path, nil)
	hr.Header.Set(catalog.DefaultKeyHeader, key)
	if token != "" {
		hr.Header.Set(gateway.TraceHeader, token)
	}
	res, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res, string(b)
}

func (s *consoleStack) lastSeen(t *testing.T) *http.Request {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.seen) == 0 {
		t.Fatal("the backend saw nothing")
	}
	return s.seen[len(s.seen)-1]
}

func (s *consoleStack) take(id string) (json.RawMessage, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return s.tracer.Take(ctx, id)
}

func TestConsoleHeaderNamesAgree(t *testing.T) {
	if console.TraceHeader != gateway.TraceHeader {
		t.Fatalf("portal/console.TraceHeader %q != host/gateway.TraceHeader %q", console.TraceHeader, gateway.TraceHeader)
	}
}

// A console call with the demo's policies through the real gateway: the
// trace lists every stage with scope, module, version, policy, decision,
// time and changes, redacts the key, and shows the backend call.
func TestConsoleTraceDemo(t *testing.T) {
	s := newConsoleStack(t)
	code, out := s.send(t, demoUser, map[string]any{"subscriptionId": demoSubscription, "operationId": s.getItem.ID,
		"pathParams": map[string]string{"id": "42"}, "headers": map[string]string{"Authorization": "Bearer very-secret-token"}, "trace": true})
	if code != 200 || out["status"].(float64) != 200 {
		t.Fatalf("console call: %d %v", code, out)
	}
	if !strings.Contains(out["body"].(string), `"hello":"set by a Wasm policy"`) {
		t.Errorf("backend answer: %v", out["body"])
	}
	if h, _ := out["headers"].(map[string]any)["X-Powered-By"].([]any); len(h) != 1 || h[0] != "Gatehouse" {
		t.Errorf("response headers: %v", out["headers"])
	}
	raw, _ := json.Marshal(out["trace"])
	if strings.Contains(string(raw), s.demoKey) || strings.Contains(string(raw), "very-secret-token") {
		t.Fatalf("the trace shows a secret: %s", raw)
	}
	var tr gateway.Trace
	if err := json.Unmarshal(raw, &tr); err != nil {
		t.Fatalf("trace %s: %v", raw, err)
	}
	t.Logf("trace: %s", raw)
	if tr.API != demoAPI || tr.Subscription != demoSubscription || tr.Status != 200 || tr.Operation == "" {
		t.Errorf("trace head: %+v", tr)
	}
	want := map[string]string{ // policy → scope
		"subscription-key": "api", "rate-limit": "product", "set-header": "",
	}
	found := map[string]bool{}
	var sawHello, sawPowered bool
	for _, st := range tr.Stages {
		if st.Decision != "continue" {
			t.Errorf("stage %+v: decision %q", st, st.Decision)
		}
		for _, p := range st.Policies {
			if p.Module != "builtin" || p.Version != embedded.BuiltinVersion() {
				t.Errorf("policy %+v", p)
			}
			if sc, ok := want[p.Policy]; ok && sc != "" && sc != p.Scope {
				t.Errorf("policy %s scope %q, want %q", p.Policy, p.Scope, sc)
			}
			found[p.Policy] = true
		}
		for _, h := range st.Headers {
			if h.Name == "X-Hello" && h.Action == "set" && h.Value == "set by a Wasm policy" && st.Section == "inbound" {
				sawHello = true
			}
			if h.Name == "X-Powered-By" && h.Value == "Gatehouse" && st.Section == "outbound" && st.Policies[0].Scope == "global" {
				sawPowered = true
			}
		}
	}
	for p := range want {
		if !found[p] {
			t.Errorf("no stage ran %s", p)
		}
	}
	if !sawHello || !sawPowered {
		t.Errorf("header changes missing (X-Hello %v, X-Powered-By %v)", sawHello, sawPowered)
	}
	if tr.Backend == nil || tr.Backend.URLPath != "/items/42" || tr.Backend.Status != 200 {
		t.Errorf("backend: %+v", tr.Backend)
	}
	if r := s.lastSeen(t); r.Header.Get(gateway.TraceHeader) != "" || r.Header.Get(catalog.DefaultKeyHeader) == "" && false {
		t.Errorf("the backend saw the trace token")
	}
	// Without asking, no trace.
	_, out = s.send(t, demoUser, map[string]any{"subscriptionId": demoSubscription, "operationId": s.getItem.ID, "pathParams": map[string]string{"id": "1"}})
	if out["trace"] != nil {
		t.Errorf("trace without asking: %v", out["trace"])
	}
}

// Tokens the gateway must refuse: the call is answered normally, without
// a trace, and the backend never sees the header.
func TestConsoleTraceTokens(t *testing.T) {
	s := newConsoleStack(t)
	ctx := context.Background()
	path := "/echo/items/7"
	// An API-scope subscription: the demo product's rate limit (5 calls
	// in 10 s) does not apply to it.
	subA, keyA, _, err := s.st.CreateSubscription(ctx, catalog.Subscription{UserID: demoUser, Scope: catalog.ScopeAPI, ScopeID: demoAPI, State: catalog.StateActive})
	if err != nil {
		t.Fatal(err)
	}
	check := func(name, token, id string) {
		t.Helper()
		res, body := s.direct(t, path, keyA, token)
		if res.StatusCode != 200 {
			t.Errorf("%s: status %d %s", name, res.StatusCode, body)
		}
		for k := range res.Header {
			if strings.Contains(strings.ToLower(k), "trace") && k != "Traceparent" {
				t.Errorf("%s: response header %s", name, k)
			}
		}
		if r := s.lastSeen(t); len(r.Header.Values(gateway.TraceHeader)) != 0 {
			t.Errorf("%s: the backend saw %s", name, gateway.TraceHeader)
		}
		if tr, ok := s.take(id); ok {
			t.Errorf("%s: a trace was recorded: %s", name, tr)
		}
	}
	// a valid token works (the control: the check above can fail)
	tok, id, _ := s.tracer.Mint(subA.ID, demoAPI)
	if res, _ := s.direct(t, path, keyA, tok); res.StatusCode != 200 {
		t.Fatalf("valid token: %d", res.StatusCode)
	}
	if _, ok := s.take(id); !ok {
		t.Fatal("a valid token recorded no trace")
	}
	// replayed
	check("replayed", tok, id)
	// forged: another key
	key := make([]byte, 32)
	rand.Read(key)
	other, _ := gateway.NewTracer(key)
	ftok, fid, _ := other.Mint(subA.ID, demoAPI)
	check("forged (other key)", ftok, fid)
	// forged: payload changed, signature kept
	tok2, id2, _ := s.tracer.Mint("someone-else", demoAPI)
	p, sig, _ := strings.Cut(tok2, ".")
	tok3, _, _ := s.tracer.Mint(subA.ID, demoAPI)
	p3, _, _ := strings.Cut(tok3, ".")
	check("forged (swapped payload)", p3+"."+sig, id2)
	_ = p
	check("garbage", "not-a-token", "x")
	check("a client header alone", "1", "1")
	// expired: minted 61 s ago
	s.tracer.SetClock(func() time.Time { return time.Now().Add(-61 * time.Second) })
	etok, eid, _ := s.tracer.Mint(subA.ID, demoAPI)
	s.tracer.SetClock(time.Now)
	check("expired", etok, eid)
	// another subscription's token: the demo developer's key, a token
	// minted for a second subscription of theirs
	sub2, _, _, err := s.st.CreateSubscription(ctx, catalog.Subscription{UserID: demoUser, Scope: catalog.ScopeAll, State: catalog.StateActive})
	if err != nil {
		t.Fatal(err)
	}
	otok, oid, _ := s.tracer.Mint(sub2.ID, demoAPI)
	check("other subscription", otok, oid)
	// another API's token
	atok, aid, _ := s.tracer.Mint(subA.ID, "other-api")
	check("other API", atok, aid)
	// two tokens in one request
	hr, _ := http.NewRequest("GET", s.gw.URL+path, nil)
	hr.Header.Set(catalog.DefaultKeyHeader, keyA)
	t1, i1, _ := s.tracer.Mint(subA.ID, demoAPI)
	t2, i2, _ := s.tracer.Mint(subA.ID, demoAPI)
	hr.Header.Add(gateway.TraceHeader, t1)
	hr.Header.Add(gateway.TraceHeader, t2)
	res, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if _, ok := s.take(i1); ok {
		t.Error("two tokens: traced")
	}
	if _, ok := s.take(i2); ok {
		t.Error("two tokens: traced")
	}
}

// Admins switch tracing off per API: the console says so and the gateway
// refuses even a valid token.
func TestConsoleTraceOffPerAPI(t *testing.T) {
	s := newConsoleStack(t)
	ctx := context.Background()
	a, err := s.st.GetAPI(ctx, demoAPI)
	if err != nil {
		t.Fatal(err)
	}
	a.ConsoleTraceDisabled = true
	if _, err := s.st.UpdateAPI(ctx, a); err != nil {
		t.Fatal(err)
	}
	v, _ := s.st.Version(ctx)
	if !eventually(5*time.Second, func() bool { return s.g.Version() >= v }) {
		t.Fatal("the gateway did not reload")
	}
	code, out := s.send(t, demoUser, map[string]any{"subscriptionId": demoSubscription, "operationId": s.getItem.ID, "pathParams": map[string]string{"id": "1"}, "trace": true})
	if code != 200 || out["trace"] != nil || !strings.Contains(out["traceNote"].(string), "switched tracing off") {
		t.Errorf("console: %d %v", code, out)
	}
	tok, id, _ := s.tracer.Mint(demoSubscription, demoAPI)
	if res, _ := s.direct(t, "/echo/items/1", s.demoKey, tok); res.StatusCode != 200 {
		t.Errorf("status %d", res.StatusCode)
	}
	if tr, ok := s.take(id); ok {
		t.Errorf("traced with tracing off: %s", tr)
	}
}

// BOLA and SSRF through the real gateway.
func TestConsoleRealGatewayRefusals(t *testing.T) {
	s := newConsoleStack(t)
	ctx := context.Background()
	bob, err := s.st.CreateUser(ctx, catalog.User{Email: "bob@example.com", Name: "Bob"})
	if err != nil {
		t.Fatal(err)
	}
	if code, out := s.send(t, bob.ID, map[string]any{"subscriptionId": demoSubscription, "operationId": s.getItem.ID, "pathParams": map[string]string{"id": "1"}, "trace": true}); code != 404 {
		t.Errorf("bob with the demo subscription: %d %v", code, out)
	}
	bobAPI, _, _, err := s.st.CreateSubscription(ctx, catalog.Subscription{UserID: bob.ID, Scope: catalog.ScopeAPI, ScopeID: "nothing-here", State: catalog.StateActive})
	if err == nil {
		if code, out := s.send(t, bob.ID, map[string]any{"subscriptionId": bobAPI.ID, "operationId": s.getItem.ID, "pathParams": map[string]string{"id": "1"}}); code != 403 && code != 404 {
			t.Errorf("bob's subscription to another API: %d %v", code, out)
		}
	}
	s.mu.Lock()
	before := len(s.seen)
	s.mu.Unlock()
	for _, id := range []string{"..", "%2e%2e", "../../admin", "a%2fb", s.elsewhere.URL, "//" + strings.TrimPrefix(s.elsewhere.URL, "http://"), "1\r\nHost: x"} {
		if code, out := s.send(t, demoUser, map[string]any{"subscriptionId": demoSubscription, "operationId": s.getItem.ID, "pathParams": map[string]string{"id": id}}); code != 400 {
			t.Errorf("id %q: %d %v", id, code, out)
		}
	}
	if code, out := s.send(t, demoUser, map[string]any{"subscriptionId": demoSubscription, "operationId": s.getItem.ID, "pathParams": map[string]string{"id": "1"},
		"headers": map[string]string{"X-A": "1\r\nHost: " + s.elsewhere.URL}}); code != 400 {
		t.Errorf("CRLF header: %d %v", code, out)
	}
	s.mu.Lock()
	after := len(s.seen)
	s.mu.Unlock()
	if after != before || s.elseHits.Load() != 0 {
		t.Errorf("refused calls went out: backend %d→%d, elsewhere %d", before, after, s.elseHits.Load())
	}
	// '@' and a URL as data stay in their segment of the echo API.
	if code, out := s.send(t, demoUser, map[string]any{"subscriptionId": demoSubscription, "operationId": s.getItem.ID, "pathParams": map[string]string{"id": "u@" + strings.TrimPrefix(s.elsewhere.URL, "http://")},
		"query": map[string]string{"next": s.elsewhere.URL}}); code != 200 || out["status"].(float64) != 200 {
		t.Errorf("'@' id: %d %v", code, out)
	}
	if r := s.lastSeen(t); !strings.HasPrefix(r.URL.Path, "/items/u@127.0.0.1:") || s.elseHits.Load() != 0 {
		t.Errorf("backend saw %q", r.URL.Path)
	}
}

// BenchmarkConsoleRoundTrip compares a console call (browser → relay →
// gateway → backend and back, over loopback) with the same call made
// directly to the gateway, and a traced console call.
func BenchmarkConsoleRoundTrip(b *testing.B) {
	s := newConsoleStack(b)
	ctx := context.Background()
	sub, key, _, err := s.st.CreateSubscription(ctx, catalog.Subscription{UserID: demoUser, Scope: catalog.ScopeAPI, ScopeID: demoAPI, State: catalog.StateActive})
	if err != nil {
		b.Fatal(err)
	}
	c, err := console.New(console.Options{Store: s.st, GatewayURL: s.gw.URL, Tracer: s.tracer, PerMinute: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	s.mountConsole(b, c)
	b.Run("direct", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			hr, _ := http.NewRequest("GET", s.gw.URL+"/echo/items/1", nil)
			hr.Header.Set(catalog.DefaultKeyHeader, key)
			res, err := http.DefaultClient.Do(hr)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != 200 {
				b.Fatal(res.StatusCode)
			}
		}
	})
	for _, traced := range []bool{false, true} {
		name := "console"
		if traced {
			name = "console-traced"
		}
		body, _ := json.Marshal(map[string]any{"subscriptionId": sub.ID, "operationId": s.getItem.ID, "pathParams": map[string]string{"id": "1"}, "trace": traced})
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				hr, _ := http.NewRequest("POST", s.portal.URL+"/console/api/send", bytes.NewReader(body))
				hr.Header.Set("X-Test-User", demoUser)
				res, err := http.DefaultClient.Do(hr)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					b.Fatal(res.StatusCode)
				}
			}
		})
	}
}

// `gatehouse api update ID --console-trace=false` switches the trace off
// through the real admin API; =true switches it back on; other updates
// keep it.
func TestConsoleTraceCLI(t *testing.T) {
	admEnv(t)
	base := startTestAdmin(t)
	t.Setenv("GATEHOUSE_ADMIN_URL", base)
	t.Setenv("GATEHOUSE_ADMIN_TOKEN", admToken)
	admOK(t, "api", "create", "--id", "orders", "--name", "Orders", "--path", "/orders", "--backend", "http://127.0.0.1:9999")
	get := func() map[string]any {
		var a map[string]any
		if err := json.Unmarshal([]byte(admOK(t, "api", "get", "orders", "-o", "json")), &a); err != nil {
			t.Fatal(err)
		}
		return a
	}
	if a := get(); a["consoleTraceDisabled"] != false {
		t.Errorf("new API: consoleTraceDisabled %v", a["consoleTraceDisabled"])
	}
	admOK(t, "api", "update", "orders", "--console-trace=false")
	if a := get(); a["consoleTraceDisabled"] != true {
		t.Errorf("after --console-trace=false: %v", a["consoleTraceDisabled"])
	}
	admOK(t, "api", "update", "orders", "--key-header", "X-Key")
	if a := get(); a["consoleTraceDisabled"] != true || a["keyHeader"] != "X-Key" {
		t.Errorf("another update reset the switch: %v", a)
	}
	admOK(t, "api", "update", "orders", "--console-trace")
	if a := get(); a["consoleTraceDisabled"] != false {
		t.Errorf("after --console-trace: %v", a["consoleTraceDisabled"])
	}
	admOK(t, "api", "create", "--id", "quiet", "--name", "Quiet", "--path", "/quiet", "--backend", "http://127.0.0.1:9999", "--console-trace=false")
	var q map[string]any
	json.Unmarshal([]byte(admOK(t, "api", "get", "quiet", "-o", "json")), &q)
	if q["consoleTraceDisabled"] != true {
		t.Errorf("create --console-trace=false: %v", q)
	}
}

// A secret named value a policy is configured with ({{name}}) reaches the
// backend but never a console trace, even in a header whose name says
// nothing of secrets.
func TestConsoleTraceRedactsSecretNamedValues(t *testing.T) {
	s := newConsoleStack(t)
	ctx := context.Background()
	const secret = "s3cr3t-backend-token-0123456789"
	if _, err := s.st.CreateNamedValue(ctx, catalog.NamedValue{Name: "backend-token", Value: secret, Secret: true}); err != nil {
		t.Fatal(err)
	}
	doc := catalog.PolicyDoc{Scope: catalog.ScopeAPI, ScopeID: demoAPI, Inbound: []catalog.PolicyEntry{{Base: true}, {Module: "builtin", Policy: "set-header",
		Config: json.RawMessage(`{"name":"X-Upstream-Auth","value":"{{backend-token}}"}`)}}}
	if err := s.st.SetPolicy(ctx, doc); err != nil {
		t.Fatal(err)
	}
	if err := s.g.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	code, out := s.send(t, demoUser, map[string]any{"subscriptionId": demoSubscription, "operationId": s.getItem.ID,
		"pathParams": map[string]string{"id": "7"}, "trace": true})
	if code != 200 || out["status"].(float64) != 200 {
		t.Fatalf("console call: %d %v", code, out)
	}
	if got := s.lastSeen(t).Header.Get("X-Upstream-Auth"); got != secret {
		t.Fatalf("the backend got X-Upstream-Auth %q, want the named value", got)
	}
	raw, _ := json.Marshal(out["trace"])
	if !strings.Contains(string(raw), "X-Upstream-Auth") {
		t.Fatalf("the trace does not show the header change at all: %s", raw)
	}
	if strings.Contains(string(raw), secret) {
		t.Fatalf("the trace shows the secret named value: %s", raw)
	}
}
