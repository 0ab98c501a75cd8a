package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/host/counter"
	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/gateway"
	"github.com/gatehouse/gatehouse/host/hosttest"
	"github.com/gatehouse/gatehouse/host/vcache"
	"github.com/gatehouse/gatehouse/plugins/internal/httpcache"
)

// The response cache's rules (RFC 9111 as a shared cache, APIM's options on
// top) through the real gateway: the built .wasm in wazero, real HTTP over
// loopback, a controllable clock (engine.Services.Now) so that time passes
// without sleeping. Each case is a sequence of requests on its own URL; a
// step says what the origin answers, what the client must get, whether the
// origin was called, and what the host counted (the request log's record).

// clock is the controllable clock of the host and the origin.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// origin is what the backend answers for a step: status (0: 200) and
// headers; Date is the clock's unless set; the body says which call it is.
type origin struct {
	status int
	header map[string]string
	before func() // runs in the origin before it answers
}

// recorder keeps the host's records (gateway.Observer).
type recorder struct{ ch chan gateway.CallRecord }

func (r recorder) Observe(rec *gateway.CallRecord) { r.ch <- *rec }

type cacheEnv struct {
	t      *testing.T
	srv    *httptest.Server
	clk    *clock
	rec    recorder
	mu     sync.Mutex
	next   map[string]origin      // path → what the origin answers
	calls  map[string]int         // path → origin calls
	saw    map[string]http.Header // path → the last request headers the origin saw
	cache  *vcache.Cache
	leases *vcache.Leases
}

func newCacheEnv(t *testing.T) *cacheEnv {
	env := &cacheEnv{t: t, clk: &clock{now: time.Now().Truncate(time.Second)}, rec: recorder{make(chan gateway.CallRecord, 64)},
		next: map[string]origin{}, calls: map[string]int{}, saw: map[string]http.Header{}}
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		env.mu.Lock()
		o := env.next[r.URL.Path]
		env.calls[r.URL.Path]++
		n := env.calls[r.URL.Path]
		env.saw[r.URL.Path] = r.Header.Clone()
		env.mu.Unlock()
		if o.before != nil {
			o.before()
		}
		w.Header().Set("Date", httpcache.FormatDate(env.clk.Now()))
		w.Header().Set("Content-Type", "text/plain")
		for k, v := range o.header {
			w.Header()[http.CanonicalHeaderKey(k)] = strings.Split(v, "\n")
		}
		st := o.status
		if st == 0 {
			st = 200
		}
		w.WriteHeader(st)
		if st != 304 && r.Method != "HEAD" {
			fmt.Fprintf(w, "v%d", n)
		}
	}))
	t.Cleanup(backend.Close)

	ctx := context.Background()
	env.cache, env.leases = vcache.New(1000, 8<<20), vcache.NewLeases(0)
	svc := &engine.Services{Counters: counter.New(counter.Options{}), Cache: env.cache, Leases: env.leases, Now: env.clk.Now}
	e, err := engine.New(ctx, engine.Options{CacheDir: t.TempDir(), Services: svc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(ctx) })
	step := func(p, cfg string) gateway.Step { return gateway.Step{Policy: p, Config: []byte(cfg)} }
	api := func(name, lookup, store string) gateway.API {
		return gateway.API{Name: name, PathPrefix: "/" + name, Backend: backend.URL, Policies: gateway.Policy{
			Inbound:  []gateway.Step{step("cache-lookup", lookup)},
			Outbound: []gateway.Step{step("cache-store", store)},
		}}
	}
	cfg := &gateway.Config{APIs: []gateway.API{
		api("c", `{}`, `{"duration":600}`),
		api("fixed", `{}`, `{"duration":60,"mode":"fixed"}`),
		api("fixedany", `{}`, `{"duration":60,"mode":"fixed","cache_response":true}`),
		api("apim", `{"vary_by_query_parameters":["page"],"vary_by_headers":["X-Tenant"],"downstream_caching_type":"public"}`, `{"duration":300}`),
		api("dpriv", `{"downstream_caching_type":"private","must_revalidate":false}`, `{"duration":300}`),
		api("dnone", `{"downstream_caching_type":"none"}`, `{"duration":300}`),
		api("authok", `{"allow_private_response_caching":true}`, `{"duration":300}`),
		api("anystatus", `{}`, `{"duration":300,"cache_response":true}`),
	}}
	g, err := gateway.New(gateway.Options{Engine: e, Source: gateway.NewStaticSource(cfg, ""), Builtin: hosttest.Guest(t, "plugins/builtin"), BuiltinVersion: "test", Observer: env.rec})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	svc.Subscriptions = g
	if err := g.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	env.srv = httptest.NewServer(g)
	t.Cleanup(env.srv.Close)
	return env
}

// step is one request of a case.
type step struct {
	wait   time.Duration     // the clock moves on this much first
	method string            // default GET
	path   string            // default: the case's path
	host   string            // Host header ("" = the server's)
	header map[string]string // request headers
	origin *origin           // what the origin answers from now on (nil: as before)

	status  int               // the client's status (0: 200)
	backend bool              // the origin was called
	cache   string            // the host's cache status ("" = none reported)
	body    string            // "" = not checked; "-" = empty
	age     string            // the Age header: "" = not checked, "-" = absent
	headers map[string]string // response headers to check ("-" = absent)
	saw     map[string]string // request headers the origin saw ("-" = absent)
}

func (env *cacheEnv) run(t *testing.T, path string, steps []step) {
	t.Helper()
	for i, s := range steps {
		p := path
		if s.path != "" {
			p = s.path
		}
		if s.origin != nil {
			env.mu.Lock()
			env.next[backendPath(p)] = *s.origin
			env.mu.Unlock()
		}
		env.clk.Add(s.wait)
		env.mu.Lock()
		before := env.calls[backendPath(p)]
		env.mu.Unlock()
		m := s.method
		if m == "" {
			m = "GET"
		}
		req, _ := http.NewRequest(m, env.srv.URL+p, nil)
		if s.host != "" {
			req.Host = s.host
		}
		for k, v := range s.header {
			req.Header.Set(k, v)
		}
		resp, err := noRedirects.Do(req)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var rec gateway.CallRecord
		select {
		case rec = <-env.rec.ch:
		case <-time.After(5 * time.Second):
			t.Fatalf("step %d: no record", i)
		}
		env.mu.Lock()
		called := env.calls[backendPath(p)] > before
		saw := env.saw[backendPath(p)]
		env.mu.Unlock()
		want := s.status
		if want == 0 {
			want = 200
		}
		where := fmt.Sprintf("step %d (%s %s +%v)", i, m, p, s.wait)
		if resp.StatusCode != want {
			t.Errorf("%s: status %d, want %d (body %q)", where, resp.StatusCode, want, b)
		}
		if called != s.backend {
			t.Errorf("%s: origin called = %v, want %v", where, called, s.backend)
		}
		if rec.CacheStatus != s.cache {
			t.Errorf("%s: cache status %q, want %q", where, rec.CacheStatus, s.cache)
		}
		served := s.cache == "hit" || s.cache == "stale" || s.cache == "revalidated"
		if rec.CacheHit != served {
			t.Errorf("%s: record CacheHit = %v, want %v", where, rec.CacheHit, served)
		}
		switch {
		case s.body == "-" && len(b) != 0:
			t.Errorf("%s: body %q, want none", where, b)
		case s.body != "" && s.body != "-" && string(b) != s.body:
			t.Errorf("%s: body %q, want %q", where, b, s.body)
		}
		switch got := resp.Header.Get("Age"); {
		case s.age == "-" && got != "":
			t.Errorf("%s: Age %q, want none", where, got)
		case s.age != "" && s.age != "-" && got != s.age:
			t.Errorf("%s: Age %q, want %q", where, got, s.age)
		}
		for k, v := range s.headers {
			if got := resp.Header.Get(k); (v == "-" && got != "") || (v != "-" && got != v) {
				t.Errorf("%s: header %s = %q, want %q", where, k, got, v)
			}
		}
		if called {
			for k, v := range s.saw {
				if got := saw.Get(k); (v == "-" && got != "") || (v != "-" && got != v) {
					t.Errorf("%s: origin saw %s = %q, want %q", where, k, got, v)
				}
			}
		}
	}
}

var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// backendPath is the path the origin sees: the API prefix is not forwarded.
func backendPath(p string) string {
	p, _, _ = strings.Cut(p, "?")
	if i := strings.Index(p[1:], "/"); i >= 0 {
		return p[i+1:]
	}
	return "/"
}

func o(status int, kv ...string) *origin {
	h := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		h[kv[i]] = kv[i+1]
	}
	return &origin{status: status, header: h}
}

func hdr(kv ...string) map[string]string {
	h := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		h[kv[i]] = kv[i+1]
	}
	return h
}

const (
	hit   = "hit"
	miss  = "miss"
	stale = "stale"
	reval = "revalidated"
	byp   = "bypass"
)

func TestHTTPCacheRules(t *testing.T) {
	env := newCacheEnv(t)
	ago := func(d time.Duration) string { return httpcache.FormatDate(env.clk.Now().Add(-d)) }
	later := func(d time.Duration) string { return httpcache.FormatDate(env.clk.Now().Add(d)) }
	_ = later
	cases := []struct {
		name  string
		path  string
		steps func() []step
	}{
		{"max-age: fresh, Age grows, then stale without validator", "/c/maxage", func() []step {
			return []step{
				{origin: o(200, "Cache-Control", "max-age=60"), backend: true, cache: miss, body: "v1", age: "-", headers: hdr("X-Cache", "MISS")},
				{cache: hit, body: "v1", age: "0", headers: hdr("X-Cache", "HIT", "Cache-Control", "max-age=60")},
				{wait: 30 * time.Second, cache: hit, body: "v1", age: "30"},
				{wait: 31 * time.Second, backend: true, cache: miss, body: "v2"},
				{cache: hit, body: "v2", age: "0"},
			}
		}},
		{"s-maxage over max-age", "/c/smaxage", func() []step {
			return []step{
				{origin: o(200, "Cache-Control", "max-age=10, s-maxage=100"), backend: true, cache: miss},
				{wait: 50 * time.Second, cache: hit, age: "50"},
				{wait: 51 * time.Second, backend: true, cache: miss},
			}
		}},
		{"Expires minus Date", "/c/expires", func() []step {
			return []step{
				{origin: &origin{header: map[string]string{"Expires": httpcache.FormatDate(env.clk.Now().Add(40 * time.Second))}}, backend: true, cache: miss},
				{wait: 30 * time.Second, cache: hit, age: "30"},
				{wait: 11 * time.Second, backend: true, cache: miss},
			}
		}},
		{"invalid Expires is already expired", "/c/badexpires", func() []step {
			return []step{
				{origin: o(200, "Expires", "0"), backend: true, cache: miss},
				{backend: true, cache: miss},
			}
		}},
		{"Age from upstream counts", "/c/upage", func() []step {
			return []step{
				{origin: o(200, "Cache-Control", "max-age=60", "Age", "50"), backend: true, cache: miss},
				{cache: hit, age: "50"},
				{wait: 11 * time.Second, backend: true, cache: miss},
			}
		}},
		{"max-age=0 without validator: not stored", "/c/maxage0", func() []step {
			return []step{
				{origin: o(200, "Cache-Control", "max-age=0"), backend: true, cache: miss},
				{backend: true, cache: miss},
			}
		}},
		{"no freshness, no validator: not stored", "/c/nothing", func() []step {
			return []step{
				{origin: o(200), backend: true, cache: miss},
				{backend: true, cache: miss},
			}
		}},
		{"heuristic: 10% of Last-Modified age, then revalidated", "/c/heuristic", func() []step {
			lm := ago(1000 * time.Second)
			return []step{
				{origin: o(200, "Last-Modified", lm), backend: true, cache: miss},
				{wait: 90 * time.Second, cache: hit, age: "90"},
				{wait: 20 * time.Second, origin: o(304), backend: true, cache: reval, body: "v1", saw: hdr("If-Modified-Since", lm)},
			}
		}},
		{"no heuristic for a 302", "/c/heur302", func() []step {
			return []step{
				{origin: o(302, "Last-Modified", ago(1000*time.Second), "Location", "/elsewhere"), status: 302, backend: true, cache: miss},
				{status: 302, backend: true, cache: miss},
			}
		}},
		{"heuristic for a 404", "/c/heur404", func() []step {
			return []step{
				{origin: o(404, "Last-Modified", ago(1000*time.Second)), status: 404, backend: true, cache: miss},
				{status: 404, cache: hit},
			}
		}},
		{"no-store response", "/c/nostore", func() []step {
			return []step{
				{origin: o(200, "Cache-Control", "max-age=60, no-store"), backend: true, cache: miss},
				{backend: true, cache: miss},
			}
		}},
		{"private response", "/c/private", func() []step {
			return []step{
				{origin: o(200, "Cache-Control", "private, max-age=60"), backend: true, cache: miss},
				{backend: true, cache: miss},
			}
		}},
		{"no-cache response: revalidated every time", "/c/nocache", func() []step {
			return []step{
				{origin: o(200, "Cache-Control", "no-cache", "ETag", `"e1"`), backend: true, cache: miss, body: "v1"},
				{origin: o(304, "ETag", `"e1"`), backend: true, cache: reval, body: "v1", saw: hdr("If-None-Match", `"e1"`), headers: hdr("X-Cache", "REVALIDATED")},
				{backend: true, cache: reval, body: "v1"},
			}
		}},
		{"must-revalidate: never served stale", "/c/mustreval", func() []step {
			return []step{
				{origin: o(200, "Cache-Control", "max-age=10, must-revalidate"), backend: true, cache: miss},
				{wait: 20 * time.Second, header: hdr("Cache-Control", "max-stale=60"), backend: true, cache: miss},
			}
		}},
		{"proxy-revalidate: never served stale", "/c/proxyreval", func() []step {
			return []step{
				{origin: o(200, "Cache-Control", "max-age=10, proxy-revalidate"), backend: true, cache: miss},
				{wait: 20 * time.Second, header: hdr("Cache-Control", "max-stale"), backend: true, cache: miss},
			}
		}},
		{"request max-stale", "/c/maxstale", func() []step {
			return []step{
				// (an entry without a validator or stale-* directive is
				// dropped when it goes stale: nothing else could use it)
				{origin: o(200, "Cache-Control", "max-age=10", "ETag", `"ms"`), backend: true, cache: miss, body: "v1"},
				{wait: 20 * time.Second, header: hdr("Cache-Control", "max-stale=30"), cache: stale, body: "v1", age: "20", headers: hdr("X-Cache", "STALE")},
				{header: hdr("Cache-Control", "max-stale=5"), backend: true, cache: miss, body: "v2", saw: hdr("If-None-Match", `"ms"`)},
			}
		}},
		{"request max-age", "/c/reqmaxage", func() []step {
			return []step{
				{origin: o(200, "Cache-Control", "max-age=100"), backend: true, cache: miss},
				{wait: 50 * time.Second, header: hdr("Cache-Control", "max-age=60"), cache: hit},
				{header: hdr("Cache-Control", "max-age=30"), backend: true, cache: miss},
			}
		}},
		{"request min-fresh", "/c/minfresh", func() []step {
			return []step{
				{origin: o(200, "Cache-Control", "max-age=100"), backend: true, cache: miss},
				{wait: 50 * time.Second, header: hdr("Cache-Control", "min-fresh=40"), cache: hit},
				{header: hdr("Cache-Control", "min-fresh=60"), backend: true, cache: miss},
			}
		}},
		{"request no-cache revalidates", "/c/reqnocache", func() []step {
			return []step{
				{origin: o(200, "Cache-Control", "max-age=100", "ETag", `"a"`), backend: true, cache: miss, body: "v1"},
				{origin: o(304, "ETag", `"a"`), header: hdr("Cache-Control", "no-cache"), backend: true, cache: reval, body: "v1", saw: hdr("If-None-Match", `"a"`)},
				{header: hdr("Pragma", "no-cache"), backend: true, cache: reval, body: "v1"},
				{cache: hit, body: "v1"},
			}
		}},
		{"request no-store: not stored", "/c/reqnostore", func() []step {
			return []step{
				{origin: o(200, "Cache-Control", "max-age=100"), header: hdr("Cache-Control", "no-store"), backend: true, cache: miss},
				{backend: true, cache: miss},
				{header: hdr("Cache-Control", "no-store"), cache: hit},
			}
		}},
		{"only-if-cached", "/c/onlyifcached", func() []step {
			return []step{
				{origin: o(200, "Cache-Control", "max-age=100"), header: hdr("Cache-Control", "only-if-cached"), status: 504, cache: miss},
				{backend: true, cache: miss},
				{header: hdr("Cache-Control", "only-if-cached"), cache: hit},
			}
		}},
		{"Vary: match and mismatch", "/c/vary", func() []step {
			return []step{
				{origin: o(200, "Cache-Control", "max-age=100", "Vary", "Accept-Language"), header: hdr("Accept-Language", "en"), backend: true, cache: miss, body: "v1"},
				{header: hdr("Accept-Language", "en"), cache: hit, body: "v1"},
				{header: hdr("Accept-Language", "fr"), backend: true, cache: miss, body: "v2"},
				{header: hdr("Accept-Language", "fr"), cache: hit, body: "v2"},
				{header: hdr("Accept-Language", "en"), cache: hit, body: "v1"},
				{backend: true, cache: miss, body: "v3"},
				{cache: hit, body: "v3"},
			}
		}},
		{"Vary: * never reused", "/c/varystar", func() []step {
			return []step{
				{origin: o(200, "Cache-Control", "max-age=100", "Vary", "*"), backend: true, cache: miss},
				{backend: true, cache: miss},
			}
		}},
		{"304 revalidation of a stale entry", "/c/reval", func() []step {
			return []step{
				{origin: o(200, "Cache-Control", "max-age=10", "ETag", `"x1"`, "X-Old", "1"), backend: true, cache: miss, body: "v1"},
				{wait: 20 * time.Second, origin: o(304, "Cache-Control", "max-age=30", "ETag", `"x1"`, "X-Old", "2"), backend: true, cache: reval, body: "v1",
					saw: hdr("If-None-Match", `"x1"`), headers: hdr("X-Old", "2", "Cache-Control", "max-age=30", "Content-Type", "text/plain"), age: "0"},
				{wait: 20 * time.Second, cache: hit, body: "v1", age: "20", headers: hdr("X-Old", "2")},
				{wait: 20 * time.Second, origin: o(200, "Cache-Control", "max-age=30", "ETag", `"x2"`), backend: true, cache: miss, body: "v3"},
				{cache: hit, body: "v3"},
			}
		}},
		{"304 to a client from a fresh entry", "/c/cond", func() []step {
			lm := ago(time.Hour)
			return []step{
				{origin: o(200, "Cache-Control", "max-age=100", "ETag", `"c1"`, "Last-Modified", lm), backend: true, cache: miss},
				{header: hdr("If-None-Match", `"c1"`), status: 304, cache: hit, body: "-", headers: hdr("Etag", `"c1"`)},
				{header: hdr("If-None-Match", `W/"c1", "zz"`), status: 304, cache: hit, body: "-"},
				{header: hdr("If-None-Match", `"other"`), cache: hit, body: "v1"},
				{header: hdr("If-Modified-Since", lm), status: 304, cache: hit},
				{header: hdr("If-Modified-Since", ago(2*time.Hour)), cache: hit, body: "v1"},
			}
		}},
		{"client's conditional through a revalidation", "/c/condreval", func() []step {
			return []step{
				{origin: o(200, "Cache-Control", "max-age=10", "ETag", `"r1"`), backend: true, cache: miss},
				{wait: 20 * time.Second, origin: o(304, "ETag", `"r1"`), header: hdr("If-None-Match", `"r1"`), status: 304, backend: true, cache: reval, body: "-"},
			}
		}},
		{"stale-if-error", "/c/sie", func() []step {
			return []step{
				{origin: o(200, "Cache-Control", "max-age=10, stale-if-error=60"), backend: true, cache: miss, body: "v1"},
				{wait: 20 * time.Second, origin: o(503), backend: true, cache: stale, body: "v1", headers: hdr("X-Cache", "STALE")},
				{wait: 60 * time.Second, status: 503, backend: true, cache: miss},
			}
		}},
		{"Authorization: not stored unless the response allows it", "/c/auth", func() []step {
			a := hdr("Authorization", "Bearer x")
			return []step{
				{origin: o(200, "Cache-Control", "max-age=100"), header: a, backend: true, cache: miss},
				{header: a, backend: true, cache: miss},
				{origin: o(200, "Cache-Control", "public, max-age=100"), header: a, backend: true, cache: miss, body: "v3"},
				{header: a, cache: hit, body: "v3"},
			}
		}},
		{"Authorization with s-maxage", "/c/authsmax", func() []step {
			a := hdr("Authorization", "Bearer x")
			return []step{
				{origin: o(200, "Cache-Control", "s-maxage=100"), header: a, backend: true, cache: miss},
				{header: a, cache: hit},
			}
		}},
		{"allow_private_response_caching", "/authok/ao", func() []step {
			a := hdr("Authorization", "Bearer x")
			return []step{
				{origin: o(200, "Cache-Control", "max-age=100"), header: a, backend: true, cache: miss},
				{header: a, cache: hit},
			}
		}},
		{"Set-Cookie: not stored", "/c/cookie", func() []step {
			return []step{
				{origin: o(200, "Cache-Control", "max-age=100", "Set-Cookie", "a=b"), backend: true, cache: miss},
				{backend: true, cache: miss},
			}
		}},
		{`private="Set-Cookie": stored without it`, "/c/cookiestrip", func() []step {
			return []step{
				{origin: o(200, "Cache-Control", `max-age=100, private="Set-Cookie"`, "Set-Cookie", "a=b"), backend: true, cache: miss, headers: hdr("Set-Cookie", "a=b")},
				{cache: hit, headers: hdr("Set-Cookie", "-")},
			}
		}},
		{`no-cache="X-Secret": stored without it`, "/c/nocachefield", func() []step {
			return []step{
				{origin: o(200, "Cache-Control", `max-age=100, no-cache="X-Secret"`, "X-Secret", "s"), backend: true, cache: miss},
				{cache: hit, headers: hdr("X-Secret", "-")},
			}
		}},
		{"duration is the upper bound", "/c/bound", func() []step {
			return []step{
				{origin: o(200, "Cache-Control", "max-age=100000"), backend: true, cache: miss},
				{wait: 599 * time.Second, cache: hit},
				{wait: 2 * time.Second, backend: true, cache: miss},
			}
		}},
		{"HEAD from a GET entry", "/c/head", func() []step {
			return []step{
				{method: "HEAD", origin: o(200, "Cache-Control", "max-age=100"), backend: true, cache: miss},
				{backend: true, cache: miss, body: "v2"},
				{method: "HEAD", cache: hit, body: "-"},
			}
		}},
		{"the host the API is served under is in the key", "/c/host", func() []step {
			return []step{
				{origin: o(200, "Cache-Control", "max-age=100"), host: "a.example", backend: true, cache: miss, body: "v1"},
				{host: "A.EXAMPLE", cache: hit, body: "v1"},
				{host: "b.example", backend: true, cache: miss, body: "v2"},
			}
		}},
		{"a backend's X-Cache: HIT is not a gateway hit", "/c/fakehit", func() []step {
			return []step{
				{origin: o(200, "X-Cache", "HIT"), backend: true, cache: miss, headers: hdr("X-Cache", "HIT")},
			}
		}},
		{"POST and OPTIONS bypass", "/c/bypass", func() []step {
			return []step{
				{method: "OPTIONS", origin: o(200, "Cache-Control", "max-age=100"), backend: true, cache: byp},
			}
		}},
		// APIM modes.
		{"fixed mode overrides the origin", "/fixed/fx", func() []step {
			return []step{
				{origin: o(200, "Cache-Control", "max-age=0"), backend: true, cache: miss, body: "v1"},
				{wait: 59 * time.Second, cache: hit, body: "v1", age: "59"},
				{header: hdr("Cache-Control", "no-cache"), cache: hit, body: "v1"},
				{wait: 2 * time.Second, backend: true, cache: miss, body: "v2"},
			}
		}},
		{"fixed mode stores only 200", "/fixed/f404", func() []step {
			return []step{
				{origin: o(404), status: 404, backend: true, cache: miss},
				{status: 404, backend: true, cache: miss},
			}
		}},
		{"fixed mode still refuses no-store", "/fixed/fnostore", func() []step {
			return []step{
				{origin: o(200, "Cache-Control", "no-store"), backend: true, cache: miss},
				{backend: true, cache: miss},
			}
		}},
		{"fixed mode with cache_response stores any status", "/fixedany/fa", func() []step {
			return []step{
				{origin: o(500), status: 500, backend: true, cache: miss},
				{status: 500, cache: hit},
			}
		}},
		{"cache_response with explicit freshness", "/anystatus/as", func() []step {
			return []step{
				{origin: o(403, "Cache-Control", "max-age=100"), status: 403, backend: true, cache: miss},
				{status: 403, cache: hit},
			}
		}},
		{"vary_by_query_parameters and vary_by_headers; downstream public", "/apim/list?page=1&x=1", func() []step {
			return []step{
				{origin: o(200, "Cache-Control", "max-age=100"), backend: true, cache: miss, body: "v1", headers: hdr("Cache-Control", "public, max-age=100, must-revalidate")},
				{path: "/apim/list?x=2&page=1", wait: 10 * time.Second, cache: hit, body: "v1", headers: hdr("Cache-Control", "public, max-age=90, must-revalidate")},
				{path: "/apim/list?page=2", backend: true, cache: miss, body: "v2"},
				{header: hdr("X-Tenant", "t2"), backend: true, cache: miss, body: "v3"},
				{header: hdr("X-Tenant", "t2"), cache: hit, body: "v3"},
			}
		}},
		{"downstream private without must-revalidate", "/dpriv/dp", func() []step {
			return []step{
				{origin: o(200, "Cache-Control", "max-age=100"), backend: true, cache: miss, headers: hdr("Cache-Control", "private, max-age=100")},
				{origin: o(200, "Cache-Control", "no-store"), path: "/dpriv/dp2", backend: true, cache: miss, headers: hdr("Cache-Control", "no-store")},
			}
		}},
		{"downstream none", "/dnone/dn", func() []step {
			return []step{
				{origin: o(200, "Cache-Control", "max-age=100"), backend: true, cache: miss, headers: hdr("Cache-Control", "no-store")},
				{cache: hit, headers: hdr("Cache-Control", "no-store")},
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { env.run(t, tc.path, tc.steps()) })
	}
}

// TestHTTPCacheInvalidation: a non-error response to an unsafe method
// invalidates the URL (every variant), and its Location and
// Content-Location of the same origin.
func TestHTTPCacheInvalidation(t *testing.T) {
	env := newCacheEnv(t)
	fresh := o(200, "Cache-Control", "max-age=100", "Vary", "Accept")
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH"} {
		t.Run(m, func(t *testing.T) {
			p := "/c/inval-" + m
			env.run(t, p, []step{
				{origin: fresh, backend: true, cache: miss, body: "v1"},
				{header: hdr("Accept", "a/b"), backend: true, cache: miss, body: "v2"},
				{cache: hit, body: "v1"},
				{method: m, origin: o(500), status: 500, backend: true, cache: byp},
				{cache: hit, body: "v1"},
				{method: m, origin: o(204), status: 204, backend: true, cache: byp},
				// (a response asked for in the invalidation's millisecond
				// is not stored: the clock moves on first)
				{wait: time.Second, origin: fresh, backend: true, cache: miss, body: "v5"},
				{header: hdr("Accept", "a/b"), backend: true, cache: miss, body: "v6"},
				{cache: hit, body: "v5"},
			})
		})
	}
	t.Run("Location and Content-Location", func(t *testing.T) {
		for _, p := range []string{"/c/target-loc", "/c/target-cl", "/c/target-other"} {
			env.run(t, p, []step{{origin: o(200, "Cache-Control", "max-age=100"), backend: true, cache: miss}, {cache: hit}})
		}
		env.run(t, "/c/src", []step{
			{method: "POST", origin: o(201, "Location", "target-loc", "Content-Location", "/c/target-cl"), status: 201, backend: true, cache: byp},
			{method: "POST", origin: o(201, "Location", "http://elsewhere.example/c/target-other"), status: 201, backend: true, cache: byp},
		})
		env.run(t, "/c/target-loc", []step{{backend: true, cache: miss}})
		env.run(t, "/c/target-cl", []step{{backend: true, cache: miss}})
		env.run(t, "/c/target-other", []step{{cache: hit}})
	})
}

// TestHTTPCacheStaleWhileRevalidate: within the entry's
// stale-while-revalidate window, a request that finds another request
// revalidating the entry (its fill lease held) gets the stale entry at
// once; without a revalidation under way it revalidates itself.
func TestHTTPCacheStaleWhileRevalidate(t *testing.T) {
	env := newCacheEnv(t)
	env.run(t, "/c/swr", []step{
		{origin: o(200, "Cache-Control", "max-age=10, stale-while-revalidate=60", "ETag", `"s1"`), backend: true, cache: miss, body: "v1"},
	})
	var key string
	for _, k := range env.cache.Keys() {
		if strings.Contains(k, "/swr\x00v") {
			key = k
		}
	}
	if key == "" {
		t.Fatalf("no variant stored: %q", env.cache.Keys())
	}
	env.clk.Add(20 * time.Second)
	l, ok := env.leases.Acquire(key, env.clk.Now()) // another request is revalidating
	if !ok {
		t.Fatal("lease busy")
	}
	env.run(t, "/c/swr", []step{{cache: stale, body: "v1", age: "20", headers: hdr("X-Cache", "STALE")}})
	env.leases.Release(l)
	env.run(t, "/c/swr", []step{
		{origin: o(304, "Cache-Control", "max-age=10, stale-while-revalidate=60", "ETag", `"s1"`), backend: true, cache: reval, body: "v1", saw: hdr("If-None-Match", `"s1"`)},
		{cache: hit, body: "v1", age: "0"},
		// Past the window: revalidated even when another request is at it
		// (it waits for that one instead: here nobody holds the lease).
		{wait: 80 * time.Second, backend: true, cache: reval, body: "v1"},
	})
}

// TestHTTPCacheEntryGoneDuringRevalidation: the stored entry is purged
// while its revalidation is at the origin, which answers 304: a client that
// did not send a conditional gets a 502 (never a 304 it did not ask for),
// one that did gets the 304.
func TestHTTPCacheEntryGoneDuringRevalidation(t *testing.T) {
	env := newCacheEnv(t)
	purge := func() {
		if n, err := (vcache.Purger{C: env.cache}).PurgeURL(env.srv.URL + "/c/gone"); err != nil || n == 0 {
			t.Errorf("purge: %d %v", n, err)
		}
	}
	env.run(t, "/c/gone", []step{
		{origin: o(200, "Cache-Control", "max-age=10", "ETag", `"g"`), backend: true, cache: miss, body: "v1"},
		{wait: 20 * time.Second, origin: &origin{status: 304, header: map[string]string{"ETag": `"g"`}, before: purge}, status: 502, backend: true, cache: miss},
		{origin: o(200, "Cache-Control", "max-age=10", "ETag", `"g"`), backend: true, cache: miss, body: "v3"},
		{wait: 20 * time.Second, header: hdr("If-None-Match", `"g"`), origin: &origin{status: 304, header: map[string]string{"ETag": `"g"`}, before: purge}, status: 304, backend: true, cache: miss},
	})
}
