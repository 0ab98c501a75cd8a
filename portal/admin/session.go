package admin

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/portal/web"
)

// Cookies. The session cookie carries a random 256-bit token whose SHA-256
// is the session's key in the catalog; the pre-session cookie binds the
// CSRF token of the sign-in form. Both are SameSite=Strict and HttpOnly,
// and named apart from the developer portal's (cookies do not separate
// ports on one host).
const (
	sessionCookie = "gh_admin_session"
	preCookie     = "gh_admin_pre"
)

// touchEvery is how often a session's last use is written (the idle
// timeout is this precise).
const touchEvery = time.Minute

// viewer is the signed-in admin of a request.
type viewer struct {
	admin   catalog.Admin
	token   string // the session cookie's value
	idHash  string
	session catalog.AdminSession
	csrf    string
}

type viewerKey struct{}
type csrfKey struct{}

func viewerFrom(r *http.Request) *viewer {
	v, _ := r.Context().Value(viewerKey{}).(*viewer)
	return v
}

func csrfToken(r *http.Request) string {
	t, _ := r.Context().Value(csrfKey{}).(string)
	return t
}

// session resolves a session cookie value to its live session and active
// admin, recording the use (at most once a minute).
func (s *Server) session(ctx context.Context, tok string) (catalog.AdminSession, catalog.Admin, bool, error) {
	if len(tok) < 32 || len(tok) > 128 {
		return catalog.AdminSession{}, catalog.Admin{}, false, nil
	}
	idHash := web.HashToken(tok)
	ses, a, err := s.st.GetAdminSession(ctx, idHash, s.o.IdleTimeout)
	if errors.Is(err, catalog.ErrNotFound) {
		return ses, a, false, nil
	}
	if err != nil {
		return ses, a, false, err
	}
	if a.State != catalog.AdminActive || a.Role.Rank() == 0 {
		// Blocked since signing in: every session ends.
		if _, err := s.st.DeleteAdminSessions(catalog.WithActor(ctx, "system"), a.ID, ""); err != nil {
			s.log.Error("admin portal: ending a blocked admin's sessions", "admin", a.ID, "err", err)
		}
		return ses, a, false, nil
	}
	if now := s.now(); now.Sub(ses.LastSeenAt) >= touchEvery {
		if err := s.st.TouchAdminSession(ctx, idHash, now); err != nil {
			s.log.Warn("admin portal: recording a session's use", "err", err)
		}
	}
	return ses, a, true, nil
}

// withSession reads the session cookie and computes the request's CSRF
// token: an HMAC of the session token, or of the pre-session cookie for
// the sign-in form (set when missing).
func (s *Server) withSession(w http.ResponseWriter, r *http.Request) *http.Request {
	ctx := r.Context()
	bind := ""
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		ses, a, ok, err := s.session(ctx, c.Value)
		switch {
		case err != nil:
			s.log.Error("admin portal: reading a session", "err", err)
		case ok:
			v := &viewer{admin: a, token: c.Value, idHash: ses.IDHash, session: ses, csrf: s.csrf.For("s:" + c.Value)}
			ctx = context.WithValue(ctx, viewerKey{}, v)
			bind = "s:" + c.Value
		default:
			s.clearCookie(w, r, sessionCookie)
		}
	}
	if bind == "" {
		pre := ""
		if c, err := r.Cookie(preCookie); err == nil && len(c.Value) >= 32 && len(c.Value) <= 128 {
			pre = c.Value
		} else if web.SafeMethod(r.Method) {
			pre = web.RandomToken()
			s.setCookie(w, r, preCookie, pre, 0)
		}
		if pre != "" {
			bind = "p:" + pre
		}
	}
	if bind != "" {
		ctx = context.WithValue(ctx, csrfKey{}, s.csrf.For(bind))
	}
	return r.WithContext(ctx)
}

// checkCSRF reports whether a state-changing request carries the token
// bound to its session (or pre-session) cookie and comes from this origin.
func (s *Server) checkCSRF(r *http.Request) bool {
	return web.SameOrigin(r) && web.CheckToken(web.Sent(r), csrfToken(r))
}

// SessionAuth is adminapi.Options.Session: it reports whether r carries a
// live admin portal session cookie (and its admin's ID), and whether it
// also carries that session's CSRF token in the X-CSRF-Token header (the
// header only: the admin API takes no forms) from this origin.
func (s *Server) SessionAuth(r *http.Request) (adminID string, live, csrfOK bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return "", false, false
	}
	_, a, ok, err := s.session(r.Context(), c.Value)
	if err != nil {
		s.log.Error("admin portal: reading a session for the admin API", "err", err)
		return "", false, false
	}
	if !ok {
		return "", false, false
	}
	return a.ID, true, web.SameOrigin(r) && web.CheckToken(r.Header.Get(web.Header), s.csrf.For("s:"+c.Value))
}

func (s *Server) secure(r *http.Request) bool { return r.TLS != nil || s.o.SecureCookies }

func (s *Server) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge time.Duration) {
	web.SetCookie(w, name, value, maxAge, http.SameSiteStrictMode, s.secure(r))
}

func (s *Server) clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	web.ClearCookie(w, name, http.SameSiteStrictMode, s.secure(r))
}

// dummyHash is compared against when the account does not exist, so that
// a wrong email costs as much as a wrong password.
// Made once, on first use or in the background when the server is made
// (New), not at package init: a bcrypt hash costs every process start —
// every CLI command included — tens of milliseconds of CPU.
// dummyHashDelay is how long after New the dummy hash is made.
const dummyHashDelay = 2 * time.Second

var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("gatehouse-no-such-admin"), catalog.BcryptCost)
	return h
})

func (s *Server) signinForm(w http.ResponseWriter, r *http.Request) error {
	if viewerFrom(r) != nil {
		http.Redirect(w, r, Prefix+"/", http.StatusSeeOther)
		return nil
	}
	s.render(w, r, http.StatusOK, "signin", map[string]any{"Title": "Sign in", "Next": web.SafeNext(r.URL.Query().Get("next"), Prefix+"/")})
	return nil
}

// signin checks email and password (rate-limited per account and per
// client address) and starts a fresh session: the token the browser came
// with, if any, is never kept (rotation at sign-in).
func (s *Server) signin(w http.ResponseWriter, r *http.Request) error {
	email := strings.TrimSpace(r.PostFormValue("email"))
	pw := r.PostFormValue("password")
	next := web.SafeNext(r.PostFormValue("next"), Prefix+"/")
	again := func(status int, msg string) error {
		s.render(w, r, status, "signin", map[string]any{"Title": "Sign in", "Error": msg, "Email": email, "Next": next})
		return nil
	}
	if len(email) > 254 || len(pw) > catalog.MaxPassword {
		return again(http.StatusBadRequest, "Wrong email or password.")
	}
	acct, client := "acct:"+strings.ToLower(email), "ip:"+web.ClientIP(r)
	if d := s.limiter.Blocked(acct, web.MaxAccountFails); d > 0 {
		return again(http.StatusTooManyRequests, "Too many failed sign-ins for this account. Try again in "+web.Minutes(d.Seconds())+", or ask an owner to set a new password.")
	}
	if d := s.limiter.Blocked(client, web.MaxClientFails); d > 0 {
		return again(http.StatusTooManyRequests, "Too many failed sign-ins from your network address. Try again in "+web.Minutes(d.Seconds())+".")
	}
	a, err := s.adminByEmail(r.Context(), email)
	hash := string(dummyHash())
	if err == nil {
		if h, herr := s.st.AdminPasswordHash(r.Context(), a.ID); herr == nil {
			hash = h
		} else if !errors.Is(herr, catalog.ErrNotFound) {
			return herr
		}
	} else if !errors.Is(err, catalog.ErrNotFound) {
		return err
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)) != nil || err != nil {
		s.limiter.Fail(acct, client)
		return again(http.StatusUnauthorized, "Wrong email or password.")
	}
	if a.State != catalog.AdminActive {
		return again(http.StatusForbidden, "This admin account is blocked. Ask an owner.")
	}
	s.limiter.Reset(acct)
	if v := viewerFrom(r); v != nil {
		_ = s.st.DeleteAdminSession(r.Context(), v.admin.ID, v.idHash)
	}
	tok := web.RandomToken()
	now := s.now()
	ses := catalog.AdminSession{IDHash: web.HashToken(tok), AdminID: a.ID, CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(s.o.MaxAge), UserAgent: r.UserAgent(), Addr: web.ClientIP(r)}
	if err := s.st.CreateAdminSession(catalog.WithActor(r.Context(), a.Email), ses); err != nil {
		return err
	}
	s.setCookie(w, r, sessionCookie, tok, s.o.MaxAge)
	s.clearCookie(w, r, preCookie)
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// adminByEmail finds an admin by email, case-insensitively (admins are
// few: a list, not an index).
func (s *Server) adminByEmail(ctx context.Context, email string) (catalog.Admin, error) {
	as, err := s.st.ListAdmins(ctx)
	if err != nil {
		return catalog.Admin{}, err
	}
	for _, a := range as {
		if strings.EqualFold(a.Email, email) {
			return a, nil
		}
	}
	return catalog.Admin{}, catalog.NotFoundf("admin %q", email)
}

func (s *Server) signout(w http.ResponseWriter, r *http.Request) error {
	if v := viewerFrom(r); v != nil {
		if err := s.st.DeleteAdminSession(r.Context(), v.admin.ID, v.idHash); err != nil {
			return err
		}
	}
	s.clearCookie(w, r, sessionCookie)
	redirect(w, r, Prefix+"/signin", "signedout")
	return nil
}

func bcryptCompare(hash, pw string) error {
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw))
}
