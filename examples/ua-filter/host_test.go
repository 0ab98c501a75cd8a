package main

// The same policy as the built .wasm, through the real host: real wazero,
// real HTTP over loopback.

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/gateway"
	"github.com/gatehouse/gatehouse/host/hosttest"
)

func TestBuiltModuleThroughGateway(t *testing.T) {
	var gotClass string
	var hits int
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		gotClass = r.Header.Get("X-UA-Class")
		io.WriteString(w, "ok")
	}))
	defer backend.Close()

	ctx := context.Background()
	e, err := engine.New(ctx, engine.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	cfg := &gateway.Config{
		Modules: []gateway.ModuleSpec{{Name: "ua-filter", Wasm: hosttest.Guest(t, "examples/ua-filter")}},
		APIs: []gateway.API{{Name: "a", PathPrefix: "/a", Backend: backend.URL, Policies: gateway.Policy{
			Inbound: []gateway.Step{{Module: "ua-filter", Policy: "ua-filter", Config: []byte(`{"deny":["BadBot"],"status":403}`)}},
		}}},
	}
	g, err := gateway.New(gateway.Options{Engine: e, Source: gateway.NewStaticSource(cfg, "")})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if err := g.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	defer srv.Close()

	get := func(ua string) *http.Response {
		req, _ := http.NewRequest("GET", srv.URL+"/a/x", nil)
		req.Header.Set("User-Agent", ua)
		req.Header.Set("X-UA-Class", "forged")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	resp := get("Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0")
	if resp.StatusCode != 200 || gotClass != "browser" || resp.Header.Get("X-Policy") != "ua-filter" {
		t.Errorf("browser: status %d class %q X-Policy %q", resp.StatusCode, gotClass, resp.Header.Get("X-Policy"))
	}
	resp = get("curl/8.5.0")
	if resp.StatusCode != 200 || gotClass != "tool" {
		t.Errorf("curl: status %d class %q", resp.StatusCode, gotClass)
	}
	before := hits
	resp = get("Mozilla/5.0 BadBot/2.1")
	if resp.StatusCode != 403 || hits != before || resp.Header.Get("X-Policy") != "ua-filter" {
		t.Errorf("BadBot: status %d, backend hits +%d, X-Policy %q", resp.StatusCode, hits-before, resp.Header.Get("X-Policy"))
	}
}
