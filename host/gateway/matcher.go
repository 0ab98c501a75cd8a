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
	mux    *mux.Router // owns the fallback routes; never matched as a whole
}

type apiRoute struct {
	h *route
	// fallback is the gorilla/mux route of a template matched by regexp;
	// nil for a segment route.
	fallback *mux.Route
	// segs are the template's "/"-separated segments; vars[i] is the
	// variable name of segs[i] ("" for a literal one).
	segs, vars []string
	nvars      int
	method     string // upper case; anyMethod: "*"
	anyMethod  bool
	// prefix: the route matches segs[0] followed by "/" and anything (the
	// PathPrefix catch-all of an API without operations); segs is then the
	// single literal prefix+"/".
	prefix bool
	tmpl   string // the full template, for tests
}

func newAPIRouter() *apiRouter { return &apiRouter{mux: mux.NewRouter()} }

// simpleTemplate splits tpl into segments when every segment is a literal
// without braces or exactly one variable "{name}" (no pattern); ok is false
// otherwise, and for templates gorilla/mux's regexp could read differently
// from a byte comparison (invalid UTF-8, U+FFFD).
func simpleTemplate(tpl string) (segs, vars []string, n int, ok bool) {
	if !utf8.ValidString(tpl) || strings.ContainsRune(tpl, utf8.RuneError) || !strings.HasPrefix(tpl, "/") {
		return nil, nil, 0, false
	}
	segs = strings.Split(tpl, "/")
	vars = make([]string, len(segs))
	for i, s := range segs {
		if !strings.ContainsAny(s, "{}") {
			continue
		}
		if len(s) < 3 || s[0] != '{' || s[len(s)-1] != '}' {
			return nil, nil, 0, false
		}
		name := s[1 : len(s)-1]
		if strings.ContainsAny(name, "{}:") {
			return nil, nil, 0, false
		}
		vars[i] = name
		n++
	}
	return segs, vars, n, true
}

// add appends a route for tpl (prefix+template) with method ("*" for
// any); a template that is not simple becomes a gorilla/mux route.
func (ar *apiRouter) add(tpl, method string, h *route) error {
	m := strings.ToUpper(method)
	if segs, vars, n, ok := simpleTemplate(tpl); ok {
		ar.routes = append(ar.routes, apiRoute{h: h, segs: segs, vars: vars, nvars: n, method: m, anyMethod: m == "*", tmpl: tpl})
		return nil
	}
	mr := ar.mux.NewRoute().Path(tpl).Handler(h)
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
			ar.routes = append(ar.routes, apiRoute{h: h, fallback: ar.mux.NewRoute().PathPrefix("/").Handler(h), tmpl: "/"})
			return
		}
		ar.routes = append(ar.routes, apiRoute{h: h, fallback: ar.mux.NewRoute().Path(prefix).Handler(h), tmpl: prefix},
			apiRoute{h: h, fallback: ar.mux.NewRoute().PathPrefix(prefix + "/").Handler(h), tmpl: prefix + "/"})
		return
	}
	if prefix != "" {
		ar.routes = append(ar.routes, apiRoute{h: h, segs: strings.Split(prefix, "/"), vars: make([]string, strings.Count(prefix, "/")+1), tmpl: prefix, anyMethod: true})
	}
	ar.routes = append(ar.routes, apiRoute{h: h, prefix: true, anyMethod: true, segs: []string{prefix + "/"}, tmpl: prefix + "/"})
}

// matchPath reports whether path matches a segment route.
func (rt *apiRoute) matchPath(path string) bool {
	if rt.prefix {
		return strings.HasPrefix(path, rt.segs[0])
	}
	rest := path
	for i, s := range rt.segs {
		var seg string
		if i == len(rt.segs)-1 {
			seg, rest = rest, ""
			if strings.IndexByte(seg, '/') >= 0 {
				return false
			}
		} else {
			j := strings.IndexByte(rest, '/')
			if j < 0 {
				return false
			}
			seg, rest = rest[:j], rest[j+1:]
		}
		if rt.vars[i] != "" {
			if seg == "" {
				return false
			}
		} else if seg != s {
			return false
		}
	}
	return true
}

// vars returns the variables of a path matchPath accepted.
func (rt *apiRoute) varsOf(path string) map[string]string {
	if rt.nvars == 0 {
		return nil // (an empty map would be one allocation per request)
	}
	out := make(map[string]string, rt.nvars)
	rest := path
	for i := range rt.segs {
		seg := rest
		if j := strings.IndexByte(rest, '/'); j >= 0 && i < len(rt.segs)-1 {
			seg, rest = rest[:j], rest[j+1:]
		}
		if rt.vars[i] != "" {
			out[rt.vars[i]] = seg
		}
	}
	return out
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
