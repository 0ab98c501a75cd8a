package portal_test

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
	"testing"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/catalog/oasimport"
	"github.com/gatehouse/gatehouse/catalog/sqlite"
	"github.com/gatehouse/gatehouse/portal"
)

// env is a portal over a real SQLite catalog, served over loopback.
type env struct {
	t   testing.TB
	st  *sqlite.Store
	srv *httptest.Server
}

func newEnv(t *testing.T, o portal.Options) *env {
	t.Helper()
	st, err := sqlite.OpenWithMasterKey(filepath.Join(t.TempDir(), "catalog.db"), make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	o.Store = st
	h, err := portal.New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &env{t: t, st: st, srv: srv}
}

// seed publishes a product "starter" with the echo API (from doc) and
// an unpublished product "hidden" with API "secret".
func (e *env) seed(doc string, product catalog.Product) {
	e.t.Helper()
	ctx := context.Background()
	must(e.t, func() error {
		_, err := e.st.CreateAPI(ctx, catalog.API{ID: "echo", Name: "Echo API", PathPrefix: "/echo", BackendURL: "http://127.0.0.1:1", SubscriptionRequired: true})
		return err
	})
	if _, err := oasimport.Import(ctx, e.st, oasimport.Request{APIID: "echo", Document: []byte(doc)}); err != nil {
		e.t.Fatal(err)
	}
	if product.ID == "" {
		product = catalog.Product{ID: "starter", Name: "Starter", Published: true, SubscriptionsLimit: 1}
	}
	must(e.t, func() error { _, err := e.st.CreateProduct(ctx, product); return err })
	must(e.t, func() error { return e.st.AddProductAPI(ctx, catalog.ProductAPI{ProductID: product.ID, APIID: "echo"}) })
	must(e.t, func() error {
		_, err := e.st.CreateAPI(ctx, catalog.API{ID: "secret", Name: "Secret API", PathPrefix: "/secret", BackendURL: "http://127.0.0.1:1"})
		return err
	})
	must(e.t, func() error {
		_, err := e.st.CreateProduct(ctx, catalog.Product{ID: "hidden", Name: "Hidden", Published: false})
		return err
	})
	must(e.t, func() error { return e.st.AddProductAPI(ctx, catalog.ProductAPI{ProductID: "hidden", APIID: "secret"}) })
}

func must(t testing.TB, f func() error) {
	t.Helper()
	if err := f(); err != nil {
		t.Fatal(err)
	}
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

// do sends a request with the CSRF header.
func (b *browser) do(method, path, body string, withToken bool) (int, string) {
	b.e.t.Helper()
	req, _ := http.NewRequest(method, b.e.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Accept", "application/json")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if withToken {
		req.Header.Set("X-CSRF-Token", b.csrf)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// signup creates an account through the form and leaves b signed in.
func (b *browser) signup(email, name, password string) {
	b.e.t.Helper()
	b.get("/signup")
	code, loc, body := b.post("/signup", url.Values{"email": {email}, "name": {name}, "password": {password}, "password2": {password}}, true)
	if code != http.StatusSeeOther {
		b.e.t.Fatalf("signup %s: %d %s", email, code, body)
	}
	if !strings.HasPrefix(loc, "/products") {
		b.e.t.Fatalf("signup redirected to %q", loc)
	}
	b.get("/")
}

func (b *browser) signin(email, password string) (int, string) {
	b.e.t.Helper()
	b.get("/signin")
	code, _, body := b.post("/signin", url.Values{"email": {email}, "password": {password}}, true)
	b.get("/")
	return code, body
}

func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.e.srv.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

const echoDoc = `openapi: 3.0.3
info:
  title: Echo API
  version: 1.0.0
  description: |
    A **demo** API.
tags:
  - name: items
    description: Items you can get.
paths:
  /items/{id}:
    get:
      operationId: get-item
      tags: [items]
      summary: Get one item by ID
      parameters:
        - name: id
          in: path
          required: true
          schema: {type: string, example: "42"}
        - name: verbose
          in: query
          schema: {type: boolean}
      responses:
        "200":
          description: The item
          content:
            application/json:
              schema:
                type: object
                properties:
                  id: {type: string}
              example: {id: "42", name: Item 42}
  /post:
    post:
      operationId: echo-post
      requestBody:
        content:
          application/json:
            schema: {type: object}
            example: {hello: world}
      responses:
        "200":
          description: Echoed
`
