package gateway_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/host/counter"
	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/gateway"
	"github.com/gatehouse/gatehouse/host/hosttest"
)

func newTracer(t testing.TB) *gateway.Tracer {
	key := make([]byte, 32)
	rand.Read(key)
	tr, err := gateway.NewTracer(key)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestNewTracerKey(t *testing.T) {
	if _, err := gateway.NewTracer(make([]byte, 31)); err == nil {
		t.Error("a 31-byte key was accepted")
	}
}

// traceGateway serves a static config through the real built-in module:
// API "a" with a subscription check, a header set with a variable, and an
// operation /a/answer answered by return-response.
func traceGateway(t testing.TB, tr *gateway.Tracer, disabled bool) (*gateway.Gateway, *[]http.Header) {
	builtin := hosttest.Guest(t, "plugins/builtin")
	ctx := context.Background()
	svc := &engine.Services{Counters: counter.New(counter.Options{})}
	e, err := engine.New(ctx, engine.Options{CacheDir: cacheDir, Logger: quiet, Services: svc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(ctx) })
	inbound := []gateway.Step{
		{Policy: "subscription-key", Config: []byte(`{"header":"X-My-Key"}`)},
		{Policy: "set-variable", Config: []byte(`{"name":"greeting","value":"hello"}`)},
		{Policy: "set-variable", Config: []byte(`{"name":"copied","value":"x-{header.Authorization}-y"}`)},
		{Policy: "set-header", Config: []byte(`{"name":"X-Set","value":"v"}`)},
	}
	cfg := &gateway.Config{
		Policies: gateway.Policy{Outbound: []gateway.Step{{Policy: "set-header", Config: []byte(`{"name":"X-Out","value":"1","phase":"response"}`)}}},
		APIs: []gateway.API{{Name: "a", PathPrefix: "/a", Backend: "http://backend.invalid", ConsoleTraceDisabled: disabled,
			Policies: gateway.Policy{Inbound: inbound},
			Operations: []gateway.Operation{
				{ID: "get", Method: "GET", Template: "/items/{id}"},
				{ID: "answer", Method: "GET", Template: "/answer", Policies: gateway.Policy{Inbound: []gateway.Step{{Base: true},
					{Policy: "return-response", Config: []byte(`{"status":418,"body":"teapot"}`)}}}},
			}}},
		Subscriptions: []gateway.StaticSubscription{{ID: "s", Key: "key-of-s-123"}, {ID: "s2", Key: "key-of-s2-456"}},
	}
	var seen []http.Header
	g, err := gateway.New(gateway.Options{Engine: e, Source: gateway.NewStaticSource(cfg, ""), Logger: quiet,
		Builtin: builtin, BuiltinVersion: "test", Tracer: tr,
		Transport: &recordingTransport{seen: &seen}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	svc.Subscriptions = g
	if err := g.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	return g, &seen
}

// recordingTransport keeps the headers of every backend request (the
// gateway compares transports, so this is a pointer type).
type recordingTransport struct{ seen *[]http.Header }

func (t *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	*t.seen = append(*t.seen, r.Header.Clone())
	return cannedTransport{}.RoundTrip(r)
}

func do(g *gateway.Gateway, path, key, token string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("X-My-Key", key)
	req.Header.Set("Authorization", "Bearer sekrit-bearer")
	if token != "" {
		req.Header.Set(gateway.TraceHeader, token)
	}
	w := httptest.NewRecorder()
	g.ServeHTTP(w, req)
	return w
}

func take(tr *gateway.Tracer, id string) (gateway.Trace, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	raw, ok := tr.Take(ctx, id)
	var out gateway.Trace
	if ok {
		if err := json.Unmarshal(raw, &out); err != nil {
			panic(err)
		}
	}
	return out, ok
}

func TestTraceRecordsStages(t *testing.T) {
	tr := newTracer(t)
	g, seen := traceGateway(t, tr, false)
	tok, id, err := tr.Mint("s", "a")
	if err != nil {
		t.Fatal(err)
	}
	w := do(g, "/a/items/1", "key-of-s-123", tok)
	if w.Code != 200 || w.Header().Get(gateway.TraceHeader) != "" {
		t.Fatalf("status %d headers %v", w.Code, w.Header())
	}
	if h := (*seen)[len(*seen)-1]; h.Get(gateway.TraceHeader) != "" {
		t.Error("the backend saw the trace token")
	}
	trace, ok := take(tr, id)
	if !ok {
		t.Fatal("no trace")
	}
	raw, _ := json.Marshal(trace)
	if strings.Contains(string(raw), "key-of-s-123") || strings.Contains(string(raw), "sekrit-bearer") {
		t.Errorf("secret in the trace: %s", raw)
	}
	if trace.Status != 200 || trace.Backend == nil || trace.Backend.URLPath != "/items/1" || trace.Backend.Status != 200 || len(trace.Stages) < 3 {
		t.Fatalf("trace: %s", raw)
	}
	in := trace.Stages[0]
	if in.Section != "inbound" || in.Phase != "request" || len(in.Policies) != 4 || in.Policies[0].Scope != "api" || in.Policies[0].Policy != "subscription-key" {
		t.Errorf("first stage: %+v", in)
	}
	var sawVar, sawHdr, sawKeyRemoved bool
	var sawCopy bool
	for _, v := range in.Vars {
		sawVar = sawVar || v.Name == "greeting" && v.Value == "hello"
		sawCopy = sawCopy || v.Name == "copied" && v.Value == "x-***-y"
	}
	if !sawCopy {
		t.Errorf("a variable holding the Authorization value is not redacted: %+v", in.Vars)
	}
	for _, h := range in.Headers {
		sawHdr = sawHdr || h.Name == "X-Set" && h.Value == "v"
		sawKeyRemoved = sawKeyRemoved || h.Name == "X-My-Key" && h.Action == "removed"
	}
	if !sawVar || !sawHdr || !sawKeyRemoved {
		t.Errorf("changes: var %v header %v key removed %v: %+v", sawVar, sawHdr, sawKeyRemoved, in)
	}
	last := trace.Stages[len(trace.Stages)-1]
	if last.Section != "outbound" || last.Policies[0].Scope != "global" || len(last.Headers) != 1 || last.Headers[0].Name != "X-Out" {
		t.Errorf("last stage: %+v", last)
	}

	// an answered call: the decision names the status, no backend
	tok, id, _ = tr.Mint("s", "a")
	if w := do(g, "/a/answer", "key-of-s-123", tok); w.Code != 418 {
		t.Fatalf("answer: %d", w.Code)
	}
	trace, ok = take(tr, id)
	if !ok || trace.Backend != nil || trace.Status != 418 {
		t.Fatalf("answered trace: %v %+v", ok, trace)
	}
	answered := false
	for _, st := range trace.Stages {
		for _, p := range st.Policies {
			if p.Policy == "return-response" && st.Phase == "request" {
				answered = st.Decision == "answered" && st.Status == 418 && p.Scope == "operation"
			}
		}
	}
	if !answered {
		t.Errorf("stages: %+v", trace.Stages)
	}
}

func TestTraceRefusals(t *testing.T) {
	tr := newTracer(t)
	g, seen := traceGateway(t, tr, false)
	refused := func(name, path, key, token, id string, status int) {
		t.Helper()
		w := do(g, path, key, token)
		if w.Code != status {
			t.Errorf("%s: status %d", name, w.Code)
		}
		if len(*seen) > 0 && (*seen)[len(*seen)-1].Get(gateway.TraceHeader) != "" {
			t.Errorf("%s: the backend saw the token", name)
		}
		if _, ok := take(tr, id); ok {
			t.Errorf("%s: traced", name)
		}
	}
	tok, id, _ := tr.Mint("s", "a")
	if w := do(g, "/a/items/1", "key-of-s-123", tok); w.Code != 200 {
		t.Fatal(w.Code)
	}
	if _, ok := take(tr, id); !ok {
		t.Fatal("control: no trace for a good token")
	}
	refused("replayed", "/a/items/1", "key-of-s-123", tok, id, 200)
	tok, id, _ = tr.Mint("s", "a")
	refused("other subscription's key", "/a/items/1", "key-of-s2-456", tok, id, 200)
	tok, id, _ = tr.Mint("s", "a")
	refused("no key (answered 401 before a subscription is known)", "/a/items/1", "", tok, id, 401)
	tok, id, _ = tr.Mint("s", "b")
	refused("other API", "/a/items/1", "key-of-s-123", tok, id, 200)
	other := newTracer(t)
	tok, id, _ = other.Mint("s", "a")
	refused("other key", "/a/items/1", "key-of-s-123", tok, id, 200)
	tok, id, _ = tr.Mint("s", "a")
	refused("truncated signature", "/a/items/1", "key-of-s-123", tok[:len(tok)-2], id, 200)
	tr.SetClock(func() time.Time { return time.Now().Add(-time.Minute - time.Millisecond) })
	tok, id, _ = tr.Mint("s", "a")
	tr.SetClock(time.Now)
	refused("expired", "/a/items/1", "key-of-s-123", tok, id, 200)
	tr.SetClock(func() time.Time { return time.Now().Add(time.Hour) })
	tok, id, _ = tr.Mint("s", "a")
	tr.SetClock(time.Now)
	refused("valid for too long", "/a/items/1", "key-of-s-123", tok, id, 200)

	// tracing off for the API
	tr2 := newTracer(t)
	g2, _ := traceGateway(t, tr2, true)
	tok, id, _ = tr2.Mint("s", "a")
	if w := do(g2, "/a/items/1", "key-of-s-123", tok); w.Code != 200 {
		t.Fatal(w.Code)
	}
	if _, ok := take(tr2, id); ok {
		t.Error("traced with tracing off")
	}
}

// A gateway without a tracer ignores the header and strips it.
func TestTraceNoTracer(t *testing.T) {
	g, seen := traceGateway(t, nil, false)
	tok, _, _ := newTracer(t).Mint("s", "a")
	if w := do(g, "/a/items/1", "key-of-s-123", tok); w.Code != 200 {
		t.Fatal(w.Code)
	}
	if (*seen)[0].Get(gateway.TraceHeader) != "" {
		t.Error("the backend saw the header")
	}
}

func TestTakeUnknownReturnsAtOnce(t *testing.T) {
	tr := newTracer(t)
	start := time.Now()
	if _, ok := tr.Take(context.Background(), "never-minted"); ok {
		t.Error("a trace for an unknown id")
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("Take of an unknown id waited %s", d)
	}
}

// BenchmarkConsoleTrace prices the trace hooks on the 4-policy built-in
// chain: no tracer (nil checks), a tracer but no token (what every
// non-console call pays), and a traced call (mint + record + take).
func BenchmarkConsoleTrace(b *testing.B) {
	for _, mode := range []string{"no-tracer", "tracer-no-token", "traced"} {
		b.Run(mode, func(b *testing.B) {
			var tr *gateway.Tracer
			if mode != "no-tracer" {
				tr = newTracer(b)
			}
			g, _ := traceGateway(b, tr, false)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				tok, id := "", ""
				if mode == "traced" {
					tok, id, _ = tr.Mint("s", "a")
				}
				if w := do(g, "/a/items/1", "key-of-s-123", tok); w.Code != 200 {
					b.Fatal(w.Code)
				}
				if mode == "traced" {
					if _, ok := tr.Take(context.Background(), id); !ok {
						b.Fatal("no trace")
					}
				}
			}
		})
	}
}
