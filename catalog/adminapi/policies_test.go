package adminapi

import (
	"encoding/json"
	"testing"

	"github.com/gatehouse/gatehouse/catalog"
)

const rateLimitManifest = `{"configSchema": {"type": "object", "required": ["limit"], "additionalProperties": false,
	"properties": {"limit": {"type": "integer", "minimum": 1}, "window": {"type": "string"}}}}`

const builtinManifest = `{"policies": [
	{"name": "subscription-key", "configSchema": {"type": "object"}},
	{"name": "cors", "configSchema": {"type": "object", "properties": {"origins": {"type": "array", "items": {"type": "string"}}}}}]}`

func TestModules(t *testing.T) {
	e := newEnv(t)
	r := e.uploadGrant("ratelimit", "1.0.0", rateLimitManifest, "all", wasmBytes)
	if r.status != 201 {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	var m catalog.Module
	r.json(t, &m)
	if m.Manifest.ABIVersion != 1 || len(m.Manifest.Capabilities) != 1 || m.SHA256 == "" {
		t.Fatalf("module %+v", m)
	}
	if r := e.upload("ratelimit", "1.0.0", "", wasmBytes); r.status != 409 {
		t.Fatalf("duplicate upload: %d %s", r.status, r.body)
	}
	var l items[catalog.Module]
	e.must(200, "GET", "/modules", nil, &l)
	if len(l.Items) != 1 {
		t.Fatalf("list %+v", l)
	}
	e.must(200, "GET", "/modules/ratelimit/1.0.0", nil, nil)
	w := e.must(200, "GET", "/modules/ratelimit/1.0.0/wasm", nil, nil)
	if string(w.body) != string(wasmBytes) || w.header.Get("Content-Type") != "application/wasm" {
		t.Fatalf("wasm %q %v", w.body, w.header)
	}
	e.must(404, "GET", "/modules/ratelimit/9.9.9", nil, nil)

	// In use: 409.
	e.must(200, "PUT", "/policies/global", map[string]any{"inbound": []any{map[string]any{"module": "ratelimit", "config": map[string]any{"limit": 5}}}}, nil)
	e.must(409, "DELETE", "/modules/ratelimit/1.0.0", nil, nil)
	e.must(204, "DELETE", "/policies/global", nil, nil)
	e.must(204, "DELETE", "/modules/ratelimit/1.0.0", nil, nil)
	e.must(404, "DELETE", "/modules/ratelimit/1.0.0", nil, nil)
}

func TestPolicies(t *testing.T) {
	e := newEnv(t)
	e.seed()
	for _, v := range []string{"1.0.0", "1.2.0", "2.0.0-rc.1"} {
		if r := e.uploadGrant("ratelimit", v, rateLimitManifest, "all", wasmBytes); r.status != 201 {
			t.Fatalf("upload %s: %d %s", v, r.status, r.body)
		}
	}
	if r := e.upload("builtin", "1.0.0", builtinManifest, wasmBytes); r.status != 201 {
		t.Fatalf("upload builtin: %d %s", r.status, r.body)
	}
	rl := func(limit any) map[string]any {
		return map[string]any{"module": "ratelimit", "config": map[string]any{"limit": limit}}
	}
	e.must(200, "PUT", "/policies/global", map[string]any{"inbound": []any{rl(100)}}, nil)
	var d catalog.PolicyDoc
	e.must(200, "GET", "/policies/global", nil, &d)
	if d.Scope != catalog.ScopeGlobal || len(d.Inbound) != 1 {
		t.Fatalf("global %+v", d)
	}
	e.must(404, "GET", "/policies/api/echo", nil, nil)
	e.must(409, "PUT", "/policies/api/missing", map[string]any{"inbound": []any{rl(1)}}, nil)
	e.must(400, "PUT", "/policies/api/echo", map[string]any{"scope": "product", "inbound": []any{rl(1)}}, nil)

	// Attach, move, detach.
	// Attaching to a section the scope lacks starts it as [base], as
	// APIM's default document does: the parent's policies keep running.
	e.must(200, "POST", "/policies/api/echo/inbound", map[string]any{"entry": rl(10)}, nil)
	e.must(400, "POST", "/policies/api/echo/inbound", map[string]any{"entry": map[string]any{"base": true}, "position": 0}, nil)
	e.must(200, "POST", "/policies/api/echo/outbound", map[string]any{"entry": map[string]any{"module": "builtin", "policy": "cors", "config": map[string]any{"origins": []string{"*"}}}}, nil)
	e.must(400, "POST", "/policies/api/echo/inbound", map[string]any{"entry": rl(1), "position": 7}, nil)
	e.must(200, "GET", "/policies/api/echo", nil, &d)
	if len(d.Inbound) != 2 || !d.Inbound[0].Base || len(d.Outbound) != 2 || !d.Outbound[0].Base {
		t.Fatalf("api doc %+v", d)
	}
	e.must(200, "POST", "/policies/api/echo/inbound/0/move", map[string]any{"to": 1}, &d)
	if !d.Inbound[1].Base {
		t.Fatalf("moved %+v", d)
	}
	e.must(400, "POST", "/policies/api/echo/inbound/0/move", map[string]any{"to": 2}, nil)
	e.must(404, "POST", "/policies/api/echo/inbound/5/move", map[string]any{"to": 0}, nil)
	e.must(404, "DELETE", "/policies/api/echo/backend/0", nil, nil)
	e.must(204, "DELETE", "/policies/api/echo/outbound/0", nil, nil)
	e.must(200, "POST", "/policies/api/echo/inbound/1/move", map[string]any{"to": 0}, nil)

	e.must(200, "PUT", "/policies/product/starter", map[string]any{"inbound": []any{map[string]any{"base": true}, map[string]any{"module": "ratelimit@1.0.0", "config": map[string]any{"limit": 3}}}}, nil)
	e.must(200, "PUT", "/policies/operation/get-item", map[string]any{"inbound": []any{rl(7)}, "backend": []any{rl(8)}}, nil)
	var all items[catalog.PolicyDoc]
	e.must(200, "GET", "/policies", nil, &all)
	if len(all.Items) != 4 {
		t.Fatalf("policies %+v", all)
	}

	// Effective policy: the operation's inbound has no base, so it drops
	// the parents; its subscription check still comes first.
	var eff effectivePolicyBody
	e.must(200, "GET", "/apis/echo/operations/get-item/effective-policy", nil, &eff)
	if len(eff.Inbound) != 2 || eff.Inbound[0].Policy != SubscriptionKeyPolicy || eff.Inbound[1].Scope != catalog.ScopeOperation {
		t.Fatalf("effective %+v", eff)
	}
	e.must(200, "PUT", "/policies/operation/get-item", map[string]any{"inbound": []any{map[string]any{"base": true}, rl(7)}}, nil)
	eff = effectivePolicyBody{}
	e.must(200, "GET", "/apis/echo/operations/get-item/effective-policy?productId=starter", nil, &eff)
	want := []struct {
		scope catalog.Scope
		id    string
		limit string
	}{{catalog.ScopeAPI, "echo", ""}, {catalog.ScopeGlobal, "", "100"}, {catalog.ScopeProduct, "starter", "3"}, {catalog.ScopeAPI, "echo", "10"}, {catalog.ScopeOperation, "get-item", "7"}}
	if len(eff.Inbound) != len(want) {
		t.Fatalf("effective inbound %+v", eff.Inbound)
	}
	for i, w := range want {
		got := eff.Inbound[i]
		var cfg struct{ Limit json.Number }
		json.Unmarshal(got.Config, &cfg)
		if got.Scope != w.scope || got.ScopeID != w.id || (w.limit != "" && string(cfg.Limit) != w.limit) {
			t.Errorf("inbound[%d] = %+v, want %+v", i, got, w)
		}
	}
	if len(eff.Backend) != 0 || eff.Outbound == nil {
		t.Fatalf("sections %+v", eff)
	}
	e.must(201, "POST", "/products", map[string]any{"id": "other", "name": "Other"}, nil)
	e.must(400, "GET", "/apis/echo/operations/get-item/effective-policy?productId=other", nil, nil)
	e.must(400, "GET", "/apis/echo/operations/get-item/effective-policy?productId=missing", nil, nil)
	e.must(404, "GET", "/apis/echo/operations/missing/effective-policy", nil, nil)
	e.must(204, "DELETE", "/policies/product/starter", nil, nil)
	e.must(404, "DELETE", "/policies/product/starter", nil, nil)
}
