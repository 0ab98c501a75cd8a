package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/catalog/sqlite"
)

var testMaster = bytes.Repeat([]byte{0x42}, 32)

func open(t *testing.T) (*sqlite.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "catalog.db")
	s, err := sqlite.OpenWithMasterKey(path, testMaster)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
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

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
}

func version(t *testing.T, s *sqlite.Store) int64 {
	t.Helper()
	v, err := s.Version(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// bumps asserts that fn changes the catalog version by exactly want.
func bumps(t *testing.T, s *sqlite.Store, want int64, fn func()) {
	t.Helper()
	before := version(t, s)
	fn()
	if got := version(t, s) - before; got != want {
		t.Fatalf("version moved by %d, want %d", got, want)
	}
}

func seed(t *testing.T, s *sqlite.Store) (catalog.API, catalog.Product, catalog.User) {
	t.Helper()
	ctx := context.Background()
	a := must[catalog.API](t)(s.CreateAPI(ctx, catalog.API{ID: "echo", Name: "Echo", PathPrefix: "/echo", BackendURL: "http://127.0.0.1:9/", SubscriptionRequired: true}))
	p := must[catalog.Product](t)(s.CreateProduct(ctx, catalog.Product{ID: "starter", Name: "Starter", Published: true}))
	if err := s.AddProductAPI(ctx, catalog.ProductAPI{ProductID: p.ID, APIID: a.ID}); err != nil {
		t.Fatal(err)
	}
	u := must[catalog.User](t)(s.CreateUser(ctx, catalog.User{ID: "dev", Email: "dev@example.com", Name: "Dev"}))
	return a, p, u
}

func TestAPICRUD(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	var a catalog.API
	bumps(t, s, 1, func() {
		a = must[catalog.API](t)(s.CreateAPI(ctx, catalog.API{Name: "Echo", PathPrefix: "/echo", BackendURL: "https://example.com", OpenAPIDoc: []byte(`{"openapi":"3.0.0"}`)}))
	})
	if a.ID == "" || a.KeyHeader != catalog.DefaultKeyHeader || a.KeyQuery != catalog.DefaultKeyQuery || a.Revision != 1 {
		t.Fatalf("created %+v", a)
	}
	bumps(t, s, 0, func() {
		got := must[catalog.API](t)(s.GetAPI(ctx, a.ID))
		if string(got.OpenAPIDoc) != `{"openapi":"3.0.0"}` || got.Name != "Echo" {
			t.Fatalf("got %+v", got)
		}
		list := must[[]catalog.API](t)(s.ListAPIs(ctx))
		if len(list) != 1 || list[0].ID != a.ID || list[0].OpenAPIDoc != nil {
			t.Fatalf("list %+v", list)
		}
	})
	a.AllowQueryKey, a.KeyHeader, a.BackendURL = true, "X-Key", "http://backend:8080"
	bumps(t, s, 1, func() { must[catalog.API](t)(s.UpdateAPI(ctx, a)) })
	got := must[catalog.API](t)(s.GetAPI(ctx, a.ID))
	if !got.AllowQueryKey || got.KeyHeader != "X-Key" || got.BackendURL != "http://backend:8080" {
		t.Fatalf("update lost: %+v", got)
	}

	_, err := s.CreateAPI(ctx, catalog.API{Name: "Echo", PathPrefix: "/other", BackendURL: "https://example.com"})
	wantErr(t, err, catalog.ErrConflict)
	_, err = s.CreateAPI(ctx, catalog.API{Name: "Other", PathPrefix: "/echo", BackendURL: "https://example.com"})
	wantErr(t, err, catalog.ErrConflict)
	v2 := must[catalog.API](t)(s.CreateAPI(ctx, catalog.API{Name: "Echo v2", PathPrefix: "/echo", Version: "v2", BackendURL: "https://example.com"}))
	bumps(t, s, 0, func() {
		_, err = s.CreateAPI(ctx, catalog.API{Name: "Bad", PathPrefix: "/bad", BackendURL: "http://169.254.169.254/"})
		wantErr(t, err, catalog.ErrInvalid)
		_, err = s.GetAPI(ctx, "missing")
		wantErr(t, err, catalog.ErrNotFound)
		_, err = s.UpdateAPI(ctx, catalog.API{ID: "missing", Name: "M", PathPrefix: "/m", BackendURL: "http://x"})
		wantErr(t, err, catalog.ErrNotFound)
		wantErr(t, s.DeleteAPI(ctx, "missing"), catalog.ErrNotFound)
	})
	bumps(t, s, 1, func() {
		if err := s.DeleteAPI(ctx, v2.ID); err != nil {
			t.Fatal(err)
		}
	})
	_, err = s.GetAPI(ctx, v2.ID)
	wantErr(t, err, catalog.ErrNotFound)
}

func TestOperationCRUD(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	a, _, _ := seed(t, s)
	o := must[catalog.Operation](t)(s.CreateOperation(ctx, catalog.Operation{APIID: a.ID, Name: "Get item", Method: "GET", URLTemplate: "/items/{id}"}))
	must[catalog.Operation](t)(s.CreateOperation(ctx, catalog.Operation{APIID: a.ID, Name: "Put item", Method: "PUT", URLTemplate: "/items/{id}"}))
	_, err := s.CreateOperation(ctx, catalog.Operation{APIID: a.ID, Name: "Dup", Method: "GET", URLTemplate: "/items/{id}"})
	wantErr(t, err, catalog.ErrConflict)
	_, err = s.CreateOperation(ctx, catalog.Operation{APIID: "nope", Name: "Orphan", Method: "GET", URLTemplate: "/x"})
	wantErr(t, err, catalog.ErrConflict)
	_, err = s.CreateOperation(ctx, catalog.Operation{APIID: a.ID, Name: "Bad", Method: "YELL", URLTemplate: "/x"})
	wantErr(t, err, catalog.ErrInvalid)

	if ops := must[[]catalog.Operation](t)(s.ListOperations(ctx, a.ID)); len(ops) != 2 {
		t.Fatalf("ops %v", ops)
	}
	if ops := must[[]catalog.Operation](t)(s.ListOperations(ctx, "")); len(ops) != 2 {
		t.Fatalf("all ops %v", ops)
	}
	o.URLTemplate = "/items/{itemId}"
	must[catalog.Operation](t)(s.UpdateOperation(ctx, o))
	if got := must[catalog.Operation](t)(s.GetOperation(ctx, o.ID)); got.URLTemplate != "/items/{itemId}" {
		t.Fatalf("got %+v", got)
	}
	if err := s.DeleteOperation(ctx, o.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetOperation(ctx, o.ID)
	wantErr(t, err, catalog.ErrNotFound)
	// Deleting the API cascades to its operations.
	if err := s.DeleteAPI(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if ops := must[[]catalog.Operation](t)(s.ListOperations(ctx, "")); len(ops) != 0 {
		t.Fatalf("cascade left %v", ops)
	}
}

func TestProductGroupUserCRUD(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	a, p, u := seed(t, s)

	p.Description, p.ApprovalRequired, p.SubscriptionsLimit = "For starters", true, 2
	must[catalog.Product](t)(s.UpdateProduct(ctx, p))
	if got := must[catalog.Product](t)(s.GetProduct(ctx, p.ID)); got != p {
		t.Fatalf("got %+v want %+v", got, p)
	}
	if l := must[[]catalog.Product](t)(s.ListProducts(ctx)); len(l) != 1 {
		t.Fatal(l)
	}
	_, err := s.CreateProduct(ctx, catalog.Product{Name: "Starter"})
	wantErr(t, err, catalog.ErrConflict)
	wantErr(t, s.AddProductAPI(ctx, catalog.ProductAPI{ProductID: p.ID, APIID: a.ID}), catalog.ErrConflict)
	wantErr(t, s.AddProductAPI(ctx, catalog.ProductAPI{ProductID: p.ID, APIID: "missing"}), catalog.ErrConflict)
	if l := must[[]catalog.ProductAPI](t)(s.ListProductAPIs(ctx, p.ID)); len(l) != 1 || l[0].APIID != a.ID {
		t.Fatal(l)
	}
	if err := s.RemoveProductAPI(ctx, catalog.ProductAPI{ProductID: p.ID, APIID: a.ID}); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.RemoveProductAPI(ctx, catalog.ProductAPI{ProductID: p.ID, APIID: a.ID}), catalog.ErrNotFound)

	g := must[catalog.Group](t)(s.CreateGroup(ctx, catalog.Group{ID: "devs", Name: "Developers"}))
	_, err = s.CreateGroup(ctx, catalog.Group{Name: "Developers"})
	wantErr(t, err, catalog.ErrConflict)
	g.Description = "All developers"
	must[catalog.Group](t)(s.UpdateGroup(ctx, g))
	if got := must[catalog.Group](t)(s.GetGroup(ctx, g.ID)); got != g {
		t.Fatal(got)
	}
	if err := s.AddGroupUser(ctx, g.ID, u.ID); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.AddGroupUser(ctx, g.ID, "ghost"), catalog.ErrConflict)
	if l := must[[]catalog.User](t)(s.ListGroupUsers(ctx, g.ID)); len(l) != 1 || l[0].ID != u.ID {
		t.Fatal(l)
	}
	if l := must[[]catalog.Group](t)(s.ListGroups(ctx)); len(l) != 1 {
		t.Fatal(l)
	}

	_, err = s.CreateUser(ctx, catalog.User{Email: "DEV@example.com", Name: "Dup"})
	wantErr(t, err, catalog.ErrConflict)
	_, err = s.CreateUser(ctx, catalog.User{Email: "not-an-email", Name: "Bad"})
	wantErr(t, err, catalog.ErrInvalid)
	u.State = catalog.UserBlocked
	must[catalog.User](t)(s.UpdateUser(ctx, u))
	if got := must[catalog.User](t)(s.GetUser(ctx, u.ID)); got.State != catalog.UserBlocked {
		t.Fatal(got)
	}
	if l := must[[]catalog.User](t)(s.ListUsers(ctx)); len(l) != 1 {
		t.Fatal(l)
	}
	if err := s.RemoveGroupUser(ctx, g.ID, u.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteGroup(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetGroup(ctx, g.ID)
	wantErr(t, err, catalog.ErrNotFound)
	if err := s.DeleteProduct(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetUser(ctx, u.ID)
	wantErr(t, err, catalog.ErrNotFound)
}

func TestSubscriptionsAndKeys(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	a, p, u := seed(t, s)

	// Foreign keys: missing user, product or API.
	bumps(t, s, 0, func() {
		_, _, _, err := s.CreateSubscription(ctx, catalog.Subscription{UserID: "ghost", Scope: catalog.ScopeAll})
		wantErr(t, err, catalog.ErrConflict)
		_, _, _, err = s.CreateSubscription(ctx, catalog.Subscription{UserID: u.ID, Scope: catalog.ScopeProduct, ScopeID: "ghost"})
		wantErr(t, err, catalog.ErrConflict)
		_, _, _, err = s.CreateSubscription(ctx, catalog.Subscription{UserID: u.ID, Scope: catalog.ScopeAPI, ScopeID: "ghost"})
		wantErr(t, err, catalog.ErrConflict)
		_, _, _, err = s.CreateSubscription(ctx, catalog.Subscription{UserID: u.ID, Scope: "everything"})
		wantErr(t, err, catalog.ErrInvalid)
	})

	var sub catalog.Subscription
	var k1, k2 string
	bumps(t, s, 1, func() {
		var err error
		sub, k1, k2, err = s.CreateSubscription(ctx, catalog.Subscription{UserID: u.ID, Name: "mine", Scope: catalog.ScopeProduct, ScopeID: p.ID})
		if err != nil {
			t.Fatal(err)
		}
	})
	if sub.State != catalog.StateActive || sub.CreatedAt.IsZero() || k1 == k2 || !catalog.WellFormedKey(k1) || !catalog.WellFormedKey(k2) {
		t.Fatalf("sub %+v keys %q %q", sub, k1, k2)
	}
	bumps(t, s, 0, func() {
		for _, k := range []string{k1, k2} {
			got, err := s.LookupKey(ctx, k)
			if err != nil || got.ID != sub.ID || got.Scope != catalog.ScopeProduct || got.ScopeID != p.ID {
				t.Fatalf("lookup: %+v %v", got, err)
			}
		}
		keys := must[catalog.Keys](t)(s.ShowKeys(ctx, sub.ID))
		if keys.Primary != k1 || keys.Secondary != k2 {
			t.Fatalf("ShowKeys %+v", keys)
		}
		_, err := s.LookupKey(ctx, "gh_nope")
		wantErr(t, err, catalog.ErrNotFound)
		other, _ := catalog.NewKey()
		_, err = s.LookupKey(ctx, other)
		wantErr(t, err, catalog.ErrNotFound)
		_, err = s.ShowKeys(ctx, "ghost")
		wantErr(t, err, catalog.ErrNotFound)
	})

	// Regenerating one slot leaves the other working.
	var k1b string
	bumps(t, s, 1, func() { k1b = must[string](t)(s.RegenerateKey(ctx, sub.ID, catalog.SlotPrimary)) })
	_, err := s.LookupKey(ctx, k1)
	wantErr(t, err, catalog.ErrNotFound)
	if got := must[catalog.Subscription](t)(s.LookupKey(ctx, k1b)); got.ID != sub.ID {
		t.Fatal(got)
	}
	if got := must[catalog.Subscription](t)(s.LookupKey(ctx, k2)); got.ID != sub.ID {
		t.Fatal(got)
	}
	k2b := must[string](t)(s.RegenerateKey(ctx, sub.ID, catalog.SlotSecondary))
	if keys := must[catalog.Keys](t)(s.ShowKeys(ctx, sub.ID)); keys.Primary != k1b || keys.Secondary != k2b {
		t.Fatalf("ShowKeys after regenerate %+v", keys)
	}
	_, err = s.RegenerateKey(ctx, sub.ID, "tertiary")
	wantErr(t, err, catalog.ErrInvalid)
	_, err = s.RegenerateKey(ctx, "ghost", catalog.SlotPrimary)
	wantErr(t, err, catalog.ErrNotFound)

	// Suspension and cancellation are visible through lookup.
	must[catalog.Subscription](t)(s.SetSubscriptionState(ctx, sub.ID, catalog.StateSuspended))
	if got := must[catalog.Subscription](t)(s.LookupKey(ctx, k2b)); got.State != catalog.StateSuspended {
		t.Fatal(got.State)
	}
	_, err = s.SetSubscriptionState(ctx, sub.ID, "paused")
	wantErr(t, err, catalog.ErrInvalid)
	_, err = s.SetSubscriptionState(ctx, "ghost", catalog.StateActive)
	wantErr(t, err, catalog.ErrNotFound)
	if got := must[catalog.Subscription](t)(s.SetSubscriptionState(ctx, sub.ID, catalog.StateCancelled)); got.State != catalog.StateCancelled {
		t.Fatal(got.State)
	}

	// Expiry by date.
	past := time.Now().Add(-time.Minute)
	sub2, k, _, err := s.CreateSubscription(ctx, catalog.Subscription{UserID: u.ID, Scope: catalog.ScopeAPI, ScopeID: a.ID, ExpiresAt: &past})
	if err != nil {
		t.Fatal(err)
	}
	if sub2.State != catalog.StateExpired {
		t.Fatalf("state %s", sub2.State)
	}
	if got := must[catalog.Subscription](t)(s.LookupKey(ctx, k)); got.State != catalog.StateExpired {
		t.Fatal(got.State)
	}
	future := time.Now().Add(time.Hour)
	if got := must[catalog.Subscription](t)(s.SetSubscriptionExpiry(ctx, sub2.ID, &future)); got.State != catalog.StateActive || !got.ExpiresAt.Equal(future) {
		t.Fatalf("%+v", got)
	}

	// Scope all, listing and filters.
	must[catalog.Subscription](t)(func() (catalog.Subscription, error) {
		s, _, _, err := s.CreateSubscription(ctx, catalog.Subscription{UserID: u.ID, Scope: catalog.ScopeAll})
		return s, err
	}())
	if l := must[[]catalog.Subscription](t)(s.ListSubscriptions(ctx, catalog.SubscriptionFilter{})); len(l) != 3 {
		t.Fatal(len(l))
	}
	if l := must[[]catalog.Subscription](t)(s.ListSubscriptions(ctx, catalog.SubscriptionFilter{Scope: catalog.ScopeAPI, ScopeID: a.ID})); len(l) != 1 || l[0].ID != sub2.ID {
		t.Fatal(l)
	}
	if l := must[[]catalog.Subscription](t)(s.ListSubscriptions(ctx, catalog.SubscriptionFilter{UserID: "ghost"})); len(l) != 0 {
		t.Fatal(l)
	}

	// Referenced entities cannot be deleted.
	wantErr(t, s.DeleteUser(ctx, u.ID), catalog.ErrConflict)
	wantErr(t, s.DeleteProduct(ctx, p.ID), catalog.ErrConflict)
	wantErr(t, s.DeleteAPI(ctx, a.ID), catalog.ErrConflict)

	if err := s.DeleteSubscription(ctx, sub2.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.LookupKey(ctx, k)
	wantErr(t, err, catalog.ErrNotFound)
	_, err = s.GetSubscription(ctx, sub2.ID)
	wantErr(t, err, catalog.ErrNotFound)
	wantErr(t, s.DeleteSubscription(ctx, sub2.ID), catalog.ErrNotFound)
}

func TestProductApprovalAndLimit(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	_, p, u := seed(t, s)
	p.ApprovalRequired, p.SubscriptionsLimit = true, 1
	must[catalog.Product](t)(s.UpdateProduct(ctx, p))
	sub, k, _, err := s.CreateSubscription(ctx, catalog.Subscription{UserID: u.ID, Scope: catalog.ScopeProduct, ScopeID: p.ID})
	if err != nil {
		t.Fatal(err)
	}
	if sub.State != catalog.StateSubmitted {
		t.Fatalf("state %s, want submitted", sub.State)
	}
	if got := must[catalog.Subscription](t)(s.LookupKey(ctx, k)); got.State != catalog.StateSubmitted {
		t.Fatal(got.State)
	}
	_, _, _, err = s.CreateSubscription(ctx, catalog.Subscription{UserID: u.ID, Scope: catalog.ScopeProduct, ScopeID: p.ID})
	wantErr(t, err, catalog.ErrConflict)
	must[catalog.Subscription](t)(s.SetSubscriptionState(ctx, sub.ID, catalog.StateActive))
	if got := must[catalog.Subscription](t)(s.GetSubscription(ctx, sub.ID)); got.State != catalog.StateActive {
		t.Fatal(got.State)
	}
	must[catalog.Subscription](t)(s.SetSubscriptionState(ctx, sub.ID, catalog.StateCancelled))
	sub2, _, _, err := s.CreateSubscription(ctx, catalog.Subscription{UserID: u.ID, Scope: catalog.ScopeProduct, ScopeID: p.ID})
	if err != nil {
		t.Fatalf("cancelled subscription still counts against the limit: %v", err)
	}
	// One expired by date does not count either.
	past := time.Now().Add(-time.Minute)
	must[catalog.Subscription](t)(s.SetSubscriptionExpiry(ctx, sub2.ID, &past))
	if _, _, _, err := s.CreateSubscription(ctx, catalog.Subscription{UserID: u.ID, Scope: catalog.ScopeProduct, ScopeID: p.ID}); err != nil {
		t.Fatalf("expired subscription still counts against the limit: %v", err)
	}
}

func testModule(name, version string) catalog.Module {
	return catalog.Module{Name: name, Version: version, Wasm: []byte("\x00asm\x01\x00\x00\x00" + name + version),
		Manifest: catalog.ModuleManifest{ABIVersion: 1, Capabilities: []string{"http"}, ConfigSchema: json.RawMessage(`{"type":"object"}`),
			Limits: catalog.ModuleLimits{MemoryPages: 16, TimeoutMS: 50}},
		Grant: catalog.ModuleGrant{Capabilities: []string{"http"}}}
}

func TestModulesAndPolicies(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	a, p, _ := seed(t, s)
	m := must[catalog.Module](t)(s.CreateModule(ctx, testModule("rate-limit", "1.0.0")))
	if len(m.SHA256) != 64 {
		t.Fatal(m.SHA256)
	}
	must[catalog.Module](t)(s.CreateModule(ctx, testModule("rate-limit", "1.1.0")))
	must[catalog.Module](t)(s.CreateModule(ctx, testModule("headers", "0.1.0")))
	_, err := s.CreateModule(ctx, testModule("rate-limit", "1.0.0"))
	wantErr(t, err, catalog.ErrConflict)
	bad := testModule("x", "1.0.0")
	bad.SHA256 = strings.Repeat("a", 64)
	_, err = s.CreateModule(ctx, bad)
	wantErr(t, err, catalog.ErrInvalid)

	got := must[catalog.Module](t)(s.GetModule(ctx, "rate-limit", "1.0.0"))
	if !bytes.Equal(got.Wasm, m.Wasm) || got.Manifest.Limits.MemoryPages != 16 || string(got.Manifest.ConfigSchema) != `{"type":"object"}` {
		t.Fatalf("%+v", got)
	}
	if l := must[[]catalog.Module](t)(s.ListModules(ctx)); len(l) != 3 || l[0].Wasm != nil {
		t.Fatal(l)
	}
	_, err = s.GetModule(ctx, "rate-limit", "9.9.9")
	wantErr(t, err, catalog.ErrNotFound)

	op := must[catalog.Operation](t)(s.CreateOperation(ctx, catalog.Operation{APIID: a.ID, Name: "Get", Method: "GET", URLTemplate: "/"}))
	docs := []catalog.PolicyDoc{
		{Scope: catalog.ScopeGlobal, Inbound: []catalog.PolicyEntry{{Module: "headers"}}},
		{Scope: catalog.ScopeProduct, ScopeID: p.ID, Inbound: []catalog.PolicyEntry{{Base: true}, {Module: "rate-limit@1.1.0", Config: json.RawMessage(`{"calls":5,"period":"1m"}`)}}},
		{Scope: catalog.ScopeAPI, ScopeID: a.ID, Outbound: []catalog.PolicyEntry{{Module: "headers", FailMode: catalog.FailOpen}, {Base: true}}},
		{Scope: catalog.ScopeOperation, ScopeID: op.ID, OnError: []catalog.PolicyEntry{{Base: true}, {Module: "headers", FailMode: catalog.FailFallback, Fallback: "rate-limit@1.0.0"}}},
	}
	for _, d := range docs {
		bumps(t, s, 1, func() {
			if err := s.SetPolicy(ctx, d); err != nil {
				t.Fatal(err)
			}
		})
		got := must[catalog.PolicyDoc](t)(s.GetPolicy(ctx, d.Scope, d.ScopeID))
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(d)
		if !bytes.Equal(gj, wj) {
			t.Fatalf("round trip:\n got %s\nwant %s", gj, wj)
		}
	}
	// Replace keeps one document per scope.
	docs[0].Inbound = append(docs[0].Inbound, catalog.PolicyEntry{Module: "rate-limit"})
	if err := s.SetPolicy(ctx, docs[0]); err != nil {
		t.Fatal(err)
	}
	if l := must[[]catalog.PolicyDoc](t)(s.ListPolicies(ctx)); len(l) != 4 {
		t.Fatal(len(l))
	}
	bumps(t, s, 0, func() {
		err := s.SetPolicy(ctx, catalog.PolicyDoc{Scope: catalog.ScopeAPI, ScopeID: "ghost"})
		wantErr(t, err, catalog.ErrConflict)
		err = s.SetPolicy(ctx, catalog.PolicyDoc{Scope: catalog.ScopeAPI, ScopeID: a.ID, Inbound: []catalog.PolicyEntry{{Base: true}, {Module: "missing"}}})
		wantErr(t, err, catalog.ErrInvalid)
		var fe *catalog.FieldError
		if !errors.As(err, &fe) || fe.Path != "inbound[1].module" {
			t.Fatalf("path: %v", err)
		}
		err = s.SetPolicy(ctx, catalog.PolicyDoc{Scope: catalog.ScopeAPI, ScopeID: a.ID, Inbound: []catalog.PolicyEntry{{Module: "rate-limit@3.0.0"}}})
		wantErr(t, err, catalog.ErrInvalid)
	})
	// Deleting the operation removes its policy document.
	if err := s.DeleteOperation(ctx, op.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetPolicy(ctx, catalog.ScopeOperation, op.ID)
	wantErr(t, err, catalog.ErrNotFound)
	if err := s.DeletePolicy(ctx, catalog.ScopeGlobal, ""); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.DeletePolicy(ctx, catalog.ScopeGlobal, ""), catalog.ErrNotFound)
	// A module a policy still uses is not deleted; once unused it is.
	wantErr(t, s.DeleteModule(ctx, "headers", "0.1.0"), catalog.ErrConflict)
	if err := s.DeletePolicy(ctx, catalog.ScopeAPI, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteModule(ctx, "headers", "0.1.0"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.DeleteModule(ctx, "headers", "0.1.0"), catalog.ErrNotFound)
}

func TestNamedValues(t *testing.T) {
	s, path := open(t)
	ctx := context.Background()
	must[catalog.NamedValue](t)(s.CreateNamedValue(ctx, catalog.NamedValue{Name: "region", Value: "eu-west"}))
	must[catalog.NamedValue](t)(s.CreateNamedValue(ctx, catalog.NamedValue{Name: "backend-token", Value: "tok-SUPERSECRET-123", Secret: true}))
	_, err := s.CreateNamedValue(ctx, catalog.NamedValue{Name: "region", Value: "x"})
	wantErr(t, err, catalog.ErrConflict)
	if got := must[catalog.NamedValue](t)(s.GetNamedValue(ctx, "backend-token")); got.Value != "tok-SUPERSECRET-123" || !got.Secret {
		t.Fatal(got)
	}
	must[catalog.NamedValue](t)(s.UpdateNamedValue(ctx, catalog.NamedValue{Name: "region", Value: "us-east"}))
	_, err = s.UpdateNamedValue(ctx, catalog.NamedValue{Name: "ghost", Value: "x"})
	wantErr(t, err, catalog.ErrNotFound)
	l := must[[]catalog.NamedValue](t)(s.ListNamedValues(ctx))
	if len(l) != 2 || l[1].Value != "us-east" {
		t.Fatal(l)
	}
	if err := s.DeleteNamedValue(ctx, "region"); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetNamedValue(ctx, "region")
	wantErr(t, err, catalog.ErrNotFound)
	assertNotInFiles(t, path, "SUPERSECRET")
}

func TestAudit(t *testing.T) {
	s, _ := open(t)
	ctx := catalog.WithActor(context.Background(), "alice")
	v0 := version(t, s)
	u := must[catalog.User](t)(s.CreateUser(ctx, catalog.User{Email: "a@example.com", Name: "A"}))
	must[catalog.User](t)(s.GetUser(ctx, u.ID))
	if err := s.DeleteUser(context.Background(), u.ID); err != nil {
		t.Fatal(err)
	}
	// A failed write leaves no audit row and no version bump.
	wantErr(t, s.DeleteUser(ctx, u.ID), catalog.ErrNotFound)
	es := must[[]catalog.AuditEntry](t)(s.ListAudit(ctx, 10))
	if len(es) != 2 {
		t.Fatalf("audit %+v", es)
	}
	del, cre := es[0], es[1]
	if cre.Actor != "alice" || cre.Action != "create" || cre.Entity != "user" || cre.EntityID != u.ID || cre.Version != v0+1 || cre.At.IsZero() {
		t.Fatalf("create entry %+v", cre)
	}
	if del.Actor != "system" || del.Action != "delete" || del.Version != v0+2 {
		t.Fatalf("delete entry %+v", del)
	}
	if version(t, s) != v0+2 {
		t.Fatal("version")
	}
}

func TestMigrations(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "catalog.db")
	s, err := sqlite.OpenWithMasterKey(path, testMaster)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	must[catalog.User](t)(s.CreateUser(ctx, catalog.User{ID: "u", Email: "u@example.com", Name: "U"}))
	v := version(t, s)
	s.Close()

	// Reopening is idempotent and keeps data and version.
	s, err = sqlite.OpenWithMasterKey(path, testMaster)
	if err != nil {
		t.Fatal(err)
	}
	if version(t, s) != v {
		t.Fatal("version changed on reopen")
	}
	must[catalog.User](t)(s.GetUser(ctx, "u"))
	s.Close()

	raw, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	var n, maxV int
	if err := raw.QueryRow("SELECT COUNT(*), MAX(version) FROM schema_version").Scan(&n, &maxV); err != nil {
		t.Fatal(err)
	}
	if n != sqlite.SchemaVersion() || maxV != sqlite.SchemaVersion() {
		t.Fatalf("schema_version rows %d max %d, want %d", n, maxV, sqlite.SchemaVersion())
	}
	var mode string
	raw.QueryRow("PRAGMA journal_mode").Scan(&mode)
	if mode != "wal" {
		t.Fatalf("journal mode %q", mode)
	}
	// A database from the future is refused.
	if _, err := raw.Exec("INSERT INTO schema_version (version) VALUES (?)", sqlite.SchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	_, err = sqlite.OpenWithMasterKey(path, testMaster)
	if err == nil || !strings.Contains(err.Error(), "newer than this binary supports") {
		t.Fatalf("future schema: %v", err)
	}
}

func TestOpenMasterKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "catalog.db")
	t.Setenv(catalog.MasterKeyEnv, "")
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	u := must[catalog.User](t)(s.CreateUser(ctx, catalog.User{Email: "u@example.com", Name: "U"}))
	sub, k1, _, err := s.CreateSubscription(ctx, catalog.Subscription{UserID: u.ID, Scope: catalog.ScopeAll})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	fi, err := os.Stat(filepath.Join(dir, catalog.MasterKeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("master key file: %v %v", fi, err)
	}
	// Reopen with the same file: keys still decrypt.
	s, err = sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if keys := must[catalog.Keys](t)(s.ShowKeys(ctx, sub.ID)); keys.Primary != k1 {
		t.Fatal("key changed")
	}
	s.Close()
	// A world-readable key file is refused.
	os.Chmod(filepath.Join(dir, catalog.MasterKeyFile), 0o644)
	if _, err := sqlite.Open(path); err == nil {
		t.Fatal("opened with a 0644 master key")
	}
	// The env override wins; a different key cannot decrypt old keys but
	// lookup by hash still works.
	t.Setenv(catalog.MasterKeyEnv, base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32)))
	s, err = sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.ShowKeys(ctx, sub.ID); err == nil {
		t.Fatal("decrypted with the wrong master key")
	}
	if got := must[catalog.Subscription](t)(s.LookupKey(ctx, k1)); got.ID != sub.ID {
		t.Fatal(got)
	}
}

// assertNotInFiles fails if needle appears in the database file or its WAL.
func assertNotInFiles(t *testing.T, path string, needles ...string) {
	t.Helper()
	found := 0
	for _, f := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("reading %s: %v", f, err)
		}
		if len(b) == 0 && strings.HasSuffix(f, "-wal") {
			t.Fatalf("%s is empty: the test would prove nothing", f)
		}
		found++
		for _, n := range needles {
			if bytes.Contains(b, []byte(n)) {
				t.Fatalf("%s contains plaintext %q", filepath.Base(f), n)
			}
		}
	}
	if found != 2 {
		t.Fatal("files missing")
	}
}

func TestNoPlaintextKeysOnDisk(t *testing.T) {
	s, path := open(t)
	ctx := context.Background()
	_, p, u := seed(t, s)
	var needles []string
	for i := 0; i < 20; i++ {
		sub, k1, k2, err := s.CreateSubscription(ctx, catalog.Subscription{UserID: u.ID, Scope: catalog.ScopeProduct, ScopeID: p.ID})
		if err != nil {
			t.Fatal(err)
		}
		k3 := must[string](t)(s.RegenerateKey(ctx, sub.ID, catalog.SlotSecondary))
		// The full key and its random part (without the prefix).
		for _, k := range []string{k1, k2, k3} {
			needles = append(needles, k, strings.TrimPrefix(k, catalog.KeyPrefix))
			raw, _ := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(k, catalog.KeyPrefix))
			needles = append(needles, string(raw))
		}
	}
	// The WAL holds the recent writes (no checkpoint has run while open).
	assertNotInFiles(t, path, needles...)
	// After close (checkpoint into the main file) the main file is clean too.
	s.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range needles {
		if bytes.Contains(b, []byte(n)) {
			t.Fatalf("database contains plaintext key material")
		}
	}
	// Sanity: the hashes are there, proving the bytes we scanned are the data.
	raw, _ := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	defer raw.Close()
	var cnt int
	raw.QueryRow("SELECT COUNT(*) FROM subscription_keys").Scan(&cnt)
	if cnt != 40 {
		t.Fatalf("keys rows %d", cnt)
	}
}

// An empty section ("drop the parent's") survives a round trip as empty,
// distinct from an absent one ("inherit").
func TestPolicyEmptySectionRoundTrip(t *testing.T) {
	st, _ := open(t)
	ctx := context.Background()
	a, err := st.CreateAPI(ctx, catalog.API{Name: "e", PathPrefix: "/e", BackendURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetPolicy(ctx, catalog.PolicyDoc{Scope: catalog.ScopeAPI, ScopeID: a.ID, Inbound: []catalog.PolicyEntry{}}); err != nil {
		t.Fatal(err)
	}
	d, err := st.GetPolicy(ctx, catalog.ScopeAPI, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Inbound == nil || len(d.Inbound) != 0 {
		t.Errorf("inbound = %#v, want empty and non-nil", d.Inbound)
	}
	if d.Outbound != nil {
		t.Errorf("outbound = %#v, want nil (absent)", d.Outbound)
	}
}
