package admin_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/portal/admin"
	"github.com/gatehouse/gatehouse/portal/web"
)

const pw = "correct horse battery"

func TestSigninSessionCookie(t *testing.T) {
	e := newEnv(t, admin.Options{})
	e.addAdmin("ada@example.com", catalog.RoleOwner, pw)
	b := e.browser()
	if code, _ := b.get("/ui/"); code != http.StatusSeeOther {
		t.Fatalf("dashboard signed out: %d, want a redirect to sign in", code)
	}
	b.get("/ui/signin")
	pre := b.cookie("gh_admin_pre")
	if pre == nil {
		t.Fatal("no pre-session cookie on the sign-in form")
	}
	resp, err := b.c.PostForm(e.srv.URL+"/ui/signin", url.Values{"email": {"ADA@example.com"}, "password": {pw}, "csrf": {b.csrf}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/" {
		t.Fatalf("sign-in: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	var set *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "gh_admin_session" {
			set = c
		}
	}
	if set == nil || !set.HttpOnly || set.SameSite != http.SameSiteStrictMode || set.Path != "/" || set.Secure {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/, not Secure over plain HTTP", set)
	}
	if set.Value == pre.Value || len(set.Value) < 40 {
		t.Fatal("the session token is not fresh")
	}
	code, body := b.get("/ui/")
	if code != http.StatusOK || !strings.Contains(body, `id="nav-role">owner<`) || !strings.Contains(body, "ada@example.com") {
		t.Fatalf("dashboard: %d\n%s", code, body)
	}
	if h := resp.Header.Get("Content-Security-Policy"); h != web.CSP {
		t.Fatalf("CSP %q", h)
	}
	// Stored hashed: the cookie's value is nowhere in the catalog.
	ses, err := e.st.ListAdminSessions(context.Background(), mustAdmin(t, e, "ada@example.com").ID, time.Hour)
	if err != nil || len(ses) != 1 || ses[0].IDHash != web.HashToken(set.Value) {
		t.Fatalf("sessions %+v, %v", ses, err)
	}
	// Signing in again rotates the session: the old token stops working.
	old := set.Value
	b.signin("ada@example.com", pw)
	if now := b.cookie("gh_admin_session"); now == nil || now.Value == old {
		t.Fatal("session not rotated at sign-in")
	}
	if _, _, err := e.st.GetAdminSession(context.Background(), web.HashToken(old), time.Hour); err == nil {
		t.Fatal("the old session survived a new sign-in")
	}
	// Wrong password: 401 with a message, no session.
	c := e.browser()
	if code, body := c.signin("ada@example.com", "wrong password!"); code != http.StatusUnauthorized || !strings.Contains(body, "Wrong email or password") {
		t.Fatalf("wrong password: %d", code)
	}
	if c.cookie("gh_admin_session") != nil {
		t.Fatal("a session cookie after a failed sign-in")
	}
}

func mustAdmin(t *testing.T, e *env, email string) catalog.Admin {
	t.Helper()
	as, err := e.st.ListAdmins(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range as {
		if a.Email == email {
			return a
		}
	}
	t.Fatalf("no admin %s", email)
	return catalog.Admin{}
}

// The admin API takes the session cookie only with its CSRF header.
func TestAPICookieNeedsCSRFHeader(t *testing.T) {
	e := newEnv(t, admin.Options{})
	e.addAdmin("ada@example.com", catalog.RoleEditor, pw)
	b := e.browser()
	b.signin("ada@example.com", pw)
	if b.csrf == "" {
		t.Fatal("no CSRF token on the dashboard")
	}
	code, body := b.api("GET", "/me", "", "")
	if code != http.StatusForbidden || !strings.Contains(body, `"csrf"`) || !strings.Contains(body, "X-CSRF-Token") {
		t.Fatalf("cookie alone: %d %s, want 403 naming the CSRF header", code, body)
	}
	if code, _ := b.api("POST", "/products", `{"id":"p1","name":"P1"}`, ""); code != http.StatusForbidden {
		t.Fatalf("cookie-only POST: %d", code)
	}
	if code, _ := b.api("POST", "/products", `{"id":"p1","name":"P1"}`, b.csrf+"x"); code != http.StatusForbidden {
		t.Fatalf("wrong CSRF header: %d", code)
	}
	if _, err := e.st.GetProduct(context.Background(), "p1"); err == nil {
		t.Fatal("a refused request created the product")
	}
	code, body = b.api("GET", "/me", "", b.csrf)
	if code != http.StatusOK || !strings.Contains(body, `"actor":"ada@example.com"`) || !strings.Contains(body, `"role":"editor"`) {
		t.Fatalf("cookie + CSRF: %d %s", code, body)
	}
	if code, body := b.api("POST", "/products", `{"id":"p1","name":"P1"}`, b.csrf); code != http.StatusCreated {
		t.Fatalf("create with cookie + CSRF: %d %s", code, body)
	}
	// Audited as the admin.
	log, err := e.st.ListAudit(context.Background(), 5)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range log {
		if a.Entity == "product" && a.EntityID == "p1" && a.Actor == "ada@example.com" {
			found = true
		}
	}
	if !found {
		t.Fatalf("no audit row naming ada for p1: %+v", log)
	}
	// Another origin is refused even with the token.
	req, _ := http.NewRequest("GET", e.srv.URL+"/admin/v1/me", nil)
	req.Header.Set("X-CSRF-Token", b.csrf)
	req.Header.Set("Origin", "http://evil.example")
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin with token: %d", resp.StatusCode)
	}
	// No cookie, no bearer: 401; the break-glass token still works.
	anon := e.browser()
	if code, _ := anon.api("GET", "/me", "", b.csrf); code != http.StatusUnauthorized {
		t.Fatalf("token without cookie: %d", code)
	}
	req, _ = http.NewRequest("GET", e.srv.URL+"/admin/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+breakGlass)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("break-glass: %d", resp.StatusCode)
	}
}

func TestFormsNeedCSRF(t *testing.T) {
	e := newEnv(t, admin.Options{})
	a := e.addAdmin("ada@example.com", catalog.RoleOwner, pw)
	b := e.browser()
	// The sign-in form itself: without the token, refused.
	b.get("/ui/signin")
	if code, _, _ := b.post("/ui/signin", url.Values{"email": {"ada@example.com"}, "password": {pw}}, false); code != http.StatusForbidden {
		t.Fatalf("sign-in without CSRF: %d", code)
	}
	if code, _, _ := b.post("/ui/signin", url.Values{"email": {"ada@example.com"}, "password": {pw}, "csrf": {"forged"}}, false); code != http.StatusForbidden {
		t.Fatalf("sign-in with a forged CSRF: %d", code)
	}
	b.signin("ada@example.com", pw)
	before, _ := e.st.ListAdminTokens(context.Background(), a.ID)
	if code, _, _ := b.post("/ui/account/tokens", url.Values{"name": {"ci"}}, false); code != http.StatusForbidden {
		t.Fatalf("token form without CSRF: %d", code)
	}
	// The pre-session token does not work for a session.
	c := e.browser()
	c.get("/ui/signin")
	stale := c.csrf
	if code, _, _ := b.post("/ui/account/tokens", url.Values{"name": {"ci"}, "csrf": {stale}}, false); code != http.StatusForbidden {
		t.Fatalf("token form with another cookie's CSRF: %d", code)
	}
	after, _ := e.st.ListAdminTokens(context.Background(), a.ID)
	if len(after) != len(before) {
		t.Fatal("a refused form created a token")
	}
	code, _, body := b.post("/ui/account/tokens", url.Values{"name": {"ci"}}, true)
	if code != http.StatusCreated || !strings.Contains(body, `id="new-token">gha_`) {
		t.Fatalf("token form: %d", code)
	}
}

func TestSigninRateLimit(t *testing.T) {
	e := newEnv(t, admin.Options{})
	e.addAdmin("ada@example.com", catalog.RoleOwner, pw)
	b := e.browser()
	for i := 0; i < web.MaxAccountFails; i++ {
		if code, _ := b.signin("ada@example.com", "wrong password "+string(rune('a'+i))); code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, code)
		}
	}
	code, body := b.signin("ada@example.com", pw)
	if code != http.StatusTooManyRequests || !strings.Contains(body, "Too many failed sign-ins for this account") {
		t.Fatalf("right password after %d failures: %d", web.MaxAccountFails, code)
	}
	if b.cookie("gh_admin_session") != nil {
		t.Fatal("signed in while limited")
	}
	// After the window, the right password works.
	e.setClock(time.Now().Add(web.LimitWindow + time.Second))
	b.get("/ui/signin")
	if code, _, _ := b.post("/ui/signin", url.Values{"email": {"ada@example.com"}, "password": {pw}}, true); code != http.StatusSeeOther {
		t.Fatalf("after the window: %d", code)
	}
	// Per client address: failures across many accounts.
	e.setClock(time.Time{})
	f := newEnv(t, admin.Options{})
	f.addAdmin("bob@example.com", catalog.RoleOwner, pw)
	c := f.browser()
	for i := 0; i < web.MaxClientFails; i++ {
		c.signin("nobody"+string(rune('a'+i))+"@example.com", "wrong password")
	}
	if code, body := c.signin("bob@example.com", pw); code != http.StatusTooManyRequests || !strings.Contains(body, "network address") {
		t.Fatalf("after %d failures from one address: %d", web.MaxClientFails, code)
	}
}

func TestSessionTimeouts(t *testing.T) {
	e := newEnv(t, admin.Options{IdleTimeout: 30 * time.Minute, MaxAge: 12 * time.Hour})
	a := e.addAdmin("ada@example.com", catalog.RoleOwner, pw)
	// Idle: signed in 31 minutes ago and not used since.
	b := e.browser()
	e.setClock(time.Now().Add(-31 * time.Minute))
	b.get("/ui/signin")
	if code, _, _ := b.post("/ui/signin", url.Values{"email": {"ada@example.com"}, "password": {pw}}, true); code != http.StatusSeeOther {
		t.Fatal("sign-in failed")
	}
	e.setClock(time.Time{})
	if code, _ := b.get("/ui/"); code != http.StatusSeeOther {
		t.Fatalf("idle session: %d, want a redirect to sign in", code)
	}
	// Used 29 minutes ago: still live, and the use moves the idle clock.
	c := e.browser()
	e.setClock(time.Now().Add(-29 * time.Minute))
	c.signin("ada@example.com", pw)
	e.setClock(time.Time{})
	if code, _ := c.get("/ui/"); code != http.StatusOK {
		t.Fatalf("session used 29 minutes ago: %d", code)
	}
	ses, _ := e.st.ListAdminSessions(context.Background(), a.ID, 30*time.Minute)
	if len(ses) != 1 || time.Since(ses[0].LastSeenAt) > time.Minute {
		t.Fatalf("last use not recorded: %+v", ses)
	}
	// Absolute: a session past its expiry is refused however recently used.
	tok := web.RandomToken()
	now := time.Now()
	if err := e.st.CreateAdminSession(context.Background(), catalog.AdminSession{IDHash: web.HashToken(tok), AdminID: a.ID,
		CreatedAt: now.Add(-13 * time.Hour), LastSeenAt: now, ExpiresAt: now.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	d := e.browser()
	u, _ := url.Parse(e.srv.URL)
	d.c.Jar.SetCookies(u, []*http.Cookie{{Name: "gh_admin_session", Value: tok, Path: "/"}})
	if code, _ := d.get("/ui/"); code != http.StatusSeeOther {
		t.Fatalf("expired session: %d", code)
	}
}

func TestSignOutEverywhere(t *testing.T) {
	e := newEnv(t, admin.Options{})
	e.addAdmin("ada@example.com", catalog.RoleViewer, pw)
	one, two := e.browser(), e.browser()
	one.signin("ada@example.com", pw)
	two.signin("ada@example.com", pw)
	code, body := one.get("/ui/account")
	if code != http.StatusOK || strings.Count(body, "<tr") != 3+1 { // header rows of two tables + 2 sessions
		if !strings.Contains(body, "this session") {
			t.Fatalf("account page: %d\n%s", code, body)
		}
	}
	if code, _, _ := one.post("/ui/account/sessions/end-others", nil, true); code != http.StatusSeeOther {
		t.Fatalf("end others: %d", code)
	}
	if code, _ := two.get("/ui/"); code != http.StatusSeeOther {
		t.Fatalf("the other session survived: %d", code)
	}
	if code, _ := one.get("/ui/"); code != http.StatusOK {
		t.Fatalf("this session ended too: %d", code)
	}
	// Sign out ends this one.
	one.get("/ui/")
	if code, _, _ := one.post("/ui/signout", nil, true); code != http.StatusSeeOther {
		t.Fatalf("sign out: %d", code)
	}
	if code, _ := one.get("/ui/"); code != http.StatusSeeOther {
		t.Fatalf("after sign-out: %d", code)
	}
	// A blocked admin's sessions end at the next request.
	three := e.browser()
	three.signin("ada@example.com", pw)
	a := mustAdmin(t, e, "ada@example.com")
	a.State = catalog.AdminBlocked
	if _, err := e.st.UpdateAdmin(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	if code, _ := three.get("/ui/"); code != http.StatusSeeOther {
		t.Fatalf("blocked admin: %d", code)
	}
	if code, _ := three.api("GET", "/me", "", three.csrf); code != http.StatusUnauthorized {
		t.Fatalf("blocked admin's API call: %d", code)
	}
}

func TestPolicyEditorPage(t *testing.T) {
	e := newEnv(t, admin.Options{})
	e.addAdmin("ed@example.com", catalog.RoleEditor, pw)
	e.addAdmin("vi@example.com", catalog.RoleViewer, pw)
	ctx := catalog.WithActor(context.Background(), "test")
	if _, err := e.st.CreateAPI(ctx, catalog.API{ID: "echo", Name: "Echo", PathPrefix: "/echo", BackendURL: "http://127.0.0.1:1"}); err != nil {
		t.Fatal(err)
	}
	op, err := e.st.CreateOperation(ctx, catalog.Operation{ID: "get-item", APIID: "echo", Name: "Get item", Method: "GET", URLTemplate: "/items/{id}"})
	if err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.signin("ed@example.com", pw)
	for path, want := range map[string]string{
		"/ui/policies/global":                  `data-scope="global" data-scope-id=""`,
		"/ui/policies/api/echo":                `data-scope="api" data-scope-id="echo"`,
		"/ui/policies/operation/" + op.ID:      `data-scope="operation" data-scope-id="echo/get-item"`,
		"/ui/policies/operation/echo/" + op.ID: `data-scope="operation" data-scope-id="echo/get-item"`,
	} {
		code, body := b.get(path)
		if code != http.StatusOK || !strings.Contains(body, want) || !strings.Contains(body, `data-csrf="`+b.csrf+`"`) ||
			!strings.Contains(body, `data-can-write="true"`) || !strings.Contains(body, `src="/ui/static/policy-editor.js"`) ||
			!strings.Contains(body, `href="/ui/static/policy-editor.css"`) {
			t.Fatalf("%s: %d\n%s", path, code, body)
		}
	}
	for _, path := range []string{"/ui/policies/api/nope", "/ui/policies/product/nope", "/ui/policies/bogus/x", "/ui/policies/operation/other/" + op.ID} {
		if code, _ := b.get(path); code != http.StatusNotFound {
			t.Fatalf("%s: %d", path, code)
		}
	}
	v := e.browser()
	v.signin("vi@example.com", pw)
	if code, body := v.get("/ui/policies/api/echo"); code != http.StatusOK || !strings.Contains(body, `data-can-write="false"`) {
		t.Fatalf("viewer: %d", code)
	}
	// The data-csrf token is what the editor's script sends: it works.
	if code, body := b.api("PUT", "/policies/api/echo", `{"inbound":[{"base":true}]}`, b.csrf); code != http.StatusOK {
		t.Fatalf("PUT with the page's token: %d %s", code, body)
	}
	if code, _ := v.api("PUT", "/policies/api/echo", `{"inbound":[]}`, v.csrf); code != http.StatusForbidden {
		t.Fatalf("viewer PUT: %d", code)
	}
}

func TestStaticFiles(t *testing.T) {
	e := newEnv(t, admin.Options{})
	resp, err := http.Get(e.srv.URL + "/ui/static/admin.css")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") {
		t.Fatalf("admin.css: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, p := range []string{"/ui/static/", "/ui/static/../admin.go", "/ui/static/nope.js"} {
		resp, err := http.Get(e.srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatalf("%s: 200", p)
		}
	}
}
