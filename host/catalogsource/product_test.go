package catalogsource_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/host/catalogsource"
	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/gateway"
	"github.com/gatehouse/gatehouse/host/hosttest"
)

// Product-scope policies run for calls made with a subscription of that
// product, between the global and the API scope, with base semantics.
func TestProductScopePolicies(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The backend echoes the headers the policies set, in order.
		w.Header().Set("X-Seen", strings.Join(r.Header.Values("X-Trail"), ", "))
		io.WriteString(w, "ok")
	}))
	t.Cleanup(be.Close)
	builtin := hosttest.Guest(t, "plugins/builtin")
	must[catalog.Module](t)(st.CreateModule(ctx, catalog.Module{Name: "builtin", Version: "1.0.0", Wasm: builtin, Manifest: catalog.ModuleManifest{ABIVersion: 1}}))

	api := must[catalog.API](t)(st.CreateAPI(ctx, catalog.API{ID: "shop", Name: "shop", PathPrefix: "/shop", BackendURL: be.URL, SubscriptionRequired: true}))
	gold := must[catalog.Product](t)(st.CreateProduct(ctx, catalog.Product{ID: "gold", Name: "Gold", Published: true}))
	silver := must[catalog.Product](t)(st.CreateProduct(ctx, catalog.Product{ID: "silver", Name: "Silver", Published: true}))
	bronze := must[catalog.Product](t)(st.CreateProduct(ctx, catalog.Product{ID: "bronze", Name: "Bronze", Published: true}))
	for _, p := range []string{gold.ID, silver.ID, bronze.ID} {
		if err := st.AddProductAPI(ctx, catalog.ProductAPI{ProductID: p, APIID: api.ID}); err != nil {
			t.Fatal(err)
		}
	}
	// Each step appends its name to X-Trail, so the order is visible.
	step := func(name string) catalog.PolicyEntry {
		return catalog.PolicyEntry{Module: "builtin", Policy: "set-header", Config: json.RawMessage(`{"name":"X-Trail","value":"` + name + `","exists_action":"append"}`)}
	}
	set := func(d catalog.PolicyDoc) {
		t.Helper()
		if err := st.SetPolicy(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	set(catalog.PolicyDoc{Scope: catalog.ScopeGlobal, Inbound: []catalog.PolicyEntry{step("global")}})
	set(catalog.PolicyDoc{Scope: catalog.ScopeProduct, ScopeID: gold.ID, Inbound: []catalog.PolicyEntry{step("gold-pre"), {Base: true}, step("gold-post")}})
	// Silver replaces the global section (no base).
	set(catalog.PolicyDoc{Scope: catalog.ScopeProduct, ScopeID: silver.ID, Inbound: []catalog.PolicyEntry{step("silver")}})
	set(catalog.PolicyDoc{Scope: catalog.ScopeAPI, ScopeID: api.ID, Inbound: []catalog.PolicyEntry{{Base: true}, step("api")}})

	user := must[catalog.User](t)(st.CreateUser(ctx, catalog.User{Email: "p@example.com", Name: "P"}))
	key := func(scope catalog.Scope, id string) string {
		_, k, _, err := st.CreateSubscription(ctx, catalog.Subscription{UserID: user.ID, Scope: scope, ScopeID: id, State: catalog.StateActive})
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	goldKey, silverKey, bronzeKey, allKey := key(catalog.ScopeProduct, gold.ID), key(catalog.ScopeProduct, silver.ID), key(catalog.ScopeProduct, bronze.ID), key(catalog.ScopeAll, "")

	src := catalogsource.New(st)
	e, err := engine.New(ctx, engine.Options{CacheDir: t.TempDir(), Services: &engine.Services{Subscriptions: src}})
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
	srv := httptest.NewServer(g)
	t.Cleanup(func() { srv.Close(); g.Close(); e.Close(ctx) })

	trail := func(key string) string {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+"/shop/x", nil)
		req.Header.Set(catalog.DefaultKeyHeader, key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		return resp.Header.Get("X-Seen")
	}
	for _, c := range []struct{ name, key, want string }{
		{"gold: pre, base (global), post, then API", goldKey, "gold-pre, global, gold-post, api"},
		{"silver: no base, global dropped", silverKey, "silver, api"},
		{"bronze: no product policy, global inherited", bronzeKey, "global, api"},
		{"all-APIs subscription: no product", allKey, "global, api"},
	} {
		if got := trail(c.key); got != c.want {
			t.Errorf("%s: trail %q, want %q", c.name, got, c.want)
		}
	}
}
