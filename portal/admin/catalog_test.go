package admin_test

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/portal/admin"
)

// multipartPost submits a multipart form with the browser's CSRF token.
func (b *browser) multipartPost(path string, fields map[string]string, fileField, fileName string, file []byte) (int, string, string) {
	b.e.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("csrf", b.csrf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if fileField != "" {
		w, _ := mw.CreateFormFile(fileField, fileName)
		w.Write(file)
	}
	mw.Close()
	resp, err := b.c.Post(b.e.srv.URL+path, mw.FormDataContentType(), &body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(out)
}

const ordersDoc = `openapi: 3.0.3
info: {title: Orders API, version: 1.0.0}
paths:
  /items/{id}:
    get:
      operationId: get-order
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        "200": {description: The order}
`

// TestCatalogPagesEditor: an editor imports an API from a file, edits it,
// makes a product with it, manages a subscription and named values; each
// change is audited with the editor's email; bad input shows the admin
// API's message and changes nothing.
func TestCatalogPagesEditor(t *testing.T) {
	e := newEnv(t, admin.Options{})
	e.addAdmin("ed@example.com", catalog.RoleEditor, pw)
	b := e.browser()
	b.signin("ed@example.com", pw)
	ctx := context.Background()

	b.get("/ui/apis")
	code, _, body := b.multipartPost("/ui/apis/import", map[string]string{"name": "Orders", "pathPrefix": "/orders", "backendUrl": "http://127.0.0.1:9999", "subscriptionRequired": "1"}, "file", "orders.yaml", []byte(ordersDoc))
	if code != http.StatusOK || !strings.Contains(body, `id="import-report"`) || !strings.Contains(body, "1 operations created") {
		t.Fatalf("import: %d\n%s", code, body)
	}
	as, _ := e.st.ListAPIs(ctx)
	if len(as) != 1 || as[0].Name != "Orders" || !as[0].SubscriptionRequired {
		t.Fatalf("apis %+v", as)
	}
	id := as[0].ID
	// Diagnostics of a broken document; nothing stored.
	code, _, body = b.multipartPost("/ui/apis/import", map[string]string{"name": "Bad", "pathPrefix": "/bad", "backendUrl": "http://127.0.0.1:9999", "document": "openapi: 3.0.3\npaths: 7\n"}, "", "", nil)
	if code != http.StatusBadRequest || !strings.Contains(body, "Import refused") {
		t.Fatalf("bad import: %d\n%s", code, body)
	}
	if as, _ := e.st.ListAPIs(ctx); len(as) != 1 {
		t.Fatal("a refused import stored an API")
	}
	if code, body := b.get("/ui/apis/" + id); code != http.StatusOK || !strings.Contains(body, `/ui/policies/operation/`+id+`/`) || !strings.Contains(body, `id="api-form"`) {
		t.Fatalf("api page: %d", code)
	}
	if code, _, _ := b.post("/ui/apis/"+id, url.Values{"name": {"Orders v2"}, "pathPrefix": {"/orders"}, "backendUrl": {"http://127.0.0.1:9998"}}, true); code != http.StatusSeeOther {
		t.Fatalf("edit api: %d", code)
	}
	if a, _ := e.st.GetAPI(ctx, id); a.Name != "Orders v2" || a.SubscriptionRequired || a.BackendURL != "http://127.0.0.1:9998" {
		t.Fatalf("edited api %+v", a)
	}
	if code, _, body := b.post("/ui/apis/"+id, url.Values{"name": {"X"}, "pathPrefix": {"no-slash"}, "backendUrl": {"http://127.0.0.1:9998"}}, true); code != http.StatusBadRequest || !strings.Contains(body, "pathPrefix") {
		t.Fatalf("bad edit: %d\n%s", code, body)
	}

	// Product with the API.
	b.get("/ui/products")
	if code, loc, body := b.post("/ui/products", url.Values{"id": {"gold"}, "name": {"Gold"}, "published": {"1"}, "subscriptionsLimit": {"2"}}, true); code != http.StatusSeeOther || loc != "/ui/products/gold?done=created" {
		t.Fatalf("create product: %d %s\n%s", code, loc, body)
	}
	code, body = b.get("/ui/products/gold")
	if code != http.StatusOK || !strings.Contains(body, `id="product-add-api"`) || !strings.Contains(body, `<option value="`+id+`"`) {
		t.Fatalf("product page: %d\n%s", code, body)
	}
	if code, _, body := b.post("/ui/products/gold/apis", url.Values{"apiId": {id}}, true); code != http.StatusSeeOther {
		t.Fatalf("add api: %d\n%s", code, body)
	}
	if l, _ := e.st.ListProductAPIs(ctx, "gold"); len(l) != 1 {
		t.Fatalf("links %+v", l)
	}
	if code, _, body := b.post("/ui/products", url.Values{"id": {"gold"}, "name": {"Again"}}, true); code != http.StatusBadRequest && code != http.StatusConflict || !strings.Contains(body, "already") {
		t.Fatalf("duplicate product: %d\n%s", code, body)
	}

	// A user, a subscription, its lifecycle.
	b.get("/ui/users")
	if code, _, body := b.post("/ui/users", url.Values{"id": {"dev"}, "email": {"dev@example.com"}, "name": {"Dev"}}, true); code != http.StatusSeeOther {
		t.Fatalf("create user: %d\n%s", code, body)
	}
	b.get("/ui/subscriptions")
	if code, _, body := b.post("/ui/subscriptions", url.Values{"userId": {"dev"}, "scope": {"product"}, "scopeId": {"gold"}, "name": {"s1"}}, true); code != http.StatusSeeOther {
		t.Fatalf("create subscription: %d\n%s", code, body)
	}
	subs, _ := e.st.ListSubscriptions(ctx, catalog.SubscriptionFilter{})
	if len(subs) != 1 {
		t.Fatalf("subs %+v", subs)
	}
	sid := subs[0].ID
	b.get("/ui/subscriptions")
	if code, _, _ := b.post("/ui/subscriptions/"+sid+"/state", url.Values{"action": {"suspend"}}, true); code != http.StatusSeeOther {
		t.Fatalf("suspend: %d", code)
	}
	if s, _ := e.st.GetSubscription(ctx, sid); s.State != catalog.StateSuspended {
		t.Fatalf("state %s", s.State)
	}
	if code, _, _ := b.post("/ui/subscriptions/"+sid+"/state", url.Values{"action": {"explode"}}, true); code != http.StatusBadRequest {
		t.Fatalf("unknown action: %d", code)
	}
	if code, _, _ := b.post("/ui/subscriptions/"+sid+"/expiry", url.Values{"expiresAt": {"2030-01-02T03:04"}}, true); code != http.StatusSeeOther {
		t.Fatalf("expiry: %d", code)
	}
	if s, _ := e.st.GetSubscription(ctx, sid); s.ExpiresAt == nil || s.ExpiresAt.Year() != 2030 {
		t.Fatalf("expiry %+v", s.ExpiresAt)
	}
	// Keys: only as JSON, audited.
	code, body = b.get("/ui/subscriptions")
	if strings.Contains(body, "gh_") {
		t.Fatal("a key in the subscriptions page source")
	}
	req, _ := http.NewRequest("GET", e.srv.URL+"/ui/subscriptions/"+sid+"/keys", nil)
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(kb), `"primaryKey"`) {
		t.Fatalf("keys: %d %s", resp.StatusCode, kb)
	}

	// Named values: secret values never in the page.
	b.get("/ui/named-values")
	if code, _, body := b.post("/ui/named-values", url.Values{"name": {"backend-secret"}, "value": {"s3cr3t-value-xyz"}, "secret": {"1"}}, true); code != http.StatusSeeOther {
		t.Fatalf("create named value: %d\n%s", code, body)
	}
	if code, _, _ := b.post("/ui/named-values/backend-secret", url.Values{"value": {"n3w-s3cr3t-abc"}, "secret": {"1"}}, true); code != http.StatusSeeOther {
		t.Fatalf("replace: %d", code)
	}
	if _, body := b.get("/ui/named-values"); strings.Contains(body, "s3cr3t") || !strings.Contains(body, "backend-secret") {
		t.Fatal("secret value in the named values page, or the value missing")
	}
	if nv, _ := e.st.GetNamedValue(ctx, "backend-secret"); nv.Value != "n3w-s3cr3t-abc" {
		t.Fatal("not replaced")
	}

	// Audited as the editor.
	code, body = b.get("/ui/audit?actor=ed@example.com")
	for _, want := range []string{"product", "subscription", "named-value", "api"} {
		if !strings.Contains(body, "<td>"+want+"</td>") {
			t.Errorf("audit page lacks a %s row by the editor", want)
		}
	}
	// Delete with confirmation.
	if code, _, _ := b.post("/ui/products/gold/delete", url.Values{"confirm": {"nope"}}, true); code != http.StatusBadRequest {
		t.Fatalf("delete without confirmation: %d", code)
	}
	if _, err := e.st.GetProduct(ctx, "gold"); err != nil {
		t.Fatal("deleted without confirmation")
	}
}

// TestViewerPages: a viewer sees every page, with no write control, and
// every form of the portal is refused for them by the admin API.
func TestViewerPages(t *testing.T) {
	e := newEnv(t, admin.Options{})
	e.addAdmin("vi@example.com", catalog.RoleViewer, pw)
	ctx := catalog.WithActor(context.Background(), "test")
	e.st.CreateAPI(ctx, catalog.API{ID: "echo", Name: "Echo", PathPrefix: "/echo", BackendURL: "http://127.0.0.1:1"})
	e.st.CreateProduct(ctx, catalog.Product{ID: "gold", Name: "Gold"})
	e.st.CreateUser(ctx, catalog.User{ID: "dev", Email: "dev@example.com"})
	e.st.CreateNamedValue(ctx, catalog.NamedValue{Name: "nv", Value: "plain-value", Secret: false})
	b := e.browser()
	b.signin("vi@example.com", pw)
	for _, p := range []string{"/ui/", "/ui/apis", "/ui/apis/echo", "/ui/products", "/ui/products/gold", "/ui/users", "/ui/subscriptions",
		"/ui/modules", "/ui/named-values", "/ui/analytics", "/ui/requests", "/ui/audit", "/ui/account", "/ui/policies/global"} {
		code, body := b.get(p)
		if code != http.StatusOK {
			t.Fatalf("%s: %d", p, code)
		}
		for _, w := range []string{`id="import-form"`, `id="api-form"`, `id="product-form"`, `id="product-edit"`, `id="user-form"`, `id="sub-form"`, `id="module-form"`, `id="nv-form"`, `class="danger"`, `data-can-write="true"`} {
			if strings.Contains(body, w) {
				t.Errorf("%s shows the viewer %s", p, w)
			}
		}
	}
	for path, form := range map[string]url.Values{
		"/ui/products":             {"id": {"p2"}, "name": {"P2"}},
		"/ui/products/gold":        {"name": {"Renamed"}},
		"/ui/products/gold/delete": {"confirm": {"gold"}},
		"/ui/apis/echo/delete":     {"confirm": {"echo"}},
		"/ui/users":                {"email": {"x@example.com"}},
		"/ui/named-values":         {"name": {"n2"}, "value": {"v"}},
	} {
		if code, _, body := b.post(path, form, true); code != http.StatusForbidden {
			t.Errorf("viewer POST %s: %d %s", path, code, body[strings.Index(body, "<main>"):])
		}
	}
	if _, err := e.st.GetProduct(context.Background(), "gold"); err != nil {
		t.Fatal("the viewer deleted a product")
	}
	if p, _ := e.st.GetProduct(context.Background(), "gold"); p.Name != "Gold" {
		t.Fatal("the viewer renamed a product")
	}
	// Keys are editor-only.
	resp, err := b.c.Get(e.srv.URL + "/ui/subscriptions/x/keys")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("viewer keys: %d", resp.StatusCode)
	}
}
