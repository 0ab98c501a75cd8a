package portal

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/catalog"
)

// Cookies. The session cookie carries a random 256-bit token whose SHA-256
// is the session's key in the catalog; the pre-session cookie binds the
// CSRF token of anonymous forms (sign in, sign up, reset).
const (
	sessionCookie = "gh_session"
	preCookie     = "gh_pre"
	csrfField     = "csrf"
	csrfHeader    = "X-CSRF-Token"
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

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashToken(t string) string {
	h := sha256.Sum256([]byte(t))
	return hex.EncodeToString(h[:])
}

// withSession reads the session cookie (a blocked or deleted user's
// session ends here: blocking signs a user out everywhere) and computes
// the request's CSRF token: an HMAC of the session token, or of the
// pre-session cookie for anonymous visitors (set when missing).
func (s *Server) withSession(w http.ResponseWriter, r *http.Request) *http.Request {
	ctx := r.Context()
	var bind string
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		idHash := hashToken(c.Value)
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
		} else if safeMethod(r.Method) {
			pre = randomToken()
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
	m := hmac.New(sha256.New, s.o.Secret)
	m.Write([]byte("gatehouse-portal-csrf\x00" + bind))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkCSRF reports whether a state-changing request carries the token
// bound to its session (or pre-session) cookie, in the X-CSRF-Token header
// or the csrf form field, and does not come from another origin.
func (s *Server) checkCSRF(r *http.Request) bool {
	want := csrfToken(r)
	if want == "" {
		return false
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return false
		}
	}
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return false
	}
	got := r.Header.Get(csrfHeader)
	if got == "" {
		ct := r.Header.Get("Content-Type")
		if strings.HasPrefix(ct, "application/x-www-form-urlencoded") || strings.HasPrefix(ct, "multipart/form-data") {
			r.Body = http.MaxBytesReader(nil, r.Body, 64<<10)
			got = r.PostFormValue(csrfField)
		}
	}
	return hmac.Equal([]byte(got), []byte(want))
}

func (s *Server) csrfFailed(w http.ResponseWriter, r *http.Request) {
	if wantsJSON(r) {
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "missing or invalid CSRF token: reload the page and try again"})
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
	c := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.secure(r)}
	if maxAge > 0 {
		c.MaxAge = int(maxAge / time.Second)
	}
	http.SetCookie(w, c)
}

func (s *Server) clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.secure(r)})
}

// startSession signs u in: a fresh session token (never the one the
// browser came with: the session is rotated at sign-in), the old session
// ended.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, u catalog.User) error {
	if v := viewerFrom(r); v != nil {
		_ = s.st.DeleteSession(r.Context(), v.idHash)
	}
	tok := randomToken()
	now := s.now()
	if err := s.st.CreateSession(r.Context(), catalog.Session{IDHash: hashToken(tok), UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(s.o.SessionTTL)}); err != nil {
		return err
	}
	s.setCookie(w, r, sessionCookie, tok, s.o.SessionTTL)
	s.clearCookie(w, r, preCookie)
	return nil
}

// clientIP is the address the request came from (the portal trusts no
// forwarding header).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Sign-in rate limits: failed attempts per account and per client address
// within signinWindow.
const (
	signinWindow     = 15 * time.Minute
	maxAccountFails  = 5
	maxClientFails   = 20
	maxLimiterEntrys = 100000
)

// signinLimiter counts failed sign-ins per account and per client.
type signinLimiter struct {
	mu   sync.Mutex
	now  func() time.Time
	hits map[string][]time.Time
}

func newSigninLimiter(now func() time.Time) *signinLimiter {
	return &signinLimiter{now: now, hits: map[string][]time.Time{}}
}

// blocked returns how long key must wait, or 0.
func (l *signinLimiter) blocked(key string, max int) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	h := l.prune(key, now)
	if len(h) < max {
		return 0
	}
	return h[0].Add(signinWindow).Sub(now)
}

func (l *signinLimiter) fail(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.hits) > maxLimiterEntrys {
		for k := range l.hits {
			if len(l.prune(k, now)) == 0 {
				delete(l.hits, k)
			}
		}
	}
	for _, k := range keys {
		l.hits[k] = append(l.prune(k, now), now)
	}
}

func (l *signinLimiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.hits, key)
}

func (l *signinLimiter) prune(key string, now time.Time) []time.Time {
	h := l.hits[key]
	i := 0
	for i < len(h) && now.Sub(h[i]) >= signinWindow {
		i++
	}
	h = h[i:]
	if len(h) == 0 {
		delete(l.hits, key)
		return nil
	}
	l.hits[key] = h
	return h
}
