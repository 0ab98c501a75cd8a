package console_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/catalog/sqlite"
	"github.com/gatehouse/gatehouse/portal/console"
)

// fixture is a real SQLite catalog with two developers, a stand-in gateway
// (a loopback server recording what reaches it) and a second loopback
// server that nothing may ever reach.
type fixture struct {
	st            *sqlite.Store
	gw, elsewhere *httptest.Server
	gwHits        []*http.Request
	gwBodies      [][]byte
	elseHits      atomic.Int64
	mu            sync.Mutex
	gwHandler     http.HandlerFunc
	alice, bob    catalog.User
	orders, other catalog.API
	getItem       catalog.Operation
	postItem      catalog.Operation
	otherOp       catalog.Operation
	aliceSub      catalog.Subscription // product containing orders
	aliceKey      string
	aliceOther    catalog.Subscription // API scope: other
	bobSub        catalog.Subscription
	aliceSuspend  catalog.Subscription
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	key := make([]byte, 32)
	rand.Read(key)
	st, err := sqlite.OpenWithMasterKey(filepath.Join(t.TempDir(), "catalog.db"), key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{st: st}
	f.gw = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.gwHits = append(f.gwHits, r.Clone(context.Background()))
		f.gwBodies = append(f.gwBodies, b)
		h := f.gwHandler
		f.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Seen-Path", r.URL.EscapedPath())
		io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(f.gw.Close)
	f.elsewhere = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.elseHits.Add(1)
		io.WriteString(w, "you reached the wrong server")
	}))
	t.Cleanup(f.elsewhere.Close)

	f.alice = must[catalog.User](t)(st.CreateUser(ctx, catalog.User{Email: "alice@example.com", Name: "Alice"}))
	f.bob = must[catalog.User](t)(st.CreateUser(ctx, catalog.User{Email: "bob@example.com", Name: "Bob"}))
	f.orders = must[catalog.API](t)(st.CreateAPI(ctx, catalog.API{ID: "orders", Name: "Orders", PathPrefix: "/orders", BackendURL: "http://backend.example", SubscriptionRequired: true}))
	f.other = must[catalog.API](t)(st.CreateAPI(ctx, catalog.API{ID: "other", Name: "Other", PathPrefix: "/other", BackendURL: "http://backend.example", SubscriptionRequired: true}))
	f.getItem = must[catalog.Operation](t)(st.CreateOperation(ctx, catalog.Operation{APIID: "orders", Name: "get-item", Method: "GET", URLTemplate: "/items/{id}"}))
	f.postItem = must[catalog.Operation](t)(st.CreateOperation(ctx, catalog.Operation{APIID: "orders", Name: "post-item", Method: "POST", URLTemplate: "/items"}))
	f.otherOp = must[catalog.Operation](t)(st.CreateOperation(ctx, catalog.Operation{APIID: "other", Name: "x", Method: "GET", URLTemplate: "/x"}))
	prod := must[catalog.Product](t)(st.CreateProduct(ctx, catalog.Product{Name: "Starter", Published: true}))
	if err := st.AddProductAPI(ctx, catalog.ProductAPI{ProductID: prod.ID, APIID: "orders"}); err != nil {
		t.Fatal(err)
	}
	f.aliceSub, f.aliceKey, _, err = st.CreateSubscription(ctx, catalog.Subscription{UserID: f.alice.ID, Scope: catalog.ScopeProduct, ScopeID: prod.ID, State: catalog.StateActive})
	if err != nil {
		t.Fatal(err)
	}
	f.aliceOther, _, _, err = st.CreateSubscription(ctx, catalog.Subscription{UserID: f.alice.ID, Scope: catalog.ScopeAPI, ScopeID: "other", State: catalog.StateActive})
	if err != nil {
		t.Fatal(err)
	}
	f.bobSub, _, _, err = st.CreateSubscription(ctx, catalog.Subscription{UserID: f.bob.ID, Scope: catalog.ScopeAll, State: catalog.StateActive})
	if err != nil {
		t.Fatal(err)
	}
	f.aliceSuspend, _, _, err = st.CreateSubscription(ctx, catalog.Subscription{UserID: f.alice.ID, Scope: catalog.ScopeAll, State: catalog.StateSuspended})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) console(t *testing.T, mod func(*console.Options)) *console.Console {
	t.Helper()
	o := console.Options{Store: f.st, GatewayURL: f.gw.URL, PublicGatewayURL: "https://api.example.com"}
	if mod != nil {
		mod(&o)
	}
	c, err := console.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// serve mounts the handler as portal-core does, the user taken from a
// test header standing in for the session.
func serve(t *testing.T, c *console.Console) *httptest.Server {
	mux := http.NewServeMux()
	mux.Handle("/console/api/", c.Handler(func(r *http.Request) (string, bool) {
		u := r.Header.Get("X-Test-User")
		return u, u != ""
	}))
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func post(t *testing.T, s *httptest.Server, user string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest("POST", s.URL+"/console/api/send", rd)
	if user != "" {
		req.Header.Set("X-Test-User", user)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(res.Body)
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("answer is not JSON (%d): %q", res.StatusCode, raw)
	}
	return res.StatusCode, out
}

func TestRelaySuccess(t *testing.T) {
	f := newFixture(t)
	s := serve(t, f.console(t, nil))
	code, out := post(t, s, f.alice.ID, map[string]any{
		"subscriptionId": f.aliceSub.ID, "operationId": f.getItem.ID,
		"pathParams": map[string]string{"id": "a b"},
		"query":      map[string]any{"q": "1", "tags": []string{"x", "y"}, "subscription-key": "stolen"},
		"headers":    map[string]any{"Accept": "application/json", "Ocp-Apim-Subscription-Key": "typed", "Host": "evil.example", "X-Gatehouse-Console-Trace": "forged", "Connection": "close", "X_Forwarded_For": "1.2.3.4"},
	})
	if code != 200 {
		t.Fatalf("status %d: %v", code, out)
	}
	if out["status"].(float64) != 200 || out["body"] != `{"ok":true}` || out["bodyEncoding"] != "utf-8" || out["sizeBytes"].(float64) != 11 {
		t.Errorf("answer: %v", out)
	}
	if len(f.gwHits) != 1 {
		t.Fatalf("gateway hits: %d", len(f.gwHits))
	}
	r := f.gwHits[0]
	if r.URL.EscapedPath() != "/orders/items/a%20b" || r.URL.Query().Get("q") != "1" || len(r.URL.Query()["tags"]) != 2 || r.URL.Query().Has("subscription-key") {
		t.Errorf("gateway saw %s", r.URL)
	}
	if got := r.Header.Get("Ocp-Apim-Subscription-Key"); got != f.aliceKey {
		t.Errorf("key header %q, want the subscription's primary key", got)
	}
	if r.Host != strings.TrimPrefix(f.gw.URL, "http://") || r.Header.Get("X-Gatehouse-Console-Trace") != "" || r.Header.Get("X-Forwarded-For") != "" || r.Header.Get("X_Forwarded_For") != "" {
		t.Errorf("gateway saw host %q headers %v", r.Host, r.Header)
	}
	dropped, _ := out["droppedHeaders"].([]any)
	if len(dropped) != 5 {
		t.Errorf("dropped %v", dropped)
	}
	samples := out["samples"].(map[string]any)
	for _, k := range []string{"curl", "fetch", "python", "go"} {
		s, _ := samples[k].(string)
		if !strings.Contains(s, console.KeyPlaceholder) || strings.Contains(s, f.aliceKey) || !strings.Contains(s, "https://api.example.com/orders/items/a%20b?") {
			t.Errorf("%s sample:\n%s", k, s)
		}
	}
	if out["trace"] != nil {
		t.Errorf("trace without asking: %v", out["trace"])
	}
}

func TestRelayOwnershipAndCoverage(t *testing.T) {
	f := newFixture(t)
	s := serve(t, f.console(t, nil))
	cases := []struct {
		name, user, sub, op string
		want                int
	}{
		{"another developer's subscription (BOLA)", f.alice.ID, f.bobSub.ID, f.getItem.ID, 404},
		{"bob probing alice's subscription", f.bob.ID, f.aliceSub.ID, f.getItem.ID, 404},
		{"unknown subscription", f.alice.ID, "nope", f.getItem.ID, 404},
		{"subscription not covering the API", f.alice.ID, f.aliceOther.ID, f.getItem.ID, 403},
		{"product subscription, API outside the product", f.alice.ID, f.aliceSub.ID, f.otherOp.ID, 403},
		{"suspended subscription", f.alice.ID, f.aliceSuspend.ID, f.getItem.ID, 403},
		{"unknown operation", f.alice.ID, f.aliceSub.ID, "nope", 404},
		{"not signed in", "", f.aliceSub.ID, f.getItem.ID, 401},
	}
	for _, tc := range cases {
		code, out := post(t, s, tc.user, map[string]any{"subscriptionId": tc.sub, "operationId": tc.op, "pathParams": map[string]string{"id": "1"}})
		if code != tc.want || out["error"] == "" {
			t.Errorf("%s: %d %v, want %d", tc.name, code, out, tc.want)
		}
	}
	// The 404 of a foreign subscription reads exactly like an unknown one.
	_, a := post(t, s, f.alice.ID, map[string]any{"subscriptionId": f.bobSub.ID, "operationId": f.getItem.ID})
	_, b := post(t, s, f.alice.ID, map[string]any{"subscriptionId": "zzz", "operationId": f.getItem.ID})
	if strings.Replace(a["error"].(string), f.bobSub.ID, "X", 1) != strings.Replace(b["error"].(string), "zzz", "X", 1) {
		t.Errorf("foreign %q vs unknown %q", a["error"], b["error"])
	}
	if len(f.gwHits) != 0 {
		t.Errorf("refused calls reached the gateway: %d", len(f.gwHits))
	}
	// Bob's all-APIs subscription covers other.
	if code, out := post(t, s, f.bob.ID, map[string]any{"subscriptionId": f.bobSub.ID, "operationId": f.otherOp.ID}); code != 200 {
		t.Errorf("all-APIs subscription: %d %v", code, out)
	}
}

// SSRF: whatever the developer sends, only the gateway is reached, only
// under the operation's API prefix.
func TestRelaySSRF(t *testing.T) {
	f := newFixture(t)
	s := serve(t, f.console(t, nil))
	elseHost := strings.TrimPrefix(f.elsewhere.URL, "http://")
	bad := []map[string]any{
		{"pathParams": map[string]string{"id": "../../admin"}},
		{"pathParams": map[string]string{"id": ".."}},
		{"pathParams": map[string]string{"id": "%2e%2e"}},
		{"pathParams": map[string]string{"id": "%252e%252e"}},
		{"pathParams": map[string]string{"id": "a%2fb"}},
		{"pathParams": map[string]string{"id": "a%252Fb"}},
		{"pathParams": map[string]string{"id": `a\b`}},
		{"pathParams": map[string]string{"id": "a\r\nHost: x"}},
		{"pathParams": map[string]string{"id": "1\x00"}},
		{"pathParams": map[string]string{"id": f.elsewhere.URL}},
		{"pathParams": map[string]string{"id": "//" + elseHost}},
		{"pathParams": map[string]string{"id": "1", "host": elseHost}},
		{"pathParams": map[string]string{}},
		{"pathParams": map[string]string{"id": "1"}, "headers": map[string]any{"X-A": "v\r\nHost: " + elseHost}},
		{"pathParams": map[string]string{"id": "1"}, "headers": map[string]any{"X-A": "v\nX-B: 1"}},
		{"pathParams": map[string]string{"id": "1"}, "headers": map[string]any{"X-A\r\nHost": "v"}},
		{"pathParams": map[string]string{"id": "1"}, "headers": map[string]any{"": "v"}},
		{"pathParams": map[string]string{"id": "1"}, "query": map[string]any{"": "v"}},
		{"operationId": "../" + f.getItem.ID},
		{"operationId": f.elsewhere.URL},
	}
	for i, extra := range bad {
		req := map[string]any{"subscriptionId": f.aliceSub.ID, "operationId": f.getItem.ID}
		for k, v := range extra {
			req[k] = v
		}
		code, out := post(t, s, f.alice.ID, req)
		if code != 400 && code != 404 {
			t.Errorf("case %d %v: %d %v, want 400/404", i, extra, code, out)
		}
	}
	if len(f.gwHits) != 0 {
		t.Errorf("refused calls reached the gateway: %v", f.gwHits[0].URL)
	}
	// Accepted but harmless: '@', absolute URLs and percent signs in
	// values are data, escaped into one path segment or the query.
	ok := []map[string]any{
		{"pathParams": map[string]string{"id": "user@" + elseHost}},
		{"pathParams": map[string]string{"id": "1"}, "query": map[string]any{"next": f.elsewhere.URL, "u": "http://user@" + elseHost + "/"}},
		{"pathParams": map[string]string{"id": "1%"}},
		{"pathParams": map[string]string{"id": "?x=1#frag"}},
		{"pathParams": map[string]string{"id": "1"}, "headers": map[string]any{"Host": elseHost, "X-Forwarded-Host": elseHost, "Forwarded": "host=" + elseHost}},
	}
	for i, extra := range ok {
		req := map[string]any{"subscriptionId": f.aliceSub.ID, "operationId": f.getItem.ID}
		for k, v := range extra {
			req[k] = v
		}
		code, out := post(t, s, f.alice.ID, req)
		if code != 200 {
			t.Errorf("ok case %d: %d %v", i, code, out)
			continue
		}
		f.mu.Lock()
		r := f.gwHits[len(f.gwHits)-1]
		f.mu.Unlock()
		if !strings.HasPrefix(r.URL.Path, "/orders/items/") || strings.Count(r.URL.EscapedPath(), "/") != 3 || r.Host != strings.TrimPrefix(f.gw.URL, "http://") {
			t.Errorf("ok case %d: gateway saw path %q host %q", i, r.URL.EscapedPath(), r.Host)
		}
	}
	// A gateway redirect is shown, never followed.
	f.mu.Lock()
	f.gwHandler = func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, f.elsewhere.URL+"/steal", http.StatusFound)
	}
	f.mu.Unlock()
	code, out := post(t, s, f.alice.ID, map[string]any{"subscriptionId": f.aliceSub.ID, "operationId": f.getItem.ID, "pathParams": map[string]string{"id": "1"}})
	if code != 200 || out["status"].(float64) != 302 {
		t.Errorf("redirect: %d %v", code, out)
	}
	if n := f.elseHits.Load(); n != 0 {
		t.Errorf("the other server was reached %d times", n)
	}
}

func TestNewRefusesBadGatewayURLs(t *testing.T) {
	f := newFixture(t)
	for _, u := range []string{"", "ftp://x", "http://u:p@127.0.0.1:1", "http://127.0.0.1:1/base", "http://127.0.0.1:1?x=1", "127.0.0.1:8080"} {
		if _, err := console.New(console.Options{Store: f.st, GatewayURL: u}); err == nil {
			t.Errorf("gateway URL %q accepted", u)
		}
	}
	if _, err := console.New(console.Options{GatewayURL: f.gw.URL}); err == nil {
		t.Error("no store accepted")
	}
}

func TestRelayBounds(t *testing.T) {
	f := newFixture(t)
	now := time.Unix(1_800_000_000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	c := f.console(t, func(o *console.Options) {
		o.MaxRequestBody = 1000
		o.MaxResponseBody = 100
		o.Timeout = 300 * time.Millisecond
		o.PerMinute = 5
		o.Now = clock
	})
	s := serve(t, c)
	base := map[string]any{"subscriptionId": f.aliceSub.ID, "operationId": f.postItem.ID}

	// body bound
	req := map[string]any{"subscriptionId": f.aliceSub.ID, "operationId": f.postItem.ID, "body": strings.Repeat("x", 1001)}
	if code, out := post(t, s, f.alice.ID, req); code != 413 || !strings.Contains(out["error"].(string), "1000") {
		t.Errorf("big body: %d %v", code, out)
	}
	req["body"] = strings.Repeat("x", 1000)
	if code, out := post(t, s, f.alice.ID, req); code != 200 {
		t.Errorf("body at the limit: %d %v", code, out)
	} else if got := f.gwBodies[len(f.gwBodies)-1]; len(got) != 1000 {
		t.Errorf("gateway got %d body bytes", len(got))
	}
	// a JSON document far over the bound is cut off while reading
	if code, _ := post(t, s, f.alice.ID, `{"body":"`+strings.Repeat("a", 20000)+`"}`); code != 413 {
		t.Errorf("huge JSON: %d", code)
	}
	if code, out := post(t, s, f.alice.ID, `{"subscriptionId":`); code != 400 {
		t.Errorf("broken JSON: %d %v", code, out)
	}

	// response bound, binary body
	f.mu.Lock()
	f.gwHandler = func(w http.ResponseWriter, r *http.Request) { w.Write(bytes.Repeat([]byte{0xff, 0xfe}, 200)) }
	f.mu.Unlock()
	code, out := post(t, s, f.bob.ID, map[string]any{"subscriptionId": f.bobSub.ID, "operationId": f.postItem.ID})
	if code != 200 || out["truncated"] != true || out["sizeBytes"].(float64) != 100 || out["bodyEncoding"] != "base64" {
		t.Errorf("big response: %d %v", code, out)
	}

	// time bound
	f.mu.Lock()
	f.gwHandler = func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}
	f.mu.Unlock()
	mu.Lock()
	now = now.Add(time.Hour) // fresh buckets
	mu.Unlock()
	code, out = post(t, s, f.bob.ID, map[string]any{"subscriptionId": f.bobSub.ID, "operationId": f.postItem.ID})
	if code != 504 {
		t.Errorf("slow gateway: %d %v", code, out)
	}

	// rate bound: 5 a minute per developer, the 6th is 429 with a message;
	// another developer is not affected; a token comes back after 12 s.
	f.mu.Lock()
	f.gwHandler = nil
	f.mu.Unlock()
	mu.Lock()
	now = now.Add(time.Hour)
	mu.Unlock()
	for i := 0; i < 5; i++ {
		if code, out := post(t, s, f.alice.ID, base); code != 200 {
			t.Fatalf("call %d: %d %v", i, code, out)
		}
	}
	code, out = post(t, s, f.alice.ID, base)
	if code != 429 || !strings.Contains(out["error"].(string), "5 calls a minute") {
		t.Errorf("6th call: %d %v", code, out)
	}
	if code, _ := post(t, s, f.bob.ID, map[string]any{"subscriptionId": f.bobSub.ID, "operationId": f.postItem.ID}); code != 200 {
		t.Errorf("bob limited by alice's calls: %d", code)
	}
	mu.Lock()
	now = now.Add(12 * time.Second)
	mu.Unlock()
	if code, out := post(t, s, f.alice.ID, base); code != 200 {
		t.Errorf("after 12 s: %d %v", code, out)
	}
	if code, _ := post(t, s, f.alice.ID, base); code != 429 {
		t.Errorf("second call after 12 s: %d", code)
	}
}

func TestHandlerRoutes(t *testing.T) {
	f := newFixture(t)
	s := serve(t, f.console(t, nil))
	res, err := http.Get(s.URL + "/console/api/send")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 405 {
		t.Errorf("GET: %d", res.StatusCode)
	}
	res, err = http.Post(s.URL+"/console/api/other", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 404 {
		t.Errorf("unknown route: %d", res.StatusCode)
	}
}
