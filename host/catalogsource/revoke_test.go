package catalogsource_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/host/catalogsource"
	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/gateway"
	"github.com/gatehouse/gatehouse/host/hosttest"
)

// Blocking a user revokes the keys of every subscription they hold within
// 1 s, through the real gateway and a real SQLite catalog; unblocking gives
// them back; a pending user's keys never work.
func TestBlockedUserKeysStopWithinASecond(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	t.Cleanup(be.Close)
	builtin := hosttest.Guest(t, "plugins/builtin")
	must[catalog.Module](t)(st.CreateModule(ctx, catalog.Module{Name: "builtin", Version: "1.0.0", Wasm: builtin, Manifest: catalog.ModuleManifest{ABIVersion: 1}}))
	api := must[catalog.API](t)(st.CreateAPI(ctx, catalog.API{ID: "orders", Name: "orders", PathPrefix: "/orders", BackendURL: be.URL, SubscriptionRequired: true}))
	prod := must[catalog.Product](t)(st.CreateProduct(ctx, catalog.Product{Name: "Starter", Published: true}))
	if err := st.AddProductAPI(ctx, catalog.ProductAPI{ProductID: prod.ID, APIID: api.ID}); err != nil {
		t.Fatal(err)
	}
	user := must[catalog.User](t)(st.CreateUser(ctx, catalog.User{Email: "dev@example.com", Name: "Dev"}))
	other := must[catalog.User](t)(st.CreateUser(ctx, catalog.User{Email: "other@example.com", Name: "Other"}))
	_, prodKey, _, err := st.CreateSubscription(ctx, catalog.Subscription{UserID: user.ID, Scope: catalog.ScopeProduct, ScopeID: prod.ID, State: catalog.StateActive})
	if err != nil {
		t.Fatal(err)
	}
	_, apiKey, _, err := st.CreateSubscription(ctx, catalog.Subscription{UserID: user.ID, Scope: catalog.ScopeAPI, ScopeID: api.ID, State: catalog.StateActive})
	if err != nil {
		t.Fatal(err)
	}
	_, otherKey, _, err := st.CreateSubscription(ctx, catalog.Subscription{UserID: other.ID, Scope: catalog.ScopeAPI, ScopeID: api.ID, State: catalog.StateActive})
	if err != nil {
		t.Fatal(err)
	}

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
	g.Start()
	srv := httptest.NewServer(g)
	t.Cleanup(func() {
		srv.Close()
		g.Close()
		e.Close(ctx)
	})
	code := func(key string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+"/orders/x", nil)
		req.Header.Set(catalog.DefaultKeyHeader, key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	// waitFor polls until every key answers want, failing after 1 s.
	waitFor := func(what string, want int, keys ...string) {
		t.Helper()
		start := time.Now()
		for {
			ok := true
			got := 0
			for _, k := range keys {
				if got = code(k); got != want {
					ok = false
					break
				}
			}
			if ok {
				t.Logf("%s: %d after %v", what, want, time.Since(start).Round(time.Millisecond))
				return
			}
			if time.Since(start) > time.Second {
				t.Fatalf("%s: still %d after 1s, want %d", what, got, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// Warm the key cache first: revocation must get past it.
	waitFor("active user", 200, prodKey, apiKey, otherKey)

	user.State = catalog.UserBlocked
	must[catalog.User](t)(st.UpdateUser(ctx, user))
	waitFor("blocked user", 401, prodKey, apiKey)
	if c := code(otherKey); c != 200 {
		t.Errorf("another user's key answered %d after blocking the first", c)
	}

	user.State = catalog.UserActive
	must[catalog.User](t)(st.UpdateUser(ctx, user))
	waitFor("unblocked user", 200, prodKey, apiKey)

	user.State = catalog.UserPending
	must[catalog.User](t)(st.UpdateUser(ctx, user))
	waitFor("pending user", 401, prodKey, apiKey)
}
