package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/host/counter"
	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/gateway"
	"github.com/gatehouse/gatehouse/host/hosttest"
	"github.com/gatehouse/gatehouse/host/vcache"
)

// TestTransformsThroughGateway runs the transform built-ins as the gateway
// runs them (the built .wasm, real HTTP over loopback).
func TestTransformsThroughGateway(t *testing.T) {
	var hits int
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		b, _ := io.ReadAll(r.Body)
		io.WriteString(w, r.Method+" "+r.URL.EscapedPath()+" ?"+r.URL.RawQuery+" "+r.Header.Get("Content-Type")+" "+string(b))
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
	cfg := &gateway.Config{APIs: []gateway.API{
		{Name: "t", PathPrefix: "/t", Backend: backend.URL, Operations: []gateway.Operation{
			{ID: "u", Method: "GET", Template: "/users/{id}", Policies: gateway.Policy{Inbound: []gateway.Step{
				step("set-query-parameter", `{"name":"b","value":"x y"}`),
				step("set-variable", `{"name":"v","value":"{path.id}-{query.a}"}`),
				step("rewrite-uri", `{"template":"/v2/{id}/p?k={id}"}`),
				step("set-method", `{"method":"POST"}`),
				step("set-body", `{"template":"var={var.v} path={request.path}","content_type":"text/x"}`),
			}, Outbound: []gateway.Step{step("set-status", `{"code":201}`)}}},
			{ID: "r", Method: "GET", Template: "/rr/{id}", Policies: gateway.Policy{Inbound: []gateway.Step{
				step("return-response", `{"status":418,"headers":{"X-A":"1"},"body":"id={path.id}","content_type":"text/plain"}`),
			}}},
			{ID: "f", Method: "GET", Template: "/f/{name}", Policies: gateway.Policy{Inbound: []gateway.Step{
				step("rewrite-uri", `{"template":"/files/{name}"}`),
			}}},
		}},
	}}
	g, err := gateway.New(gateway.Options{Engine: e, Source: gateway.NewStaticSource(cfg, ""), Builtin: hosttest.Guest(t, "plugins/builtin"), BuiltinVersion: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if err := g.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	defer srv.Close()
	cases := []struct {
		path   string
		status int
		body   string
		header [2]string
	}{
		{"/t/users/42?a=%41%42&b=old&c=d%20e", 201, "POST /v2/42/p ?k=42&a=%41%42&c=d%20e&b=x+y text/x var=42-AB path=/v2/42/p", [2]string{}},
		{"/t/rr/7", 418, "id=7", [2]string{"X-A", "1"}},
		{"/t/f/a%20b", 200, "GET /files/a%20b ?  ", [2]string{}},
		{"/t/f/a%252F..", 200, "GET /files/a%252F.. ?  ", [2]string{}}, // a literal %2F stays literal
		{"/t/f/..%2Fx", 400, "encoded slash", [2]string{}},
		{"/t/f/%2E%2E", 404, "Resource not found", [2]string{}},
	}
	for _, c := range cases {
		before := hits
		resp, err := http.Get(srv.URL + c.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || !strings.Contains(string(b), c.body) {
			t.Errorf("%s → %d %q; want %d %q", c.path, resp.StatusCode, b, c.status, c.body)
		}
		if c.header[0] != "" && resp.Header.Get(c.header[0]) != c.header[1] {
			t.Errorf("%s: header %s = %q", c.path, c.header[0], resp.Header.Get(c.header[0]))
		}
		if c.status == 418 && hits != before {
			t.Errorf("return-response called the backend")
		}
	}
}
