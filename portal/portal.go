// Package portal is the developer portal: server-rendered pages where
// developers sign up, browse published products and APIs, subscribe, see
// and rotate their keys, read the API reference rendered from the stored
// OpenAPI document, try operations in the console and watch their usage.
//
// It reads and writes the catalog (catalog.Store) and never imports the
// gateway: what it needs from a running gateway (the console relay, the
// trace) comes through the Console interface that cmd/gatehouse wires.
// docs/portal.md describes it for users; RATIONALE.md says why it is built
// this way (templates, sessions in the catalog, HMAC-bound CSRF tokens,
// SVG charts).
package portal

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/catalog/analytics"
	"github.com/gatehouse/gatehouse/portal/web"
)

// Console is the interactive console's JSON API (package portal/console):
// given a function naming the signed-in user of a request, it returns the
// handler the portal mounts under /console/api/, behind its own session and
// CSRF checks.
type Console interface {
	Handler(user func(*http.Request) (userID string, ok bool)) http.Handler
}

// Analytics is the request log behind "My usage" (*analytics.Writer
// satisfies it).
type Analytics interface {
	Query(ctx context.Context, q analytics.Query) ([]analytics.Row, error)
	Requests(ctx context.Context, f analytics.RequestFilter) ([]analytics.Record, error)
}

// Options configures New.
type Options struct {
	// Store is the catalog; required.
	Store catalog.Store
	// Analytics is the request log; nil shows "usage is not recorded".
	Analytics Analytics
	// Console serves /console/api/; nil answers 503 there.
	Console Console
	// GatewayURL is shown in code samples and the reference ("" hides it).
	GatewayURL string
	// Secret keys the CSRF tokens (at least 32 bytes); nil means a random
	// one per process (open forms fail once after a restart).
	Secret []byte
	// SecureCookies marks cookies Secure even on plain-HTTP requests (set
	// it behind a TLS-terminating proxy). Requests over TLS always get
	// Secure cookies.
	SecureCookies bool
	// SessionTTL is the absolute lifetime of a sign-in; default 12 hours.
	SessionTTL time.Duration
	// Logger receives internal errors; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// Server is the portal's http.Handler.
type Server struct {
	st      catalog.Store
	an      Analytics
	console http.Handler
	o       Options
	log     *slog.Logger
	pages   *web.Pages
	limiter *web.Limiter
	docs    *lru.Cache[string, *apiDoc]
	mux     *http.ServeMux
	now     func() time.Time
	cv      atomic.Pointer[catalogView]
}

// dummyHashDelay is how long after New the dummy hash is made.
const dummyHashDelay = 2 * time.Second

// New returns the portal handler.
func New(o Options) (*Server, error) {
	if o.Store == nil {
		return nil, errors.New("portal: Store is required")
	}
	// Ready before the first sign-in, off the start path: made a moment
	// after the server, not beside the process's start (two hashes are
	// ≈ 40 % of a demo restart's CPU). A sign-in before then makes it.
	time.AfterFunc(dummyHashDelay, func() { dummyHash() })
	var err error
	if o.Secret, err = web.Secret(o.Secret, "portal"); err != nil {
		return nil, err
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 12 * time.Hour
	}
	s := &Server{st: o.Store, an: o.Analytics, o: o, log: o.Logger, now: o.Now}
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
	s.docs, _ = lru.New[string, *apiDoc](128)
	s.limiter = web.NewLimiter(s.now)
	if o.Console != nil {
		s.console = o.Console.Handler(s.userID)
	}
	s.mux = s.routes()
	return s, nil
}

// ServeHTTP serves the portal: security headers on every answer, the
// session read once, CSRF checked on every state-changing request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	web.SetSecurityHeaders(w)
	r = s.withSession(w, r)
	if !web.SafeMethod(r.Method) && !s.checkCSRF(r) {
		s.csrfFailed(w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Server) routes() *http.ServeMux {
	m := http.NewServeMux()
	m.Handle("GET /static/", staticHandler())
	m.HandleFunc("GET /{$}", s.page(s.home))
	m.HandleFunc("GET /signup", s.page(s.signupForm))
	m.HandleFunc("POST /signup", s.page(s.signup))
	m.HandleFunc("GET /signin", s.page(s.signinForm))
	m.HandleFunc("POST /signin", s.page(s.signin))
	m.HandleFunc("POST /signout", s.page(s.signout))
	m.HandleFunc("GET /reset", s.page(s.resetForm))
	m.HandleFunc("POST /reset", s.page(s.reset))
	m.HandleFunc("GET /profile", s.auth(s.profile))
	m.HandleFunc("POST /profile", s.auth(s.updateProfile))
	m.HandleFunc("POST /profile/password", s.auth(s.changePassword))
	m.HandleFunc("GET /products", s.page(s.products))
	m.HandleFunc("GET /products/{id}", s.page(s.product))
	m.HandleFunc("POST /products/{id}/subscribe", s.auth(s.subscribe))
	m.HandleFunc("GET /subscriptions", s.auth(s.subscriptions))
	m.HandleFunc("POST /subscriptions/{id}/rename", s.auth(s.renameSubscription))
	m.HandleFunc("POST /subscriptions/{id}/cancel", s.auth(s.cancelSubscription))
	m.HandleFunc("POST /subscriptions/{id}/regenerate", s.auth(s.regenerateKey))
	m.HandleFunc("GET /subscriptions/{id}/keys", s.auth(s.showKeys))
	m.HandleFunc("GET /apis", s.page(s.apis))
	m.HandleFunc("GET /apis/{id}", s.page(s.apiReference))
	m.HandleFunc("GET /apis/{id}/openapi", s.page(s.downloadDoc))
	m.HandleFunc("GET /apis/{id}/console/{op}", s.auth(s.consolePage))
	m.HandleFunc("GET /usage", s.auth(s.usage))
	m.HandleFunc("/console/api/", s.auth(s.consoleAPI))
	m.HandleFunc("/", s.page(func(w http.ResponseWriter, r *http.Request) error { return errNotFound }))
	return m
}

// consoleAPI hands signed-in, CSRF-checked requests to the console relay.
func (s *Server) consoleAPI(w http.ResponseWriter, r *http.Request) error {
	if s.console == nil {
		web.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "the console is not available on this server"})
		return nil
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		// Reads of the console API carry the CSRF header too, so that no
		// other origin can make the browser fetch them.
		if !s.checkCSRF(r) {
			s.csrfFailed(w, r)
			return nil
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	s.console.ServeHTTP(w, r)
	return nil
}

// userID names the signed-in user of a request (for the console).
func (s *Server) userID(r *http.Request) (string, bool) {
	v := viewerFrom(r)
	if v == nil {
		return "", false
	}
	return v.user.ID, true
}
