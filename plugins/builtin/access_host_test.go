package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse/gatehouse/host/counter"
	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/gateway"
	"github.com/gatehouse/gatehouse/host/hosttest"
	"github.com/gatehouse/gatehouse/host/jwtverify"
	"github.com/gatehouse/gatehouse/host/vcache"
)

const jwtSecret = "0123456789abcdef0123456789abcdef-secret"

// TestAccessThroughGateway runs the access built-ins as the gateway runs
// them: cors (including a preflight to an API without an OPTIONS operation),
// ip-filter, check-header and validate-jwt with the real JWT verifier.
func TestAccessThroughGateway(t *testing.T) {
	wasm := hosttest.Guest(t, "plugins/builtin")
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "backend "+r.Method)
	}))
	defer backend.Close()
	ctx := context.Background()
	svc := &engine.Services{Counters: counter.New(counter.Options{}), Cache: vcache.New(100, 1<<20), JWT: jwtverify.New(jwtverify.Options{})}
	e, err := engine.New(ctx, engine.Options{CacheDir: t.TempDir(), Services: svc})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	step := func(p, cfg string) gateway.Step { return gateway.Step{Policy: p, Config: []byte(cfg)} }
	cfg := &gateway.Config{APIs: []gateway.API{
		{Name: "a", PathPrefix: "/a", Backend: backend.URL, Operations: []gateway.Operation{{ID: "get", Method: "GET", Template: "/x"}}, Policies: gateway.Policy{Inbound: []gateway.Step{
			step("cors", `{"allowed_origins":["https://app.example"],"allowed_methods":["GET"],"allowed_headers":["Authorization"]}`),
			step("ip-filter", `{"action":"allow","cidrs":["127.0.0.0/8","::1/128"]}`),
			step("check-header", `{"name":"X-Version","values":["1"]}`),
			step("validate-jwt", `{"algorithms":["HS256"],"issuers":["iss"],"audiences":["aud"],"hmac_secret":"`+jwtSecret+`","output_token_variable_name":"jwt"}`),
		}}},
		{Name: "b", PathPrefix: "/b", Backend: backend.URL, Policies: gateway.Policy{Inbound: []gateway.Step{
			step("ip-filter", `{"action":"forbid","cidrs":["127.0.0.0/8","::1/128"]}`),
		}}},
	}}
	g, err := gateway.New(gateway.Options{Engine: e, Source: gateway.NewStaticSource(cfg, ""), Builtin: wasm, BuiltinVersion: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if err := g.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	defer srv.Close()
	do := func(method, path string, h map[string]string) (*http.Response, string) {
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	tok, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": "iss", "aud": "aud", "exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte(jwtSecret))

	resp, body := do("OPTIONS", "/a/x", map[string]string{"Origin": "https://app.example", "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization"})
	t.Logf("preflight: %d %v %q", resp.StatusCode, resp.Header, body)
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Errorf("preflight")
	}
	resp, body = do("GET", "/a/x", map[string]string{"Origin": "https://app.example", "X-Version": "1"})
	t.Logf("no token: %d %v %q", resp.StatusCode, resp.Header, body)
	if resp.StatusCode != 401 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" || resp.Header.Get("Www-Authenticate") != "Bearer" {
		t.Errorf("no token")
	}
	resp, body = do("GET", "/a/x", map[string]string{"X-Version": "2", "Authorization": "Bearer " + tok})
	t.Logf("bad header: %d %q", resp.StatusCode, body)
	if resp.StatusCode != 401 {
		t.Errorf("check-header")
	}
	resp, body = do("GET", "/a/x", map[string]string{"Origin": "https://app.example", "X-Version": "1", "Authorization": "Bearer " + tok})
	t.Logf("ok: %d %v %q", resp.StatusCode, resp.Header, body)
	if resp.StatusCode != 200 || !strings.HasPrefix(body, "backend") || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Errorf("ok")
	}
	resp, body = do("GET", "/a/x", map[string]string{"X-Version": "1", "Authorization": "Bearer " + tok + "x"})
	if resp.StatusCode != 401 || resp.Header.Get("Www-Authenticate") != `Bearer error="invalid_token"` {
		t.Errorf("bad sig: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	resp, body = do("GET", "/b/x", nil)
	t.Logf("forbid: %d %q", resp.StatusCode, body)
	if resp.StatusCode != 403 {
		t.Errorf("forbid")
	}
}

// TestIPFilterBehindProxiesThroughGateway checks ip-filter's trusted
// proxies through the real gateway, with the peer address set per request:
// the gateway strips X-Forwarded-For before policies run (so with the
// default header a trusted proxy's requests are refused: fail closed),
// a header the gateway keeps works, and an untrusted peer cannot spoof
// either.
func TestIPFilterBehindProxiesThroughGateway(t *testing.T) {
	wasm := hosttest.Guest(t, "plugins/builtin")
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "backend xff="+strings.Join(r.Header.Values("X-Forwarded-For"), "|"))
	}))
	defer backend.Close()
	ctx := context.Background()
	e, err := engine.New(ctx, engine.Options{CacheDir: t.TempDir(), Services: &engine.Services{}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	step := func(p, cfg string) gateway.Step { return gateway.Step{Policy: p, Config: []byte(cfg)} }
	api := func(name, cfg string) gateway.API {
		return gateway.API{Name: name, PathPrefix: "/" + name, Backend: backend.URL, Policies: gateway.Policy{Inbound: []gateway.Step{step("ip-filter", cfg)}}}
	}
	cfg := &gateway.Config{APIs: []gateway.API{
		api("xff", `{"action":"allow","addresses":["203.0.113.7"],"trusted_proxies":["10.0.0.0/8"]}`),
		api("azure", `{"action":"allow","addresses":["203.0.113.7"],"trusted_proxies":["10.0.0.0/8"],"forwarded_header":"X-Azure-ClientIP"}`),
		api("chain", `{"action":"forbid","addresses":["198.51.100.9"],"trusted_proxies":["10.0.0.0/8","2001:db8:ff::/48"],"forwarded_header":"X-Original-For"}`),
	}}
	g, err := gateway.New(gateway.Options{Engine: e, Source: gateway.NewStaticSource(cfg, ""), Builtin: wasm, BuiltinVersion: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if err := g.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, peer string
		header           http.Header
		status           int
		body             string // prefix, when status is 200
	}{
		// The default header never reaches the policy: the edge strips it.
		{"xff: trusted proxy, listed client", "/xff/x", "10.0.0.2:4000", http.Header{"X-Forwarded-For": {"203.0.113.7"}}, 403, ""},
		{"xff: underscore variant is stripped too", "/xff/x", "10.0.0.2:4000", http.Header{"X_forwarded_for": {"203.0.113.7"}}, 403, ""},
		{"xff: listed client directly, spoofed header", "/xff/x", "203.0.113.7:4000", http.Header{"X-Forwarded-For": {"198.51.100.9"}}, 200, "backend xff=203.0.113.7"},
		{"xff: untrusted peer claims a listed client", "/xff/x", "198.51.100.9:4000", http.Header{"X-Forwarded-For": {"203.0.113.7"}}, 403, ""},
		// A header the gateway keeps.
		{"azure: trusted proxy, listed client", "/azure/x", "10.0.0.2:4000", http.Header{"X-Azure-Clientip": {"203.0.113.7"}}, 200, "backend xff=10.0.0.2"},
		{"azure: trusted proxy, other client", "/azure/x", "10.0.0.2:4000", http.Header{"X-Azure-Clientip": {"198.51.100.9"}}, 403, ""},
		{"azure: trusted proxy, no header", "/azure/x", "10.0.0.2:4000", nil, 403, ""},
		{"azure: trusted proxy, malformed", "/azure/x", "10.0.0.2:4000", http.Header{"X-Azure-Clientip": {"unknown"}}, 403, ""},
		{"azure: spoof from an untrusted peer", "/azure/x", "198.51.100.9:4000", http.Header{"X-Azure-Clientip": {"203.0.113.7"}}, 403, ""},
		{"chain: forbidden client behind two proxies", "/chain/x", "10.0.0.2:4000", http.Header{"X-Original-For": {"198.51.100.9, 10.0.0.3"}}, 403, ""},
		{"chain: forbidden client prepends an address", "/chain/x", "10.0.0.2:4000", http.Header{"X-Original-For": {"203.0.113.7, 198.51.100.9"}}, 403, ""},
		{"chain: other client over two lines", "/chain/x", "10.0.0.2:4000", http.Header{"X-Original-For": {"198.51.100.9", "203.0.113.7:5100, 10.0.0.3"}}, 200, "backend"},
		{"chain: IPv6 proxy", "/chain/x", "[2001:db8:ff::1]:4000", http.Header{"X-Original-For": {"[2001:db8::7]:443"}}, 200, "backend"},
		{"chain: forbidden client directly", "/chain/x", "198.51.100.9:4000", http.Header{"X-Original-For": {"203.0.113.7"}}, 403, ""},
	} {
		req := httptest.NewRequest("GET", "http://gw.example"+tc.path, nil)
		req.RemoteAddr = tc.peer
		for k, v := range tc.header {
			req.Header[k] = v
		}
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, req)
		body := rec.Body.String()
		if rec.Code != tc.status || tc.status == 200 && !strings.HasPrefix(body, tc.body) ||
			tc.status == 403 && body != `{"statusCode":403,"message":"Forbidden"}` {
			t.Errorf("%s: %d %q, want %d %q", tc.name, rec.Code, body, tc.status, tc.body)
		}
	}
}
