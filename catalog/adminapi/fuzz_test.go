package adminapi

import (
	"testing"
)

// fuzzRoutes are the write routes FuzzAdminJSON feeds.
var fuzzRoutes = []struct{ method, path string }{
	{"POST", "/apis"},
	{"PUT", "/apis/echo"},
	{"POST", "/subscriptions"},
	{"PUT", "/policies/api/echo"},
	{"POST", "/policies/api/echo/inbound"},
	{"POST", "/apis/echo/operations"},
	{"PUT", "/subscriptions/fuzz-sub/expiry"},
	{"PUT", "/modules/ratelimit/1.0.0/grant"},
}

// FuzzAdminJSON sends arbitrary bodies to write routes: no answer may be
// a 5xx, and an answer of 4xx must leave the catalog unchanged.
func FuzzAdminJSON(f *testing.F) {
	e := newEnv(f)
	e.seed()
	if r := e.uploadGrant("ratelimit", "1.0.0", rateLimitManifest, "all", wasmBytes); r.status != 201 {
		f.Fatalf("upload: %d %s", r.status, r.body)
	}
	e.must(201, "POST", "/subscriptions", map[string]any{"id": "fuzz-sub", "userId": "dev", "scope": "api", "scopeId": "echo"}, nil)
	f.Add(uint8(0), []byte(`{"name":"A","pathPrefix":"/a","backendUrl":"http://10.0.0.1:8080"}`))
	f.Add(uint8(3), []byte(`{"inbound":[{"base":true},{"module":"ratelimit","config":{"limit":5}}]}`))
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		rt := fuzzRoutes[int(route)%len(fuzzRoutes)]
		e.t = t
		before := e.version()
		r := e.do(rt.method, rt.path, body)
		if r.status >= 500 {
			t.Fatalf("%s %s %q: %d %s", rt.method, rt.path, body, r.status, r.body)
		}
		if r.status >= 400 && e.version() != before {
			t.Fatalf("%s %s %q answered %d but changed the catalog", rt.method, rt.path, body, r.status)
		}
	})
}
