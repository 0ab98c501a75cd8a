package portal_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// The browser tests run the real `gatehouse serve --demo` (real gateway,
// real Wasm policies, real SQLite) and drive the portal with headless
// Debian Chromium through chromedp. `make test` installs chromium when it
// is missing (make chromium); where it cannot be, these tests skip loudly.

// chromiumPath finds the browser or skips the test, loudly.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("\n\n*** SKIPPED: no chromium on PATH: the portal's browser tests did not run. Install it with `make chromium` (apt-get install -y chromium). ***\n")
	return ""
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// gatehouseBinary builds cmd/gatehouse once per test run.
func gatehouseBinary(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("../plugins/embedded/wasm/builtin.wasm"); err != nil {
		t.Fatal("the built-in module is not built: run `make test` (or `make wasm` first)")
	}
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gatehouse-portal-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "gatehouse")
		if out, err := exec.Command("go", "build", "-o", binPath, "../cmd/gatehouse").CombinedOutput(); err != nil {
			binErr = fmt.Errorf("build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// server is a running `gatehouse serve --demo`.
type server struct {
	gateway, admin, portal, token, dir string
	stderr                             *bytes.Buffer
}

func startDemo(t *testing.T) *server {
	t.Helper()
	bin := gatehouseBinary(t)
	dir := t.TempDir()
	cmd := exec.Command(bin, "serve", "--data", "data", "--demo", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
		"--portal-listen", "127.0.0.1:0", "--log-format", "json")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GATEHOUSE_ADMIN_TOKEN=", "GATEHOUSE_MASTER_KEY=")
	s := &server{dir: dir, stderr: &bytes.Buffer{}}
	var mu sync.Mutex
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan map[string]any, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			mu.Lock()
			s.stderr.Write(append(sc.Bytes(), '\n'))
			mu.Unlock()
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == "gateway ready" {
				ready <- m
			}
		}
	}()
	go func() { cmd.Wait(); pw.Close() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
		}
	})
	select {
	case m := <-ready:
		s.gateway, _ = m["url"].(string)
		s.admin, _ = m["admin_url"].(string)
		s.portal, _ = m["portal_url"].(string)
	case <-time.After(120 * time.Second):
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("serve did not become ready:\n%s", s.stderr.String())
	}
	if s.portal == "" {
		t.Fatal("no portal_url in the ready log line")
	}
	tok, err := os.ReadFile(filepath.Join(dir, "data", "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	s.token = strings.TrimSpace(string(tok))
	return s
}

// adminDo calls the admin API; out may be nil.
func (s *server) adminDo(t *testing.T, method, path string, body, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.admin+"/admin/v1"+path, rd)
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("admin %s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("admin %s %s: %v", method, path, err)
		}
	}
}

// newBrowser starts headless Chromium with the flags the brief fixes and
// a throw-away profile. Dialogs (alert, confirm) are recorded in dialogs
// and accepted.
func newBrowser(t *testing.T) (context.Context, *[]string) {
	t.Helper()
	path := chromiumPath(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	var mu sync.Mutex
	dialogs := &[]string{}
	events := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range events {
			if err != nil {
				return
			}
			mu.Lock()
			*dialogs = append(*dialogs, ev.Message)
			mu.Unlock()
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	return ctx, dialogs
}

// shots writes full-page PNGs when GATEHOUSE_SCREENSHOTS names a
// directory (make screenshots).
type shots struct {
	t   *testing.T
	dir string
}

func (s shots) take(ctx context.Context, name string) {
	s.t.Helper()
	if s.dir == "" {
		return
	}
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		s.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(s.dir, name+".png"), buf, 0o644); err != nil {
		s.t.Fatal(err)
	}
}

func run(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// text returns the visible text of the first element matching sel.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// poll waits until a JavaScript expression is true.
func poll(expr string, timeout time.Duration) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(timeout))(ctx, tg)
		return chromedp.Void{}, err
	}
}

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
	ctx, dialogs := newBrowser(t)
	t0 := time.Now()
	srv := startDemo(t)
	t.Logf("serve --demo ready in %v", time.Since(t0).Round(time.Millisecond))
	sh := shots{t: t, dir: os.Getenv("GATEHOUSE_SCREENSHOTS")}
	if sh.dir != "" {
		if err := os.MkdirAll(sh.dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	p := srv.portal

	// Home, then sign up.
	run(t, ctx, "home", chromedp.Navigate(p+"/"), chromedp.WaitVisible(chromedp.CSS(".hero")))
	sh.take(ctx, "home")
	run(t, ctx, "sign up",
		chromedp.Navigate(p+"/signup"),
		chromedp.SendKeys(chromedp.CSS("#name"), "Browser Dev"),
		chromedp.SendKeys(chromedp.CSS("#email"), "browser@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), "browser password 1"),
		chromedp.SendKeys(chromedp.CSS("#password2"), "browser password 1"),
		chromedp.Click(chromedp.CSS("#signup-submit")),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	sh.take(ctx, "products")

	// Subscribe to the demo's Starter product and see the key.
	run(t, ctx, "product page", chromedp.Navigate(p+"/products/starter"), chromedp.WaitVisible(chromedp.CSS("#subscribe")))
	sh.take(ctx, "product")
	var key string
	run(t, ctx, "subscribe and show the key",
		chromedp.Click(chromedp.CSS("#subscribe")),
		chromedp.WaitVisible(chromedp.CSS(".sub")),
		chromedp.Click(chromedp.CSS(`button.show-key[data-slot="primary"]`)),
		poll(`document.querySelector('code.key[data-slot="primary"]').textContent.startsWith("gh_")`, 10*time.Second),
	)
	key = text(t, ctx, `code.key[data-slot="primary"]`)
	sh.take(ctx, "subscriptions")
	// The key shown is a working key of the gateway.
	req, _ := http.NewRequest("GET", srv.gateway+"/echo/items/7", nil)
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
	run(t, ctx, "reference", chromedp.Navigate(p+"/apis/echo"), chromedp.WaitVisible(chromedp.CSS("#download-doc")))
	sh.take(ctx, "reference")
	var status, traceText, body, sample string
	run(t, ctx, "console",
		chromedp.Click(chromedp.CSS(`a.try[href$="get-item"]`)),
		chromedp.WaitVisible(chromedp.CSS("#console-form")),
		chromedp.SetValue(chromedp.CSS(`input.param[data-name="id"]`), "42"),
		chromedp.Click(chromedp.CSS("#send")),
		poll(`document.getElementById("res-status").textContent !== "" || !document.getElementById("res-error").hidden`, 30*time.Second),
	)
	status = text(t, ctx, "#res-status")
	if status != "200" {
		e, _ := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS("#res-error")))
		t.Fatalf("console call: status %q, error %q", status, e)
	}
	body, sample = text(t, ctx, "#res-body"), text(t, ctx, "#sample")
	t.Logf("from starting the server to the first console 200 (sign up, subscribe, show key, open the console, send): %v", time.Since(t0).Round(time.Millisecond))
	if !strings.Contains(body, "/items/42") || !strings.Contains(body, "set by a Wasm policy") {
		t.Errorf("console body lacks the echo of the call and the demo policy's header:\n%s", body)
	}
	if strings.Contains(sample, strings.TrimSpace(key)) || !strings.Contains(sample, "<your-key>") {
		t.Errorf("code sample does not elide the key:\n%s", sample)
	}
	run(t, ctx, "trace", chromedp.WaitVisible(chromedp.CSS("#trace-list")))
	traceText = text(t, ctx, "#trace-box")
	for _, want := range []string{"rate-limit", "set-header", "X-Hello", "backend"} {
		if !strings.Contains(traceText, want) {
			t.Errorf("trace lacks %q:\n%s", want, traceText)
		}
	}
	sh.take(ctx, "console")

	// The call appears in My usage (the request log is written within
	// about a second; poll).
	deadline := time.Now().Add(20 * time.Second)
	var recent string
	for {
		run(t, ctx, "usage", chromedp.Navigate(p+"/usage"))
		recent = text(t, ctx, "#recent-calls")
		if strings.Contains(recent, "/echo/items/42") || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if !strings.Contains(recent, "/echo/items/42") {
		t.Errorf("the console call is not in My usage:\n%s", recent)
	}
	sh.take(ctx, "usage")
	run(t, ctx, "apis", chromedp.Navigate(p+"/apis"), chromedp.WaitVisible(chromedp.CSS("table.list")))
	sh.take(ctx, "apis")
	run(t, ctx, "profile", chromedp.Navigate(p+"/profile"), chromedp.WaitVisible(chromedp.CSS("#password-form")))
	sh.take(ctx, "profile")

	// Approval: a product that needs it; pending until an admin approves.
	srv.adminDo(t, "POST", "/products", map[string]any{"id": "gold", "name": "Gold", "published": true, "approvalRequired": true,
		"description": "Higher limits, **after approval**."}, nil)
	srv.adminDo(t, "PUT", "/products/gold/apis/echo", nil, nil)
	var state string
	run(t, ctx, "subscribe to gold",
		chromedp.Navigate(p+"/products/gold"),
		chromedp.SendKeys(chromedp.CSS("#sub-name"), "gold one"),
		chromedp.Click(chromedp.CSS("#subscribe")),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	var subs []struct {
		ID, ScopeID, State string
	}
	srv.adminDo(t, "GET", "/subscriptions?scope=product&scopeId=gold", nil, &struct {
		Items *[]struct{ ID, ScopeID, State string }
	}{&subs})
	if len(subs) != 1 || subs[0].State != "submitted" {
		t.Fatalf("gold subscriptions %+v", subs)
	}
	run(t, ctx, "subscriptions", chromedp.WaitVisible(chromedp.CSS("#sub-"+subs[0].ID)))
	state = text(t, ctx, "#sub-"+subs[0].ID+" .state")
	if state != "submitted" {
		t.Errorf("pending subscription shows %q", state)
	}
	srv.adminDo(t, "POST", "/subscriptions/"+subs[0].ID+"/approve", nil, nil)
	run(t, ctx, "approved", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#sub-"+subs[0].ID)))
	state = text(t, ctx, "#sub-"+subs[0].ID+" .state")
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
	srv.adminDo(t, "POST", "/apis/import", map[string]any{"document": evil, "pathPrefix": "/evil", "backendUrl": "http://127.0.0.1:9"}, &imp)
	srv.adminDo(t, "PUT", "/products/gold/apis/"+imp.API.ID, nil, nil)
	var desc, summary string
	run(t, ctx, "evil reference",
		chromedp.Navigate(p+"/apis/"+imp.API.ID),
		chromedp.WaitVisible(chromedp.CSS("#api-description")),
		chromedp.Sleep(300*time.Millisecond),
	)
	desc, summary = text(t, ctx, "#api-description"), text(t, ctx, "article.op .summary")
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
	srv.adminDo(t, "GET", "/subscriptions?scope=product&scopeId=starter", nil, &struct{ Items *[]struct{ ID string } }{&mine})
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
	srv.adminDo(t, "GET", "/apis/echo/operations", nil, &struct{ Items *[]struct{ ID, Name string } }{&opList})
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
	run(t, ctx, "sign out", chromedp.Navigate(p+"/"), chromedp.Click(chromedp.CSS("#signout")), chromedp.WaitVisible(chromedp.CSS("#nav-signin")))
	run(t, ctx, "sign in page", chromedp.Navigate(p+"/signin"), chromedp.WaitVisible(chromedp.CSS("#signin-form")))
	sh.take(ctx, "signin")
}
