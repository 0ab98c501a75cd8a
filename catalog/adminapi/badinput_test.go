package adminapi

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// writeRoute is a JSON write route with a body of a wrong type and the
// field path its error must name.
type writeRoute struct {
	method, path string
	wrongType    string
	typePath     string
}

// badEnv is a seeded catalog with one of everything the write routes
// address; it returns the JSON write routes.
func badEnv(t *testing.T) (*env, []writeRoute) {
	e := newEnv(t)
	e.seed()
	if r := e.uploadGrant("ratelimit", "1.0.0", rateLimitManifest, "all", wasmBytes); r.status != 201 {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	e.must(201, "POST", "/groups", map[string]any{"id": "g1", "name": "G"}, nil)
	e.must(201, "POST", "/named-values", map[string]any{"name": "nv", "value": "v"}, nil)
	var c createdSubscription
	e.must(201, "POST", "/subscriptions", map[string]any{"userId": "dev", "scope": "api", "scopeId": "echo"}, &c)
	e.must(200, "PUT", "/policies/api/echo", map[string]any{"inbound": []any{map[string]any{"base": true}}}, nil)
	return e, []writeRoute{
		{"POST", "/apis", `{"name": 5}`, "name"},
		{"PUT", "/apis/echo", `{"subscriptionRequired": "yes"}`, "subscriptionRequired"},
		{"POST", "/apis/import", `{"pathPrefix": 5, "document": "{}"}`, "pathPrefix"},
		{"POST", "/apis/echo/operations", `{"method": ["GET"]}`, "method"},
		{"PUT", "/apis/echo/operations/get-item", `{"urlTemplate": {}}`, "urlTemplate"},
		{"POST", "/products", `{"subscriptionsLimit": "10"}`, "subscriptionsLimit"},
		{"PUT", "/products/starter", `{"published": 1}`, "published"},
		{"POST", "/groups", `{"description": false}`, "description"},
		{"PUT", "/groups/g1", `{"name": null, "description": 1}`, "description"},
		{"POST", "/users", `{"email": 1}`, "email"},
		{"PUT", "/users/dev", `{"state": 2}`, "state"},
		{"POST", "/subscriptions", `{"scope": 1}`, "scope"},
		{"PUT", "/subscriptions/" + c.Subscription.ID + "/expiry", `{"expiresAt": 5}`, "expiresAt"},
		{"POST", "/named-values", `{"secret": "true"}`, "secret"},
		{"PUT", "/named-values/nv", `{"value": 1}`, "value"},
		{"PUT", "/policies/global", `{"inbound": {}}`, "inbound"},
		{"PUT", "/policies/api/echo", `{"inbound": [{"module": 5}]}`, "inbound.module"},
		{"POST", "/policies/global/inbound", `{"entry": []}`, "entry"},
		{"POST", "/policies/api/echo/inbound", `{"position": "1", "entry": {"base": true}}`, "position"},
		{"POST", "/policies/api/echo/inbound/0/move", `{"to": 0.5}`, "to"},
	}
}

// TestBadInput sends broken bodies to every JSON write route; each must
// answer 400 (413 when too large) in the error shape and change nothing.
func TestBadInput(t *testing.T) {
	e, routes := badEnv(t)
	huge := `{"name": "` + strings.Repeat("a", maxJSONBody) + `"}`
	if strings.Contains(routes[2].path, "import") {
		routes[2].path = "/apis/import" // 8 MiB limit: checked separately below
	}
	for _, rt := range routes {
		cases := []struct {
			name, body string
			status     int
			path       string
		}{
			{"malformed", `{"name": `, 400, ""},
			{"not an object", `[1, 2]`, 400, ""},
			{"wrong type", rt.wrongType, 400, rt.typePath},
			{"unknown field", `{"bogus": 1}`, 400, "bogus"},
			{"trailing data", `{} {}`, 400, ""},
			{"trailing garbage", `{}x`, 400, ""},
			{"empty", ``, 400, ""},
		}
		if rt.path != "/apis/import" {
			cases = append(cases, struct {
				name, body string
				status     int
				path       string
			}{"oversize", huge, 413, ""})
		}
		for _, c := range cases {
			before := e.version()
			r := e.do(rt.method, rt.path, c.body)
			label := fmt.Sprintf("%s %s (%s)", rt.method, rt.path, c.name)
			if r.status != c.status {
				t.Errorf("%s: status %d, want %d: %s", label, r.status, c.status, r.body)
				continue
			}
			b := r.err(t)
			wantCode := map[int]string{400: "invalid", 413: "too_large"}[c.status]
			if b.Error.Code != wantCode || b.Error.Message == "" {
				t.Errorf("%s: error %+v", label, b.Error)
			}
			if c.path != "" && (len(b.Error.Fields) == 0 || b.Error.Fields[0].Path != c.path) {
				t.Errorf("%s: fields %+v, want path %q", label, b.Error.Fields, c.path)
			}
			if e.version() != before {
				t.Errorf("%s: the catalog changed", label)
			}
		}
	}
	before := e.version()
	big := `{"pathPrefix": "/big", "document": "` + strings.Repeat("a", maxDocumentBody) + `"}`
	if r := e.do("POST", "/apis/import", big); r.status != 413 {
		t.Errorf("oversize import: %d %s", r.status, r.body)
	}
	if e.version() != before {
		t.Error("oversize import changed the catalog")
	}
}

// fieldFail sends body and expects a 400 naming path, with no change.
func (e *env) fieldFail(method, path string, body any, field string) {
	e.t.Helper()
	before := e.version()
	r := e.do(method, path, body)
	if r.status != 400 {
		e.t.Errorf("%s %s %v: status %d, want 400: %s", method, path, body, r.status, r.body)
		return
	}
	b := r.err(e.t)
	if b.Error.Code != "invalid" || len(b.Error.Fields) == 0 || b.Error.Fields[0].Path != field {
		e.t.Errorf("%s %s %v: error %s, want path %q", method, path, body, r.body, field)
	}
	if e.version() != before {
		e.t.Errorf("%s %s %v: the catalog changed", method, path, body)
	}
}

func TestBackendURLs(t *testing.T) {
	e, _ := badEnv(t)
	for _, u := range []string{"file:///etc/passwd", "http://169.254.169.254/latest/meta-data", "http://[fe80::1]/", "gopher://example.com/",
		"http://[::ffff:169.254.169.254]/", "http://2852039166/", "http://0.0.0.0/", "ftp://x", "http://user:pw@example.com/", "//example.com", ""} {
		e.fieldFail("POST", "/apis", map[string]any{"name": "Bad", "pathPrefix": "/bad", "backendUrl": u}, "backendUrl")
		e.fieldFail("PUT", "/apis/echo", map[string]any{"name": "Echo", "pathPrefix": "/echo", "backendUrl": u}, "backendUrl")
		if u != "" {
			e.fieldFail("POST", "/apis/import", map[string]any{"pathPrefix": "/bad", "backendUrl": u, "document": "openapi: 3.0.0"}, "backendUrl")
		}
	}
}

func TestPolicyValidation(t *testing.T) {
	e, _ := badEnv(t)
	if r := e.upload("builtin", "1.0.0", builtinManifest, wasmBytes); r.status != 201 {
		t.Fatalf("upload builtin: %d %s", r.status, r.body)
	}
	entry := func(module, policy string, config any) map[string]any {
		m := map[string]any{"module": module, "config": config}
		if policy != "" {
			m["policy"] = policy
		}
		return m
	}
	doc := func(es ...any) map[string]any { return map[string]any{"inbound": es} }
	ok := entry("ratelimit", "", map[string]any{"limit": 1})
	for _, c := range []struct {
		body any
		path string
	}{
		{doc(entry("ratelimit", "", map[string]any{"limit": "ten"})), "inbound[0].config.limit"},
		{doc(ok, entry("ratelimit", "", map[string]any{"limit": 0})), "inbound[1].config.limit"},
		{doc(entry("ratelimit", "", map[string]any{})), "inbound[0].config"},
		{doc(entry("ratelimit", "", map[string]any{"limit": 1, "extra": true})), "inbound[0].config"},
		{doc(entry("ratelimit", "", nil)), "inbound[0].config"},
		{doc(ok, ok, entry("builtin", "nope", map[string]any{})), "inbound[2].policy"},
		{doc(entry("builtin", "cors", map[string]any{"origins": []any{"a", 5}})), "inbound[0].config.origins[1]"},
		{doc(entry("missing", "", map[string]any{})), "inbound[0].module"},
		{doc(entry("ratelimit@9.9.9", "", map[string]any{})), "inbound[0].module"},
		{doc(entry("Bad Name", "", map[string]any{})), "inbound[0].module"},
		{doc(map[string]any{"base": true, "module": "ratelimit"}), "inbound[0]"},
		{map[string]any{"backend": []any{map[string]any{"module": "ratelimit", "config": map[string]any{"limit": 1}, "failMode": "fallback", "fallback": "missing"}}}, "backend[0].fallback"},
	} {
		e.fieldFail("PUT", "/policies/api/echo", c.body, c.path)
	}
	e.fieldFail("PUT", "/policies/global", doc(map[string]any{"base": true}), "inbound[0].base")
	e.fieldFail("POST", "/policies/api/echo/inbound", map[string]any{"entry": entry("ratelimit", "", map[string]any{"limit": -1})}, "inbound[1].config.limit")
	e.fieldFail("POST", "/policies/api/echo/inbound", map[string]any{"entry": entry("ratelimit", "", map[string]any{"limit": -1}), "position": 0}, "inbound[0].config.limit")
	e.fieldFail("POST", "/policies/api/echo/inbound", map[string]any{}, "entry")
	e.fieldFail("POST", "/policies/api/echo/inbound/0/move", map[string]any{}, "to")
	// Fallback entries are accepted as they are.
	e.must(200, "PUT", "/policies/api/echo", map[string]any{"backend": []any{map[string]any{"module": "ratelimit", "config": map[string]any{"limit": 1}, "failMode": "fallback", "fallback": "ratelimit"}}}, nil)
}

func TestUploadValidation(t *testing.T) {
	e, _ := badEnv(t)
	count := func() int {
		var l items[struct{ Name string }]
		e.must(200, "GET", "/modules", nil, &l)
		return len(l.Items)
	}
	n := count()
	fail := func(r resp, status int, path string) {
		t.Helper()
		if r.status != status {
			t.Errorf("status %d, want %d: %s", r.status, status, r.body)
			return
		}
		if b := r.err(t); path != "" && (len(b.Error.Fields) == 0 || b.Error.Fields[0].Path != path) {
			t.Errorf("error %s, want path %q", r.body, path)
		}
	}
	before := e.version()
	fail(e.upload("bad", "1.0.0", "", []byte("#!/bin/sh\necho hi")), 400, "wasm")
	fail(e.upload("bad", "1.0.0", "", nil), 400, "wasm")
	fail(e.upload("bad", "1.0.0", `{"configSchema": {"type": 12}}`, wasmBytes), 400, "manifest.configSchema")
	fail(e.upload("bad", "1.0.0", `{"configSchema": {"$ref": "http://169.254.169.254/x"}}`, wasmBytes), 400, "manifest.configSchema")
	fail(e.upload("bad", "1.0.0", `{"policies": [{"name": "p", "configSchema": {"minimum": "x"}}]}`, wasmBytes), 400, "manifest.policies[0].configSchema")
	fail(e.upload("bad", "1.0.0", `{"bogus": 1}`, wasmBytes), 400, "manifest.bogus")
	fail(e.upload("bad", "1.0.0", `{"limits": {"memoryPages": "x"}}`, wasmBytes), 400, "manifest.limits.memoryPages")
	fail(e.upload("bad", "1.0.0", `{"configSchema": {}} x`, wasmBytes), 400, "manifest")
	fail(e.upload("bad", "1.0.0", `{"limits": {"memoryPages": 1000000}}`, wasmBytes), 400, "manifest.limits.memoryPages")
	fail(e.upload("Bad", "1.0.0", "", wasmBytes), 400, "name")
	fail(e.upload("bad", "one", "", wasmBytes), 400, "version")
	fail(e.upload("", "1.0.0", "", wasmBytes), 400, "name")
	fail(e.doAuth("POST", "/modules", `{"name": "x"}`, "Bearer "+testToken, "application/json"), 415, "")
	big := append(append([]byte{}, wasmBytes...), bytes.Repeat([]byte{0}, maxModuleBody)...)
	fail(e.upload("bad", "1.0.0", "", big), 413, "")
	if e.version() != before || count() != n {
		t.Fatal("a refused upload changed the catalog")
	}
	// Client-sent abiVersion and capabilities are replaced.
	r := e.upload("good", "1.0.0", `{"abiVersion": 9, "capabilities": ["http"]}`, wasmBytes)
	var m struct {
		Manifest struct {
			ABIVersion   int      `json:"abiVersion"`
			Capabilities []string `json:"capabilities"`
		} `json:"manifest"`
	}
	r.json(t, &m)
	if r.status != 201 || m.Manifest.ABIVersion != 1 || len(m.Manifest.Capabilities) != 1 || m.Manifest.Capabilities[0] != "log" {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
}

func TestUploadWithoutValidator(t *testing.T) {
	e := newEnv(t)
	h, err := New(Options{Store: e.st, Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	e.srv.Config.Handler = h
	before := e.version()
	r := e.upload("m", "1.0.0", "", wasmBytes)
	if r.status != 500 || r.err(t).Error.Code != "internal" || strings.Contains(string(r.body), "validator") {
		t.Fatalf("upload without validator: %d %s", r.status, r.body)
	}
	if e.version() != before {
		t.Fatal("catalog changed")
	}
	if _, err := New(Options{Store: e.st}); err == nil {
		t.Fatal("New without a token succeeded")
	}
}
