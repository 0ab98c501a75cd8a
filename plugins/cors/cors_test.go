package cors_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/plugins/cors"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

func init() { sdk.Register(cors.Name, cors.New) }

const app = "https://app.example.com"

const cfg = `{"allowed_origins":["https://App.example.com","http://localhost:3000"],"allowed_methods":["GET","put"],
	"allowed_headers":["Content-Type","X-Api-Key"],"expose_headers":["X-Request-Id","X-RateLimit-Remaining"],
	"allow_credentials":true,"preflight_result_max_age":600}`

func preflight(origin, method, headers string) sdktest.Request {
	h := http.Header{"Origin": {origin}, "Access-Control-Request-Method": {method}}
	if headers != "" {
		h.Set("Access-Control-Request-Headers", headers)
	}
	return sdktest.Request{Method: "OPTIONS", Header: h}
}

func corsHeaders(h http.Header) http.Header {
	out := http.Header{}
	for k, v := range h {
		if strings.HasPrefix(k, "Access-Control-") {
			out[k] = v
		}
	}
	return out
}

func TestPreflight(t *testing.T) {
	h := sdktest.New()
	att := sdktest.Attach(cors.Name, cfg)
	res := h.Do(preflight(app, "PUT", "content-type, X-API-KEY"), att)
	if res.Err != nil || res.Status != 200 || res.Upstream != nil || len(res.Body) != 0 {
		t.Fatalf("%d %s %v", res.Status, res.Body, res.Err)
	}
	want := http.Header{
		"Access-Control-Allow-Origin":      {app},
		"Access-Control-Allow-Methods":     {"GET, PUT"},
		"Access-Control-Allow-Headers":     {"content-type, x-api-key"},
		"Access-Control-Allow-Credentials": {"true"},
		"Access-Control-Max-Age":           {"600"},
	}
	if got := corsHeaders(res.Header); !equal(got, want) {
		t.Errorf("preflight headers = %v, want %v", got, want)
	}
	if !slices.Contains(res.Header["Vary"], "Origin") {
		t.Errorf("Vary = %v", res.Header["Vary"])
	}
	// Origins compare case-insensitively; the client's origin is echoed.
	if res := h.Do(preflight("HTTP://LOCALHOST:3000", "GET", ""), att); res.Header.Get("Access-Control-Allow-Origin") != "HTTP://LOCALHOST:3000" ||
		res.Header.Get("Access-Control-Allow-Headers") != "" {
		t.Errorf("localhost: %v", res.Header)
	}

	for name, req := range map[string]sdktest.Request{
		"other origin":  preflight("https://evil.example.com", "GET", ""),
		"origin prefix": preflight(app+".evil.com", "GET", ""),
		"method":        preflight(app, "DELETE", ""),
		"bad method":    preflight(app, "GET\x01", ""),
		"header":        preflight(app, "GET", "Content-Type, X-Other"),
		"bad header":    preflight(app, "GET", "Content-Type, X Other"),
		"empty origin":  preflight("", "GET", ""),
		"null origin":   preflight("null", "GET", ""),
	} {
		res := h.Do(req, att)
		if res.Err != nil || res.Status != 200 || res.Upstream != nil || len(corsHeaders(res.Header)) != 0 {
			t.Errorf("%s: %d %v %v", name, res.Status, res.Header, res.Err)
		}
	}
}

func TestPreflightWildcards(t *testing.T) {
	h := sdktest.New()
	att := sdktest.Attach(cors.Name, `{"allowed_origins":["*"],"allowed_methods":["*"],"allowed_headers":["*"]}`)
	res := h.Do(preflight("https://any.example", "PATCH", "X-Anything,x-more"), att)
	want := http.Header{
		"Access-Control-Allow-Origin":  {"*"},
		"Access-Control-Allow-Methods": {"PATCH"},
		"Access-Control-Allow-Headers": {"x-anything, x-more"},
	}
	if got := corsHeaders(res.Header); res.Status != 200 || !equal(got, want) {
		t.Errorf("%d %v, want %v", res.Status, got, want)
	}
	if res.Header.Get("Vary") != "" {
		t.Errorf("Vary with *: %v", res.Header)
	}
	// Client-controlled method and header names with CR/LF never reach a header.
	for _, req := range []sdktest.Request{
		preflight("https://any.example", "GET\r\nX-Injected: 1", ""),
		preflight("https://any.example", "GET", "X-A\r\nX-Injected: 1"),
		preflight("https://any.example", "GET", "X-A,\x01"),
	} {
		res := h.Do(req, att)
		if res.Err != nil || res.Status != 200 || len(corsHeaders(res.Header)) != 0 || res.Header.Get("X-Injected") != "" {
			t.Errorf("%v: %v %v", req.Header, res.Header, res.Err)
		}
	}
	// Default methods: GET and POST.
	att = sdktest.Attach(cors.Name, `{"allowed_origins":"*"}`)
	if res := h.Do(preflight("https://a.example", "POST", ""), att); res.Header.Get("Access-Control-Allow-Methods") != "GET, POST" {
		t.Errorf("default methods: %v", res.Header)
	}
	if res := h.Do(preflight("https://a.example", "PUT", ""), att); len(corsHeaders(res.Header)) != 0 {
		t.Errorf("PUT allowed by default: %v", res.Header)
	}
}

func TestActualRequest(t *testing.T) {
	h := sdktest.New()
	att := sdktest.Attach(cors.Name, cfg)
	back := sdktest.Backend(func(*sdktest.Upstream) sdktest.Response {
		return sdktest.Response{Header: http.Header{"Vary": {"Accept"}}}
	})
	res := h.Do(sdktest.Request{Method: "POST", Header: http.Header{"Origin": {app}}}, att, back)
	if res.Err != nil || res.Upstream == nil || res.Upstream.Header.Get("Origin") != app {
		t.Fatalf("%+v", res)
	}
	want := http.Header{
		"Access-Control-Allow-Origin":      {app},
		"Access-Control-Allow-Credentials": {"true"},
		"Access-Control-Expose-Headers":    {"X-Request-Id, X-RateLimit-Remaining"},
	}
	if got := corsHeaders(res.Header); !equal(got, want) || !slices.Equal(res.Header["Vary"], []string{"Accept", "Origin"}) {
		t.Errorf("headers = %v", res.Header)
	}

	// Another origin: forwarded, no CORS headers, Vary: Origin.
	res = h.Do(sdktest.Request{Header: http.Header{"Origin": {"https://evil.example.com"}}}, att)
	if res.Err != nil || res.Upstream == nil || len(corsHeaders(res.Header)) != 0 || res.Header.Get("Vary") != "Origin" {
		t.Errorf("other origin: %v %v", res.Header, res.Err)
	}
	// A client-controlled origin with CR/LF never reaches a header.
	res = h.Do(sdktest.Request{Header: http.Header{"Origin": {app + "\r\nX-Injected: 1"}}}, att)
	if res.Err != nil || len(corsHeaders(res.Header)) != 0 || res.Header.Get("X-Injected") != "" {
		t.Errorf("injected origin: %v %v", res.Header, res.Err)
	}
	// No Origin: nothing added.
	res = h.Do(sdktest.Request{}, att)
	if res.Err != nil || len(corsHeaders(res.Header)) != 0 || res.Header.Get("Vary") != "" {
		t.Errorf("no origin: %v %v", res.Header, res.Err)
	}
	// OPTIONS without Access-Control-Request-Method is an actual request.
	res = h.Do(sdktest.Request{Method: "OPTIONS", Header: http.Header{"Origin": {app}}}, att)
	if res.Upstream == nil || res.Header.Get("Access-Control-Allow-Origin") != app {
		t.Errorf("plain OPTIONS: %+v", res)
	}
	// Wildcard origin: "*", no Vary.
	res = h.Do(sdktest.Request{Header: http.Header{"Origin": {app}}}, sdktest.Attach(cors.Name, `{"allowed_origins":["*"]}`))
	if res.Header.Get("Access-Control-Allow-Origin") != "*" || res.Header.Get("Vary") != "" || res.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("wildcard: %v", res.Header)
	}
}

func TestBadConfigs(t *testing.T) {
	for _, tc := range []struct{ config, err string }{
		{`{}`, "allowed_origins is required"},
		{`{"allowed_origins":["*"],"allow_credentials":true}`, "allow_credentials cannot be true"},
		{`{"allowed_origins":["*","https://a.example"]}`, `allowed_origins: "*" cannot be combined`},
		{`{"allowed_origins":["https://a.example/path"]}`, `allowed_origins[0]: "https://a.example/path" is not an origin`},
		{`{"allowed_origins":["a.example"]}`, `allowed_origins[0]`},
		{`{"allowed_origins":["https://a.example\r\n"]}`, `allowed_origins[0]`},
		{`{"allowed_origins":["null"]}`, `allowed_origins[0]: "null"`},
		{`{"allowed_origins":["*"],"allowed_methods":["GE T"]}`, `allowed_methods[0]: "GE T" is not a method`},
		{`{"allowed_origins":["*"],"allowed_methods":["*","GET"]}`, `allowed_methods: "*" cannot be combined`},
		{`{"allowed_origins":["*"],"allowed_headers":["X A"]}`, `allowed_headers[0]: "X A"`},
		{`{"allowed_origins":["*"],"allowed_headers":["*","X-A"]}`, `allowed_headers: "*" cannot be combined`},
		{`{"allowed_origins":["*"],"expose_headers":["X-A","a\nb"]}`, `expose_headers[1]`},
		{`{"allowed_origins":["*"],"preflight_result_max_age":-1}`, "preflight_result_max_age must be 0 to 86400"},
		{`{"allowed_origins":"https://a.example"}`, `allowed_origins: want a list of origins or "*"`},
		{`{"allowed_origins":[1]}`, `allowed_origins: want a list`},
		{`{"allowed_origins":"*","allow_credentials":true}`, "allow_credentials cannot be true"},
		{`{"allowed_origins":["*"],"max_age":1}`, `unknown field "max_age"`},
	} {
		_, err := cors.New([]byte(tc.config))
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("New(%s) = %v, want %q", tc.config, err, tc.err)
		}
		res := sdktest.New().Do(sdktest.Request{}, sdktest.Attach(cors.Name, tc.config))
		if res.Err == nil || res.Upstream != nil || res.Status != 500 {
			t.Errorf("%s: chain ran: %+v", tc.config, res)
		}
	}
}

func equal(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}
