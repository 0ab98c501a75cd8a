package catalogsource_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/catalog/sqlite"
	"github.com/gatehouse/gatehouse/host/catalogsource"
	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/gateway"
	"github.com/gatehouse/gatehouse/host/hosttest"
)

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.OpenWithMasterKey(filepath.Join(t.TempDir(), "catalog.db"), key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func must[T any](t *testing.T) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func TestGatewayServesCatalog(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)

	var last atomic.Pointer[http.Request]
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		last.Store(r.Clone(context.Background()))
		io.WriteString(w, "ok "+r.URL.Path)
	}))
	t.Cleanup(be.Close)

	builtin := hosttest.Guest(t, "plugins/builtin")
	ua := hosttest.Guest(t, "examples/ua-filter")
	uaCaps := []string{"config", "http", "log"}
	must[catalog.Module](t)(st.CreateModule(ctx, catalog.Module{Name: "builtin", Version: "1.0.0", Wasm: builtin, Manifest: catalog.ModuleManifest{ABIVersion: 1}}))
	// A relaxed deadline: a saturated test machine must not turn into 500s.
	must[catalog.Module](t)(st.CreateModule(ctx, catalog.Module{Name: "ua-filter", Version: "1.2.0", Wasm: ua,
		Manifest: catalog.ModuleManifest{ABIVersion: 1, Capabilities: uaCaps, Limits: catalog.ModuleLimits{TimeoutMS: 5000}},
		Grant:    catalog.ModuleGrant{Capabilities: uaCaps}}))

	orders := must[catalog.API](t)(st.CreateAPI(ctx, catalog.API{ID: "orders", Name: "orders", PathPrefix: "/orders", BackendURL: be.URL, SubscriptionRequired: true}))
	other := must[catalog.API](t)(st.CreateAPI(ctx, catalog.API{ID: "other", Name: "other", PathPrefix: "/other", BackendURL: be.URL, SubscriptionRequired: true}))
	getOrder := must[catalog.Operation](t)(st.CreateOperation(ctx, catalog.Operation{APIID: orders.ID, Name: "get-order", Method: "GET", URLTemplate: "/items/{id}"}))
	must[catalog.Operation](t)(st.CreateOperation(ctx, catalog.Operation{APIID: other.ID, Name: "any", Method: "GET", URLTemplate: "/x"}))
	if err := st.SetPolicy(ctx, catalog.PolicyDoc{Scope: catalog.ScopeAPI, ScopeID: orders.ID,
		Inbound: []catalog.PolicyEntry{{Base: true}, {Module: "ua-filter@1.2.0", Policy: "ua-filter", Config: json.RawMessage(`{"deny":["BadBot"]}`)}},
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.SetPolicy(ctx, catalog.PolicyDoc{Scope: catalog.ScopeOperation, ScopeID: getOrder.ID,
		Inbound: []catalog.PolicyEntry{{Base: true}, {Module: "builtin", Policy: "set-header", Config: json.RawMessage(`{"name":"X-Op","value":"get-order"}`)}},
	}); err != nil {
		t.Fatal(err)
	}
	user := must[catalog.User](t)(st.CreateUser(ctx, catalog.User{Email: "dev@example.com", Name: "Dev"}))
	prod := must[catalog.Product](t)(st.CreateProduct(ctx, catalog.Product{Name: "Starter", Published: true}))
	if err := st.AddProductAPI(ctx, catalog.ProductAPI{ProductID: prod.ID, APIID: orders.ID}); err != nil {
		t.Fatal(err)
	}
	sub, primary, secondary, err := st.CreateSubscription(ctx, catalog.Subscription{UserID: user.ID, Scope: catalog.ScopeProduct, ScopeID: prod.ID, State: catalog.StateActive})
	if err != nil {
		t.Fatal(err)
	}
	_, otherKey, _, err := st.CreateSubscription(ctx, catalog.Subscription{UserID: user.ID, Scope: catalog.ScopeAPI, ScopeID: other.ID, State: catalog.StateActive})
	if err != nil {
		t.Fatal(err)
	}

	src := catalogsource.New(st)
	svc := &engine.Services{Subscriptions: src}
	e, err := engine.New(ctx, engine.Options{CacheDir: t.TempDir(), Services: svc})
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.New(gateway.Options{Engine: e, Source: src, Builtin: builtin, BuiltinVersion: "test", PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	g.Start()
	srv := httptest.NewServer(g)
	t.Cleanup(func() {
		srv.Close()
		g.Close()
		e.Close(ctx)
	})

	do := func(path string, hdr map[string]string) (int, string) {
		t.Helper()
		req, err := http.NewRequest("GET", srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	const hdr = catalog.DefaultKeyHeader

	if code, body := do("/orders/items/1", map[string]string{hdr: primary}); code != 200 || body != "ok /items/1" {
		t.Fatalf("primary key: %d %q", code, body)
	}
	r := last.Load()
	if r.Header.Get(hdr) != "" {
		t.Error("the backend saw the subscription key")
	}
	if r.Header.Get("X-Op") != "get-order" {
		t.Errorf("operation policy did not run: X-Op = %q", r.Header.Get("X-Op"))
	}
	if code, body := do("/orders/items/1", nil); code != 401 {
		t.Errorf("no key: %d %q", code, body)
	}
	if code, body := do("/orders/items/2", map[string]string{hdr: secondary}); code != 200 {
		t.Errorf("secondary key: %d %q", code, body)
	}
	if code, body := do("/orders/items/2", map[string]string{hdr: otherKey}); code != 403 {
		t.Errorf("key of an API-scoped subscription for another API: %d %q", code, body)
	}
	if code, body := do("/other/x", map[string]string{hdr: otherKey}); code != 200 {
		t.Errorf("key of an API-scoped subscription for its API: %d %q", code, body)
	}
	if code, body := do("/other/x", map[string]string{hdr: primary}); code != 403 {
		t.Errorf("product key on an API outside the product: %d %q", code, body)
	}
	hitsBefore := last.Load()
	if code, body := do("/orders/items/3", map[string]string{hdr: primary, "User-Agent": "BadBot/1.0"}); code != 403 {
		t.Errorf("uploaded ua-filter module: BadBot got %d %q", code, body)
	}
	if last.Load() != hitsBefore {
		t.Error("the backend was called for a denied User-Agent")
	}

	if _, err := st.SetSubscriptionState(ctx, sub.ID, catalog.StateSuspended); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Second)
	for {
		code, _ := do("/orders/items/1", map[string]string{hdr: primary})
		if code == 401 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("suspended subscription still answered %d after 1s", code)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// A catalog write reaches traffic through polling: a new API appears.
	must[catalog.API](t)(st.CreateAPI(ctx, catalog.API{ID: "open", Name: "open", PathPrefix: "/open", BackendURL: be.URL}))
	deadline = time.Now().Add(2 * time.Second)
	for {
		code, _ := do("/open/anything", nil)
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("new API not served after 2s: %d (last reload error: %v)", code, g.LastError())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if v, _ := st.Version(ctx); g.Version() != v {
		t.Errorf("gateway serves version %d, catalog is at %d", g.Version(), v)
	}
}
