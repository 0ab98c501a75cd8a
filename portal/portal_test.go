package portal_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/portal"
)

const pw = "correct horse battery"

func TestSignupSigninSignout(t *testing.T) {
	e := newEnv(t, portal.Options{})
	e.seed(echoDoc, catalog.Product{})
	b := e.browser()
	b.signup("ada@example.com", "Ada", pw)
	first := b.cookie("gh_session")
	if first == "" {
		t.Fatal("no session cookie after sign up")
	}
	if code, body := b.get("/profile"); code != 200 || !strings.Contains(body, "ada@example.com") {
		t.Fatalf("profile: %d", code)
	}
	// Sign in again from the same browser: the session token is rotated.
	if code, body := b.signin("ADA@example.com", pw); code != http.StatusSeeOther {
		t.Fatalf("sign in: %d %s", code, body)
	}
	second := b.cookie("gh_session")
	if second == "" || second == first {
		t.Fatalf("session not rotated at sign-in: %q -> %q", first, second)
	}
	// The old token no longer works.
	old := e.browser()
	u, _ := url.Parse(e.srv.URL)
	old.c.Jar.SetCookies(u, []*http.Cookie{{Name: "gh_session", Value: first}})
	if code, _ := old.get("/subscriptions"); code != http.StatusSeeOther {
		t.Errorf("old session token still signed in: %d", code)
	}
	if code, loc, _ := b.post("/signout", nil, true); code != http.StatusSeeOther || !strings.Contains(loc, "signedout") {
		t.Fatalf("sign out: %d %s", code, loc)
	}
	if code, _ := b.get("/subscriptions"); code != http.StatusSeeOther {
		t.Errorf("signed out but /subscriptions answered %d", code)
	}
	// The post-sign-in target stays on this site.
	for next, want := range map[string]string{"/apis/echo": "/apis/echo", "//evil.example/x": "/?done=signedin", "https://evil.example": "/?done=signedin", "/\\evil.example": "/?done=signedin"} {
		n := e.browser()
		n.get("/signin")
		if code, loc, _ := n.post("/signin", url.Values{"email": {"ada@example.com"}, "password": {pw}, "next": {next}}, true); code != http.StatusSeeOther || loc != want {
			t.Errorf("next=%q: %d %q, want %q", next, code, loc, want)
		}
	}
	// Bad sign-ups are refused with a message and create nothing.
	c := e.browser()
	for _, f := range []url.Values{
		{"email": {"not-an-email"}, "name": {"X"}, "password": {pw}, "password2": {pw}},
		{"email": {"x@example.com"}, "name": {"X"}, "password": {"short"}, "password2": {"short"}},
		{"email": {"x@example.com"}, "name": {"X"}, "password": {pw}, "password2": {pw + "!"}},
		{"email": {"x@example.com"}, "name": {"X"}, "password": {strings.Repeat("p", 73)}, "password2": {strings.Repeat("p", 73)}},
		{"email": {"ada@example.com"}, "name": {"Ada 2"}, "password": {pw}, "password2": {pw}},
	} {
		c.get("/signup")
		if code, _, body := c.post("/signup", f, true); code != http.StatusBadRequest || !strings.Contains(body, `id="form-error"`) {
			t.Errorf("sign up %v: %d", f, code)
		}
	}
	if _, err := e.st.GetUserByEmail(context.Background(), "x@example.com"); err == nil {
		t.Error("a refused sign-up created a user")
	}
}

func TestSecurityHeadersAndCookies(t *testing.T) {
	e := newEnv(t, portal.Options{})
	e.seed(echoDoc, catalog.Product{})
	b := e.browser()
	resp, err := b.c.Get(e.srv.URL + "/signin")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP %q", csp)
	}
	b.get("/signup")
	f := url.Values{"email": {"c@example.com"}, "name": {"C"}, "password": {pw}, "password2": {pw}, "csrf": {b.csrf}}
	resp, err = b.c.PostForm(e.srv.URL+"/signup", f)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var found bool
	for _, c := range resp.Cookies() {
		if c.Name == "gh_session" {
			found = true
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure {
				t.Errorf("session cookie %+v", c)
			}
		}
	}
	if !found {
		t.Fatal("no session cookie")
	}
	// Behind TLS (or SecureCookies) the cookies are Secure.
	e2 := newEnv(t, portal.Options{SecureCookies: true})
	resp, err = http.Get(e2.srv.URL + "/signin")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if !c.Secure {
			t.Errorf("cookie %s not Secure with SecureCookies", c.Name)
		}
	}
}

func TestCSRFRefused(t *testing.T) {
	e := newEnv(t, portal.Options{})
	e.seed(echoDoc, catalog.Product{})
	// Anonymous forms too: sign in without the token.
	a := e.browser()
	a.get("/signin")
	if code, _, body := a.post("/signin", url.Values{"email": {"a@example.com"}, "password": {pw}}, false); code != http.StatusForbidden || !strings.Contains(body, "security token") {
		t.Errorf("sign in without CSRF token: %d", code)
	}
	b := e.browser()
	b.signup("bob@example.com", "Bob", pw)
	good := b.csrf
	for _, tc := range []struct {
		name  string
		token string
	}{{"none", ""}, {"wrong", "x" + good[1:]}, {"another session's", a.csrf}} {
		b.csrf = tc.token
		if code, _, _ := b.post("/products/starter/subscribe", nil, true); code != http.StatusForbidden {
			t.Errorf("subscribe with %s token: %d", tc.name, code)
		}
	}
	b.csrf = good
	subs, _ := e.st.ListSubscriptions(context.Background(), catalog.SubscriptionFilter{})
	if len(subs) != 0 {
		t.Fatalf("a refused request subscribed: %v", subs)
	}
	// A cross-origin request with a valid token is refused as well.
	req, _ := http.NewRequest("POST", e.srv.URL+"/products/starter/subscribe", strings.NewReader(url.Values{"csrf": {good}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin POST: %d", resp.StatusCode)
	}
	// The real thing works.
	if code, loc, body := b.post("/products/starter/subscribe", nil, true); code != http.StatusSeeOther || !strings.Contains(loc, "subscribed") {
		t.Fatalf("subscribe: %d %s %s", code, loc, body)
	}
	// Keys need the CSRF header even on GET.
	subs, _ = e.st.ListSubscriptions(context.Background(), catalog.SubscriptionFilter{})
	if code, _ := b.do("GET", "/subscriptions/"+subs[0].ID+"/keys", "", false); code != http.StatusForbidden {
		t.Errorf("keys without CSRF header: %d", code)
	}
	code, body := b.do("GET", "/subscriptions/"+subs[0].ID+"/keys", "", true)
	var k catalog.Keys
	if code != 200 || json.Unmarshal([]byte(body), &k) != nil || !catalog.WellFormedKey(k.Primary) || !catalog.WellFormedKey(k.Secondary) {
		t.Fatalf("keys: %d %s", code, body)
	}
	// The keys are not in any page's source.
	_, page := b.get("/subscriptions")
	if strings.Contains(page, k.Primary) || strings.Contains(page, k.Secondary) {
		t.Error("a key is in the subscriptions page source")
	}
}

// TestBOLA probes every object a developer owns from another developer's
// session: each answers 404 and changes nothing.
func TestBOLA(t *testing.T) {
	e := newEnv(t, portal.Options{})
	e.seed(echoDoc, catalog.Product{ID: "starter", Name: "Starter", Published: true})
	ctx := context.Background()
	alice, bob := e.browser(), e.browser()
	alice.signup("alice@example.com", "Alice", pw)
	bob.signup("bob@example.com", "Bob", pw)
	if code, _, _ := alice.post("/products/starter/subscribe", url.Values{"name": {"alice's"}}, true); code != http.StatusSeeOther {
		t.Fatal("alice cannot subscribe")
	}
	subs, _ := e.st.ListSubscriptions(ctx, catalog.SubscriptionFilter{})
	victim := subs[0]
	keys, _ := e.st.ShowKeys(ctx, victim.ID)
	bob.get("/subscriptions")
	id := url.PathEscape(victim.ID)
	for _, p := range []struct {
		method, path string
		form         url.Values
	}{
		{"GET", "/subscriptions/" + id + "/keys", nil},
		{"POST", "/subscriptions/" + id + "/rename", url.Values{"name": {"pwned"}}},
		{"POST", "/subscriptions/" + id + "/cancel", nil},
		{"POST", "/subscriptions/" + id + "/regenerate", url.Values{"slot": {"primary"}}},
		{"GET", "/usage?subscription=" + id, nil},
		{"GET", "/subscriptions/no-such-sub/keys", nil},
		{"POST", "/subscriptions/no-such-sub/cancel", nil},
		{"GET", "/apis/secret", nil},
		{"GET", "/apis/secret/openapi", nil},
		{"GET", "/products/hidden", nil},
		{"POST", "/products/hidden/subscribe", nil},
	} {
		var code int
		var body string
		if p.method == "GET" {
			code, body = bob.do("GET", p.path, "", true)
		} else {
			code, _, body = bob.post(p.path, p.form, true)
		}
		if code != http.StatusNotFound {
			t.Errorf("bob %s %s: %d, want 404", p.method, p.path, code)
		}
		if strings.Contains(body, keys.Primary) || strings.Contains(body, "alice") {
			t.Errorf("bob %s %s leaks alice's data", p.method, p.path)
		}
	}
	after, _ := e.st.GetSubscription(ctx, victim.ID)
	keysAfter, _ := e.st.ShowKeys(ctx, victim.ID)
	if after.Name != "alice's" || after.State != catalog.StateActive || keysAfter != keys {
		t.Errorf("bob changed alice's subscription: %+v", after)
	}
	// Bob's subscription page and console list nothing of alice's.
	_, page := bob.get("/subscriptions")
	if strings.Contains(page, victim.ID) {
		t.Error("alice's subscription is on bob's page")
	}
	ops, _ := e.st.ListOperations(ctx, "echo")
	_, page = bob.get("/apis/echo/console/" + url.PathEscape(ops[0].ID))
	if strings.Contains(page, victim.ID) {
		t.Error("alice's subscription is offered in bob's console")
	}
	// An operation of an unpublished API is not reachable through a
	// published API's console either.
	secretOp, err := e.st.CreateOperation(ctx, catalog.Operation{APIID: "secret", Name: "s", Method: "GET", URLTemplate: "/s"})
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := bob.get("/apis/echo/console/" + url.PathEscape(secretOp.ID)); code != http.StatusNotFound {
		t.Errorf("console of another API's operation: %d", code)
	}
}

func TestSubscribeRules(t *testing.T) {
	e := newEnv(t, portal.Options{})
	e.seed(echoDoc, catalog.Product{ID: "starter", Name: "Starter", Published: true, SubscriptionsLimit: 1})
	ctx := context.Background()
	must(t, func() error {
		_, err := e.st.CreateProduct(ctx, catalog.Product{ID: "gold", Name: "Gold", Published: true, ApprovalRequired: true})
		return err
	})
	must(t, func() error { return e.st.AddProductAPI(ctx, catalog.ProductAPI{ProductID: "gold", APIID: "echo"}) })
	b := e.browser()
	b.signup("dev@example.com", "Dev", pw)
	if code, loc, _ := b.post("/products/starter/subscribe", nil, true); code != http.StatusSeeOther || !strings.Contains(loc, "subscribed") {
		t.Fatalf("first subscribe: %d %s", code, loc)
	}
	if code, _, body := b.post("/products/starter/subscribe", nil, true); code != http.StatusConflict || !strings.Contains(body, "as many subscriptions") {
		t.Errorf("over the limit: %d", code)
	}
	if _, body := b.get("/products/starter"); !strings.Contains(body, `id="at-limit"`) {
		t.Error("product page does not say the limit is reached")
	}
	if code, loc, _ := b.post("/products/gold/subscribe", url.Values{"name": {"my gold"}}, true); code != http.StatusSeeOther || !strings.Contains(loc, "pending") {
		t.Fatalf("approval product: %d %s", code, loc)
	}
	subs, _ := e.st.ListSubscriptions(ctx, catalog.SubscriptionFilter{Scope: catalog.ScopeProduct, ScopeID: "gold"})
	if len(subs) != 1 || subs[0].State != catalog.StateSubmitted || subs[0].Name != "my gold" {
		t.Fatalf("gold subscription %+v", subs)
	}
	// Rename, regenerate, cancel: the owner's own actions.
	sid := url.PathEscape(subs[0].ID)
	k0, _ := e.st.ShowKeys(ctx, subs[0].ID)
	b.get("/subscriptions")
	if code, _, _ := b.post("/subscriptions/"+sid+"/rename", url.Values{"name": {"renamed"}}, true); code != http.StatusSeeOther {
		t.Errorf("rename: %d", code)
	}
	if code, _, _ := b.post("/subscriptions/"+sid+"/rename", url.Values{"name": {strings.Repeat("n", 101)}}, true); code != http.StatusBadRequest {
		t.Errorf("rename too long: %d", code)
	}
	if code, _, _ := b.post("/subscriptions/"+sid+"/regenerate", url.Values{"slot": {"secondary"}}, true); code != http.StatusSeeOther {
		t.Errorf("regenerate: %d", code)
	}
	if code, _, _ := b.post("/subscriptions/"+sid+"/regenerate", url.Values{"slot": {"tertiary"}}, true); code != http.StatusBadRequest {
		t.Errorf("regenerate a bad slot: %d", code)
	}
	k1, _ := e.st.ShowKeys(ctx, subs[0].ID)
	if k1.Primary != k0.Primary || k1.Secondary == k0.Secondary {
		t.Error("regenerate secondary did not replace exactly the secondary key")
	}
	if code, _, _ := b.post("/subscriptions/"+sid+"/cancel", nil, true); code != http.StatusSeeOther {
		t.Errorf("cancel: %d", code)
	}
	got, _ := e.st.GetSubscription(ctx, subs[0].ID)
	if got.Name != "renamed" || got.State != catalog.StateCancelled {
		t.Errorf("after rename and cancel: %+v", got)
	}
}

func TestSigninRateLimit(t *testing.T) {
	e := newEnv(t, portal.Options{})
	b := e.browser()
	b.signup("eve@example.com", "Eve", pw)
	b.post("/signout", nil, true)
	for i := 0; i < 5; i++ {
		if code, _ := b.signin("eve@example.com", "wrong password "+string(rune('a'+i))); code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, code)
		}
	}
	code, body := b.signinBody("eve@example.com", pw)
	if code != http.StatusTooManyRequests || !strings.Contains(body, "Too many failed sign-ins for this account") {
		t.Fatalf("6th attempt (right password): %d", code)
	}
	// Another account from the same client is not locked by eve's.
	c := e.browser()
	c.signup("fay@example.com", "Fay", pw)
	c.post("/signout", nil, true)
	if code, _ := c.signin("fay@example.com", pw); code != http.StatusSeeOther {
		t.Errorf("fay: %d", code)
	}
	// Per client: 20 failures over many accounts lock the client out.
	d := e.browser()
	for i := 0; i < 20; i++ {
		d.signin("nobody"+string(rune('a'+i))+"@example.com", "x")
	}
	if code, body := d.signinBody("fay@example.com", pw); code != http.StatusTooManyRequests || !strings.Contains(body, "network address") {
		t.Errorf("client over its limit: %d", code)
	}
}

func (b *browser) signinBody(email, password string) (int, string) {
	b.get("/signin")
	code, _, body := b.post("/signin", url.Values{"email": {email}, "password": {password}}, true)
	return code, body
}

func TestBlockedUserSignedOutEverywhere(t *testing.T) {
	e := newEnv(t, portal.Options{})
	e.seed(echoDoc, catalog.Product{})
	ctx := context.Background()
	b1, b2 := e.browser(), e.browser()
	b1.signup("gus@example.com", "Gus", pw)
	b2.signin("gus@example.com", pw)
	for _, b := range []*browser{b1, b2} {
		if code, _ := b.get("/subscriptions"); code != 200 {
			t.Fatalf("signed in: %d", code)
		}
	}
	u, _ := e.st.GetUserByEmail(ctx, "gus@example.com")
	u.State = catalog.UserBlocked
	if _, err := e.st.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if code, _ := b1.get("/subscriptions"); code != http.StatusSeeOther {
		t.Errorf("blocked user still signed in: %d", code)
	}
	// Both sessions are gone from the store, not only refused.
	u.State = catalog.UserActive
	e.st.UpdateUser(ctx, u)
	if code, _ := b2.get("/subscriptions"); code != http.StatusSeeOther {
		t.Errorf("second session survived the block: %d", code)
	}
	u.State = catalog.UserBlocked
	e.st.UpdateUser(ctx, u)
	if code, body := b1.signinBody("gus@example.com", pw); code != http.StatusForbidden || !strings.Contains(body, "blocked") {
		t.Errorf("blocked sign-in: %d", code)
	}
	// An admin's revocation (DeleteUserSessions) ends sessions too.
	u.State = catalog.UserActive
	e.st.UpdateUser(ctx, u)
	b1.signin("gus@example.com", pw)
	if n, err := e.st.DeleteUserSessions(ctx, u.ID); err != nil || n != 1 {
		t.Fatalf("revoke: %d %v", n, err)
	}
	if code, _ := b1.get("/subscriptions"); code != http.StatusSeeOther {
		t.Errorf("revoked session still signed in: %d", code)
	}
}

func TestPasswordChangeAndReset(t *testing.T) {
	e := newEnv(t, portal.Options{})
	ctx := context.Background()
	b, other := e.browser(), e.browser()
	b.signup("hal@example.com", "Hal", pw)
	other.signin("hal@example.com", pw)
	b.get("/profile")
	if code, _, body := b.post("/profile/password", url.Values{"current": {"wrong one!!"}, "password": {"new password 1"}, "password2": {"new password 1"}}, true); code != http.StatusUnauthorized || !strings.Contains(body, "current password is wrong") {
		t.Errorf("wrong current password: %d", code)
	}
	if code, loc, _ := b.post("/profile/password", url.Values{"current": {pw}, "password": {"new password 1"}, "password2": {"new password 1"}}, true); code != http.StatusSeeOther || !strings.Contains(loc, "password") {
		t.Fatalf("change: %d %s", code, loc)
	}
	if code, _ := b.get("/profile"); code != 200 {
		t.Errorf("this browser was signed out by its own password change: %d", code)
	}
	if code, _ := other.get("/profile"); code != http.StatusSeeOther {
		t.Errorf("other session survived the password change: %d", code)
	}
	// Reset by a one-time link (what the admin API issues).
	u, _ := e.st.GetUserByEmail(ctx, "hal@example.com")
	tok := "reset-token-for-the-test-0123456789abcdef"
	sum := sha256.Sum256([]byte(tok))
	must(t, func() error {
		return e.st.CreateResetToken(ctx, catalog.ResetToken{TokenHash: hex.EncodeToString(sum[:]), UserID: u.ID, ExpiresAt: time.Now().Add(time.Hour)})
	})
	c := e.browser()
	c.get("/reset?token=" + tok)
	form := url.Values{"token": {tok}, "password": {"reset password 2"}, "password2": {"reset password 2"}}
	if code, loc, body := c.post("/reset", form, true); code != http.StatusSeeOther || !strings.Contains(loc, "/signin") {
		t.Fatalf("reset: %d %s %s", code, loc, body)
	}
	if code, _, body := c.post("/reset", form, true); code != http.StatusBadRequest || !strings.Contains(body, "already used") {
		t.Errorf("reset link used twice: %d", code)
	}
	if code, _ := b.get("/profile"); code != http.StatusSeeOther {
		t.Errorf("session survived the reset: %d", code)
	}
	if code, _ := c.signin("hal@example.com", "new password 1"); code != http.StatusUnauthorized {
		t.Errorf("old password after reset: %d", code)
	}
	if code, _ := c.signin("hal@example.com", "reset password 2"); code != http.StatusSeeOther {
		t.Errorf("new password after reset: %d", code)
	}
	// An expired token does nothing.
	tok2 := "expired-token-for-the-test-0123456789abcdef"
	sum2 := sha256.Sum256([]byte(tok2))
	must(t, func() error {
		return e.st.CreateResetToken(ctx, catalog.ResetToken{TokenHash: hex.EncodeToString(sum2[:]), UserID: u.ID, ExpiresAt: time.Now().Add(-time.Second)})
	})
	d := e.browser()
	d.get("/reset")
	if code, _, _ := d.post("/reset", url.Values{"token": {tok2}, "password": {"xxxxxxxxxxxx"}, "password2": {"xxxxxxxxxxxx"}}, true); code != http.StatusBadRequest {
		t.Errorf("expired token: %d", code)
	}
}

// TestReferenceSanitised: HTML and script in an imported document's
// descriptions render as text or not at all, never as markup.
func TestReferenceSanitised(t *testing.T) {
	e := newEnv(t, portal.Options{})
	evil := strings.Replace(echoDoc, "    A **demo** API.\n",
		"    A **demo** API. <script>alert('xss')</script> <img src=x onerror=alert(1)> [link](javascript:alert(2))\n", 1)
	evil = strings.Replace(evil, "summary: Get one item by ID", `summary: "<b onmouseover=alert(3)>Get</b>"`, 1)
	e.seed(evil, catalog.Product{})
	b := e.browser()
	code, body := b.get("/apis/echo")
	if code != 200 {
		t.Fatalf("reference: %d", code)
	}
	for _, bad := range []string{"<script>alert", "<img", `href="javascript`, "<b onmouseover"} {
		if strings.Contains(body, bad) {
			t.Errorf("reference page contains %q", bad)
		}
	}
	for _, want := range []string{"<strong>demo</strong>", "&lt;script&gt;alert(&#39;xss&#39;)&lt;/script&gt;", "&lt;b onmouseover=alert(3)&gt;Get&lt;/b&gt;", "get-item", "Parameters", "verbose", "Items you can get.", "&#34;name&#34;: &#34;Item 42&#34;"} {
		if !strings.Contains(body, want) {
			t.Errorf("reference page lacks %q", want)
		}
	}
	if code, doc := b.get("/apis/echo/openapi"); code != 200 || !strings.Contains(doc, "openapi: 3.0.3") {
		t.Errorf("download: %d", code)
	}
}

// recordingConsole is a portal.Console standing in for portal/console in
// this package's tests: it answers with the user the portal named.
type recordingConsole struct{}

func (recordingConsole) Handler(user func(*http.Request) (string, bool)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := user(r)
		json.NewEncoder(w).Encode(map[string]any{"user": id, "ok": ok, "path": r.URL.Path})
	})
}

func TestConsoleMount(t *testing.T) {
	e := newEnv(t, portal.Options{Console: recordingConsole{}})
	e.seed(echoDoc, catalog.Product{})
	b := e.browser()
	if code, _ := b.do("POST", "/console/api/send", "{}", false); code != http.StatusForbidden {
		t.Errorf("anonymous without token: %d", code)
	}
	b.get("/")
	if code, _ := b.do("POST", "/console/api/send", "{}", true); code != http.StatusUnauthorized {
		t.Errorf("anonymous with token: %d", code)
	}
	b.signup("ivy@example.com", "Ivy", pw)
	if code, _ := b.do("POST", "/console/api/send", "{}", false); code != http.StatusForbidden {
		t.Errorf("signed in without token: %d", code)
	}
	code, body := b.do("POST", "/console/api/send", "{}", true)
	u, _ := e.st.GetUserByEmail(context.Background(), "ivy@example.com")
	if code != 200 || !strings.Contains(body, `"user":"`+u.ID+`"`) || !strings.Contains(body, `"/console/api/send"`) {
		t.Errorf("console: %d %s", code, body)
	}
	// Without a console: 503 JSON.
	e2 := newEnv(t, portal.Options{})
	b2 := e2.browser()
	b2.signup("jo@example.com", "Jo", pw)
	if code, body := b2.do("POST", "/console/api/send", "{}", true); code != http.StatusServiceUnavailable || !strings.Contains(body, "error") {
		t.Errorf("no console: %d %s", code, body)
	}
}
