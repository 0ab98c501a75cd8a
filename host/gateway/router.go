package gateway

import (
	"net/http"
	"strings"

	"github.com/gorilla/mux"
)

// routeIndex finds a request's route with a cost independent of the number
// of APIs: a map from path prefix to the APIs with that prefix, then the
// routes of those APIs only (one gorilla/mux router per API).
//
// Overlapping prefixes resolve longest first, as in APIM and Kong. An API's
// routes can only match a path equal to its prefix or under prefix+"/"
// (templates start with "/"), so the APIs that can match a path are found
// by looking up the path's own prefixes at each "/" — at most maxDepth
// lookups, bounded by the configuration, not by the request — longest
// first (APIs with the same prefix in configuration order). The first of
// them with a full match (path and method) wins; otherwise 405 if any
// matched the path but not the method, as mux does; otherwise 404.
type routeIndex struct {
	apis     []indexedAPI
	byPrefix map[string][]int // prefix without trailing slash → indexes into apis, ascending
	maxDepth int              // most "/" in any prefix
}

type indexedAPI struct {
	prefix string
	router *apiRouter
	// preflight is the API-level route of an API with operations (CORS
	// preflights); nil otherwise.
	preflight *route
}

func newRouteIndex() *routeIndex {
	return &routeIndex{byPrefix: map[string][]int{}}
}

// add registers the next API in configuration order: its router and its
// preflight route (nil for an API without operations). prefix has no
// trailing slash ("" for an API at the root).
func (x *routeIndex) add(prefix string, r *apiRouter, preflight *route) {
	x.byPrefix[prefix] = append(x.byPrefix[prefix], len(x.apis))
	x.apis = append(x.apis, indexedAPI{prefix: prefix, router: r, preflight: preflight})
	if d := strings.Count(prefix, "/"); d > x.maxDepth {
		x.maxDepth = d
	}
}

// candidates calls f with the indexes of the APIs whose prefix path is
// equal to or under, longest prefix first, until f returns false.
func (x *routeIndex) candidates(path string, f func(i int) bool) {
	// The prefixes of path ending before a "/" (and path itself), up to
	// maxDepth slashes; "" (the root API) last.
	ends := [17]int{}
	n := 0
	depth := 0
	var more []int
	for i := 0; i < len(path) && depth <= x.maxDepth; i++ {
		if path[i] != '/' {
			continue
		}
		depth++
		if i == 0 {
			continue
		}
		if n < len(ends) {
			ends[n] = i
			n++
		} else {
			more = append(more, i)
		}
	}
	// path itself, when it has no more slashes than a prefix can.
	if depth <= x.maxDepth && len(path) > 0 && path[len(path)-1] != '/' {
		if n < len(ends) {
			ends[n] = len(path)
			n++
		} else {
			more = append(more, len(path))
		}
	}
	for j := len(more) - 1; j >= 0; j-- {
		for _, i := range x.byPrefix[path[:more[j]]] {
			if !f(i) {
				return
			}
		}
	}
	for j := n - 1; j >= 0; j-- {
		for _, i := range x.byPrefix[path[:ends[j]]] {
			if !f(i) {
				return
			}
		}
	}
	for _, i := range x.byPrefix[""] {
		if !f(i) {
			return
		}
	}
}

// match finds the route for r, whose URL.Path is the canonical path. It
// fills m as mux.Router.Match does: true with m.Handler (a *route) and
// m.Vars; false with m.MatchErr mux.ErrMethodMismatch (405) or
// mux.ErrNotFound (404).
func (x *routeIndex) match(r *http.Request, m *mux.RouteMatch) bool {
	found := false
	methodMismatch := false
	// Each candidate matches into m itself (a local RouteMatch would move
	// to the heap: one allocation per request); a miss is overwritten below.
	x.candidates(r.URL.Path, func(i int) bool {
		*m = mux.RouteMatch{}
		if x.apis[i].router.Match(r, m) {
			found = true
			return false // the longest prefix with a full match wins
		}
		if m.MatchErr == mux.ErrMethodMismatch {
			methodMismatch = true
		}
		return true
	})
	if found {
		return true
	}
	*m = mux.RouteMatch{MatchErr: mux.ErrNotFound}
	if methodMismatch {
		m.MatchErr = mux.ErrMethodMismatch
	}
	return false
}

// preflightRoute finds the API-level route for a CORS preflight to path:
// the API with operations with the longest prefix path is under.
func (x *routeIndex) preflightRoute(path string) *route {
	var rt *route
	x.candidates(path, func(i int) bool {
		if p := x.apis[i].preflight; p != nil {
			rt = p
			return false
		}
		return true
	})
	return rt
}
