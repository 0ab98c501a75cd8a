package main

// The built-in module as the gateway runs it: built to .wasm, loaded in the
// trusted runtime, real HTTP over loopback. The sdktest tests in each policy
// package cover the details; this proves the module works in the real host.

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gatehouse/gatehouse/host/counter"
	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/gateway"
	"github.com/gatehouse/gatehouse/host/hosttest"
	"github.com/gatehouse/gatehouse/host/vcache"
)

func TestBuiltinsThroughGateway(t *testing.T) {
	var hits atomic.Int64
	var lastKey atomic.Value
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		lastKey.Store(r.Header.Get("Ocp-Apim-Subscription-Key") + "|" + r.URL.RawQuery + "|" + r.Header.Get("X-Set"))
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "fresh "+r.URL.Path)
	}))
	defer backend.Close()

	ctx := context.Background()
	svc := &engine.Services{Counters: counter.New(counter.Options{}), Cache: vcache.New(100, 1<<20)}
	e, err := engine.New(ctx, engine.Options{CacheDir: t.TempDir(), Services: svc})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	step := func(p, cfg string) gateway.Step { return gateway.Step{Policy: p, Config: []byte(cfg)} }
	cfg := &gateway.Config{
		APIs: []gateway.API{
			{Name: "limited", PathPrefix: "/limited", Backend: backend.URL, Policies: gateway.Policy{Inbound: []gateway.Step{
				step("subscription-key", `{}`),
				step("rate-limit", `{"calls":3,"renewal_period":60}`),
				step("set-header", `{"name":"X-Set","value":"yes"}`),
			}}},
			{Name: "cached", PathPrefix: "/cached", Backend: backend.URL, Policies: gateway.Policy{
				Inbound:  []gateway.Step{step("cache-lookup", `{}`)},
				Outbound: []gateway.Step{step("cache-store", `{"duration":60}`)},
			}},
			{Name: "other", PathPrefix: "/other", Backend: backend.URL, Policies: gateway.Policy{Inbound: []gateway.Step{step("subscription-key", `{}`)}}},
			{Name: "query", PathPrefix: "/query", Backend: backend.URL, Policies: gateway.Policy{Inbound: []gateway.Step{step("subscription-key", `{"allow_query":true}`)}}},
		},
		Subscriptions: []gateway.StaticSubscription{
			{ID: "s1", Key: "good-key", APIs: []string{"limited", "query"}},
			{ID: "s2", Key: "suspended-key", State: "suspended"},
		},
	}
	g, err := gateway.New(gateway.Options{Engine: e, Source: gateway.NewStaticSource(cfg, ""), Builtin: hosttest.Guest(t, "plugins/builtin"), BuiltinVersion: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	svc.Subscriptions = g
	if err := g.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	defer srv.Close()

	do := func(path, key string) (*http.Response, string) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if key != "" {
			req.Header.Set("Ocp-Apim-Subscription-Key", key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}

	resp, missing := do("/limited/x", "")
	if resp.StatusCode != 401 || !strings.Contains(missing, "missing subscription key") {
		t.Errorf("no key: %d %s", resp.StatusCode, missing)
	}
	_, unknown := do("/limited/x", "nope")
	_, suspended := do("/limited/x", "suspended-key")
	if unknown != suspended || !strings.Contains(unknown, `"statusCode":401`) {
		t.Errorf("unknown and revoked keys must get the same 401 body:\n%s\n%s", unknown, suspended)
	}
	if resp, body := do("/other/x", "good-key"); resp.StatusCode != 403 {
		t.Errorf("key outside its scope: %d %s", resp.StatusCode, body)
	}
	for i := 0; i < 3; i++ {
		resp, body := do("/limited/x", "good-key")
		if resp.StatusCode != 200 {
			t.Fatalf("call %d: %d %s", i, resp.StatusCode, body)
		}
	}
	if got := lastKey.Load().(string); got != "||yes" {
		t.Errorf("backend saw key|query|X-Set = %q; the key must not be forwarded", got)
	}
	resp, body := do("/limited/x", "good-key")
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "Rate limit is exceeded") {
		t.Errorf("4th call: %d %v %s", resp.StatusCode, resp.Header, body)
	}

	if resp, body := do("/query/x?a=1&subscription-key=good-key&b=2", ""); resp.StatusCode != 200 {
		t.Errorf("key in query: %d %s", resp.StatusCode, body)
	} else if got := lastKey.Load().(string); got != "|a=1&b=2|" {
		t.Errorf("backend saw key|query|X-Set = %q; the query key must be removed", got)
	}
	if resp, _ := do("/limited/x?subscription-key=good-key", ""); resp.StatusCode != 401 {
		t.Errorf("query key where the query form is not allowed: %d", resp.StatusCode)
	}

	n := hits.Load()
	resp1, b1 := do("/cached/page", "")
	resp2, b2 := do("/cached/page", "")
	if hits.Load() != n+1 || b1 != b2 || resp2.Header.Get("X-Cache") != "HIT" || resp1.StatusCode != 200 {
		t.Errorf("cache: backend hits +%d, bodies %q/%q, X-Cache %q", hits.Load()-n, b1, b2, resp2.Header.Get("X-Cache"))
	}
}
