package sqlite_test

import (
	"context"
	"database/sql"
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse/catalog"
)

// ChangedEntities names exactly the kinds of entity written after a
// version, and says it does not know when the audit log misses a version.
func TestChangedEntities(t *testing.T) {
	ctx := context.Background()
	s, path := open(t)
	api := must[catalog.API](t)(s.CreateAPI(ctx, catalog.API{ID: "a", Name: "a", PathPrefix: "/a", BackendURL: "http://127.0.0.1:1"}))
	v0 := must[int64](t)(s.Version(ctx))
	user := must[catalog.User](t)(s.CreateUser(ctx, catalog.User{Email: "u@example.com", Name: "U"}))
	sub, _, _, err := s.CreateSubscription(ctx, catalog.Subscription{UserID: user.ID, Scope: catalog.ScopeAPI, ScopeID: api.ID, State: catalog.StateActive})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetSubscriptionState(ctx, sub.ID, catalog.StateSuspended); err != nil {
		t.Fatal(err)
	}
	v1 := must[int64](t)(s.Version(ctx))
	ents, complete, err := s.ChangedEntities(ctx, v0, v1)
	slices.Sort(ents)
	if err != nil || !complete || !slices.Equal(ents, []string{"subscription", "user"}) {
		t.Fatalf("since %d: %v complete=%v err=%v, want [subscription user]", v0, ents, complete, err)
	}
	if ents, complete, _ := s.ChangedEntities(ctx, v1, v1); len(ents) != 0 || !complete {
		t.Fatalf("no change: %v %v", ents, complete)
	}
	api.BackendURL = "http://127.0.0.1:2"
	must[catalog.API](t)(s.UpdateAPI(ctx, api))
	v2 := must[int64](t)(s.Version(ctx))
	if ents, complete, _ := s.ChangedEntities(ctx, v1, v2); !complete || !slices.Equal(ents, []string{"api"}) {
		t.Fatalf("api write: %v %v", ents, complete)
	}
	// A version whose audit entry is gone cannot be accounted for.
	raw, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec("DELETE FROM audit_log WHERE version = ?", v1); err != nil {
		t.Fatal(err)
	}
	if _, complete, _ := s.ChangedEntities(ctx, v0, v2); complete {
		t.Fatal("a missing audit entry still answered complete")
	}
}

// ChangesSince names each write's entity and ID, oldest first, and answers
// incomplete (nothing) when a version's audit entry is missing.
func TestChangesSince(t *testing.T) {
	ctx := context.Background()
	s, path := open(t)
	v0 := must[int64](t)(s.Version(ctx))
	api := must[catalog.API](t)(s.CreateAPI(ctx, catalog.API{ID: "a", Name: "a", PathPrefix: "/a", BackendURL: "http://127.0.0.1:1"}))
	op := must[catalog.Operation](t)(s.CreateOperation(ctx, catalog.Operation{APIID: api.ID, Name: "get", Method: "GET", URLTemplate: "/x"}))
	if err := s.SetPolicy(ctx, catalog.PolicyDoc{Scope: catalog.ScopeOperation, ScopeID: op.ID}); err != nil {
		t.Fatal(err)
	}
	v1 := must[int64](t)(s.Version(ctx))
	got, complete, err := s.ChangesSince(ctx, v0, v1)
	if err != nil || !complete {
		t.Fatalf("complete=%v err=%v", complete, err)
	}
	var ids []string
	for _, c := range got {
		ids = append(ids, c.Entity+" "+c.EntityID)
	}
	want := []string{"api a", "operation " + op.ID, "policy operation/" + op.ID}
	if !slices.Equal(ids, want) {
		t.Fatalf("changes %q, want %q", ids, want)
	}
	if got, complete, _ := s.ChangesSince(ctx, v1, v1); len(got) != 0 || !complete {
		t.Fatalf("no change: %v %v", got, complete)
	}
	raw, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec("DELETE FROM audit_log WHERE entity = 'operation'"); err != nil {
		t.Fatal(err)
	}
	if got, complete, _ := s.ChangesSince(ctx, v0, v1); complete || got != nil {
		t.Fatalf("a missing audit entry: %v complete=%v", got, complete)
	}
}
