package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
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

// TestMoreThroughGateway runs find-and-replace, json-to-xml, xml-to-json,
// mock-response, cache-lookup-value, cache-store-value and
// rate-limit-by-key as the gateway runs them: the built .wasm, the real
// stores and JWT verifier, real HTTP over loopback.
func TestMoreThroughGateway(t *testing.T) {
	wasm := hosttest.Guest(t, "plugins/builtin")
	var hits atomic.Int64
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		b, _ := io.ReadAll(r.Body)
		switch {
		case strings.HasSuffix(r.URL.Path, "/json"):
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"pet":{"id":7,"tags":["a","b"]},"self":"http://in:8080/pets/7"}`)
		case strings.HasSuffix(r.URL.Path, "/xml"):
			w.Header().Set("Content-Type", "application/xml")
			io.WriteString(w, `<?xml version="1.0"?><pet id="7"><tag>a</tag><tag>b</tag></pet>`)
		case strings.HasSuffix(r.URL.Path, "/fail"):
			w.WriteHeader(500)
		default:
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, "got "+r.Header.Get("Content-Type")+" "+string(b)+" see http://in:8080/")
		}
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
	in := func(s ...gateway.Step) gateway.Policy { return gateway.Policy{Inbound: s} }
	cfg := &gateway.Config{APIs: []gateway.API{
		{Name: "fr", PathPrefix: "/fr", Backend: backend.URL, Policies: gateway.Policy{
			Inbound:  []gateway.Step{step("find-and-replace", `{"from":"secret","to":"[redacted]"}`)},
			Outbound: []gateway.Step{step("find-and-replace", `{"from":"http://in:8080","to":"https://api.example.com","phase":"response"}`)},
		}},
		{Name: "conv", PathPrefix: "/conv", Backend: backend.URL, Operations: []gateway.Operation{
			{ID: "j", Method: "GET", Template: "/json", Policies: gateway.Policy{Outbound: []gateway.Step{
				step("json-to-xml", `{"apply":"content-type-json","phase":"response"}`)}}},
			{ID: "x", Method: "GET", Template: "/xml", Policies: gateway.Policy{Outbound: []gateway.Step{
				step("xml-to-json", `{"kind":"javascript-friendly","apply":"content-type-xml","phase":"response"}`)}}},
			{ID: "in-x", Method: "POST", Template: "/to-json", Policies: in(
				step("xml-to-json", `{"kind":"direct","apply":"always","consider_accept_header":false}`))},
			{ID: "in-j", Method: "POST", Template: "/to-xml", Policies: in(
				step("json-to-xml", `{"apply":"always","consider_accept_header":false}`))},
		}},
		{Name: "mock", PathPrefix: "/mock", Backend: backend.URL, Policies: in(
			step("mock-response", `{"status_code":201,"example":"{\"id\":1}"}`))},
		{Name: "cv", PathPrefix: "/cv", Backend: backend.URL, Operations: []gateway.Operation{
			{ID: "put", Method: "PUT", Template: "/v/{id}", Policies: in(
				step("cache-store-value", `{"key":"k-{path.id}","value":"{header.X-V}","duration":60}`),
				step("return-response", `{"status":204}`))},
			{ID: "get", Method: "GET", Template: "/v/{id}", Policies: in(
				step("cache-lookup-value", `{"key":"k-{path.id}","variable_name":"val","default_value":"none"}`),
				step("return-response", `{"body":"{var.val}"}`))},
			{ID: "del", Method: "DELETE", Template: "/v/{id}", Policies: in(
				step("cache-remove-value", `{"key":"k-{path.id}"}`),
				step("return-response", `{"status":204}`))},
		}},
		{Name: "rl", PathPrefix: "/rl", Backend: backend.URL, Policies: in(
			step("validate-jwt", `{"algorithms":["HS256"],"issuers":["iss"],"audiences":["aud"],"hmac_secret":"`+jwtSecret+`","output_token_variable_name":"jwt-claims"}`),
			step("rate-limit-by-key", `{"calls":2,"renewal_period":60,"counter_key":"claim:sub","remaining_calls_header":"X-RateLimit-Remaining"}`))},
		{Name: "rlc", PathPrefix: "/rlc", Backend: backend.URL, Policies: in(
			step("rate-limit-by-key", `{"calls":1,"renewal_period":60,"counter_key":"header:X-K","increment_condition":["2xx"]}`))},
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
	do := func(method, path, body string, h map[string]string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
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
	check := func(what string, resp *http.Response, body string, status int, want string) {
		t.Helper()
		if resp.StatusCode != status || !strings.Contains(body, want) {
			t.Errorf("%s: %d %q; want %d %q", what, resp.StatusCode, body, status, want)
		}
	}

	// find-and-replace, both directions.
	resp, body := do("POST", "/fr/x", "my secret is secret", map[string]string{"Content-Type": "text/plain"})
	check("find-and-replace", resp, body, 200, "got text/plain my [redacted] is [redacted] see https://api.example.com/")

	// json-to-xml on the response, chosen by Accept.
	resp, body = do("GET", "/conv/json", "", map[string]string{"Accept": "application/xml"})
	check("json-to-xml", resp, body, 200, `<?xml version="1.0" encoding="utf-8"?><Document><pet><id>7</id><tags>a</tags><tags>b</tags></pet><self>http://in:8080/pets/7</self></Document>`)
	if ct := resp.Header.Get("Content-Type"); ct != "application/xml" {
		t.Errorf("json-to-xml Content-Type %q", ct)
	}
	resp, body = do("GET", "/conv/json", "", map[string]string{"Accept": "application/json"})
	check("json-to-xml, JSON asked for", resp, body, 200, `{"pet":{"id":7`)

	// xml-to-json on the response.
	resp, body = do("GET", "/conv/xml", "", map[string]string{"Accept": "application/json"})
	check("xml-to-json", resp, body, 200, `{"pet":{"@id":"7","tag":["a","b"]}}`)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("xml-to-json Content-Type %q", ct)
	}
	// Request bodies: converted, or 400 for malformed and entity bombs.
	resp, body = do("POST", "/conv/to-json", `<?xml version="1.0"?><a x="1">t</a>`, nil)
	check("xml-to-json request", resp, body, 200, `got application/json {"?xml":{"@version":"1.0"},"a":{"@x":"1","#text":"t"}}`)
	laughs := `<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">` +
		`<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]><l>&d;</l>`
	before := hits.Load()
	resp, body = do("POST", "/conv/to-json", laughs, nil)
	check("billion laughs", resp, body, 400, `"statusCode":400`)
	resp, body = do("POST", "/conv/to-xml", `{"a":`, nil)
	check("malformed JSON", resp, body, 400, "not valid JSON")
	if hits.Load() != before {
		t.Error("malformed bodies reached the backend")
	}
	resp, body = do("POST", "/conv/to-xml", `{"a b":[1,2]}`, nil)
	check("json-to-xml request", resp, body, 200, `got application/xml <?xml version="1.0" encoding="utf-8"?><Document><a_x0020_b>1</a_x0020_b><a_x0020_b>2</a_x0020_b></Document>`)

	// mock-response: the backend is skipped.
	before = hits.Load()
	resp, body = do("GET", "/mock/anything", "", nil)
	check("mock-response", resp, body, 201, `{"id":1}`)
	if resp.Header.Get("Content-Type") != "application/json" || hits.Load() != before {
		t.Errorf("mock-response: %q, backend hits +%d", resp.Header.Get("Content-Type"), hits.Load()-before)
	}

	// cache-store-value then cache-lookup-value.
	resp, body = do("GET", "/cv/v/1", "", nil)
	check("lookup miss", resp, body, 200, "none")
	resp, _ = do("PUT", "/cv/v/1", "", map[string]string{"X-V": "hello"})
	if resp.StatusCode != 204 {
		t.Errorf("store: %d", resp.StatusCode)
	}
	resp, body = do("GET", "/cv/v/1", "", nil)
	check("lookup hit", resp, body, 200, "hello")
	resp, body = do("GET", "/cv/v/2", "", nil)
	check("other key", resp, body, 200, "none")
	// cache-remove-value.
	do("PUT", "/cv/v/2", "", map[string]string{"X-V": "two"})
	if resp, _ = do("DELETE", "/cv/v/1", "", nil); resp.StatusCode != 204 {
		t.Errorf("remove: %d", resp.StatusCode)
	}
	resp, body = do("GET", "/cv/v/1", "", nil)
	check("removed", resp, body, 200, "none")
	resp, body = do("GET", "/cv/v/2", "", nil)
	check("another key kept", resp, body, 200, "two")
	if resp, _ = do("DELETE", "/cv/v/1", "", nil); resp.StatusCode != 204 {
		t.Errorf("remove again: %d", resp.StatusCode)
	}

	// rate-limit-by-key on a JWT claim from validate-jwt.
	token := func(sub string) string {
		s, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": "iss", "aud": "aud", "sub": sub, "exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte(jwtSecret))
		return "Bearer " + s
	}
	for i, want := range []string{"1", "0"} {
		resp, body = do("GET", "/rl/x", "", map[string]string{"Authorization": token("alice")})
		if resp.StatusCode != 200 || resp.Header.Get("X-RateLimit-Remaining") != want {
			t.Errorf("alice %d: %d remaining %q %s", i, resp.StatusCode, resp.Header.Get("X-RateLimit-Remaining"), body)
		}
	}
	resp, body = do("GET", "/rl/x", "", map[string]string{"Authorization": token("alice")})
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "Rate limit is exceeded") {
		t.Errorf("alice over the limit: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	if resp, _ = do("GET", "/rl/x", "", map[string]string{"Authorization": token("bob")}); resp.StatusCode != 200 {
		t.Errorf("bob: %d", resp.StatusCode)
	}
	// increment_condition: failures are not counted.
	for range 3 {
		if resp, _ = do("GET", "/rlc/fail", "", map[string]string{"X-K": "k"}); resp.StatusCode != 500 {
			t.Errorf("failing call: %d", resp.StatusCode)
		}
	}
	if resp, _ = do("GET", "/rlc/ok", "", map[string]string{"X-K": "k"}); resp.StatusCode != 200 {
		t.Errorf("first success: %d", resp.StatusCode)
	}
	if resp, _ = do("GET", "/rlc/ok", "", map[string]string{"X-K": "k"}); resp.StatusCode != 429 {
		t.Errorf("second success: %d", resp.StatusCode)
	}
}

// BenchmarkMorePolicies prices one request-phase guest call of each policy
// of this file in the real module (trusted runtime), with a ~2.5 KB body
// where the policy reads one. Compare with BenchmarkMorePolicies/baseline
// (set-header) for the policy's own cost.
func BenchmarkMorePolicies(b *testing.B) {
	ctx := context.Background()
	svc := &engine.Services{Counters: counter.New(counter.Options{}), Cache: vcache.New(1000, 1<<20)}
	e, err := engine.New(ctx, engine.Options{CacheDir: b.TempDir(), Services: svc})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close(ctx)
	m, err := e.Load(ctx, "builtin", "1", hosttest.Guest(b, "plugins/builtin"), engine.LoadOptions{Min: 1, Max: 1, Trusted: true})
	if err != nil {
		b.Fatal(err)
	}
	jsonBody := `{"pets":[` + strings.Repeat(`{"id":1,"name":"Rex","tags":["a","b"]},`, 60) + `{"id":2}]}`
	xmlBody := `<pets>` + strings.Repeat(`<pet id="1"><name>Rex</name><tag>a</tag><tag>b</tag></pet>`, 45) + `</pets>`
	textBody := strings.Repeat(`{"self":"http://in:8080/a"},`, 90)
	svc.Cache.Set("gatehouse-value:k-1", []byte("cached"), time.Minute, time.Now())
	for _, c := range []struct{ name, policy, cfg, body string }{
		{"baseline", "set-header", `{"name":"X-Bench","value":"1"}`, ""},
		{"find-and-replace/no-match", "find-and-replace", `{"from":"nope","to":"x"}`, textBody},
		{"find-and-replace/90-matches", "find-and-replace", `{"from":"http://in:8080","to":"https://api.example.com"}`, textBody},
		{"json-to-xml", "json-to-xml", `{"apply":"always","consider_accept_header":false}`, jsonBody},
		{"xml-to-json", "xml-to-json", `{"kind":"javascript-friendly","apply":"always","consider_accept_header":false}`, xmlBody},
		{"mock-response", "mock-response", `{"example":"{\"id\":1}"}`, ""},
		{"cache-lookup-value/hit", "cache-lookup-value", `{"key":"k-{path.id}","variable_name":"v"}`, ""},
		{"cache-store-value", "cache-store-value", `{"key":"k-{path.id}","value":"{header.X-Bench}","duration":60}`, ""},
		{"rate-limit-by-key/header", "rate-limit-by-key", `{"calls":1000000000,"renewal_period":60,"counter_key":"header:X-Bench"}`, ""},
	} {
		p, err := m.NewPlan(m.Attach(c.policy, []byte(c.cfg)))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				ex := &engine.Exchange{Method: "POST", Path: "/pets/1", RequestID: "r1", API: "pets",
					ReqHeader: http.Header{"X-Bench": {"v"}}, RespHeader: http.Header{}, Status: 200,
					Params:  []engine.Param{{Name: "id", Value: "1"}},
					ReqBody: engine.Body{Src: strings.NewReader(c.body), Limit: 1 << 20}}
				ex.ReqBody.Load([]byte(c.body)) // the gateway receives it before the call
				if _, err := m.Call(ex, engine.PhaseRequest, p, engine.CallOptions{Deadline: time.Second}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestBodyPoliciesMemoryBounded runs the converters thousands of times in
// one instance under half the default memory limit: a Go guest's memory
// never shrinks, and without the collections of body.Collect a module
// converting bodies steadily creeps up to the limit (and the host kills the
// instance, failing the call).
func TestBodyPoliciesMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	ctx := context.Background()
	e, err := engine.New(ctx, engine.Options{CacheDir: t.TempDir(), Services: &engine.Services{}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	m, err := e.Load(ctx, "builtin", "1", hosttest.Guest(t, "plugins/builtin"), engine.LoadOptions{Min: 1, Max: 1, Trusted: true})
	if err != nil {
		t.Fatal(err)
	}
	xmlBody := `<pets>` + strings.Repeat(`<pet id="1"><name>Rex</name><tag>a</tag><tag>b</tag></pet>`, 45) + `</pets>`
	jsonBody := `{"pets":[` + strings.Repeat(`{"id":1,"name":"Rex","tags":["a","b"]},`, 60) + `{"id":2}]}`
	for _, c := range []struct{ policy, cfg, body string }{
		{"xml-to-json", `{"kind":"javascript-friendly","apply":"always","consider_accept_header":false}`, xmlBody},
		{"json-to-xml", `{"apply":"always","consider_accept_header":false}`, jsonBody},
		{"find-and-replace", `{"from":"Rex","to":"Rexford"}`, jsonBody},
	} {
		p, err := m.NewPlan(m.Attach(c.policy, []byte(c.cfg)))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2000; i++ {
			ex := &engine.Exchange{Method: "POST", Path: "/p", RequestID: "r", API: "a", ReqHeader: http.Header{}, RespHeader: http.Header{},
				ReqBody: engine.Body{Src: strings.NewReader(c.body), Limit: 1 << 20}}
			ex.ReqBody.Load([]byte(c.body)) // the gateway receives it before the call
			if _, err := m.Call(ex, engine.PhaseRequest, p, engine.CallOptions{Deadline: 5 * time.Second, MaxPages: 128}); err != nil {
				t.Fatalf("%s call %d: %v", c.policy, i, err)
			}
		}
	}
}
