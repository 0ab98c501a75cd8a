package catalogsource_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/catalog/oasimport"
	"github.com/gatehouse/gatehouse/examples"
	"github.com/gatehouse/gatehouse/host/catalogsource"
	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/gateway"
	"github.com/gatehouse/gatehouse/host/hosttest"
)

// TestMockResponseFromOpenAPI imports examples/echo-openapi.yaml into a
// real store and serves it through the real gateway: operations with a
// mock-response without an example answer the document's example.
func TestMockResponseFromOpenAPI(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	var hits atomic.Int64
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.WriteString(w, "backend")
	}))
	t.Cleanup(be.Close)
	builtin := hosttest.Guest(t, "plugins/builtin")
	must[catalog.Module](t)(st.CreateModule(ctx, catalog.Module{Name: "builtin", Version: "1.0.0", Wasm: builtin, Manifest: catalog.ModuleManifest{ABIVersion: 1}}))
	no := false
	rep, err := oasimport.Import(ctx, st, oasimport.Request{Document: examples.EchoOpenAPI, PathPrefix: "/echo", BackendURL: be.URL, SubscriptionRequired: &no})
	if err != nil {
		t.Fatal(err)
	}
	opID := map[string]string{}
	for _, o := range rep.Created {
		opID[o.Name] = o.ID
	}
	mock := func(op, cfg string) {
		t.Helper()
		if err := st.SetPolicy(ctx, catalog.PolicyDoc{Scope: catalog.ScopeOperation, ScopeID: opID[op],
			Inbound: []catalog.PolicyEntry{{Base: true}, {Module: "builtin", Policy: "mock-response", Config: json.RawMessage(cfg)}},
		}); err != nil {
			t.Fatal(err)
		}
	}
	mock("get-item", `{}`)                                           // the example, application/json
	mock("get-status", `{"status_code":200}`)                        // the text/plain example
	mock("echo-get", `{"example":"fixed","content_type":"text/x"}`)  // an example in the config wins
	mock("echo-post", `{"status_code":404,"content_type":"text/x"}`) // no such response: empty body

	src := catalogsource.New(st)
	e, err := engine.New(ctx, engine.Options{CacheDir: t.TempDir(), Services: &engine.Services{Subscriptions: src}})
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.New(gateway.Options{Engine: e, Source: src, Builtin: builtin, BuiltinVersion: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	t.Cleanup(func() {
		srv.Close()
		g.Close()
		e.Close(ctx)
	})
	do := func(method, path string) (int, string, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}
	for _, tc := range []struct {
		method, path string
		status       int
		ct, body     string
	}{
		{"GET", "/echo/items/7", 200, "application/json", `{"id":"42","name":"Item 42"}`},
		{"GET", "/echo/status/500", 200, "text/plain", `200 OK`},
		{"GET", "/echo/get", 200, "text/x", `fixed`},
		{"POST", "/echo/post", 404, "text/x", ``},
	} {
		code, ct, body := do(tc.method, tc.path)
		if code != tc.status || ct != tc.ct || body != tc.body {
			t.Errorf("%s %s: %d %q %q, want %d %q %q", tc.method, tc.path, code, ct, body, tc.status, tc.ct, tc.body)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the backend was called %d times", n)
	}

	// The config the gateway got: the example filled in at Load.
	cfg, _, err := src.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range cfg.APIs {
		for _, o := range a.Operations {
			if o.ID == "get-item" {
				got := string(o.Policies.Inbound[1].Config)
				if want := `{"content_type":"application/json","example":"{\"id\":\"42\",\"name\":\"Item 42\"}"}`; got != want {
					t.Errorf("get-item config %s, want %s", got, want)
				}
			}
		}
	}
}
