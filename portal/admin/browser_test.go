package admin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/portal/web/webtest"
)

// The admin portal in a real browser against the real server (`serve
// --demo`: real gateway, real Wasm policies, real SQLite): the first
// owner signs in with the bootstrapped password, imports an OpenAPI
// document, creates a product, attaches rate-limit through the policy
// editor's schema form, and the calls and the
// 429s through the gateway show on the dashboard; a module is uploaded in
// two versions, granted, attached, its effect seen through the gateway,
// then rolled back by pinning; a viewer sees everything and changes
// nothing; requests without or with a wrong CSRF token, and REST calls
// with the cookie alone, are refused; sign-in is rate-limited.

const importDoc = `openapi: 3.0.3
info: {title: Orders API, version: 1.0.0}
paths:
  /items/{id}:
    get:
      operationId: get-order
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        "200": {description: The order}
  /items:
    post:
      operationId: create-order
      responses:
        "201": {description: Created}
`

// buildMarker builds the test module testdata/marker with X-Marker set to
// version.
func buildMarker(t *testing.T, dir, version string) string {
	t.Helper()
	out := filepath.Join(dir, "marker-"+version+".wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-trimpath", "-ldflags", "-X main.version="+version, "-o", out, "./testdata/marker")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the marker module: %v\n%s", err, b)
	}
	return out
}

// fetchJS runs fetch in the page and answers "STATUS BODY".
func fetchJS(t *testing.T, ctx context.Context, method, path, body string, csrf bool) (int, string) {
	t.Helper()
	hdr := `{"Content-Type": "application/json"}`
	if csrf {
		hdr = `{"Content-Type": "application/json", "X-CSRF-Token": document.querySelector('meta[name="csrf-token"]').content}`
	}
	js := fmt.Sprintf(`fetch(%q, {method: %q, credentials: "same-origin", headers: %s%s}).then(r => r.text().then(b => r.status + " " + b))`,
		path, method, hdr, map[bool]string{true: ", body: " + strconv.Quote(body), false: ""}[body != ""])
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("fetch %s %s: %v", method, path, err)
	}
	code, rest, _ := strings.Cut(s, " ")
	n, _ := strconv.Atoi(code)
	return n, rest
}

// setSelect chooses an option of a select element.
func setSelect(sel, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%q).value = %q`, sel, value))
}

// dropFlash removes the page's flash message, so that waiting for one
// waits for the next page.
var dropFlash = chromedp.Evaluate[chromedp.Void](`document.querySelectorAll(".flash").forEach(e => e.remove())`)

// gatewayGet calls the gateway with a subscription key.
func gatewayGet(t *testing.T, url, key string) (int, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Ocp-Apim-Subscription-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}

// eventually retries f until it reports true or d passes (the gateway
// reloads the catalog within a second; the request log is flushed in
// batches).
func eventually(t *testing.T, d time.Duration, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestAdminBrowserFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: not in -short")
	}
	mdir := t.TempDir()
	v1, v2 := buildMarker(t, mdir, "v1"), buildMarker(t, mdir, "v2")
	t0 := time.Now()
	srv := webtest.StartDemo(t)
	ctx, _ := webtest.NewBrowser(t)
	sh := webtest.Shots{T: t, Dir: os.Getenv("GATEHOUSE_SCREENSHOTS")}
	ui := srv.Admin + "/ui"
	run := func(what string, a ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, a...); err != nil {
			html, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + "\n" + (document.querySelector("main") || document.body).innerText`))
			t.Fatalf("%s: %v\npage: %s", what, err, html)
		}
	}
	text := func(sel string) string {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		return webtest.Text(t, sctx, sel)
	}

	// The first owner's sign-in, as `make run` prints it.
	b, err := os.ReadFile(filepath.Join(srv.Dir, "data", "admin-owner.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var email, password string
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "email: "); ok {
			email = v
		}
		if v, ok := strings.CutPrefix(l, "password: "); ok {
			password = v
		}
	}
	run("sign-in page", chromedp.Navigate(ui+"/"), chromedp.WaitVisible(chromedp.CSS("#signin-form")))
	sh.Take(ctx, "admin-signin")
	run("sign in",
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS("#signin-submit")),
		chromedp.WaitVisible(chromedp.CSS("#nav-role")),
	)
	if r := text("#nav-role"); !strings.EqualFold(r, "owner") {
		t.Fatalf("role shown %q", r)
	}

	// Cookie-only REST and missing/wrong CSRF, from the real browser.
	if code, body := fetchJS(t, ctx, "GET", "/admin/v1/me", "", false); code != http.StatusForbidden || !strings.Contains(body, "X-CSRF-Token") {
		t.Fatalf("cookie-only REST: %d %s", code, body)
	}
	if code, body := fetchJS(t, ctx, "GET", "/admin/v1/me", "", true); code != http.StatusOK || !strings.Contains(body, email) {
		t.Fatalf("REST with the CSRF header: %d %s", code, body)
	}
	for _, tok := range []string{"", "&csrf=wrong"} {
		js := `fetch("/ui/products", {method: "POST", credentials: "same-origin", headers: {"Content-Type": "application/x-www-form-urlencoded"}, body: "id=evil&name=Evil` + tok + `"}).then(r => r.status)`
		code, err := chromedp.Run(ctx, chromedp.Evaluate[int](js, chromedp.EvalAwaitPromise))
		if err != nil || code != http.StatusForbidden {
			t.Fatalf("form POST with CSRF %q: %d %v", tok, code, err)
		}
	}

	// Import an OpenAPI document from a file, pointing at the demo's echo
	// backend.
	var echo struct {
		BackendURL string `json:"backendUrl"`
	}
	srv.AdminDo(t, "GET", "/apis/echo", nil, &echo)
	docPath := filepath.Join(mdir, "orders.yaml")
	os.WriteFile(docPath, []byte(importDoc), 0o644)
	run("import", chromedp.Navigate(ui+"/apis"), chromedp.WaitVisible(chromedp.CSS("#import-form")),
		chromedp.SetUploadFiles(chromedp.CSS("#import-file"), []string{docPath}),
		chromedp.SendKeys(chromedp.CSS("#import-name"), "Orders"),
		chromedp.SendKeys(chromedp.CSS("#import-path"), "/orders"),
		chromedp.SendKeys(chromedp.CSS("#import-backend"), echo.BackendURL),
		chromedp.Click(chromedp.CSS("#import-submit")),
		chromedp.WaitVisible(chromedp.CSS("#import-report")),
	)
	if rep := text("#import-report"); !strings.Contains(rep, "2 operations created") {
		t.Fatalf("import report: %q", rep)
	}
	sh.Take(ctx, "admin-api")
	apiID, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("api-title").dataset.apiId`))
	if err != nil {
		t.Fatal(err)
	}
	// An import with a broken document shows the diagnostics.
	run("bad import", chromedp.Navigate(ui+"/apis"),
		chromedp.SendKeys(chromedp.CSS("#import-document"), "openapi: 3.0.3\npaths: {/x: {get: {responses: 7}}}\n"),
		chromedp.SendKeys(chromedp.CSS("#import-name"), "Broken"),
		chromedp.SendKeys(chromedp.CSS("#import-path"), "/broken"),
		chromedp.SendKeys(chromedp.CSS("#import-backend"), echo.BackendURL),
		chromedp.Click(chromedp.CSS("#import-submit")),
		chromedp.WaitVisible(chromedp.CSS("#form-error")),
	)
	if e := text("#form-error"); !strings.Contains(e, "Import refused") {
		t.Fatalf("bad import: %q", e)
	}

	// A product with the API, rate-limited to 3 calls a minute.
	run("create product", chromedp.Navigate(ui+"/products"),
		chromedp.SendKeys(chromedp.CSS("#product-id"), "gold"),
		chromedp.SendKeys(chromedp.CSS("#product-name"), "Gold"),
		chromedp.Click(chromedp.CSS("#product-published")),
		chromedp.Click(chromedp.CSS("#product-submit")),
		chromedp.WaitVisible(chromedp.CSS("#product-add-api")),
		setSelect("#product-api-select", apiID),
		chromedp.Click(chromedp.CSS("#product-add-api-submit")),
		chromedp.WaitVisible(chromedp.CSS(`#product-apis a[href="/ui/apis/`+apiID+`"]`)),
	)
	sh.Take(ctx, "admin-product")
	// Attach rate-limit through the policy editor's schema form.
	tAttach := time.Now()
	run("policy editor", chromedp.Navigate(ui+"/policies/product/gold"),
		webtest.Poll(`document.getElementById("policy-editor").dataset.ready === "true"`, 30*time.Second),
		chromedp.Click(chromedp.CSS(`.pe-add[data-section="inbound"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#pe-picks`)),
		chromedp.SendKeys(chromedp.CSS(`.pe-filter`), "rate-limit"),
		chromedp.Click(chromedp.CSS(`.pe-pick[data-module="builtin"][data-policy="rate-limit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#pe-form .pe-field[data-path="calls"] input`)),
		chromedp.SendKeys(chromedp.CSS(`#pe-form .pe-field[data-path="calls"] input`), "3"),
		chromedp.SendKeys(chromedp.CSS(`#pe-form .pe-field[data-path="renewal_period"] input`), "60"),
		chromedp.Click(chromedp.CSS(`#pe-apply`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#pe-form`)),
		chromedp.Click(chromedp.CSS(`#pe-review`)),
		chromedp.WaitVisible(chromedp.CSS(`#pe-diff`)),
		chromedp.Click(chromedp.CSS(`#pe-save`)),
		webtest.Poll(`document.getElementById("pe-status").textContent.startsWith("Saved")`, 20*time.Second),
	)
	var stored struct {
		Inbound []struct {
			Base   bool            `json:"base"`
			Policy string          `json:"policy"`
			Config json.RawMessage `json:"config"`
		} `json:"inbound"`
	}
	srv.AdminDo(t, "GET", "/policies/product/gold", nil, &stored)
	if len(stored.Inbound) != 2 || !stored.Inbound[0].Base || stored.Inbound[1].Policy != "rate-limit" || string(stored.Inbound[1].Config) != `{"calls":3,"renewal_period":60}` {
		t.Fatalf("stored after the editor: %+v", stored)
	}
	var sub struct {
		PrimaryKey string `json:"primaryKey"`
	}
	srv.AdminDo(t, "POST", "/subscriptions", map[string]string{"userId": "demo-developer", "scope": "product", "scopeId": "gold", "name": "gold sub"}, &sub)
	call := srv.Gateway + "/orders/items/1"
	var got []int
	eventually(t, 10*time.Second, "429 through the gateway", func() bool {
		code, _ := gatewayGet(t, call, sub.PrimaryKey)
		got = append(got, code)
		return code == http.StatusTooManyRequests
	})
	t.Logf("calls until 429: %v (%v after serve started; %v from opening the editor to the 429)", got, time.Since(t0).Round(time.Millisecond), time.Since(tAttach).Round(time.Millisecond))

	// The dashboard shows the calls and the 429s.
	eventually(t, 15*time.Second, "the 429s on the dashboard", func() bool {
		run("dashboard", chromedp.Navigate(ui+"/"), chromedp.WaitVisible(chromedp.CSS("#totals")))
		n, _ := strconv.Atoi(text("#total-4xx"))
		return n >= 1 && strings.Contains(text("#top-apis"), "Orders") && strings.Contains(text("#failures"), "429")
	})
	sh.Take(ctx, "admin-dashboard")
	run("requests", chromedp.Navigate(ui+"/requests?status=429"), chromedp.WaitVisible(chromedp.CSS("#requests")))
	if !strings.Contains(text("#requests"), "/orders/items/1") {
		t.Fatal("the 429 is not in the request log browser")
	}
	run("analytics", chromedp.Navigate(ui+"/analytics?range=1h&group=api"), chromedp.WaitVisible(chromedp.CSS("#analytics-table")))
	sh.Take(ctx, "admin-analytics")

	// Modules: upload two versions, grant each, attach, see the effect,
	// roll back by pinning.
	upload := func(path, version string) {
		t.Helper()
		run("upload "+version, chromedp.Navigate(ui+"/modules"), chromedp.WaitVisible(chromedp.CSS("#module-form")),
			chromedp.SendKeys(chromedp.CSS("#module-name"), "marker"),
			chromedp.SendKeys(chromedp.CSS("#module-version"), version),
			chromedp.SetUploadFiles(chromedp.CSS("#module-wasm"), []string{path}),
			chromedp.Click(chromedp.CSS("#module-submit")),
			chromedp.WaitVisible(chromedp.CSS("#grant-form")),
		)
		if g := text("#module-grant-state"); !strings.Contains(g, "missing") {
			t.Fatalf("%s before the grant: %q", version, g)
		}
		run("grant "+version, chromedp.Evaluate[chromedp.Void](`document.querySelectorAll('#grant-form input[type=checkbox]').forEach(c => c.checked = true)`),
			dropFlash, chromedp.Click(chromedp.CSS("#grant-submit")), chromedp.WaitVisible(chromedp.CSS(".flash")))
		if g := text("#module-grant-state"); !strings.Contains(g, "granted") || strings.Contains(g, "missing") {
			t.Fatalf("%s after the grant: %q", version, g)
		}
	}
	upload(v1, "1.0.0")
	upload(v2, "2.0.0")
	sh.Take(ctx, "admin-module")
	if code, body := fetchJS(t, ctx, "PUT", "/admin/v1/policies/api/"+apiID, `{"outbound":[{"module":"marker"}]}`, true); code != http.StatusOK {
		t.Fatalf("attach marker: %d %s", code, body)
	}
	// A subscription to the API alone (the product's rate limit is spent).
	var apiSub struct {
		PrimaryKey string `json:"primaryKey"`
	}
	srv.AdminDo(t, "POST", "/subscriptions", map[string]string{"userId": "demo-developer", "scope": "api", "scopeId": apiID, "name": "api sub"}, &apiSub)
	eventually(t, 10*time.Second, "marker v2 through the gateway", func() bool {
		_, h := gatewayGet(t, call, apiSub.PrimaryKey)
		return h.Get("X-Marker") == "v2"
	})
	run("module page", chromedp.Navigate(ui+"/modules/marker/2.0.0"), chromedp.WaitVisible(chromedp.CSS("#attachments .pin-form")))
	if r := text("#attachments td.runs"); r != "2.0.0" {
		t.Fatalf("attachment runs %q", r)
	}
	run("pin to 1.0.0", setSelect("#attachments select[name=version]", "1.0.0"),
		dropFlash, chromedp.Click(chromedp.CSS("#attachments .pin-form button")), chromedp.WaitVisible(chromedp.CSS(".flash")))
	if r := text("#attachments td.runs"); r != "1.0.0" {
		t.Fatalf("after pinning, the attachment runs %q", r)
	}
	eventually(t, 10*time.Second, "v2's effect gone", func() bool {
		_, h := gatewayGet(t, call, apiSub.PrimaryKey)
		return h.Get("X-Marker") == "v1"
	})

	// Other pages render.
	for _, p := range []string{"/subscriptions", "/users", "/named-values", "/certificates", "/audit", "/account", "/policies/global"} {
		run(p, chromedp.Navigate(ui+p), chromedp.WaitVisible(chromedp.CSS("main h1")))
		sh.Take(ctx, "admin-"+strings.Trim(strings.ReplaceAll(p, "/", "-"), "-"))
		if p == "/audit" && !strings.Contains(text("#audit"), email) {
			t.Fatal("the audit log does not name the owner")
		}
	}

	// A viewer sees everything and changes nothing.
	srv.AdminDo(t, "POST", "/admins", map[string]string{"email": "viewer@example.com", "role": "viewer", "password": "viewer password 1"}, nil)
	run("sign out", chromedp.Click(chromedp.CSS("#signout")), chromedp.WaitVisible(chromedp.CSS("#signin-form")))
	run("viewer signs in", chromedp.SendKeys(chromedp.CSS("#email"), "viewer@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), "viewer password 1"),
		chromedp.Click(chromedp.CSS("#signin-submit")), chromedp.WaitVisible(chromedp.CSS("#nav-role")))
	for p, absent := range map[string]string{
		"/apis": "#import-form", "/apis/" + apiID: "#api-form", "/products": "#product-form", "/products/gold": "#product-edit",
		"/modules": "#module-form", "/modules/marker/1.0.0": "#grant-submit", "/subscriptions": "#sub-form", "/named-values": "#nv-form", "/certificates": "#cert-form",
	} {
		run("viewer "+p, chromedp.Navigate(ui+p), chromedp.WaitVisible(chromedp.CSS("main h1")))
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+strconv.Quote(absent)+`).length`))
		if err != nil || n != 0 {
			t.Fatalf("viewer sees %s on %s", absent, p)
		}
	}
	sh.Take(ctx, "admin-viewer")
	if code, _ := fetchJS(t, ctx, "PUT", "/admin/v1/policies/product/gold", `{"inbound":[]}`, true); code != http.StatusForbidden {
		t.Fatalf("viewer PUT through the API: %d", code)
	}
	code, err := chromedp.Run(ctx, chromedp.Evaluate[int](`fetch("/ui/products/gold/delete", {method: "POST", credentials: "same-origin", headers: {"Content-Type": "application/x-www-form-urlencoded"}, body: "confirm=gold&csrf=" + encodeURIComponent(document.querySelector('meta[name="csrf-token"]').content)}).then(r => r.status)`, chromedp.EvalAwaitPromise))
	if err != nil || code != http.StatusForbidden {
		t.Fatalf("viewer's delete form: %d %v", code, err)
	}
	srv.AdminDo(t, "GET", "/products/gold", nil, nil)

	// Sign-in rate limit.
	run("sign out viewer", chromedp.Click(chromedp.CSS("#signout")), chromedp.WaitVisible(chromedp.CSS("#signin-form")))
	for i := 0; i < 5; i++ {
		run("wrong password", chromedp.Navigate(ui+"/signin"), chromedp.SendKeys(chromedp.CSS("#email"), "viewer@example.com"),
			chromedp.SendKeys(chromedp.CSS("#password"), "not the password"), chromedp.Click(chromedp.CSS("#signin-submit")),
			chromedp.WaitVisible(chromedp.CSS("#form-error")))
	}
	run("right password, limited", chromedp.Navigate(ui+"/signin"), chromedp.SendKeys(chromedp.CSS("#email"), "viewer@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), "viewer password 1"), chromedp.Click(chromedp.CSS("#signin-submit")),
		chromedp.WaitVisible(chromedp.CSS("#form-error")))
	if e := text("#form-error"); !strings.Contains(e, "Too many failed sign-ins") {
		t.Fatalf("after 5 failures: %q", e)
	}
}
