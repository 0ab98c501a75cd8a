// Package adminapi serves the admin REST API (/admin/v1) over a
// catalog.Store. docs/admin-api.md is its contract; openapi.json (served
// at /admin/v1/openapi.json) describes every route.
package adminapi

import (
	"context"
	_ "embed"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/mux"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/catalog/analytics"
)

// Prefix is the path prefix of every admin route.
const Prefix = "/admin/v1"

// Body limits (docs/admin-api.md).
const (
	maxJSONBody     = 1 << 20  // ordinary JSON bodies
	maxDocumentBody = 8 << 20  // OpenAPI imports and declarative documents
	maxModuleBody   = 32 << 20 // module uploads
)

// Actor is the audit actor of writes made with the break-glass token
// (Options.Token); writes made with an admin's personal token are audited
// with that admin's email.
const Actor = "break-glass"

// Built-in subscription-key check placed first in effective inbound
// chains of APIs that require a subscription (always; there is no option
// to turn it off, matching the gateway's catalogsource).
const (
	BuiltinModule         = "builtin"
	SubscriptionKeyPolicy = "subscription-key"
)

//go:embed openapi.json
var openAPIDoc []byte

// Options configures New.
type Options struct {
	Store catalog.Store
	// Token is the break-glass bearer token, acting as an owner; required.
	// Admins' personal tokens (Store.LookupAdminToken) work as well.
	Token string
	// ValidateModule checks a wasm module with the host and returns its
	// ABI major version and the capabilities it imports, or an error
	// naming the problem (answered 400, nothing stored). When nil, module
	// uploads answer 500.
	ValidateModule func(ctx context.Context, wasm []byte) (abiVersion int, capabilities []string, err error)
	// Logger receives internal errors; nil means slog.Default().
	Logger *slog.Logger
	// ModuleCeilings bound the limits a module's manifest requests, as the
	// gateway clamps them (shown as a module's effectiveLimits); zero
	// fields mean catalog.DefaultModuleCeilings.
	ModuleCeilings catalog.ModuleLimits
	// Analytics is the request log behind /analytics and
	// /subscriptions/{subId}/usage (an *analytics.Writer); when nil (or a
	// nil *analytics.Writer) those routes answer 503.
	Analytics Analytics
	// Cache reaches the gateway's response cache for POST /cache/purge;
	// when nil that route answers 503.
	Cache CachePurger
	// PortalURL is the developer portal's base URL, for password reset
	// links; "" answers those routes 503.
	PortalURL string
	// SendResetLink, when set, mails a reset link to the user (the route
	// then answers "mailed": true); nil: the link is only returned.
	SendResetLink func(ctx context.Context, u catalog.User, link string, expires time.Time) error
	// Session authenticates the admin portal's session cookie (package
	// portal/admin) on requests without a bearer token: live reports a
	// live session cookie and names its admin; csrfOK that the request
	// also carries that session's X-CSRF-Token header. The cookie alone is
	// refused (403). nil: bearer tokens only.
	Session func(r *http.Request) (adminID string, live, csrfOK bool)
}

// Route is one method and path template of the admin API.
type Route struct {
	Method, Path string
}

type server struct {
	st       catalog.Store
	token    []byte
	validate func(ctx context.Context, wasm []byte) (int, []string, error)
	log      *slog.Logger
	schemas  schemaCache
	// analytics is Options.Analytics (nil: the analytics routes answer 503).
	analytics Analytics
	ceilings  catalog.ModuleLimits
	cache     CachePurger // Options.Cache
	portalURL string
	sendReset func(ctx context.Context, u catalog.User, link string, expires time.Time) error
	session   func(r *http.Request) (string, bool, bool) // Options.Session
	pager     catalog.Pager                              // Options.Store, paging in its queries
	cursorKey []byte                                     // authenticates list cursors (paging.go)
}

// New returns the handler serving Prefix. It routes on the full request
// path (/admin/v1/...), so mount it at "/" (or at Prefix+"/") without
// http.StripPrefix. Every request, including answers for unknown routes
// and methods, is authenticated first.
func New(o Options) (http.Handler, error) {
	if o.Store == nil {
		return nil, errors.New("adminapi: Store is required")
	}
	if o.Token == "" {
		return nil, errors.New("adminapi: Token is required")
	}
	s := &server{st: o.Store, token: []byte(o.Token), validate: o.ValidateModule, log: o.Logger, analytics: o.Analytics, ceilings: o.ModuleCeilings, cache: o.Cache,
		portalURL: strings.TrimSuffix(o.PortalURL, "/"), sendReset: o.SendResetLink, session: o.Session}
	pager, ok := o.Store.(catalog.Pager)
	if !ok {
		return nil, errNoPager
	}
	s.pager, s.cursorKey = pager, cursorSecret(o.Token)
	if s.log == nil {
		s.log = slog.Default()
	}
	if w, ok := o.Analytics.(*analytics.Writer); ok && w == nil {
		s.analytics = nil // a nil *Writer means no request log, like nil
	}
	return s.auth(onFirstRequest(s.router)), nil
}

// onFirstRequest builds the router when the first request arrives: its
// 94 method-and-path routes hold ≈ 600 KB of compiled path patterns, which
// a gateway whose admin API nobody calls need not keep (the idle demo's
// heap, RATIONALE.md "Less per request ..."). The first request pays for
// the build, a few milliseconds.
func onFirstRequest(build func() *mux.Router) http.Handler {
	router := sync.OnceValue(build)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		router().ServeHTTP(w, r)
	})
}

// Routes lists every route of the admin API (full paths, with Prefix).
func Routes() []Route {
	s := &server{log: slog.Default()}
	var out []Route
	_ = s.router().Walk(func(rt *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := rt.GetPathTemplate()
		if err != nil {
			return nil
		}
		methods, err := rt.GetMethods()
		if err != nil {
			return nil
		}
		for _, m := range methods {
			out = append(out, Route{Method: m, Path: tpl})
		}
		return nil
	})
	return out
}

// auth refuses requests without a valid bearer token: the break-glass
// token or an active admin's personal token (admins.go). It wraps the
// whole router so that no route (nor the 404/405 answers) can skip it;
// the router's authorize middleware then checks the principal's role.
func (s *server) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		scheme, tok, ok := strings.Cut(h, " ")
		var p principal
		found := false
		if ok && strings.EqualFold(scheme, "Bearer") {
			var err error
			p, found, err = s.principalFor(r.Context(), strings.TrimSpace(tok))
			if err != nil {
				s.fail(w, r, err)
				return
			}
		} else if h == "" && s.session != nil {
			var err error
			p, found, err = s.sessionPrincipal(w, r)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			if found && p.role == "" {
				return // refused (no CSRF header); answered
			}
		}
		if !found {
			w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse-admin"`)
			writeError(w, &httpError{status: http.StatusUnauthorized, code: "unauthorized", msg: "missing or wrong bearer token"})
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

// handlerFunc is a handler that may fail; errors are answered by fail.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (s *server) h(f handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := f(w, r); err != nil {
			s.fail(w, r, err)
		}
	})
}

// writeCtx is the context of a write: audited as the request's actor.
func writeCtx(r *http.Request) context.Context {
	return catalog.WithActor(r.Context(), principalOf(r).actor)
}

// routes registers handlers under Prefix.
type routes struct{ r *mux.Router }

func (x routes) Handle(path string, h http.Handler) *mux.Route { return x.r.Handle(Prefix+path, h) }

func (s *server) router() *mux.Router {
	root := mux.NewRouter()
	root.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &httpError{status: http.StatusNotFound, code: "not_found", msg: "no such route"})
	})
	root.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &httpError{status: http.StatusMethodNotAllowed, code: "method_not_allowed", msg: "method " + r.Method + " not allowed here"})
	})
	// Full paths on the root router rather than a PathPrefix subrouter:
	// mux answers 404 instead of 405 for method mismatches in subrouters.
	r := routes{root}
	root.Use(s.authorize)

	r.Handle("/version", s.h(s.getVersion)).Methods(http.MethodGet)
	r.Handle("/openapi.json", s.h(s.getOpenAPI)).Methods(http.MethodGet)
	r.Handle("/audit", s.h(s.listAudit)).Methods(http.MethodGet)
	r.Handle("/apply", s.h(s.apply)).Methods(http.MethodPost)
	r.Handle("/export", s.h(s.export)).Methods(http.MethodGet)
	s.apiRoutes(r)
	s.productRoutes(r)
	s.groupRoutes(r)
	s.userRoutes(r)
	s.subscriptionRoutes(r)
	s.moduleRoutes(r)
	s.policyRoutes(r)
	s.namedValueRoutes(r)
	s.analyticsRoutes(r)
	s.cacheRoutes(r)
	s.portalRoutes(r)
	s.adminRoutes(r)
	s.certificateRoutes(r)
	return root
}
