package portal

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/portal/web"
)

// Cookies. The session cookie carries a random 256-bit token whose SHA-256
// is the session's key in the catalog; the pre-session cookie binds the
// CSRF token of anonymous forms (sign in, sign up, reset).
const (
	sessionCookie = "gh_session"
	preCookie     = "gh_pre"
)

// viewer is the signed-in user of a request.
type viewer struct {
	user    catalog.User
	idHash  string
	session catalog.Session
}

type viewerKey struct{}
type csrfKey struct{}

func viewerFrom(r *http.Request) *viewer {
	v, _ := r.Context().Value(viewerKey{}).(*viewer)
	return v
}

// csrfToken is the token forms and scripts of this request's page send
// back.
func csrfToken(r *http.Request) string {
	t, _ := r.Context().Value(csrfKey{}).(string)
	return t
}

// withSession reads the session cookie (a blocked or deleted user's
// session ends here: blocking signs a user out everywhere) and computes
// the request's CSRF token: an HMAC of the session token, or of the
// pre-session cookie for anonymous visitors (set when missing).
func (s *Server) withSession(w http.ResponseWriter, r *http.Request) *http.Request {
	ctx := r.Context()
	var bind string
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		idHash := web.HashToken(c.Value)
		ses, u, err := s.st.GetSession(ctx, idHash)
		switch {
		case err == nil && (u.State == catalog.UserActive || u.State == ""):
			ctx = context.WithValue(ctx, viewerKey{}, &viewer{user: u, idHash: idHash, session: ses})
			bind = "s:" + c.Value
		case err == nil:
			// Blocked (or pending) since signing in: end every session.
			if _, err := s.st.DeleteUserSessions(ctx, u.ID); err != nil {
				s.log.Error("portal: ending a blocked user's sessions", "user", u.ID, "err", err)
			}
			s.clearCookie(w, r, sessionCookie)
		case errors.Is(err, catalog.ErrNotFound):
			s.clearCookie(w, r, sessionCookie)
		default:
			s.log.Error("portal: reading a session", "err", err)
		}
	}
	if bind == "" {
		pre := ""
		if c, err := r.Cookie(preCookie); err == nil && len(c.Value) >= 32 {
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
		ctx = context.WithValue(ctx, csrfKey{}, s.csrfFor(bind))
	}
	return r.WithContext(ctx)
}

func (s *Server) csrfFor(bind string) string {
	return web.CSRF{Secret: s.o.Secret, Purpose: "gatehouse-portal-csrf"}.For(bind)
}

// checkCSRF reports whether a state-changing request carries the token
// bound to its session (or pre-session) cookie, in the X-CSRF-Token header
// or the csrf form field, and does not come from another origin.
func (s *Server) checkCSRF(r *http.Request) bool {
	return web.SameOrigin(r) && web.CheckToken(web.Sent(r), csrfToken(r))
}

func (s *Server) csrfFailed(w http.ResponseWriter, r *http.Request) {
	if wantsJSON(r) {
		web.WriteJSON(w, http.StatusForbidden, map[string]string{"error": "missing or invalid CSRF token: reload the page and try again"})
		return
	}
	s.render(w, r, http.StatusForbidden, "error", map[string]any{"Title": "Request refused",
		"Message": "This form was missing its security token or has expired. Go back, reload the page and try again."})
}

func wantsJSON(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, "/console/api/") || strings.Contains(r.Header.Get("Accept"), "application/json")
}

func (s *Server) secure(r *http.Request) bool { return r.TLS != nil || s.o.SecureCookies }

func (s *Server) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge time.Duration) {
	web.SetCookie(w, name, value, maxAge, http.SameSiteLaxMode, s.secure(r))
}

func (s *Server) clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	web.ClearCookie(w, name, http.SameSiteLaxMode, s.secure(r))
}

// startSession signs u in: a fresh session token (never the one the
// browser came with: the session is rotated at sign-in), the old session
// ended.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, u catalog.User) error {
	if v := viewerFrom(r); v != nil {
		_ = s.st.DeleteSession(r.Context(), v.idHash)
	}
	tok := web.RandomToken()
	now := s.now()
	if err := s.st.CreateSession(r.Context(), catalog.Session{IDHash: web.HashToken(tok), UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(s.o.SessionTTL)}); err != nil {
		return err
	}
	s.setCookie(w, r, sessionCookie, tok, s.o.SessionTTL)
	s.clearCookie(w, r, preCookie)
	return nil
}
