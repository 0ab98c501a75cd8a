package adminapi

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gorilla/mux"
)

// samples are path variable values that satisfy the routes' patterns.
var samples = map[string]string{
	"scope": "api", "section": "inbound", "index": "0", "slot": "primary", "action": "approve",
}

// walkRoutes calls fn with every method and concrete path of the router.
func walkRoutes(t *testing.T, fn func(method, tpl, path string)) {
	t.Helper()
	n := 0
	err := (&server{}).router().Walk(func(rt *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		methods, err := rt.GetMethods()
		if err != nil {
			return nil // the prefix route
		}
		tpl, err := rt.GetPathTemplate()
		if err != nil {
			return err
		}
		names, err := rt.GetVarNames()
		if err != nil {
			return err
		}
		var pairs []string
		for _, v := range names {
			val, ok := samples[v]
			if !ok {
				val = "x1"
			}
			pairs = append(pairs, v, val)
		}
		u, err := rt.URLPath(pairs...)
		if err != nil {
			t.Fatalf("%s: %v", tpl, err)
		}
		for _, m := range methods {
			n++
			fn(m, tpl, u.Path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 60 {
		t.Fatalf("walked only %d routes", n)
	}
}

// TestAuthEveryRoute sends every route and method without a token and
// with wrong ones: all must answer 401. New routes are covered
// automatically since the list comes from the router itself.
func TestAuthEveryRoute(t *testing.T) {
	e := newEnv(t)
	before := e.version()
	bad := []string{"", "Bearer ", "Bearer wrong", "Basic " + testToken, testToken, "Bearer " + testToken + "x", "Bearer " + strings.ToUpper(testToken)}
	walkRoutes(t, func(method, tpl, path string) {
		for _, auth := range bad {
			r := e.doAuth(method, strings.TrimPrefix(path, Prefix), "{}", auth, "application/json")
			if r.status != http.StatusUnauthorized {
				t.Errorf("%s %s with Authorization %q: status %d, want 401", method, tpl, auth, r.status)
				continue
			}
			if got := r.header.Get("WWW-Authenticate"); got != `Bearer realm="gatehouse-admin"` {
				t.Errorf("%s %s: WWW-Authenticate %q", method, tpl, got)
			}
			if b := r.err(t); b.Error.Code != "unauthorized" {
				t.Errorf("%s %s: code %q", method, tpl, b.Error.Code)
			}
		}
	})
	// Unknown routes and methods need the token too.
	for _, c := range []struct{ method, path string }{{"GET", "/nope"}, {"PATCH", "/apis"}, {"GET", "/../admin/v1/apis"}, {"DELETE", "/version"}} {
		if r := e.doAuth(c.method, c.path, nil, "", ""); r.status != 401 {
			t.Errorf("%s %s without token: %d", c.method, c.path, r.status)
		}
	}
	if e.version() != before {
		t.Fatal("unauthenticated requests changed the catalog")
	}
}

func TestNotFoundAndMethodNotAllowed(t *testing.T) {
	e := newEnv(t)
	r := e.do("GET", "/nope", nil)
	if r.status != 404 || r.err(t).Error.Code != "not_found" {
		t.Fatalf("unknown route: %d %s", r.status, r.body)
	}
	r = e.do("PATCH", "/apis", nil)
	if r.status != 405 || r.err(t).Error.Code != "method_not_allowed" {
		t.Fatalf("wrong method: %d %s", r.status, r.body)
	}
	r = e.do("GET", "/policies/global/inbound", nil)
	if r.status != 405 {
		t.Fatalf("GET on an attach route: %d %s", r.status, r.body)
	}
}

func TestRoutesListsEveryRoute(t *testing.T) {
	got := map[Route]bool{}
	for _, r := range Routes() {
		got[r] = true
	}
	walkRoutes(t, func(method, tpl, _ string) {
		if !got[Route{method, tpl}] {
			t.Errorf("Routes() misses %s %s", method, tpl)
		}
	})
}
