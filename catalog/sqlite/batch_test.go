package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse/catalog"
)

// A batch commits all its writes under one new version, each with its own
// audit entry; a batch that fails writes nothing; one that writes nothing
// does not bump the version.
func TestBatch(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	v0 := must[int64](t)(s.Version(ctx))
	a0 := len(must[[]catalog.AuditEntry](t)(s.ListAudit(ctx, 1000)))
	err := s.Batch(ctx, func(ctx context.Context) error {
		if _, err := s.CreateAPI(ctx, catalog.API{ID: "a", Name: "A", PathPrefix: "/a", BackendURL: "http://127.0.0.1:1"}); err != nil {
			return err
		}
		// A write refused inside the batch leaves nothing and the batch goes on.
		if _, err := s.CreateAPI(ctx, catalog.API{ID: "a", Name: "A2", PathPrefix: "/a2", BackendURL: "http://127.0.0.1:1"}); !errors.Is(err, catalog.ErrConflict) {
			return fmt.Errorf("duplicate API: %v", err)
		}
		if _, err := s.CreateOperation(ctx, catalog.Operation{ID: "o", APIID: "a", Name: "get", Method: "GET", URLTemplate: "/x"}); err != nil {
			return err
		}
		// Reads inside a write see the batch's own writes (the scope check).
		if err := s.SetPolicy(ctx, catalog.PolicyDoc{Scope: catalog.ScopeAPI, ScopeID: "a", Inbound: []catalog.PolicyEntry{}}); err != nil {
			return err
		}
		u, err := s.CreateUser(ctx, catalog.User{ID: "u", Email: "u@example.com", Name: "U"})
		if err != nil {
			return err
		}
		sub, _, _, err := s.CreateSubscription(ctx, catalog.Subscription{ID: "s", UserID: u.ID, Scope: catalog.ScopeAPI, ScopeID: "a"})
		if err != nil {
			return err
		}
		// Reads through the writer use the batch's transaction (no deadlock).
		got, err := s.SetSubscriptionState(ctx, sub.ID, catalog.StateSuspended)
		if err != nil || got.State != catalog.StateSuspended {
			return fmt.Errorf("set state: %+v %v", got, err)
		}
		// Plain reads see the catalog as before the batch.
		if _, err := s.GetAPI(ctx, "a"); !errors.Is(err, catalog.ErrNotFound) {
			return fmt.Errorf("read during the batch: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	v1 := must[int64](t)(s.Version(ctx))
	if v1 != v0+1 {
		t.Fatalf("version %d → %d, want one bump", v0, v1)
	}
	audit := must[[]catalog.AuditEntry](t)(s.ListAudit(ctx, 1000))
	if len(audit)-a0 != 6 {
		t.Fatalf("%d audit entries, want 6 (the refused write has none): %+v", len(audit)-a0, audit)
	}
	for _, e := range audit[:6] {
		if e.Version != v1 {
			t.Fatalf("audit entry %+v has version %d, want %d", e, e.Version, v1)
		}
	}
	if sub := must[catalog.Subscription](t)(s.GetSubscription(ctx, "s")); sub.State != catalog.StateSuspended {
		t.Fatalf("subscription %+v", sub)
	}

	// A failing batch leaves nothing, not even the writes before the failure.
	boom := errors.New("boom")
	err = s.Batch(ctx, func(ctx context.Context) error {
		for i := 0; i < 10; i++ {
			if _, err := s.CreateAPI(ctx, catalog.API{ID: fmt.Sprintf("b%d", i), Name: fmt.Sprintf("B%d", i), PathPrefix: fmt.Sprintf("/b%d", i), BackendURL: "http://127.0.0.1:1"}); err != nil {
				return err
			}
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("failing batch: %v", err)
	}
	if apis := must[[]catalog.API](t)(s.ListAPIs(ctx)); len(apis) != 1 {
		t.Fatalf("after a failed batch: %d APIs", len(apis))
	}
	if v := must[int64](t)(s.Version(ctx)); v != v1 {
		t.Fatalf("a failed batch bumped the version %d → %d", v1, v)
	}
	if n := len(must[[]catalog.AuditEntry](t)(s.ListAudit(ctx, 1000))); n != len(audit) {
		t.Fatalf("a failed batch left %d audit entries", n-len(audit))
	}

	// A batch that writes nothing changes nothing.
	if err := s.Batch(ctx, func(ctx context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if v := must[int64](t)(s.Version(ctx)); v != v1 {
		t.Fatalf("an empty batch bumped the version")
	}
	// Batches do not nest; a write with a finished batch's context fails.
	var late context.Context
	err = s.Batch(ctx, func(bctx context.Context) error {
		late = bctx
		return s.Batch(bctx, func(context.Context) error { return nil })
	})
	if err == nil {
		t.Fatal("a nested batch was accepted")
	}
	if err := s.Batch(ctx, func(bctx context.Context) error {
		late = bctx
		_, err := s.CreateUser(bctx, catalog.User{ID: "v", Email: "v@example.com", Name: "V"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(late, catalog.User{ID: "w", Email: "w@example.com", Name: "W"}); err == nil {
		t.Fatal("a write with a finished batch's context was accepted")
	}
}

// After a batch of more writes than ChangedEntities scans, it must not
// answer "complete" from the newest entries alone.
func TestChangedEntitiesAfterBigBatch(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	v0 := must[int64](t)(s.Version(ctx))
	err := s.Batch(ctx, func(ctx context.Context) error {
		if _, err := s.CreateUser(ctx, catalog.User{ID: "u", Email: "u@example.com", Name: "U"}); err != nil {
			return err
		}
		for i := 0; i < 5000; i++ {
			if _, err := s.CreateNamedValue(ctx, catalog.NamedValue{Name: fmt.Sprintf("n%d", i), Value: "x"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	v1 := must[int64](t)(s.Version(ctx))
	ents, complete, err := s.ChangedEntities(ctx, v0, v1)
	if err != nil {
		t.Fatal(err)
	}
	if complete && !slices.Contains(ents, "user") {
		t.Fatalf("answered complete %v without the user written first", ents)
	}
}

// Policy writes in a batch remember the module versions they read; a
// module written in the same batch is seen by the policy writes after it.
func TestBatchModuleCache(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	must[catalog.API](t)(s.CreateAPI(ctx, catalog.API{ID: "a", Name: "A", PathPrefix: "/a", BackendURL: "http://127.0.0.1:1"}))
	doc := catalog.PolicyDoc{Scope: catalog.ScopeAPI, ScopeID: "a", Inbound: []catalog.PolicyEntry{{Module: "m"}}}
	err := s.Batch(ctx, func(ctx context.Context) error {
		if err := s.SetPolicy(ctx, doc); err == nil {
			return errors.New("a policy on a module not uploaded was accepted")
		}
		if _, err := s.CreateModule(ctx, catalog.Module{Name: "m", Version: "1.0.0", Wasm: []byte("\x00asm\x01\x00\x00\x00"),
			Manifest: catalog.ModuleManifest{ABIVersion: 1}}); err != nil {
			return err
		}
		return s.SetPolicy(ctx, doc)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetPolicy(ctx, catalog.ScopeAPI, "a"); err != nil {
		t.Fatal(err)
	}
}
