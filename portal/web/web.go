// Package web holds what the developer portal (package portal) and the
// admin portal (package portal/admin) share: security headers, random and
// hashed tokens, HMAC-bound CSRF tokens with the same-origin check,
// sign-in rate limiting, JSON answers, embedded static files and the SVG
// charts of request-log rollups.
package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// CSP is the Content-Security-Policy of every portal answer: no inline
// script or style anywhere, everything comes from the server's own static
// files.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// SetSecurityHeaders sets the headers every portal answer carries.
func SetSecurityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
}

// SafeMethod reports whether m changes nothing (no CSRF check needed).
func SafeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// RandomToken returns 256 random bits, base64url-encoded.
func RandomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// HashToken is the hex SHA-256 of a token: what the catalog stores.
func HashToken(t string) string {
	h := sha256.Sum256([]byte(t))
	return hex.EncodeToString(h[:])
}

// CSRF mints and checks tokens bound to a cookie value by an HMAC keyed
// with a server secret; Purpose separates the tokens of different
// portals keyed with the same secret.
type CSRF struct {
	Secret  []byte
	Purpose string
}

// For returns the token of the cookie value bind.
func (c CSRF) For(bind string) string {
	m := hmac.New(sha256.New, c.Secret)
	m.Write([]byte(c.Purpose + "\x00" + bind))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Header and FormField carry the CSRF token of a state-changing request.
const (
	Header    = "X-CSRF-Token"
	FormField = "csrf"
)

// maxFormBody bounds a form read for its CSRF field (uploads carry the
// token in the header or come through their own reader).
const maxFormBody = 64 << 10

// SameOrigin reports whether a request does not come from another origin:
// an Origin header, when present, names this host, and the browser does
// not mark it cross-site.
func SameOrigin(r *http.Request) bool {
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return false
		}
	}
	return r.Header.Get("Sec-Fetch-Site") != "cross-site"
}

// Sent returns the CSRF token a request carries: the header, or the form
// field of a URL-encoded or multipart form (the form is parsed, its body
// bounded to 64 KiB for URL-encoded forms).
func Sent(r *http.Request) string {
	if got := r.Header.Get(Header); got != "" {
		return got
	}
	ct := r.Header.Get("Content-Type")
	switch {
	case strings.HasPrefix(ct, "application/x-www-form-urlencoded"):
		r.Body = http.MaxBytesReader(nil, r.Body, maxFormBody)
		return r.PostFormValue(FormField)
	case strings.HasPrefix(ct, "multipart/form-data"):
		return r.PostFormValue(FormField)
	}
	return ""
}

// CheckToken reports whether got equals want (constant time) and want is
// not empty.
func CheckToken(got, want string) bool {
	return want != "" && hmac.Equal([]byte(got), []byte(want))
}

// ClientIP is the address the request came from (no forwarding header is
// trusted).
func ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// WriteJSON answers v as JSON, never cached.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// SafeNext keeps a post-sign-in target on this site: a path starting
// with prefix ("/" for the whole site), else prefix itself.
func SafeNext(n, prefix string) string {
	if !strings.HasPrefix(n, prefix) || strings.HasPrefix(n, "//") || strings.ContainsAny(n, "\\\r\n") {
		return prefix
	}
	return n
}

// Minutes words a wait of d seconds for a message ("a minute", "5 minutes").
func Minutes(d float64) string {
	m := int(math.Ceil(d / 60))
	if m <= 1 {
		return "a minute"
	}
	return fmt.Sprintf("%d minutes", m)
}

// Static serves the files of fsys under prefix ("/static/"): no
// directory listings, cached an hour.
func Static(fsys fs.FS, prefix string) http.Handler {
	fsrv := http.StripPrefix(prefix, http.FileServerFS(fsys))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fsrv.ServeHTTP(w, r)
	})
}

// SetCookie sets an HttpOnly cookie on path "/" with the portal's SameSite
// mode, Secure when secure; maxAge 0 makes it a browser-session cookie.
func SetCookie(w http.ResponseWriter, name, value string, maxAge time.Duration, sameSite http.SameSite, secure bool) {
	c := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, SameSite: sameSite, Secure: secure}
	if maxAge > 0 {
		c.MaxAge = int(maxAge / time.Second)
	}
	http.SetCookie(w, c)
}

// ClearCookie expires the cookie SetCookie set.
func ClearCookie(w http.ResponseWriter, name string, sameSite http.SameSite, secure bool) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: sameSite, Secure: secure})
}

// Secret returns secret, or 32 random bytes when it is nil; a secret
// shorter than 32 bytes is refused (who names the portal).
func Secret(secret []byte, who string) ([]byte, error) {
	if secret == nil {
		secret = make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, err
		}
	}
	if len(secret) < 32 {
		return nil, fmt.Errorf("%s: Secret must be at least 32 bytes, not %d", who, len(secret))
	}
	return secret, nil
}
