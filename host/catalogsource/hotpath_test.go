package catalogsource_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	_ "github.com/mattn/go-sqlite3"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/catalog/sqlite"
	"github.com/gatehouse/gatehouse/host/catalogsource"
	"github.com/gatehouse/gatehouse/host/counter"
	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/gateway"
	"github.com/gatehouse/gatehouse/host/hosttest"
)

// TestNoCatalogWritePerCall: proxied calls through the benchmark's
// 4-policy chain (subscription key, rate-limit-by-key per subscription,
// set-header in and out) neither write the catalog database (no
// last-used or audit row per call: another connection's PRAGMA
// data_version does not move) nor read the subscription from it past the
// first call (the key cache).
func TestNoCatalogWritePerCall(t *testing.T) {
	ctx := context.Background()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "catalog.db")
	raw, err := sqlite.OpenWithMasterKey(path, key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	st := &countingStore{Store: raw}

	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Bench") != "1" {
			w.WriteHeader(500)
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(be.Close)
	builtin := hosttest.Guest(t, "plugins/builtin")
	must[catalog.Module](t)(st.CreateModule(ctx, catalog.Module{Name: "builtin", Version: "1.0.0", Wasm: builtin, Manifest: catalog.ModuleManifest{ABIVersion: 1}}))
	api := must[catalog.API](t)(st.CreateAPI(ctx, catalog.API{ID: "bench", Name: "bench", PathPrefix: "/bench", BackendURL: be.URL, SubscriptionRequired: true}))
	if err := st.SetPolicy(ctx, catalog.PolicyDoc{Scope: catalog.ScopeAPI, ScopeID: api.ID,
		Inbound: []catalog.PolicyEntry{{Base: true},
			{Module: "builtin", Policy: "rate-limit-by-key", Config: json.RawMessage(`{"calls":1000000000,"renewal_period":60,"counter_key":"subscription"}`)},
			{Module: "builtin", Policy: "set-header", Config: json.RawMessage(`{"name":"X-Bench","value":"1"}`)}},
		Outbound: []catalog.PolicyEntry{{Base: true},
			{Module: "builtin", Policy: "set-header", Config: json.RawMessage(`{"name":"X-Bench-Out","value":"1","phase":"response"}`)}},
	}); err != nil {
		t.Fatal(err)
	}
	user := must[catalog.User](t)(st.CreateUser(ctx, catalog.User{Email: "bench@example.com", Name: "Bench"}))
	_, primary, _, err := st.CreateSubscription(ctx, catalog.Subscription{UserID: user.ID, Scope: catalog.ScopeAll, State: catalog.StateActive})
	if err != nil {
		t.Fatal(err)
	}

	src := catalogsource.New(st)
	svc := &engine.Services{Subscriptions: src, Counters: counter.New(counter.Options{})}
	e, err := engine.New(ctx, engine.Options{CacheDir: t.TempDir(), Services: svc})
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.New(gateway.Options{Engine: e, Source: src, Builtin: builtin, BuiltinVersion: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	t.Cleanup(func() {
		srv.Close()
		g.Close()
		e.Close(ctx)
	})

	// Another connection sees data_version change whenever any other
	// connection commits to the file.
	watch, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()
	conn, err := watch.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	dataVersion := func() int64 {
		t.Helper()
		var v int64
		if err := conn.QueryRowContext(ctx, "PRAGMA data_version").Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	catVersion := must[int64](t)(st.Version(ctx))
	dv0 := dataVersion()
	reads0 := st.reads.Load()

	const calls = 300
	for i := range calls {
		req, _ := http.NewRequest("GET", srv.URL+"/bench/", nil)
		req.Header.Set(catalog.DefaultKeyHeader, primary)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("X-Bench-Out") != "1" {
			t.Fatalf("call %d: %d, X-Bench-Out %q", i, resp.StatusCode, resp.Header.Get("X-Bench-Out"))
		}
	}
	if dv := dataVersion(); dv != dv0 {
		t.Errorf("%d calls wrote to the catalog database (data_version %d → %d)", calls, dv0, dv)
	}
	if v := must[int64](t)(st.Version(ctx)); v != catVersion {
		t.Errorf("catalog version moved from %d to %d during traffic", catVersion, v)
	}
	if n := st.reads.Load() - reads0; n > 1 {
		t.Errorf("%d calls read the key from the store %d times, want ≤ 1 (key cache)", calls, n)
	}
}
