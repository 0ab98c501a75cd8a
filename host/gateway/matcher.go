package gateway

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/gorilla/mux"
)

// apiRouter is one API's routes, tried in order with gorilla/mux's rules.
// A route whose template is literal segments and whole-segment variables
// with the default pattern ("/items/{id}") is matched segment by segment
// here: gorilla/mux compiles two regular expressions per such route, and
// at 50,000 operations compiling them was most of a snapshot build. Any
// other template (a variable with a pattern, a variable inside a segment)
// is a gorilla/mux route, as before. The equivalence tests and
// FuzzRouteIndex hold both kinds to the single-router oracle.
type apiRouter struct {
	routes []apiRoute
	// mux owns the fallback routes (never matched as a whole); made with
	// the first one: most APIs have none, and an empty gorilla/mux router
	// per API was 3.5 MB of live heap at 10,000 APIs.
	mux *mux.Router
}

type apiRoute struct {
	h *route
	// fallback is the gorilla/mux route of a template matched by regexp;
	// nil for a segment route.
	fallback *mux.Route
	// nvars counts the template's variables. A segment route keeps no
	// split form of its template: tmpl is read segment by segment at
	// match time (a segment is a variable iff it starts with "{"), as
	// two string slices per route were a tenth of the live heap at
	// 50,000 operations.
	nvars     int
	method    string // upper case; anyMethod: "*"
	anyMethod bool
	// prefix: the route matches tmpl (a prefix ending in "/") followed by
	// anything (the PathPrefix catch-all of an API without operations).
	prefix bool
	tmpl   string // the full template (prefix+template)
}

// newAPIRouter returns a router with room for n routes.
func newAPIRouter(n int) *apiRouter { return &apiRouter{routes: make([]apiRoute, 0, n)} }

// fallbacks returns the gorilla/mux router of the fallback routes.
func (ar *apiRouter) fallbacks() *mux.Router {
	if ar.mux == nil {
		ar.mux = mux.NewRouter()
	}
	return ar.mux
}

// simpleTemplate counts the variables of tpl when every "/"-separated
// segment is a literal without braces or exactly one variable "{name}"
// (no pattern); ok is false otherwise, and for templates gorilla/mux's
// regexp could read differently from a byte comparison (invalid UTF-8,
// U+FFFD).
func simpleTemplate(tpl string) (n int, ok bool) {
	if !utf8.ValidString(tpl) || strings.ContainsRune(tpl, utf8.RuneError) || !strings.HasPrefix(tpl, "/") {
		return 0, false
	}
	for s := range strings.SplitSeq(tpl, "/") {
		if !strings.ContainsAny(s, "{}") {
			continue
		}
		if len(s) < 3 || s[0] != '{' || s[len(s)-1] != '}' {
			return 0, false
		}
		if strings.ContainsAny(s[1:len(s)-1], "{}:") {
			return 0, false
		}
		n++
	}
	return n, true
}

// add appends a route for tpl (prefix+template) with method ("*" for
// any); a template that is not simple becomes a gorilla/mux route.
func (ar *apiRouter) add(tpl, method string, h *route) error {
	m := strings.ToUpper(method)
	if n, ok := simpleTemplate(tpl); ok {
		ar.routes = append(ar.routes, apiRoute{h: h, nvars: n, method: m, anyMethod: m == "*", tmpl: tpl})
		return nil
	}
	mr := ar.fallbacks().NewRoute().Path(tpl).Handler(h)
	if m != "*" {
		mr.Methods(m)
	}
	if err := mr.GetError(); err != nil {
		return err
	}
	ar.routes = append(ar.routes, apiRoute{h: h, fallback: mr, method: m, tmpl: tpl})
	return nil
}

// addCatchAll routes everything under prefix (no trailing slash; "" is
// the root) to h: the path equal to prefix and every path under prefix+"/".
func (ar *apiRouter) addCatchAll(prefix string, h *route) {
	if strings.ContainsAny(prefix, "{}") || !utf8.ValidString(prefix) || strings.ContainsRune(prefix, utf8.RuneError) {
		if prefix == "" {
			ar.routes = append(ar.routes, apiRoute{h: h, fallback: ar.fallbacks().NewRoute().PathPrefix("/").Handler(h), tmpl: "/"})
			return
		}
		ar.routes = append(ar.routes, apiRoute{h: h, fallback: ar.fallbacks().NewRoute().Path(prefix).Handler(h), tmpl: prefix},
			apiRoute{h: h, fallback: ar.fallbacks().NewRoute().PathPrefix(prefix + "/").Handler(h), tmpl: prefix + "/"})
		return
	}
	if prefix != "" {
		ar.routes = append(ar.routes, apiRoute{h: h, tmpl: prefix, anyMethod: true})
	}
	ar.routes = append(ar.routes, apiRoute{h: h, prefix: true, anyMethod: true, tmpl: prefix + "/"})
}

// matchPath reports whether path matches a segment route: as many
// segments as the template, each equal to the template's literal one or,
// for a variable, not empty.
func (rt *apiRoute) matchPath(path string) bool {
	if rt.prefix {
		return strings.HasPrefix(path, rt.tmpl)
	}
	t, p := rt.tmpl, path
	for {
		ti, pi := strings.IndexByte(t, '/'), strings.IndexByte(p, '/')
		ts, ps := t, p
		if ti < 0 {
			if pi >= 0 {
				return false // the template's last segment: no "/" after it
			}
		} else {
			if pi < 0 {
				return false
			}
			ts, ps = t[:ti], p[:pi]
		}
		if isVar(ts) {
			if ps == "" {
				return false
			}
		} else if ts != ps {
			return false
		}
		if ti < 0 {
			return true
		}
		t, p = t[ti+1:], p[pi+1:]
	}
}

// isVar reports whether a segment of a simple template is a variable.
func isVar(seg string) bool { return len(seg) > 0 && seg[0] == '{' }

// varsOf returns the variables of a path matchPath accepted.
func (rt *apiRoute) varsOf(path string) map[string]string {
	if rt.nvars == 0 {
		return nil // (an empty map would be one allocation per request)
	}
	out := make(map[string]string, rt.nvars)
	t, p := rt.tmpl, path
	for {
		ti, pi := strings.IndexByte(t, '/'), strings.IndexByte(p, '/')
		ts, ps := t, p
		if ti >= 0 {
			ts, ps = t[:ti], p[:pi]
		}
		if isVar(ts) {
			out[ts[1:len(ts)-1]] = ps
		}
		if ti < 0 {
			return out
		}
		t, p = t[ti+1:], p[pi+1:]
	}
}

// Match finds the first route matching r as gorilla/mux.Router.Match does:
// true with m.Handler and m.Vars; false with m.MatchErr
// mux.ErrMethodMismatch when a route matched the path but not the method,
// mux.ErrNotFound otherwise.
func (ar *apiRouter) Match(r *http.Request, m *mux.RouteMatch) bool {
	path := r.URL.Path
	for i := range ar.routes {
		rt := &ar.routes[i]
		if rt.fallback != nil {
			if rt.fallback.Match(r, m) {
				return true
			}
			continue
		}
		if !rt.matchPath(path) {
			continue
		}
		if !rt.anyMethod && rt.method != r.Method {
			m.MatchErr = mux.ErrMethodMismatch
			continue
		}
		m.MatchErr = nil
		m.Handler = rt.h
		m.Vars = rt.varsOf(path)
		return true
	}
	if m.MatchErr != mux.ErrMethodMismatch {
		m.MatchErr = mux.ErrNotFound
	}
	return false
}
