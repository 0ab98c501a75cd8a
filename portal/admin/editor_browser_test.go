package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/gatehouse/gatehouse/portal/web/webtest"
)

// The policy editor's browser tests run the real `gatehouse serve --demo`
// (real SQLite catalog, real admin API, real gateway running the built-in
// Wasm policies) and drive policy-editor.js in headless Debian Chromium
// through chromedp, signed in to the real /ui (session cookie, CSRF
// token, the portal's strict CSP) as an editor and as a viewer.

// edServer is a running `gatehouse serve --demo` (webtest.StartDemo).
type edServer struct {
	gateway, admin, token string
}

func edStartDemo(t *testing.T) *edServer {
	t.Helper()
	s := webtest.StartDemo(t)
	return &edServer{gateway: s.Gateway, admin: s.Admin, token: s.Token}
}

// do calls the admin API with the break-glass token and returns the
// status and body.
func (s *edServer) do(t *testing.T, method, path string, body any) (int, []byte) {
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
	return resp.StatusCode, b
}

func (s *edServer) must(t *testing.T, method, path string, body, out any) {
	t.Helper()
	st, b := s.do(t, method, path, body)
	if st >= 300 {
		t.Fatalf("admin %s %s: %d %s", method, path, st, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("admin %s %s: %v", method, path, err)
		}
	}
}

// uploadUngranted uploads the ua-filter example without granting what it
// asks for.
func (s *edServer) uploadUngranted(t *testing.T) {
	t.Helper()
	wasm, err := os.ReadFile("../../bin/examples/ua-filter.wasm")
	if err != nil {
		t.Fatalf("the example module is not built (make wasm): %v", err)
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("name", "ua-filter")
	mw.WriteField("version", "1.0.0")
	fw, _ := mw.CreateFormFile("wasm", "ua-filter.wasm")
	fw.Write(wasm)
	mw.Close()
	req, _ := http.NewRequest("POST", s.admin+"/admin/v1/modules", &buf)
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("upload ua-filter: %d %s", resp.StatusCode, b)
	}
}

// edSignIn signs in through the real /ui sign-in form.
func edSignIn(t *testing.T, ctx context.Context, srv *edServer, email, password string) {
	t.Helper()
	edRun(t, ctx, "sign in as "+email,
		chromedp.Navigate(srv.admin+"/ui/signin"),
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS("#signin-submit")),
		chromedp.WaitVisible(chromedp.CSS("#nav-role")),
	)
}

func edBrowser(t *testing.T) context.Context {
	t.Helper()
	path := webtest.ChromiumPath(t)
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
		chromedp.WindowSize(1280, 1000),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 10*time.Minute)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	// Record CSP violations and uncaught errors on every page, before
	// any page script runs.
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `
		window.__edProblems = [];
		document.addEventListener("securitypolicyviolation", (e) => window.__edProblems.push("CSP: " + e.violatedDirective + " " + e.blockedURI));
		window.addEventListener("error", (e) => window.__edProblems.push("error: " + e.message));
		window.addEventListener("unhandledrejection", (e) => window.__edProblems.push("rejection: " + e.reason));
	`}); err != nil {
		t.Fatal(err)
	}
	// beforeunload prompts (unsaved changes) are accepted.
	events := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for _, err := range events {
			if err != nil {
				return
			}
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	return ctx
}

// edRun runs one step (at most a minute) and, when it fails, reports
// what the editor shows.
func edRun(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		state, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => { const s = document.getElementById("pe-status"); const errs = [...document.querySelectorAll(".pe-err:not([hidden])")].map(e => (e.closest("[data-path]") || {dataset: {}}).dataset.path + ": " + e.textContent); return "status: " + (s ? s.textContent : "(none)") + "; errors: " + JSON.stringify(errs) + "; problems: " + JSON.stringify(window.__edProblems || []); })()`))
		t.Fatalf("%s: %v\n%s", what, err, state)
	}
}

func edPoll(expr string, timeout time.Duration) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(timeout))(ctx, tg)
		return chromedp.Void{}, err
	}
}

// edSet sets the value of the element sel selects.
func edSet(sel, value string) chromedp.Action[chromedp.Void] {
	q, _ := json.Marshal(sel)
	v, _ := json.Marshal(value)
	return edJS(`(() => { const n = document.querySelector(` + string(q) + `); if (!n) { throw new Error("no " + ` + string(q) + `); } n.value = ` + string(v) + `; })()`)
}

// edJS runs a script for its effect.
func edJS(expr string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Evaluate[any](expr)(ctx, tg)
		return chromedp.Void{}, err
	}
}

func edEval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// edOrder is the names of the entries of one section as shown.
func edOrder(t *testing.T, ctx context.Context, section string) string {
	t.Helper()
	return edEval[string](t, ctx, `[...document.querySelectorAll('ol.pe-entries[data-section="`+section+`"] > li.pe-entry')].map(li => li.dataset.name).join(",")`)
}

func edNoProblems(t *testing.T, ctx context.Context) {
	t.Helper()
	if p := edEval[[]string](t, ctx, `window.__edProblems`); len(p) > 0 {
		t.Errorf("the page reported problems: %q", p)
	}
}

func edOpen(t *testing.T, ctx context.Context, u string) {
	t.Helper()
	edRun(t, ctx, "open "+u, chromedp.Navigate(u), edPoll(`document.getElementById("policy-editor").dataset.ready === "true"`, 30*time.Second))
}

// policyDoc is the stored document, as the admin API answers it.
type policyDoc struct {
	Inbound, Backend, Outbound, OnError []struct {
		Base     bool            `json:"base"`
		Module   string          `json:"module"`
		Policy   string          `json:"policy"`
		Config   json.RawMessage `json:"config"`
		FailMode string          `json:"failMode"`
	}
}

func edNames(d policyDoc) string {
	var out []string
	for _, e := range d.Inbound {
		if e.Base {
			out = append(out, "base")
		} else {
			out = append(out, e.Policy)
		}
	}
	return strings.Join(out, ",")
}

// TestPolicyEditorBrowser walks the editor in a real browser against the
// real server: attach rate-limit through the schema form (client-side
// checks, then a server schema error shown at its field), review the
// diff, save, and the gateway answers 429 after the configured calls; the
// effective policy colours each entry by scope; reorder by keyboard and
// by drag; a concurrent save is shown as a conflict, not overwritten; a
// module without its grant is listed with the reason; a viewer gets no
// write control and sends no write.
func TestPolicyEditorBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: not in -short")
	}
	srv := edStartDemo(t)
	ctx := edBrowser(t)
	srv.must(t, "POST", "/admins", map[string]any{"email": "editor@example.com", "name": "Editor", "role": "editor", "password": "editor password 1"}, nil)
	srv.must(t, "POST", "/admins", map[string]any{"email": "viewer@example.com", "name": "Viewer", "role": "viewer", "password": "viewer password 1"}, nil)
	shotDir := os.Getenv("GATEHOUSE_SCREENSHOTS")
	shot := func(name string) {
		if shotDir == "" {
			return
		}
		buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		if err := os.WriteFile(filepath.Join(shotDir, name+".png"), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if shotDir != "" {
		os.MkdirAll(shotDir, 0o755)
	}

	// Only this test's rate-limit may answer 429: drop the demo product's.
	srv.must(t, "PUT", "/policies/product/starter", map[string]any{"inbound": []any{
		map[string]any{"base": true},
		map[string]any{"module": "builtin", "policy": "set-header", "config": map[string]any{"name": "X-Hello", "value": "<img src=x id=xss>"}},
	}}, nil)
	srv.uploadUngranted(t)
	var keys struct {
		Primary string `json:"primaryKey"`
	}
	srv.must(t, "GET", "/subscriptions/demo-subscription/keys", nil, &keys)

	opPage := srv.admin + "/ui/policies/operation/echo/echo.get-item"
	t0 := time.Now()
	edSignIn(t, ctx, srv, "editor@example.com", "editor password 1")
	edOpen(t, ctx, opPage)

	// --- the module catalog: the ungranted module says why ---
	edRun(t, ctx, "open the picker",
		chromedp.Click(chromedp.CSS(`.pe-add[data-section="inbound"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#pe-picks`)),
	)
	why := edEval[string](t, ctx, `(document.querySelector('.pe-why[data-module="ua-filter"]') || {}).textContent || ""`)
	if !strings.Contains(why, "not granted") || !strings.Contains(why, "ua-filter@1.0.0") {
		t.Errorf("ungranted module: reason %q", why)
	}
	if n := edEval[int](t, ctx, `document.querySelectorAll('.pe-pick[data-module="ua-filter"]').length`); n != 0 {
		t.Errorf("ungranted module has %d attach buttons", n)
	}
	shot("policy-editor-picker")

	// --- attach rate-limit through the schema form ---
	edRun(t, ctx, "filter and pick rate-limit",
		chromedp.SendKeys(chromedp.CSS(`.pe-filter`), "rate-limit"),
		chromedp.Click(chromedp.CSS(`.pe-pick[data-module="builtin"][data-policy="rate-limit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#pe-form .pe-field[data-path="calls"] input`)),
	)
	// The form comes from the schema: required marks, the enum-less
	// string with its default, the boolean, descriptions.
	for sel, want := range map[string]string{
		`.pe-field[data-path="calls"] .pe-req`:                   "*",
		`.pe-field[data-path="renewal_period"] .pe-req`:          "*",
		`.pe-field[data-path="counter_key"] .pe-desc`:            `Default: "subscription".`,
		`.pe-field[data-path="sliding"] input[type="checkbox"]`:  "",
		`.pe-field[data-path="remaining_calls_header"] .pe-desc`: "A response header",
		`.pe-field[data-path="renewal_period"] .pe-desc`:         "The window, in seconds",
	} {
		got := edEval[string](t, ctx, `(() => { const n = document.querySelector('#pe-form `+sel+`'); return n ? "found:" + n.textContent : "missing"; })()`)
		if !strings.HasPrefix(got, "found:") || !strings.Contains(got, want) {
			t.Errorf("form field %s: %q, want %q", sel, got, want)
		}
	}
	// Client-side checks: empty required fields, then a non-integer.
	edRun(t, ctx, "add with nothing filled", chromedp.Click(chromedp.CSS(`#pe-apply`)),
		edPoll(`!document.querySelector('#pe-form .pe-field[data-path="calls"] > .pe-err').hidden`, 5*time.Second))
	if got := edEval[string](t, ctx, `document.querySelector('#pe-form .pe-field[data-path="calls"] > .pe-err').textContent`); got != "required" {
		t.Errorf("empty calls: %q", got)
	}
	edRun(t, ctx, "a non-integer",
		chromedp.SendKeys(chromedp.CSS(`#pe-form .pe-field[data-path="calls"] input`), "2.5"),
		chromedp.Click(chromedp.CSS(`#pe-apply`)),
		edPoll(`document.querySelector('#pe-form .pe-field[data-path="calls"] > .pe-err').textContent === "must be an integer"`, 5*time.Second))
	// A counter_key the schema's pattern refuses: only the server checks
	// patterns, so it comes back from the save at its field.
	edRun(t, ctx, "fill the form",
		edSet(`#pe-form .pe-field[data-path="calls"] input`, "2"),
		chromedp.SendKeys(chromedp.CSS(`#pe-form .pe-field[data-path="renewal_period"] input`), "3600"),
		chromedp.SendKeys(chromedp.CSS(`#pe-form .pe-field[data-path="counter_key"] input`), "bogus"),
		chromedp.SendKeys(chromedp.CSS(`#pe-form .pe-field[data-path="remaining_calls_header"] input`), "X-Editor-Remaining"),
		chromedp.Click(chromedp.CSS(`#pe-apply`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#pe-form`)),
	)
	if got := edOrder(t, ctx, "inbound"); got != "base,rate-limit" {
		t.Fatalf("inbound after adding: %q, want base,rate-limit (a new section starts with base)", got)
	}
	edRun(t, ctx, "review", chromedp.Click(chromedp.CSS(`#pe-review`)), chromedp.WaitVisible(chromedp.CSS(`#pe-diff`)))
	diff := edEval[string](t, ctx, `document.getElementById("pe-diff").textContent`)
	for _, want := range []string{`-   "inbound": null,`, `+   "inbound": [`, `+         "calls": 2,`, `+         "counter_key": "bogus",`, `+       "policy": "rate-limit"`} {
		if !strings.Contains(diff, want) {
			t.Errorf("diff lacks %q:\n%s", want, diff)
		}
	}
	shot("policy-editor-diff")
	edRun(t, ctx, "save: the server refuses the pattern",
		chromedp.Click(chromedp.CSS(`#pe-save`)),
		chromedp.WaitVisible(chromedp.CSS(`#pe-form .pe-field[data-path="counter_key"] > .pe-err`)),
	)
	fieldErr := edEval[string](t, ctx, `document.querySelector('#pe-form .pe-field[data-path="counter_key"] > .pe-err').textContent`)
	if !strings.Contains(fieldErr, "does not match pattern") {
		t.Errorf("server error at counter_key: %q", fieldErr)
	}
	if inv := edEval[string](t, ctx, `document.querySelector('#pe-form .pe-field[data-path="counter_key"] input').getAttribute("aria-invalid") || ""`); inv != "true" {
		t.Errorf("counter_key input aria-invalid=%q", inv)
	}
	if st := edEval[string](t, ctx, `document.getElementById("pe-status").textContent`); !strings.Contains(st, "inbound[1].config.counter_key") {
		t.Errorf("status after the refused save: %q", st)
	}
	shot("policy-editor-schema-error")
	var stored policyDoc
	if st, _ := srv.do(t, "GET", "/policies/operation/echo.get-item", nil); st != 404 {
		t.Errorf("the refused save stored something: GET answers %d", st)
	}

	// Fix it, save, and the gateway enforces it.
	edRun(t, ctx, "fix and save",
		edSet(`#pe-form .pe-field[data-path="counter_key"] input`, ""),
		chromedp.Click(chromedp.CSS(`#pe-apply`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#pe-form`)),
		chromedp.Click(chromedp.CSS(`#pe-review`)),
		chromedp.Click(chromedp.CSS(`#pe-save`)),
		edPoll(`document.getElementById("pe-status").textContent.startsWith("Saved")`, 15*time.Second),
	)
	stored = policyDoc{}
	srv.must(t, "GET", "/policies/operation/echo.get-item", nil, &stored)
	if edNames(stored) != "base,rate-limit" || string(stored.Inbound[1].Config) != `{"calls":2,"remaining_calls_header":"X-Editor-Remaining","renewal_period":3600}` {
		t.Fatalf("stored after save: %s %s", edNames(stored), stored.Inbound[1].Config)
	}
	call := func() (int, string) {
		req, _ := http.NewRequest("GET", srv.gateway+"/echo/items/7", nil)
		req.Header.Set("Ocp-Apim-Subscription-Key", keys.Primary)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("X-Editor-Remaining")
	}
	// The gateway picks the new catalog version up within moments: wait
	// for the policy's header, then it allows 2 calls in all, then 429.
	deadline := time.Now().Add(30 * time.Second)
	var statuses []string
	allowed, limited := 0, false
	for time.Now().Before(deadline) && !limited {
		st, rem := call()
		statuses = append(statuses, fmt.Sprintf("%d/%q", st, rem))
		switch {
		case st == 200 && rem != "":
			allowed++
		case st == 429:
			limited = true
		case st == 200:
			time.Sleep(200 * time.Millisecond) // not live yet
		default:
			t.Fatalf("gateway answered %d: %v", st, statuses)
		}
	}
	if !limited || allowed < 1 || allowed > 2 {
		t.Fatalf("the saved rate-limit (2 calls per hour) is not enforced: %v", statuses)
	}
	t.Logf("gateway calls after the save: %v", statuses)
	t.Logf("from signing in to the 429 of the rate-limit attached through the form (with the refused save in between): %v", time.Since(t0).Round(time.Millisecond))

	// --- the effective policy, coloured by scope ---
	edRun(t, ctx, "effective", chromedp.WaitVisible(chromedp.CSS(`#pe-effective .pe-eff.pe-scope-operation`)))
	eff := edEval[string](t, ctx, `[...document.querySelectorAll('#pe-effective .pe-eff')].map(li => li.dataset.scope + ":" + li.querySelector("strong").textContent).join(",")`)
	for _, want := range []string{"api:subscription-key", "operation:rate-limit", "global:set-header"} {
		if !strings.Contains(eff, want) {
			t.Errorf("effective policy lacks %s: %s", want, eff)
		}
	}
	edRun(t, ctx, "effective with the product",
		edSet(`.pe-eff-product`, "starter"),
		edJS(`document.querySelector(".pe-eff-product").dispatchEvent(new Event("change"))`),
		chromedp.WaitVisible(chromedp.CSS(`#pe-effective .pe-eff.pe-scope-product`)),
	)
	if n := edEval[int](t, ctx, `document.querySelectorAll('#pe-effective .pe-scope-legend li').length`); n != 4 {
		t.Errorf("legend has %d scopes, want 4", n)
	}
	colours := edEval[string](t, ctx, `[...new Set([...document.querySelectorAll('#pe-effective .pe-eff')].map(li => getComputedStyle(li).backgroundColor))].length + ""`)
	if colours != "4" {
		t.Errorf("effective entries use %s background colours, want one per scope (4)", colours)
	}
	// The XSS payload in the product's config is text, not markup.
	if n := edEval[int](t, ctx, `document.querySelectorAll("#xss, #policy-editor img").length`); n != 0 {
		t.Errorf("a config value became markup (%d elements)", n)
	}
	if !strings.Contains(edEval[string](t, ctx, `document.getElementById("pe-effective").textContent`), "<img src=x id=xss>") {
		t.Error("the product's config is not shown as text")
	}
	shot("policy-editor")

	// --- reorder by keyboard ---
	edRun(t, ctx, "add set-header",
		chromedp.Click(chromedp.CSS(`.pe-add[data-section="inbound"]`)),
		chromedp.SendKeys(chromedp.CSS(`.pe-filter`), "set-header"),
		chromedp.Click(chromedp.CSS(`.pe-pick[data-module="builtin"][data-policy="set-header"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#pe-form .pe-field[data-path="name"] input`)),
		chromedp.SendKeys(chromedp.CSS(`#pe-form .pe-field[data-path="name"] input`), "X-Order"),
		chromedp.SendKeys(chromedp.CSS(`#pe-form .pe-field[data-path="value"] input`), "editor"),
		chromedp.Click(chromedp.CSS(`#pe-apply`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#pe-form`)),
	)
	if got := edOrder(t, ctx, "inbound"); got != "base,rate-limit,set-header" {
		t.Fatalf("after adding set-header: %q", got)
	}
	if f := edEval[string](t, ctx, `document.activeElement.dataset.name || ""`); f != "set-header" {
		t.Errorf("focus after adding is on %q, want the new entry", f)
	}
	edRun(t, ctx, "Alt+ArrowUp", chromedp.KeyEvent(kb.ArrowUp, chromedp.KeyModifiers(chromedp.ModifierAlt)))
	if got := edOrder(t, ctx, "inbound"); got != "base,set-header,rate-limit" {
		t.Fatalf("after Alt+ArrowUp: %q", got)
	}
	if f := edEval[string](t, ctx, `document.activeElement.dataset.name || ""`); f != "set-header" {
		t.Errorf("focus after Alt+ArrowUp is on %q, want the moved entry", f)
	}
	edRun(t, ctx, "announced", edPoll(`document.getElementById("pe-live").textContent === "Moved set-header to position 2 of 3 in Inbound."`, 5*time.Second))
	edRun(t, ctx, "Alt+ArrowUp again", chromedp.KeyEvent(kb.ArrowUp, chromedp.KeyModifiers(chromedp.ModifierAlt)))
	if got := edOrder(t, ctx, "inbound"); got != "set-header,base,rate-limit" {
		t.Fatalf("after the second Alt+ArrowUp: %q", got)
	}
	// The move-down button keeps focus on itself in the moved entry.
	edRun(t, ctx, "move down button", chromedp.Click(chromedp.CSS(`li.pe-entry[data-name="set-header"] .pe-down`)))
	if got := edOrder(t, ctx, "inbound"); got != "base,set-header,rate-limit" {
		t.Fatalf("after the move-down button: %q", got)
	}
	if f := edEval[string](t, ctx, `document.activeElement.className + "@" + document.activeElement.closest("li.pe-entry").dataset.name`); f != "pe-btn pe-down@set-header" {
		t.Errorf("focus after the move-down button: %q", f)
	}

	// --- reorder by drag: rate-limit to the top ---
	type rect struct{ X, Y, W, H float64 }
	box := func(sel string) rect {
		return edEval[rect](t, ctx, `(() => { const r = document.querySelector('`+sel+`').getBoundingClientRect(); return {X: r.x, Y: r.y, W: r.width, H: r.height}; })()`)
	}
	edRun(t, ctx, "scroll", edJS(`document.querySelector('ol.pe-entries[data-section="inbound"]').scrollIntoView({block: "center"})`))
	from, to := box(`li.pe-entry[data-name="rate-limit"] .pe-grip`), box(`li.pe-entry[data-name="base"]`)
	edRun(t, ctx, "drag rate-limit above base", chromedp.DragAndDropXY(from.X+from.W/2, from.Y+from.H/2, to.X+to.W/2, to.Y+3))
	if got := edOrder(t, ctx, "inbound"); got != "rate-limit,base,set-header" {
		t.Fatalf("after dragging rate-limit above base: %q", got)
	}
	edRun(t, ctx, "drag announced", edPoll(`document.getElementById("pe-live").textContent === "Moved rate-limit to position 1 of 3 in Inbound."`, 5*time.Second))

	// --- the diff shows the reorder; save; the order is stored ---
	edRun(t, ctx, "review the reorder", chromedp.Click(chromedp.CSS(`#pe-review`)), chromedp.WaitVisible(chromedp.CSS(`#pe-diff`)))
	diff = edEval[string](t, ctx, `document.getElementById("pe-diff").textContent`)
	if !strings.Contains(diff, `+         "name": "X-Order",`) || !strings.Contains(diff, `"policy": "rate-limit"`) {
		t.Errorf("reorder diff:\n%s", diff)
	}
	edRun(t, ctx, "save the reorder", chromedp.Click(chromedp.CSS(`#pe-save`)),
		edPoll(`document.getElementById("pe-status").textContent.startsWith("Saved")`, 15*time.Second))
	stored = policyDoc{}
	srv.must(t, "GET", "/policies/operation/echo.get-item", nil, &stored)
	if got := edNames(stored); got != "rate-limit,base,set-header" {
		t.Fatalf("stored order after the reorder: %q", got)
	}

	// --- a conflict: someone else saves in between ---
	edRun(t, ctx, "remove set-header", chromedp.Click(chromedp.CSS(`li.pe-entry[data-name="set-header"] .pe-remove`)))
	if got := edOrder(t, ctx, "inbound"); got != "rate-limit,base" {
		t.Fatalf("after remove: %q", got)
	}
	srv.must(t, "PUT", "/policies/operation/echo.get-item", map[string]any{"inbound": []any{
		map[string]any{"base": true},
		map[string]any{"module": "builtin", "policy": "set-header", "config": map[string]any{"name": "X-Other", "value": "admin"}},
	}}, nil)
	edRun(t, ctx, "save into a conflict",
		chromedp.Click(chromedp.CSS(`#pe-review`)),
		chromedp.Click(chromedp.CSS(`#pe-save`)),
		chromedp.WaitVisible(chromedp.CSS(`#pe-conflict-diff`)),
	)
	if c := edEval[string](t, ctx, `document.getElementById("pe-conflict-diff").textContent`); !strings.Contains(c, `+         "name": "X-Other",`) {
		t.Errorf("conflict diff does not show the other save:\n%s", c)
	}
	stored = policyDoc{}
	srv.must(t, "GET", "/policies/operation/echo.get-item", nil, &stored)
	if got := edNames(stored); got != "base,set-header" {
		t.Fatalf("the conflicting save overwrote the other admin's: %q", got)
	}
	shot("policy-editor-conflict")
	edRun(t, ctx, "load theirs", chromedp.Click(chromedp.CSS(`#pe-load-theirs`)),
		edPoll(`document.getElementById("pe-review").disabled`, 5*time.Second))
	if got := edOrder(t, ctx, "inbound"); got != "base,set-header" {
		t.Errorf("after loading theirs: %q", got)
	}

	// --- the raw JSON view: a bad edit changes nothing ---
	edRun(t, ctx, "json view", chromedp.Click(chromedp.CSS(`#pe-tab-json`)), chromedp.WaitVisible(chromedp.CSS(`#pe-json`)))
	edRun(t, ctx, "bad json",
		edSet(`#pe-json`, `{"inbound": [`),
		chromedp.Click(chromedp.CSS(`#pe-json-apply`)),
		chromedp.WaitVisible(chromedp.CSS(`#pe-json-err`)),
	)
	if e := edEval[string](t, ctx, `document.getElementById("pe-json-err").textContent`); !strings.Contains(e, "Not valid JSON") {
		t.Errorf("bad JSON: %q", e)
	}
	edRun(t, ctx, "good json",
		edSet(`#pe-json`, `{"scope":"operation","inbound":[{"module":"builtin","policy":"set-header","config":{"name":"X-Json","value":"1"}}]}`),
		chromedp.Click(chromedp.CSS(`#pe-json-apply`)),
		chromedp.WaitVisible(chromedp.CSS(`ol.pe-entries[data-section="inbound"]`)),
	)
	if got := edOrder(t, ctx, "inbound"); got != "set-header" {
		t.Errorf("after applying JSON: %q", got)
	}
	edRun(t, ctx, "yaml view", chromedp.Click(chromedp.CSS(`#pe-tab-yaml`)), chromedp.WaitVisible(chromedp.CSS(`#pe-yaml`)))
	if y := edEval[string](t, ctx, `document.getElementById("pe-yaml").textContent`); !strings.Contains(y, `name: "X-Json"`) {
		t.Errorf("yaml view:\n%s", y)
	}
	edRun(t, ctx, "discard", chromedp.Click(chromedp.CSS(`#pe-discard`)), chromedp.Click(chromedp.CSS(`#pe-tab-entries`)))
	edNoProblems(t, ctx)

	// --- a conflict where there is no ETag: the API scope has no
	// document yet, so the editor compares before its PUT ---
	edOpen(t, ctx, srv.admin+"/ui/policies/api/echo")
	edRun(t, ctx, "add to the API's outbound",
		chromedp.Click(chromedp.CSS(`.pe-add[data-section="outbound"]`)),
		chromedp.SendKeys(chromedp.CSS(`.pe-filter`), "set-header"),
		chromedp.Click(chromedp.CSS(`.pe-pick[data-module="builtin"][data-policy="set-header"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#pe-form .pe-field[data-path="name"] input`)),
		chromedp.SendKeys(chromedp.CSS(`#pe-form .pe-field[data-path="name"] input`), "X-Mine"),
		chromedp.SendKeys(chromedp.CSS(`#pe-form .pe-field[data-path="value"] input`), "1"),
		chromedp.Click(chromedp.CSS(`#pe-apply`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#pe-form`)),
	)
	srv.must(t, "PUT", "/policies/api/echo", map[string]any{"outbound": []any{
		map[string]any{"module": "builtin", "policy": "set-header", "config": map[string]any{"name": "X-First", "value": "1", "phase": "response"}},
	}}, nil)
	edRun(t, ctx, "save into a conflict (no ETag)",
		chromedp.Click(chromedp.CSS(`#pe-review`)),
		chromedp.Click(chromedp.CSS(`#pe-save`)),
		chromedp.WaitVisible(chromedp.CSS(`#pe-conflict-diff`)),
	)
	var apiDoc struct {
		Outbound []struct{ Config map[string]string }
	}
	srv.must(t, "GET", "/policies/api/echo", nil, &apiDoc)
	if len(apiDoc.Outbound) != 1 || apiDoc.Outbound[0].Config["name"] != "X-First" {
		t.Fatalf("the first save of the API scope was overwritten: %+v", apiDoc)
	}
	edRun(t, ctx, "load theirs", chromedp.Click(chromedp.CSS(`#pe-load-theirs`)), edPoll(`document.getElementById("pe-review").disabled`, 5*time.Second))
	edNoProblems(t, ctx)

	// --- a viewer: everything visible, nothing writable, nothing sent ---
	edRun(t, ctx, "sign out", chromedp.Click(chromedp.CSS("#signout")), chromedp.WaitVisible(chromedp.CSS("#signin-form")))
	edSignIn(t, ctx, srv, "viewer@example.com", "viewer password 1")
	edOpen(t, ctx, opPage)
	edRun(t, ctx, "viewer effective", chromedp.WaitVisible(chromedp.CSS(`#pe-effective .pe-eff`)))
	if got := edOrder(t, ctx, "inbound"); got != "base,set-header" {
		t.Errorf("viewer sees %q", got)
	}
	n := edEval[int](t, ctx, `document.querySelectorAll('.pe-add, .pe-remove, .pe-up, .pe-down, #pe-review, #pe-discard, #pe-json-apply, .pe-fm, [draggable="true"], .pe-inherit').length`)
	if n != 0 {
		t.Errorf("viewer page has %d write controls", n)
	}
	edRun(t, ctx, "viewer details", chromedp.Click(chromedp.CSS(`li.pe-entry[data-name="set-header"] .pe-edit`)), chromedp.WaitVisible(chromedp.CSS(`#pe-form`)))
	if d := edEval[bool](t, ctx, `document.querySelector("#pe-form fieldset").disabled && !document.getElementById("pe-apply")`); !d {
		t.Error("viewer's details form is editable")
	}
	if v := edEval[string](t, ctx, `document.querySelector('#pe-form .pe-field[data-path="name"] input').value`); v != "X-Other" {
		t.Errorf("viewer's details form shows name %q", v)
	}
	edRun(t, ctx, "viewer keyboard", chromedp.Click(chromedp.CSS(`#pe-cancel`)), chromedp.Focus(chromedp.CSS(`li.pe-entry[data-name="set-header"]`)),
		chromedp.KeyEvent(kb.ArrowUp, chromedp.KeyModifiers(chromedp.ModifierAlt)))
	if got := edOrder(t, ctx, "inbound"); got != "base,set-header" {
		t.Errorf("viewer reordered by keyboard: %q", got)
	}
	edRun(t, ctx, "viewer json", chromedp.Click(chromedp.CSS(`#pe-tab-json`)), chromedp.WaitVisible(chromedp.CSS(`#pe-json`)))
	if ro := edEval[bool](t, ctx, `document.getElementById("pe-json").readOnly`); !ro {
		t.Error("viewer's JSON is editable")
	}
	shot("policy-editor-viewer")
	// The API refuses the viewer's session too, CSRF token and all.
	st, err := chromedp.Run(ctx, chromedp.Evaluate[int](`fetch("/admin/v1/policies/operation/echo.get-item", {method: "PUT", credentials: "same-origin",
		headers: {"Content-Type": "application/json", "X-CSRF-Token": document.getElementById("policy-editor").dataset.csrf},
		body: JSON.stringify({inbound: []})}).then(r => r.status)`, chromedp.EvalAwaitPromise))
	if err != nil || st != http.StatusForbidden {
		t.Errorf("the viewer's PUT answered %d (%v), want 403", st, err)
	}
	stored = policyDoc{}
	srv.must(t, "GET", "/policies/operation/echo.get-item", nil, &stored)
	if got := edNames(stored); got != "base,set-header" {
		t.Errorf("stored after the viewer's visit: %q", got)
	}
	edNoProblems(t, ctx)
}
