package admin_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/catalog/adminapi"
	"github.com/gatehouse/gatehouse/catalog/sqlite"
	"github.com/gatehouse/gatehouse/portal/admin"
)

// breakGlass is the test admin API's break-glass token.
const breakGlass = "test-break-glass-token-0123456789"

// env is the admin portal and the admin API over a real SQLite catalog,
// wired as cmd/gatehouse wires them, served over loopback.
type env struct {
	t   testing.TB
	st  *sqlite.Store
	ui  *admin.Server
	srv *httptest.Server
	mu  sync.Mutex
	now time.Time // zero: time.Now
}

func newEnv(t testing.TB, o admin.Options) *env {
	t.Helper()
	st, err := sqlite.OpenWithMasterKey(filepath.Join(t.TempDir(), "catalog.db"), make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{t: t, st: st}
	o.Store = st
	if o.Now == nil {
		o.Now = e.clock
	}
	ui, err := admin.New(o)
	if err != nil {
		t.Fatal(err)
	}
	api, err := adminapi.New(adminapi.Options{Store: st, Token: breakGlass, Session: ui.SessionAuth, Analytics: o.Analytics,
		ValidateModule: testValidate})
	if err != nil {
		t.Fatal(err)
	}
	ui.SetAPI(api)
	mux := http.NewServeMux()
	mux.Handle("/", api)
	mux.Handle(admin.Prefix+"/", ui)
	e.ui = ui
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	return e
}

// testValidate stands in for the host's module validation where a test
// uploads no module (the module tests wire the real engine).
var testValidate func(ctx context.Context, wasm []byte) (int, []string, error)

func (e *env) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.now.IsZero() {
		return time.Now()
	}
	return e.now
}

func (e *env) setClock(t time.Time) {
	e.mu.Lock()
	e.now = t
	e.mu.Unlock()
}

// addAdmin creates an admin with a password.
func (e *env) addAdmin(email string, role catalog.AdminRole, pw string) catalog.Admin {
	e.t.Helper()
	h, err := catalog.HashPassword(pw)
	if err != nil {
		e.t.Fatal(err)
	}
	a, err := e.st.CreateAdmin(catalog.WithActor(context.Background(), "test"), catalog.Admin{Email: email, Name: strings.Split(email, "@")[0], Role: role}, h)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// browser is an HTTP client with its own cookie jar.
type browser struct {
	e    *env
	c    *http.Client
	csrf string
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfMeta = regexp.MustCompile(`name="csrf-token" content="([^"]*)"`)

// get fetches a page and remembers its CSRF token.
func (b *browser) get(path string) (int, string) {
	b.e.t.Helper()
	resp, err := b.c.Get(b.e.srv.URL + path)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if m := csrfMeta.FindSubmatch(body); m != nil {
		b.csrf = string(m[1])
	}
	return resp.StatusCode, string(body)
}

// post submits a form with the current CSRF token (unless withToken is
// false) and returns the status, Location and body.
func (b *browser) post(path string, form url.Values, withToken bool) (int, string, string) {
	b.e.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if withToken {
		form.Set("csrf", b.csrf)
	}
	resp, err := b.c.PostForm(b.e.srv.URL+path, form)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}

// api calls the admin API with the browser's cookies and, when csrf is
// not "", that X-CSRF-Token header.
func (b *browser) api(method, path, body, csrf string) (int, string) {
	b.e.t.Helper()
	req, _ := http.NewRequest(method, b.e.srv.URL+"/admin/v1"+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// signin signs in through the form; it returns the sign-in's status and
// body, then loads the dashboard (for its CSRF token).
func (b *browser) signin(email, password string) (int, string) {
	b.e.t.Helper()
	b.get("/ui/signin")
	code, _, body := b.post("/ui/signin", url.Values{"email": {email}, "password": {password}}, true)
	b.get("/ui/")
	return code, body
}

func (b *browser) cookie(name string) *http.Cookie {
	u, _ := url.Parse(b.e.srv.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}
