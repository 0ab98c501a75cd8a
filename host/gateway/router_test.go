package gateway

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/gorilla/mux"

	"github.com/gatehouse/gatehouse/host/engine"
)

// oracleRoute names what the old single router matched.
type oracleRoute struct {
	api, op  string
	catchAll bool
}

func (oracleRoute) ServeHTTP(http.ResponseWriter, *http.Request) {}

// oldRouter builds the oracle of TestRouteIndexMatchesSingleRouter: the
// router the gateway used before routeIndex (every route of every API in
// one gorilla/mux router, tried in order) with the APIs ordered longest
// prefix first, configuration order among equal prefixes — the rule the
// index implements.
func oldRouter(t testing.TB, cfg *Config) *mux.Router {
	r := mux.NewRouter()
	apis := slices.Clone(cfg.APIs)
	sort.SliceStable(apis, func(i, j int) bool {
		return len(strings.TrimSuffix(apis[i].PathPrefix, "/")) > len(strings.TrimSuffix(apis[j].PathPrefix, "/"))
	})
	for _, a := range apis {
		prefix := strings.TrimSuffix(a.PathPrefix, "/")
		for _, o := range a.Operations {
			mr := r.NewRoute().Path(prefix + o.Template).Handler(&oracleRoute{api: a.Name, op: o.ID})
			if m := strings.ToUpper(o.Method); m != "*" {
				mr.Methods(m)
			}
			if err := mr.GetError(); err != nil {
				t.Fatal(err)
			}
		}
		if len(a.Operations) == 0 {
			rt := &oracleRoute{api: a.Name, catchAll: true}
			if prefix == "" {
				r.NewRoute().PathPrefix("/").Handler(rt)
			} else {
				r.NewRoute().Path(prefix).Handler(rt)
				r.NewRoute().PathPrefix(prefix + "/").Handler(rt)
			}
		}
	}
	return r
}

// oldPreflight is the old linear preflight lookup: APIs with operations,
// longest prefix first.
func oldPreflight(cfg *Config, path string) string {
	var ps []API
	for _, a := range cfg.APIs {
		if len(a.Operations) > 0 {
			ps = append(ps, a)
		}
	}
	sort.Slice(ps, func(i, j int) bool {
		return len(strings.TrimSuffix(ps[i].PathPrefix, "/")) > len(strings.TrimSuffix(ps[j].PathPrefix, "/"))
	})
	for _, a := range ps {
		p := strings.TrimSuffix(a.PathPrefix, "/")
		if path == p || strings.HasPrefix(path, p+"/") || p == "" {
			return a.Name
		}
	}
	return ""
}

var (
	genPrefixes  = []string{"/", "/a", "/a/", "/a/b", "/ab", "/a/b/c", "/a/bc", "/b", "/items", "/v1/orders", "/v1", "/a/b/c/d/e"}
	genTemplates = []string{"/", "/items", "/items/", "/items/{id}", "/items/{id:[0-9]+}", "/{p}/x", "/b", "/b/{q}",
		"/{rest:.*}", "/c", "/c/d", "/b/c", "/orders/{id}/lines/{line}"}
	genMethods  = []string{"GET", "POST", "PUT", "DELETE", "*", "get"}
	genSuffixes = []string{"", "/", "/items", "/items/", "/items/12", "/items/abc", "/b", "/b/", "/b/z", "/zz/x", "/b/c", "/b/c/d",
		"/c", "/c/d", "/c/d/e", "/orders/7/lines/2", "/orders/7/lines/", "/x", "c", "b", "/a/b"}
	genReqMethods = []string{"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"}
)

// genCatalog is a random catalog over overlapping prefixes, with APIs in a
// random order, some without operations.
func genCatalog(rng *rand.Rand, extra int) *Config {
	cfg := &Config{}
	prefixes := rng.Perm(len(genPrefixes))
	used := map[string]bool{}
	add := func(name, prefix string) {
		if used[strings.TrimSuffix(prefix, "/")] {
			return
		}
		used[strings.TrimSuffix(prefix, "/")] = true
		a := API{Name: name, PathPrefix: prefix, Backend: "http://127.0.0.1:1", AllowPrivateBackend: true}
		if rng.Intn(4) > 0 {
			for j, n := 0, 1+rng.Intn(5); j < n; j++ {
				a.Operations = append(a.Operations, Operation{ID: fmt.Sprintf("op%d", j),
					Method: genMethods[rng.Intn(len(genMethods))], Template: genTemplates[rng.Intn(len(genTemplates))]})
			}
		}
		cfg.APIs = append(cfg.APIs, a)
	}
	for _, i := range prefixes[:4+rng.Intn(len(prefixes)-4)] {
		add(fmt.Sprintf("api%d", i), genPrefixes[i])
	}
	for i := 0; i < extra; i++ {
		add(fmt.Sprintf("gen%d", i), fmt.Sprintf("/gen%d", i))
	}
	rng.Shuffle(len(cfg.APIs), func(i, j int) { cfg.APIs[i], cfg.APIs[j] = cfg.APIs[j], cfg.APIs[i] })
	return cfg
}

func buildTestSnapshot(t testing.TB, cfg *Config) (*snapshot, func()) {
	t.Helper()
	ctx := context.Background()
	e, err := engine.New(ctx, engine.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(Options{Engine: e, Source: NewStaticSource(cfg, "")})
	if err != nil {
		t.Fatal(err)
	}
	s, err := g.build(ctx, cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	return s, func() { s.release(); g.Close(); e.Close(ctx) }
}

// TestRouteIndexMatchesSingleRouter checks the snapshot's route index
// against the old single router on random catalogs: the same route (API,
// operation or catch-all), the same parameters, the same 404/405, and the
// same preflight route, for every path × method tried.
func TestRouteIndexMatchesSingleRouter(t *testing.T) {
	rng := rand.New(rand.NewSource(15))
	checked, matched, notAllowed := 0, 0, 0
	for round := 0; round < 40; round++ {
		cfg := genCatalog(rng, rng.Intn(3))
		old := oldRouter(t, cfg)
		s, done := buildTestSnapshot(t, cfg)
		var paths []string
		for _, p := range append(genPrefixes, "", "/abc", "/a/b/cd", "/unknown", "/gen1", "/gen10") {
			for _, suf := range genSuffixes {
				paths = append(paths, strings.TrimSuffix(p, "/")+suf)
			}
		}
		for _, path := range paths {
			if path == "" || path[0] != '/' {
				continue
			}
			for _, m := range genReqMethods {
				req := httptest.NewRequest(m, "http://gw"+path, nil)
				var om, nm mux.RouteMatch
				ook := old.Match(req, &om)
				nok := s.routes.match(req, &nm)
				desc := fmt.Sprintf("round %d: %s %s", round, m, path)
				if ook != nok {
					t.Fatalf("%s: old matched=%v (%v), new matched=%v (%v)", desc, ook, om.MatchErr, nok, nm.MatchErr)
				}
				checked++
				if !ook {
					if errors.Is(om.MatchErr, mux.ErrMethodMismatch) != errors.Is(nm.MatchErr, mux.ErrMethodMismatch) {
						t.Fatalf("%s: old err %v, new err %v", desc, om.MatchErr, nm.MatchErr)
					}
					if errors.Is(om.MatchErr, mux.ErrMethodMismatch) {
						notAllowed++
					}
					if want, got := oldPreflight(cfg, path), s.preflightRoute(path); (got == nil) != (want == "") || (got != nil && got.api.cfg.Name != want) {
						t.Fatalf("%s: preflight old %q, new %+v", desc, want, got)
					}
					continue
				}
				matched++
				o := om.Handler.(*oracleRoute)
				n := nm.Handler.(*route)
				if o.api != n.api.cfg.Name || o.op != n.opID || o.catchAll != n.catchAll {
					t.Fatalf("%s: old %+v, new api %s op %q catchAll %v", desc, *o, n.api.cfg.Name, n.opID, n.catchAll)
				}
				if !maps.Equal(om.Vars, nm.Vars) {
					t.Fatalf("%s: old vars %v, new %v", desc, om.Vars, nm.Vars)
				}
			}
		}
		done()
	}
	t.Logf("%d requests checked: %d matched, %d method not allowed", checked, matched, notAllowed)
	if matched == 0 || notAllowed == 0 || matched == checked {
		t.Fatalf("generated catalog exercises too little: %d matched, %d 405 of %d", matched, notAllowed, checked)
	}
}

// scaleCatalog is n APIs of 5 operations each under distinct prefixes.
func scaleCatalog(n int) *Config {
	cfg := &Config{}
	for i := 0; i < n; i++ {
		a := API{Name: fmt.Sprintf("api%d", i), PathPrefix: fmt.Sprintf("/svc%d/v1", i), Backend: "http://127.0.0.1:1", AllowPrivateBackend: true}
		for j, tm := range []string{"/items", "/items/{id}", "/items/{id}/tags", "/orders", "/orders/{id}"} {
			a.Operations = append(a.Operations, Operation{ID: fmt.Sprintf("op%d", j), Method: []string{"GET", "GET", "GET", "POST", "DELETE"}[j], Template: tm})
		}
		cfg.APIs = append(cfg.APIs, a)
	}
	return cfg
}

// BenchmarkRouteMatch is the cost of finding a route among n APIs × 5
// operations, for a request to the last API (the old router's worst case),
// with the route index and with the old single router.
func BenchmarkRouteMatch(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		cfg := scaleCatalog(n)
		path := fmt.Sprintf("/svc%d/v1/items/42", n-1)
		b.Run(fmt.Sprintf("index/apis=%d", n), func(b *testing.B) {
			s, done := buildTestSnapshot(b, cfg)
			defer done()
			req := httptest.NewRequest("GET", "http://gw"+path, nil)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				var m mux.RouteMatch
				if !s.routes.match(req, &m) {
					b.Fatal("no match")
				}
			}
		})
		b.Run(fmt.Sprintf("single-mux/apis=%d", n), func(b *testing.B) {
			r := oldRouter(b, cfg)
			req := httptest.NewRequest("GET", "http://gw"+path, nil)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				var m mux.RouteMatch
				if !r.Match(req, &m) {
					b.Fatal("no match")
				}
			}
		})
	}
}

// FuzzRouteIndex: for any request path (untrusted), the route index and the
// old single router agree on a fixed catalog with overlapping prefixes.
func FuzzRouteIndex(f *testing.F) {
	cfg := genCatalog(rand.New(rand.NewSource(7)), 2)
	// Add a deep prefix and a root API so long and short paths both have
	// candidates.
	cfg.APIs = append(cfg.APIs, API{Name: "deep", PathPrefix: "/d/e/e/p/er", Backend: "http://127.0.0.1:1", AllowPrivateBackend: true,
		Operations: []Operation{{ID: "x", Method: "GET", Template: "/{rest:.*}"}}})
	old := oldRouter(f, cfg)
	s, done := buildTestSnapshot(f, cfg)
	f.Cleanup(done)
	for _, seed := range []string{"/", "/a/b/c", "/ab/items/1", "/a//b", "/d/e/e/p/er/x/y", "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s", "/items/", "/%2F", "/gen1/items/9"} {
		f.Add(uint8(0), seed)
	}
	f.Fuzz(func(t *testing.T, mi uint8, path string) {
		if len(path) == 0 || path[0] != '/' || strings.ContainsAny(path, "?#") {
			return
		}
		m := genReqMethods[int(mi)%len(genReqMethods)]
		req := httptest.NewRequest(m, "http://gw/", nil)
		req.URL.Path, req.URL.RawPath = path, ""
		var om, nm mux.RouteMatch
		ook, nok := old.Match(req, &om), s.routes.match(req, &nm)
		if ook != nok || (!ook && errors.Is(om.MatchErr, mux.ErrMethodMismatch) != errors.Is(nm.MatchErr, mux.ErrMethodMismatch)) {
			t.Fatalf("%s %q: old %v (%v), new %v (%v)", m, path, ook, om.MatchErr, nok, nm.MatchErr)
		}
		if ook {
			o, n := om.Handler.(*oracleRoute), nm.Handler.(*route)
			if o.api != n.api.cfg.Name || o.op != n.opID || o.catchAll != n.catchAll || !maps.Equal(om.Vars, nm.Vars) {
				t.Fatalf("%s %q: old %+v %v, new %s/%s %v", m, path, *o, om.Vars, n.api.cfg.Name, n.opID, nm.Vars)
			}
		}
		if want, got := oldPreflight(cfg, path), s.preflightRoute(path); (got == nil) != (want == "") || (got != nil && got.api.cfg.Name != want) {
			t.Fatalf("preflight %q: old %q, new %v", path, want, got)
		}
	})
}

// TestRouteIndexDeepPrefixes: prefixes deeper than the index's inline
// candidate buffer (17) still match, longest prefix first.
func TestRouteIndexDeepPrefixes(t *testing.T) {
	seg := func(n int) string { return strings.Repeat("/s", n) }
	cfg := &Config{}
	for i, d := range []int{25, 20, 18, 17, 16, 3} {
		a := API{Name: fmt.Sprintf("d%d", d), PathPrefix: seg(d), Backend: "http://127.0.0.1:1", AllowPrivateBackend: true}
		if i%2 == 0 {
			a.Operations = []Operation{{ID: "get", Method: "GET", Template: "/{x}"}, {ID: "any", Method: "POST", Template: "/s/{rest:.*}"}}
		}
		cfg.APIs = append(cfg.APIs, a)
	}
	old := oldRouter(t, cfg)
	s, done := buildTestSnapshot(t, cfg)
	defer done()
	hits := map[string]bool{}
	for d := 1; d <= 30; d++ {
		for _, tail := range []string{"", "/", "/x", "/s/y/z"} {
			for _, m := range []string{"GET", "POST", "PUT"} {
				path := seg(d) + tail
				req := httptest.NewRequest(m, "http://gw"+path, nil)
				var om, nm mux.RouteMatch
				ook, nok := old.Match(req, &om), s.routes.match(req, &nm)
				if ook != nok || (!ook && errors.Is(om.MatchErr, mux.ErrMethodMismatch) != errors.Is(nm.MatchErr, mux.ErrMethodMismatch)) {
					t.Fatalf("%s %s: old %v (%v), new %v (%v)", m, path, ook, om.MatchErr, nok, nm.MatchErr)
				}
				if ook {
					o, n := om.Handler.(*oracleRoute), nm.Handler.(*route)
					if o.api != n.api.cfg.Name || o.op != n.opID {
						t.Fatalf("%s %s: old %+v, new %s/%s", m, path, *o, n.api.cfg.Name, n.opID)
					}
					hits[o.api] = true
				}
			}
		}
	}
	if len(hits) != len(cfg.APIs) {
		t.Fatalf("only %v of %d APIs were reached", hits, len(cfg.APIs))
	}
}

// TestRouteLongestPrefixWins: overlapping prefixes resolve longest first
// whatever the configuration order; a shorter prefix still gets what the
// longer one does not route, and a method the longer one lacks for a path it
// declares is still offered to the shorter one before 405.
func TestRouteLongestPrefixWins(t *testing.T) {
	cfg := &Config{APIs: []API{
		{Name: "root", PathPrefix: "/", Backend: "http://127.0.0.1:1", AllowPrivateBackend: true,
			Operations: []Operation{{ID: "ab", Method: "GET", Template: "/ab/items"}, {ID: "cdy", Method: "GET", Template: "/c/d/y"}}},
		{Name: "a", PathPrefix: "/a", Backend: "http://127.0.0.1:1", AllowPrivateBackend: true,
			Operations: []Operation{{ID: "any", Method: "*", Template: "/{rest:.*}"}}},
		{Name: "ab", PathPrefix: "/a/b", Backend: "http://127.0.0.1:1", AllowPrivateBackend: true,
			Operations: []Operation{{ID: "get", Method: "GET", Template: "/items"}}},
		{Name: "c", PathPrefix: "/c/d", Backend: "http://127.0.0.1:1", AllowPrivateBackend: true,
			Operations: []Operation{{ID: "get", Method: "GET", Template: "/x"}}},
	}}
	s, done := buildTestSnapshot(t, cfg)
	defer done()
	for _, c := range []struct{ method, path, api, op string }{
		{"GET", "/a/b/items", "ab", "get"},
		{"POST", "/a/b/items", "a", "any"}, // ab has the path, not the method: a's catch-all template takes it
		{"GET", "/a/b/other", "a", "any"},
		{"GET", "/a/x", "a", "any"},
		{"GET", "/ab/items", "root", "ab"},
		{"GET", "/c/d/x", "c", "get"},
		{"POST", "/c/d/x", "", "405"},
		{"GET", "/c/d/y", "root", "cdy"}, // ... while a path c does not declare falls to root
	} {
		req := httptest.NewRequest(c.method, "http://gw"+c.path, nil)
		var m mux.RouteMatch
		ok := s.routes.match(req, &m)
		if c.op == "405" {
			if ok || !errors.Is(m.MatchErr, mux.ErrMethodMismatch) {
				t.Fatalf("%s %s: matched=%v err=%v, want 405", c.method, c.path, ok, m.MatchErr)
			}
			continue
		}
		if !ok {
			t.Fatalf("%s %s: no match (%v), want %s", c.method, c.path, m.MatchErr, c.api)
		}
		if rt := m.Handler.(*route); rt.api.cfg.Name != c.api || rt.opID != c.op {
			t.Fatalf("%s %s: got %s/%s, want %s/%s", c.method, c.path, rt.api.cfg.Name, rt.opID, c.api, c.op)
		}
	}
}
