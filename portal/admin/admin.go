// Package admin is the admin portal: server-rendered pages on the admin
// listener under /ui where named admins sign in with their email and
// password and manage the whole catalog (APIs, products, users,
// subscriptions, modules and their grants, policies, named values) and
// watch traffic (dashboard, analytics, request log, audit log).
//
// Reads come from the catalog and the request log directly; every change
// goes through the admin API handler (/admin/v1) in-process, as the
// signed-in admin, so the portal has the same validation, roles and audit
// as the CLI (RATIONALE.md, "Admin portal"). The admin API accepts the
// portal's session cookie only together with its X-CSRF-Token header
// (SessionAuth). It never imports host/; cmd/gatehouse wires it.
package admin

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/catalog/analytics"
	"github.com/gatehouse/gatehouse/portal/web"
)

// Prefix is the path prefix of every admin portal page.
const Prefix = "/ui"

// Analytics is the request log behind the dashboard, analytics and the
// request-log browser (*analytics.Writer satisfies it).
type Analytics interface {
	Query(ctx context.Context, q analytics.Query) ([]analytics.Row, error)
	Requests(ctx context.Context, f analytics.RequestFilter) ([]analytics.Record, error)
}

// Options configures New.
type Options struct {
	// Store is the catalog; required.
	Store catalog.Store
	// API is the admin API handler (adminapi.New, mounted at /admin/v1);
	// every change the portal makes goes through it. It may be set after
	// New with SetAPI (the API needs SessionAuth first).
	API http.Handler
	// Analytics is the request log; nil shows "not recorded".
	Analytics Analytics
	// Secret keys the CSRF tokens (at least 32 bytes); nil means a random
	// one per process.
	Secret []byte
	// SecureCookies marks cookies Secure on plain-HTTP requests too
	// (behind a TLS-terminating proxy); TLS requests always get Secure.
	SecureCookies bool
	// IdleTimeout ends a session unused this long (default 30 minutes);
	// MaxAge ends any session this long after sign-in (default 12 hours).
	IdleTimeout, MaxAge time.Duration
	// FetchDocument fetches an OpenAPI document by URL for an import
	// (cmd/gatehouse passes one that dials through the egress guard: no
	// loopback, private or metadata addresses); nil offers file upload
	// and pasted text only.
	FetchDocument func(ctx context.Context, url string) ([]byte, error)
	// Logger receives internal errors; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// maxBody bounds a form (module uploads are the largest: the admin API
// takes 32 MiB of wasm).
const maxBody = 40 << 20

// Server is the admin portal's http.Handler (mount it at Prefix+"/").
type Server struct {
	st      catalog.Store
	api     http.Handler
	an      Analytics
	o       Options
	csrf    web.CSRF
	log     *slog.Logger
	now     func() time.Time
	pages   *web.Pages
	limiter *web.Limiter
	mux     *http.ServeMux
}

// New returns the admin portal.
func New(o Options) (*Server, error) {
	if o.Store == nil {
		return nil, errors.New("admin portal: Store is required")
	}
	// Ready before the first sign-in, off the start path: made a moment
	// after the server, not beside the process's start (two hashes are
	// ≈ 40 % of a demo restart's CPU). A sign-in before then makes it.
	time.AfterFunc(dummyHashDelay, func() { dummyHash() })
	var err error
	if o.Secret, err = web.Secret(o.Secret, "admin portal"); err != nil {
		return nil, err
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 30 * time.Minute
	}
	if o.MaxAge <= 0 {
		o.MaxAge = 12 * time.Hour
	}
	s := &Server{st: o.Store, api: o.API, an: o.Analytics, o: o, log: o.Logger, now: o.Now,
		csrf: web.CSRF{Secret: o.Secret, Purpose: "gatehouse-admin-csrf"}}
	if w, ok := o.Analytics.(*analytics.Writer); ok && w == nil {
		s.an = nil
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.pages, err = loadPages(); err != nil {
		return nil, err
	}
	s.limiter = web.NewLimiter(s.now)
	s.mux = s.routes()
	return s, nil
}

// SetAPI sets the admin API handler the portal's changes go through.
func (s *Server) SetAPI(h http.Handler) { s.api = h }

// ServeHTTP serves the portal: security headers on every answer, the
// session read once, CSRF checked on every state-changing request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	web.SetSecurityHeaders(w)
	if !web.SafeMethod(r.Method) {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	}
	r = s.withSession(w, r)
	if !web.SafeMethod(r.Method) && !s.checkCSRF(r) {
		s.fail(w, r, &statusError{http.StatusForbidden, "This form was missing its security token or has expired. Go back, reload the page and try again."})
		return
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Server) routes() *http.ServeMux {
	m := http.NewServeMux()
	m.Handle("GET "+Prefix+"/static/", web.Static(staticSub(), Prefix+"/static/"))
	m.HandleFunc("GET "+Prefix+"/signin", s.page(s.signinForm))
	m.HandleFunc("POST "+Prefix+"/signin", s.page(s.signin))
	m.HandleFunc("POST "+Prefix+"/signout", s.page(s.signout))
	m.HandleFunc("GET "+Prefix+"/{$}", s.auth(s.dashboard))
	m.HandleFunc("GET "+Prefix+"/account", s.auth(s.account))
	m.HandleFunc("POST "+Prefix+"/account/password", s.auth(s.changePassword))
	m.HandleFunc("POST "+Prefix+"/account/tokens", s.auth(s.createToken))
	m.HandleFunc("POST "+Prefix+"/account/tokens/{id}/revoke", s.auth(s.revokeToken))
	m.HandleFunc("POST "+Prefix+"/account/sessions/{id}/end", s.auth(s.endSession))
	m.HandleFunc("POST "+Prefix+"/account/sessions/end-others", s.auth(s.endOtherSessions))
	m.HandleFunc("GET "+Prefix+"/policies/global", s.auth(s.policyEditor))
	m.HandleFunc("GET "+Prefix+"/policies/{scope}/{scopeId}", s.auth(s.policyEditor))
	m.HandleFunc("GET "+Prefix+"/policies/operation/{apiId}/{scopeId}", s.auth(s.policyEditor))
	s.catalogRoutes(m)
	s.certificateRoutes(m) // certificates.go
	m.HandleFunc(Prefix+"/", s.page(func(w http.ResponseWriter, r *http.Request) error { return errNotFound }))
	return m
}
