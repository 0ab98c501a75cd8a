package admin

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

// The whole static directory is embedded, so that files other branches
// add there (the policy editor's script and style) are served at
// /ui/static/<file> without a change here.
//
//go:embed static
var staticFS embed.FS

func staticSub() fs.FS {
	sub, _ := fs.Sub(staticFS, "static")
	return sub
}

var funcs = template.FuncMap{
	"date": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"ms": func(d time.Duration) string {
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	},
	"pathEsc": url.PathEscape,
	"join":    strings.Join,
	"list":    func(v ...string) []string { return v },
}

func loadPages() (*web.Pages, error) {
	return web.ParsePages(templateFS, funcs, "admin portal")
}

// view is what every page template gets.
type view struct {
	Title string
	Admin *catalog.Admin
	// CanWrite: the admin may change the catalog (editor or owner);
	// IsOwner: may also manage admins. Write controls are absent
	// otherwise (the admin API refuses them anyway).
	CanWrite, IsOwner bool
	CSRF              string
	Nav               string
	Flash             string
	Error             string
	Data              map[string]any
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, data map[string]any) {
	v := view{CSRF: csrfToken(r), Nav: name, Data: data}
	if u := viewerFrom(r); u != nil {
		v.Admin = &u.admin
		v.CanWrite = u.admin.Role.Rank() >= catalog.RoleEditor.Rank()
		v.IsOwner = u.admin.Role == catalog.RoleOwner
	}
	if t, ok := data["Title"].(string); ok {
		v.Title = t
	}
	if n, ok := data["Nav"].(string); ok {
		v.Nav = n
	}
	if e, ok := data["Error"].(string); ok {
		v.Error = e
	}
	v.Flash = flashes[r.URL.Query().Get("done")]
	s.pages.Write(w, s.log, "admin portal", name, status, v)
}

// statusError is an error with the status and message a page shows.
type statusError struct {
	status int
	msg    string
}

func (e *statusError) Error() string { return e.msg }

var errNotFound = &statusError{http.StatusNotFound, "There is nothing here."}

// page wraps a handler that may fail.
func (s *Server) page(f func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := f(w, r); err != nil {
			s.fail(w, r, err)
		}
	}
}

// auth is page for signed-in admins only; others go to sign in.
func (s *Server) auth(f func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return s.page(func(w http.ResponseWriter, r *http.Request) error {
		if viewerFrom(r) == nil {
			next := r.URL.Path
			if r.Method != http.MethodGet {
				next = Prefix + "/"
			}
			http.Redirect(w, r, Prefix+"/signin?next="+url.QueryEscape(next), http.StatusSeeOther)
			return nil
		}
		return f(w, r)
	})
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := http.StatusInternalServerError, "Something went wrong on our side; it has been logged."
	var se *statusError
	var fe *catalog.FieldError
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		status, msg = ae.Status, ae.Error()
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
		s.log.Error("admin portal: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		web.WriteJSON(w, status, map[string]string{"error": msg})
		return
	}
	s.render(w, r, status, "error", map[string]any{"Title": http.StatusText(status), "Message": msg})
}

// flashes are the one-time messages a redirect may ask for: fixed texts,
// so that a crafted link cannot put words in the portal's mouth.
var flashes = map[string]string{
	"signedout":  "You are signed out.",
	"password":   "Password changed. Your other sessions were signed out.",
	"token":      "Token revoked.",
	"session":    "Session ended.",
	"sessions":   "Every other session was signed out.",
	"saved":      "Saved.",
	"deleted":    "Deleted.",
	"imported":   "Imported.",
	"created":    "Created.",
	"uploaded":   "Module uploaded.",
	"granted":    "Grant saved.",
	"revoked":    "Grant revoked.",
	"attached":   "Policy attached.",
	"pinned":     "Attachment pinned to the chosen version.",
	"state":      "Subscription updated.",
	"regenerate": "Key regenerated; the old one no longer works.",
}

// redirect answers a POST with 303 to target, with an optional message.
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
