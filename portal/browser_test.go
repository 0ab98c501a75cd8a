package portal_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/portal/web/webtest"
)

// The browser tests run the real `gatehouse serve --demo` (real gateway,
// real Wasm policies, real SQLite) and drive the portal with headless
// Debian Chromium through chromedp. `make test` installs chromium when it
// is missing (make chromium); where it cannot be, these tests skip loudly.

// TestBrowserFlow is a newcomer's path through the portal in a real
// browser against the real server: sign up, subscribe, see the key, open
// an operation in the console, send, 200, the trace shows the demo's
// policies, the call appears in My usage; then a product that needs
// approval, approved by an admin in between; an XSS payload in an imported
// document renders as text; a POST without the CSRF token is refused.
func TestBrowserFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: not in -short")
	}
	ctx, dialogs := webtest.NewBrowser(t)
	t0 := time.Now()
	srv := webtest.StartDemo(t)
	t.Logf("serve --demo ready in %v", time.Since(t0).Round(time.Millisecond))
	sh := webtest.Shots{T: t, Dir: os.Getenv("GATEHOUSE_SCREENSHOTS")}
	if sh.Dir != "" {
		if err := os.MkdirAll(sh.Dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	p := srv.Portal

	// Home, then sign up.
	webtest.Run(t, ctx, "home", chromedp.Navigate(p+"/"), chromedp.WaitVisible(chromedp.CSS(".hero")))
	sh.Take(ctx, "home")
	webtest.Run(t, ctx, "sign up",
		chromedp.Navigate(p+"/signup"),
		chromedp.SendKeys(chromedp.CSS("#name"), "Browser Dev"),
		chromedp.SendKeys(chromedp.CSS("#email"), "browser@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), "browser password 1"),
		chromedp.SendKeys(chromedp.CSS("#password2"), "browser password 1"),
		chromedp.Click(chromedp.CSS("#signup-submit")),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	sh.Take(ctx, "products")

	// Subscribe to the demo's Starter product and see the key.
	webtest.Run(t, ctx, "product page", chromedp.Navigate(p+"/products/starter"), chromedp.WaitVisible(chromedp.CSS("#subscribe")))
	sh.Take(ctx, "product")
	var key string
	webtest.Run(t, ctx, "subscribe and show the key",
		chromedp.Click(chromedp.CSS("#subscribe")),
		chromedp.WaitVisible(chromedp.CSS(".sub")),
		chromedp.Click(chromedp.CSS(`button.show-key[data-slot="primary"]`)),
		webtest.Poll(`document.querySelector('code.key[data-slot="primary"]').textContent.startsWith("gh_")`, 10*time.Second),
	)
	key = webtest.Text(t, ctx, `code.key[data-slot="primary"]`)
	sh.Take(ctx, "subscriptions")
	// The key shown is a working key of the gateway.
	req, _ := http.NewRequest("GET", srv.Gateway+"/echo/items/7", nil)
	req.Header.Set("Ocp-Apim-Subscription-Key", strings.TrimSpace(key))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("the key the portal showed gets %d from the gateway", resp.StatusCode)
	}

	// The API reference, then the console for get-item.
	webtest.Run(t, ctx, "reference", chromedp.Navigate(p+"/apis/echo"), chromedp.WaitVisible(chromedp.CSS("#download-doc")))
	sh.Take(ctx, "reference")
	var status, traceText, body, sample string
	webtest.Run(t, ctx, "console",
		chromedp.Click(chromedp.CSS(`a.try[href$="get-item"]`)),
		chromedp.WaitVisible(chromedp.CSS("#console-form")),
		chromedp.SetValue(chromedp.CSS(`input.param[data-name="id"]`), "42"),
		chromedp.Click(chromedp.CSS("#send")),
		webtest.Poll(`document.getElementById("res-status").textContent !== "" || !document.getElementById("res-error").hidden`, 30*time.Second),
	)
	status = webtest.Text(t, ctx, "#res-status")
	if status != "200" {
		e, _ := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS("#res-error")))
		t.Fatalf("console call: status %q, error %q", status, e)
	}
	body, sample = webtest.Text(t, ctx, "#res-body"), webtest.Text(t, ctx, "#sample")
	t.Logf("from starting the server to the first console 200 (sign up, subscribe, show key, open the console, send): %v", time.Since(t0).Round(time.Millisecond))
	if !strings.Contains(body, "/items/42") || !strings.Contains(body, "set by a Wasm policy") {
		t.Errorf("console body lacks the echo of the call and the demo policy's header:\n%s", body)
	}
	if strings.Contains(sample, strings.TrimSpace(key)) || !strings.Contains(sample, "<your-key>") {
		t.Errorf("code sample does not elide the key:\n%s", sample)
	}
	webtest.Run(t, ctx, "trace", chromedp.WaitVisible(chromedp.CSS("#trace-list")))
	traceText = webtest.Text(t, ctx, "#trace-box")
	for _, want := range []string{"rate-limit", "set-header", "X-Hello", "backend"} {
		if !strings.Contains(traceText, want) {
			t.Errorf("trace lacks %q:\n%s", want, traceText)
		}
	}
	sh.Take(ctx, "console")

	// The call appears in My usage (the request log is written within
	// about a second; poll).
	deadline := time.Now().Add(20 * time.Second)
	var recent string
	for {
		webtest.Run(t, ctx, "usage", chromedp.Navigate(p+"/usage"))
		recent = webtest.Text(t, ctx, "#recent-calls")
		if strings.Contains(recent, "/echo/items/42") || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if !strings.Contains(recent, "/echo/items/42") {
		t.Errorf("the console call is not in My usage:\n%s", recent)
	}
	sh.Take(ctx, "usage")
	webtest.Run(t, ctx, "apis", chromedp.Navigate(p+"/apis"), chromedp.WaitVisible(chromedp.CSS("table.list")))
	sh.Take(ctx, "apis")
	webtest.Run(t, ctx, "profile", chromedp.Navigate(p+"/profile"), chromedp.WaitVisible(chromedp.CSS("#password-form")))
	sh.Take(ctx, "profile")

	// Approval: a product that needs it; pending until an admin approves.
	srv.AdminDo(t, "POST", "/products", map[string]any{"id": "gold", "name": "Gold", "published": true, "approvalRequired": true,
		"description": "Higher limits, **after approval**."}, nil)
	srv.AdminDo(t, "PUT", "/products/gold/apis/echo", nil, nil)
	var state string
	webtest.Run(t, ctx, "subscribe to gold",
		chromedp.Navigate(p+"/products/gold"),
		chromedp.SendKeys(chromedp.CSS("#sub-name"), "gold one"),
		chromedp.Click(chromedp.CSS("#subscribe")),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	var subs []struct {
		ID, ScopeID, State string
	}
	srv.AdminDo(t, "GET", "/subscriptions?scope=product&scopeId=gold", nil, &struct {
		Items *[]struct{ ID, ScopeID, State string }
	}{&subs})
	if len(subs) != 1 || subs[0].State != "submitted" {
		t.Fatalf("gold subscriptions %+v", subs)
	}
	webtest.Run(t, ctx, "subscriptions", chromedp.WaitVisible(chromedp.CSS("#sub-"+subs[0].ID)))
	state = webtest.Text(t, ctx, "#sub-"+subs[0].ID+" .state")
	if state != "submitted" {
		t.Errorf("pending subscription shows %q", state)
	}
	srv.AdminDo(t, "POST", "/subscriptions/"+subs[0].ID+"/approve", nil, nil)
	webtest.Run(t, ctx, "approved", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#sub-"+subs[0].ID)))
	state = webtest.Text(t, ctx, "#sub-"+subs[0].ID+" .state")
	if state != "active" {
		t.Errorf("approved subscription shows %q", state)
	}

	// XSS: an imported document's description and summary with markup.
	evil := `openapi: 3.0.3
info:
  title: Evil API
  version: "1"
  description: "Hello <script>window.__xss=1;alert('desc')</script><img src=x onerror=\"window.__xss=2;alert('img')\"> **bold**"
paths:
  /x:
    get:
      operationId: x
      summary: "<img src=x onerror=alert('summary')>"
      responses: {"200": {description: ok}}
`
	var imp struct {
		API struct{ ID string } `json:"api"`
	}
	srv.AdminDo(t, "POST", "/apis/import", map[string]any{"document": evil, "pathPrefix": "/evil", "backendUrl": "http://127.0.0.1:9"}, &imp)
	srv.AdminDo(t, "PUT", "/products/gold/apis/"+imp.API.ID, nil, nil)
	var desc, summary string
	webtest.Run(t, ctx, "evil reference",
		chromedp.Navigate(p+"/apis/"+imp.API.ID),
		chromedp.WaitVisible(chromedp.CSS("#api-description")),
		chromedp.Sleep(300*time.Millisecond),
	)
	desc, summary = webtest.Text(t, ctx, "#api-description"), webtest.Text(t, ctx, "article.op .summary")
	xss, err := chromedp.Run(ctx, chromedp.Evaluate[any](`window.__xss === undefined ? null : window.__xss`))
	if err != nil {
		t.Fatal(err)
	}
	if xss != nil || len(*dialogs) != 0 {
		t.Errorf("script ran from an imported description: __xss=%v dialogs=%v", xss, *dialogs)
	}
	if summary != "<img src=x onerror=alert('summary')>" {
		t.Errorf("summary not rendered as text: %q", summary)
	}
	if !strings.Contains(desc, "bold") || !strings.Contains(desc, "<script>window.__xss=1;alert('desc')</script>") || !strings.Contains(desc, `<img src=x onerror="window.__xss=2;alert('img')">`) {
		t.Errorf("description: %q", desc)
	}

	// CSRF: a state-changing request without the token is refused, even
	// from the portal's own origin with the session cookie.
	code, err := chromedp.Run(ctx, chromedp.Evaluate[int](`fetch("/products/gold/subscribe", {method: "POST", credentials: "same-origin"}).then(r => r.status)`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if code != http.StatusForbidden {
		t.Errorf("POST without CSRF token: %d", code)
	}

	// BOLA against the real server and relay: another developer asking
	// for this developer's subscription, keys, usage or console gets 404.
	var mine []struct{ ID string }
	srv.AdminDo(t, "GET", "/subscriptions?scope=product&scopeId=starter", nil, &struct{ Items *[]struct{ ID string } }{&mine})
	var starterSub string
	for _, x := range mine {
		if x.ID != "demo-subscription" {
			starterSub = x.ID
		}
	}
	if starterSub == "" {
		t.Fatal("the browser developer's Starter subscription is not in the catalog")
	}
	mal := (&env{t: t, srv: &httptest.Server{URL: p}}).browser()
	mal.signup("mallory@example.com", "Mallory", "mallory password")
	ops := map[string]string{}
	var opList []struct{ ID, Name string }
	srv.AdminDo(t, "GET", "/apis/echo/operations", nil, &struct{ Items *[]struct{ ID, Name string } }{&opList})
	for _, o := range opList {
		ops[o.Name] = o.ID
	}
	for _, probe := range []struct{ method, path, body string }{
		{"GET", "/subscriptions/" + starterSub + "/keys", ""},
		{"GET", "/usage?subscription=" + starterSub, ""},
		{"POST", "/console/api/send", `{"subscriptionId":"` + starterSub + `","operationId":"` + ops["get-item"] + `","pathParams":{"id":"1"},"trace":true}`},
		{"POST", "/console/api/send", `{"subscriptionId":"demo-subscription","operationId":"` + ops["get-item"] + `","pathParams":{"id":"1"}}`},
	} {
		if code, out := mal.do(probe.method, probe.path, probe.body, true); code != http.StatusNotFound || strings.Contains(out, strings.TrimSpace(key)) {
			t.Errorf("mallory %s %s: %d %s", probe.method, probe.path, code, out)
		}
	}
	for _, path := range []string{"/subscriptions/" + starterSub + "/rename", "/subscriptions/" + starterSub + "/cancel", "/subscriptions/" + starterSub + "/regenerate"} {
		mal.get("/subscriptions")
		if code, _, _ := mal.post(path, url.Values{"name": {"x"}, "slot": {"primary"}}, true); code != http.StatusNotFound {
			t.Errorf("mallory POST %s: %d", path, code)
		}
	}

	// Sign out, then the sign-in page (for the screenshots).
	webtest.Run(t, ctx, "sign out", chromedp.Navigate(p+"/"), chromedp.Click(chromedp.CSS("#signout")), chromedp.WaitVisible(chromedp.CSS("#nav-signin")))
	webtest.Run(t, ctx, "sign in page", chromedp.Navigate(p+"/signin"), chromedp.WaitVisible(chromedp.CSS("#signin-form")))
	sh.Take(ctx, "signin")
}
