package catalogsource_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/catalog/sqlite"
	"github.com/gatehouse/gatehouse/host/catalogsource"
)

// countingStore counts the key reads that reach the real store.
type countingStore struct {
	*sqlite.Store
	reads atomic.Int64
}

func (c *countingStore) LookupKey(ctx context.Context, key string) (catalog.Subscription, error) {
	c.reads.Add(1)
	return c.Store.LookupKey(ctx, key)
}

func TestKeyCacheIsPerVersion(t *testing.T) {
	ctx := context.Background()
	st := &countingStore{Store: openStore(t)}
	api := must[catalog.API](t)(st.CreateAPI(ctx, catalog.API{ID: "a", Name: "The A API", PathPrefix: "/a", BackendURL: "http://127.0.0.1:1"}))
	u := must[catalog.User](t)(st.CreateUser(ctx, catalog.User{Email: "k@example.com", Name: "K"}))
	sub, key, _, err := st.CreateSubscription(ctx, catalog.Subscription{UserID: u.ID, Scope: catalog.ScopeAPI, ScopeID: api.ID, State: catalog.StateActive})
	if err != nil {
		t.Fatal(err)
	}
	src := catalogsource.New(st)
	if _, _, err := src.Load(ctx); err != nil {
		t.Fatal(err)
	}
	// The gateway knows catalog APIs by ID (stable across renames): logs,
	// metrics and analytics are labelled with it.
	cfg, _, err := src.Load(ctx)
	if err != nil || len(cfg.APIs) != 1 || cfg.APIs[0].Name != "a" {
		t.Fatalf("gateway API name: %+v %v", cfg, err)
	}
	for i := 0; i < 5; i++ {
		s, ok, err := src.LookupSubscription(ctx, key, "a")
		if err != nil || !ok || s.State != "active" || !s.APIAllowed {
			t.Fatalf("lookup %d: %+v %v %v", i, s, ok, err)
		}
		if _, ok, _ := src.LookupSubscription(ctx, "gh_unknown", "a"); ok {
			t.Fatal("unknown key found")
		}
	}
	if n := st.reads.Load(); n != 2 {
		t.Errorf("10 lookups of 2 keys reached the store %d times, want 2", n)
	}
	// A write plus the gateway's next Load invalidates the cache.
	if _, err := st.SetSubscriptionState(ctx, sub.ID, catalog.StateSuspended); err != nil {
		t.Fatal(err)
	}
	if _, _, err := src.Load(ctx); err != nil {
		t.Fatal(err)
	}
	s, ok, err := src.LookupSubscription(ctx, key, "a")
	if err != nil || !ok || s.State != "suspended" {
		t.Fatalf("after suspension: %+v %v %v", s, ok, err)
	}
	if n := st.reads.Load(); n != 3 {
		t.Errorf("store reads after the version change = %d, want 3", n)
	}
}
