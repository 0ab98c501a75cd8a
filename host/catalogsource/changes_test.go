package catalogsource_test

import (
	"context"
	"testing"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/host/catalogsource"
)

// Load skips reading the catalog when only subscriptions or users changed
// (Config.Unchanged, under the new version) and reads it all again after
// any other write.
func TestLoadUnchangedAfterKeyOnlyWrites(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	api := must[catalog.API](t)(st.CreateAPI(ctx, catalog.API{ID: "a", Name: "a", PathPrefix: "/a", BackendURL: "http://127.0.0.1:1"}))
	src := catalogsource.New(st)
	load := func() (unchanged bool, version int64, backend string) {
		t.Helper()
		cfg, _, err := src.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		v := must[int64](t)(st.Version(ctx))
		if cfg.Version != v {
			t.Fatalf("config version %d, catalog at %d", cfg.Version, v)
		}
		return cfg.Unchanged, cfg.Version, cfg.APIs[0].Backend
	}
	if u, _, _ := load(); u {
		t.Fatal("first load marked unchanged")
	}
	user := must[catalog.User](t)(st.CreateUser(ctx, catalog.User{Email: "u@example.com", Name: "U"}))
	if _, _, _, err := st.CreateSubscription(ctx, catalog.Subscription{UserID: user.ID, Scope: catalog.ScopeAll, State: catalog.StateActive}); err != nil {
		t.Fatal(err)
	}
	if u, _, b := load(); !u || b != "http://127.0.0.1:1" {
		t.Fatalf("after subscription writes: unchanged=%v backend %s", u, b)
	}
	api.BackendURL = "http://127.0.0.1:2"
	must[catalog.API](t)(st.UpdateAPI(ctx, api))
	user.Name = "V"
	must[catalog.User](t)(st.UpdateUser(ctx, user))
	if u, _, b := load(); u || b != "http://127.0.0.1:2" {
		t.Fatalf("after an API write: unchanged=%v backend %s", u, b)
	}
}
