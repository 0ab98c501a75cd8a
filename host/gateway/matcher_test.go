package gateway

import (
	"errors"
	"maps"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/mux"
)

// FuzzAPIRouter: for any template (admin input) and request path, an
// apiRouter of two routes — the template with one method, then a catch-all
// under /z with any — agrees with gorilla/mux on match, variables and 405.
func FuzzAPIRouter(f *testing.F) {
	for _, s := range [][3]string{
		{"/items/{id}", "/items/42", "GET"},
		{"/items/{id}/", "/items/42/", "POST"},
		{"/a/{x}/b/{y}", "/a/1/b/", "GET"},
		{"/{a}/{a}", "/1/2", "GET"},
		{"/items/{id:[0-9]+}", "/items/x", "GET"},
		{"/items/{id}.json", "/items/a.b.json", "GET"},
		{"/x//{y}", "/x//\xff", "GET"},
		{"/\uFFFD/{y}", "/\xff/1", "GET"},
		{"/", "/", "get"},
		{"/{rest:.*}", "/a/b/c", "DELETE"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, tpl, path, method string) {
		if !strings.HasPrefix(path, "/") || !strings.HasPrefix(tpl, "/") {
			return
		}
		ref := mux.NewRouter()
		mr := ref.NewRoute().Path(tpl).Handler(&route{opID: "t"})
		if strings.ToUpper(method) != "*" {
			mr.Methods(strings.ToUpper(method))
		}
		if mr.GetError() != nil {
			return // the build refuses such a template
		}
		ar := newAPIRouter(0)
		if err := ar.add(tpl, method, &route{opID: "t"}); err != nil {
			t.Fatalf("template %q: mux accepts it, apiRouter: %v", tpl, err)
		}
		ref.NewRoute().PathPrefix("/z/").Handler(&route{opID: "z"})
		ar.addCatchAll("/z", &route{opID: "z"})
		ref.NewRoute().Path("/z").Handler(&route{opID: "z"})
		for _, m := range []string{"GET", "POST", method} {
			req := httptest.NewRequest("GET", "http://gw/", nil)
			req.Method, req.URL.Path, req.URL.RawPath = m, path, ""
			var om, nm mux.RouteMatch
			ook, nok := ref.Match(req, &om), ar.Match(req, &nm)
			if ook != nok || (!ook && errors.Is(om.MatchErr, mux.ErrMethodMismatch) != errors.Is(nm.MatchErr, mux.ErrMethodMismatch)) {
				t.Fatalf("%q %s %q: mux %v (%v), apiRouter %v (%v)", tpl, m, path, ook, om.MatchErr, nok, nm.MatchErr)
			}
			if ook && (om.Handler.(*route).opID != nm.Handler.(*route).opID || !maps.Equal(om.Vars, nm.Vars)) {
				t.Fatalf("%q %s %q: mux %s %v, apiRouter %s %v", tpl, m, path, om.Handler.(*route).opID, om.Vars, nm.Handler.(*route).opID, nm.Vars)
			}
		}
	})
}
