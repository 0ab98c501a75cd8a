package gateway_test

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

// The egress an admin granted a module (ModuleSpec.GrantedEgress) opens
// that destination for the APIs whose chains use the module, and for no
// other API.
func TestGrantedModuleEgress(t *testing.T) {
	ctx := context.Background()
	_, otherHits, otherPort := counting(t, "other", nil)
	be, _, _ := counting(t, "own", nil)
	override := gateway.Policy{Inbound: []gateway.Step{probeStep("set-field:16=http://127.0.0.1:" + otherPort + "/")}}
	granted := override
	granted.Inbound = []gateway.Step{granted.Inbound[0]}
	granted.Inbound[0].Module = "granted-probe"
	cfg := &gateway.Config{APIs: []gateway.API{
		api("with", "/with", granted, gateway.Operation{ID: "w", Method: "GET", Template: "/x"}),
		api("without", "/without", override, gateway.Operation{ID: "wo", Method: "GET", Template: "/x"}),
	}}
	for i := range cfg.APIs {
		cfg.APIs[i].Backend = be.URL
	}
	probe := hosttest.Probe(t)
	cfg.Modules = []gateway.ModuleSpec{
		{Name: "probe", Wasm: probe, MinInstances: 1, MaxInstances: 2},
		{Name: "granted-probe", Wasm: probe, MinInstances: 1, MaxInstances: 2, GrantedEgress: []string{"127.0.0.1:" + otherPort}},
	}
	e, err := engine.New(ctx, engine.Options{CacheDir: cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.New(gateway.Options{Engine: e, Source: gateway.NewStaticSource(cfg, "")})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	t.Cleanup(func() { srv.Close(); g.Close(); e.Close(ctx) })
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/with/x"); code != 200 || body != "other" {
		t.Errorf("granted module's egress: %d %q, want 200 other", code, body)
	}
	before := otherHits.Load()
	if code, _ := get("/without/x"); code == 200 {
		t.Errorf("an API whose chain does not use the granted module reached the destination")
	}
	if otherHits.Load() != before {
		t.Errorf("the destination was hit from the API without the grant")
	}
}
