package portal

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/portal/web"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

var funcs = template.FuncMap{
	"lower": strings.ToLower,
	"date": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"ms": func(f float64) string { return fmt.Sprintf("%.1f ms", f) },
	"dur": func(d time.Duration) string {
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	},
	"pathEsc": url.PathEscape,
	"slots":   func() []string { return []string{"primary", "secondary"} },
}

func loadPages() (*web.Pages, error) {
	return web.ParsePages(templateFS, funcs, "portal")
}

// view is what every page template gets.
type view struct {
	Title      string
	User       *catalog.User
	CSRF       string
	Nav        string
	GatewayURL string
	Flash      string
	Error      string
	Data       map[string]any
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, data map[string]any) {
	v := view{CSRF: csrfToken(r), Nav: name, GatewayURL: s.o.GatewayURL, Data: data}
	if u := viewerFrom(r); u != nil {
		v.User = &u.user
	}
	if t, ok := data["Title"].(string); ok {
		v.Title = t
	}
	if e, ok := data["Error"].(string); ok {
		v.Error = e
	}
	v.Flash = flashes[r.URL.Query().Get("done")]
	s.pages.Write(w, s.log, "portal", name, status, v)
}

// statusError is an error with the status and message a page shows.
type statusError struct {
	status int
	msg    string
}

func (e *statusError) Error() string { return e.msg }

var errNotFound = &statusError{http.StatusNotFound, "There is nothing here, or it is not yours."}

func badRequest(format string, args ...any) error {
	return &statusError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

// page wraps a handler that may fail: catalog ErrNotFound (and anything
// not the viewer's) is 404, ErrInvalid 400, ErrConflict 409, the rest 500
// with the detail logged only.
func (s *Server) page(f func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := f(w, r); err != nil {
			s.fail(w, r, err)
		}
	}
}

// auth is page for signed-in users only; others go to sign in (pages) or
// get 401 (JSON).
func (s *Server) auth(f func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return s.page(func(w http.ResponseWriter, r *http.Request) error {
		if viewerFrom(r) == nil {
			if wantsJSON(r) {
				web.WriteJSON(w, http.StatusUnauthorized, map[string]string{"error": "sign in first"})
				return nil
			}
			next := r.URL.Path
			if r.Method != http.MethodGet {
				next = "/"
			}
			http.Redirect(w, r, "/signin?next="+url.QueryEscape(next), http.StatusSeeOther)
			return nil
		}
		return f(w, r)
	})
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := http.StatusInternalServerError, "Something went wrong on our side; it has been logged."
	var se *statusError
	var fe *catalog.FieldError
	switch {
	case errors.As(err, &se):
		status, msg = se.status, se.msg
	case errors.Is(err, catalog.ErrNotFound):
		status, msg = errNotFound.status, errNotFound.msg
	case errors.As(err, &fe):
		status, msg = http.StatusBadRequest, fe.Error()
	case errors.Is(err, catalog.ErrInvalid):
		status, msg = http.StatusBadRequest, err.Error()
	case errors.Is(err, catalog.ErrConflict):
		status, msg = http.StatusConflict, err.Error()
	default:
		s.log.Error("portal: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if wantsJSON(r) {
		web.WriteJSON(w, status, map[string]string{"error": msg})
		return
	}
	s.render(w, r, status, "error", map[string]any{"Title": http.StatusText(status), "Message": msg})
}

// flashes are the one-time messages a redirect may ask for: fixed texts,
// so that a crafted link cannot put words in the portal's mouth.
var flashes = map[string]string{
	"signedup":    "Welcome! Your account is ready.",
	"signedin":    "You are signed in.",
	"signedout":   "You are signed out.",
	"profile":     "Profile saved.",
	"password":    "Password changed. Other sessions were signed out.",
	"reset":       "Password set. Sign in with your new password.",
	"subscribed":  "Subscribed. Your keys are below.",
	"pending":     "Subscription requested: it waits for an administrator's approval.",
	"renamed":     "Subscription renamed.",
	"cancelled":   "Subscription cancelled.",
	"regenerated": "Key regenerated; the old one no longer works.",
}

// redirect answers a POST with 303 to target, with an optional message
// shown once.
func redirect(w http.ResponseWriter, r *http.Request, target, done string) {
	if done != "" {
		sep := "?"
		if strings.Contains(target, "?") {
			sep = "&"
		}
		target += sep + "done=" + url.QueryEscape(done)
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

func staticHandler() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	return web.Static(sub, "/static/")
}
