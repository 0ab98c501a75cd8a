package sqlite_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/catalog"
)

// Every write method bumps the version by exactly one and appends exactly
// one audit entry carrying that version; a failing write does neither.
func TestEveryWriteBumpsVersionAndAudits(t *testing.T) {
	s, _ := open(t)
	ctx := catalog.WithActor(context.Background(), "tester")
	var subID string
	exp := time.Now().Add(time.Hour)
	writes := []struct {
		name string
		fn   func() error
	}{
		{"CreateAPI", func() error {
			_, err := s.CreateAPI(ctx, catalog.API{ID: "a", Name: "A", PathPrefix: "/a", BackendURL: "http://b"})
			return err
		}},
		{"UpdateAPI", func() error {
			_, err := s.UpdateAPI(ctx, catalog.API{ID: "a", Name: "A2", PathPrefix: "/a", BackendURL: "http://b"})
			return err
		}},
		{"CreateOperation", func() error {
			_, err := s.CreateOperation(ctx, catalog.Operation{ID: "o", APIID: "a", Name: "O", Method: "GET", URLTemplate: "/"})
			return err
		}},
		{"UpdateOperation", func() error {
			_, err := s.UpdateOperation(ctx, catalog.Operation{ID: "o", APIID: "a", Name: "O2", Method: "POST", URLTemplate: "/"})
			return err
		}},
		{"CreateProduct", func() error {
			_, err := s.CreateProduct(ctx, catalog.Product{ID: "p", Name: "P"})
			return err
		}},
		{"UpdateProduct", func() error {
			_, err := s.UpdateProduct(ctx, catalog.Product{ID: "p", Name: "P", Published: true})
			return err
		}},
		{"AddProductAPI", func() error { return s.AddProductAPI(ctx, catalog.ProductAPI{ProductID: "p", APIID: "a"}) }},
		{"CreateGroup", func() error { _, err := s.CreateGroup(ctx, catalog.Group{ID: "g", Name: "G"}); return err }},
		{"UpdateGroup", func() error { _, err := s.UpdateGroup(ctx, catalog.Group{ID: "g", Name: "G2"}); return err }},
		{"CreateUser", func() error {
			_, err := s.CreateUser(ctx, catalog.User{ID: "u", Email: "u@example.com", Name: "U"})
			return err
		}},
		{"UpdateUser", func() error {
			_, err := s.UpdateUser(ctx, catalog.User{ID: "u", Email: "u@example.com", Name: "U2"})
			return err
		}},
		{"AddGroupUser", func() error { return s.AddGroupUser(ctx, "g", "u") }},
		{"CreateSubscription", func() error {
			sub, _, _, err := s.CreateSubscription(ctx, catalog.Subscription{UserID: "u", Scope: catalog.ScopeProduct, ScopeID: "p"})
			subID = sub.ID
			return err
		}},
		{"SetSubscriptionState", func() error {
			_, err := s.SetSubscriptionState(ctx, subID, catalog.StateSuspended)
			return err
		}},
		{"SetSubscriptionExpiry", func() error { _, err := s.SetSubscriptionExpiry(ctx, subID, &exp); return err }},
		{"RegenerateKey", func() error { _, err := s.RegenerateKey(ctx, subID, catalog.SlotPrimary); return err }},
		{"CreateModule", func() error { _, err := s.CreateModule(ctx, testModule("m", "1.0.0")); return err }},
		{"SetPolicy", func() error {
			return s.SetPolicy(ctx, catalog.PolicyDoc{Scope: catalog.ScopeAPI, ScopeID: "a",
				Inbound: []catalog.PolicyEntry{{Base: true}, {Module: "m", Config: json.RawMessage(`{}`)}}})
		}},
		{"CreateNamedValue", func() error {
			_, err := s.CreateNamedValue(ctx, catalog.NamedValue{Name: "n", Value: "v"})
			return err
		}},
		{"UpdateNamedValue", func() error {
			_, err := s.UpdateNamedValue(ctx, catalog.NamedValue{Name: "n", Value: "w", Secret: true})
			return err
		}},
		{"DeleteNamedValue", func() error { return s.DeleteNamedValue(ctx, "n") }},
		{"DeletePolicy", func() error { return s.DeletePolicy(ctx, catalog.ScopeAPI, "a") }},
		{"DeleteModule", func() error { return s.DeleteModule(ctx, "m", "1.0.0") }},
		{"DeleteSubscription", func() error { return s.DeleteSubscription(ctx, subID) }},
		{"RemoveGroupUser", func() error { return s.RemoveGroupUser(ctx, "g", "u") }},
		{"DeleteUser", func() error { return s.DeleteUser(ctx, "u") }},
		{"DeleteGroup", func() error { return s.DeleteGroup(ctx, "g") }},
		{"RemoveProductAPI", func() error { return s.RemoveProductAPI(ctx, catalog.ProductAPI{ProductID: "p", APIID: "a"}) }},
		{"DeleteProduct", func() error { return s.DeleteProduct(ctx, "p") }},
		{"DeleteOperation", func() error { return s.DeleteOperation(ctx, "o") }},
		{"DeleteAPI", func() error { return s.DeleteAPI(ctx, "a") }},
	}
	auditLen := func() int { return len(must[[]catalog.AuditEntry](t)(s.ListAudit(ctx, 10000))) }
	for _, w := range writes {
		v, n := version(t, s), auditLen()
		if err := w.fn(); err != nil {
			t.Fatalf("%s: %v", w.name, err)
		}
		if got := version(t, s); got != v+1 {
			t.Fatalf("%s: version %d -> %d", w.name, v, got)
		}
		if got := auditLen(); got != n+1 {
			t.Fatalf("%s: audit rows %d -> %d", w.name, n, got)
		}
		last := must[[]catalog.AuditEntry](t)(s.ListAudit(ctx, 1))[0]
		if last.Version != v+1 || last.Actor != "tester" {
			t.Fatalf("%s: audit entry %+v", w.name, last)
		}
		// The same write again fails (duplicate or already gone) and
		// changes nothing, except for idempotent updates.
		switch w.name {
		case "UpdateAPI", "UpdateOperation", "UpdateProduct", "UpdateGroup", "UpdateUser", "SetSubscriptionState",
			"SetSubscriptionExpiry", "RegenerateKey", "SetPolicy", "UpdateNamedValue", "CreateSubscription":
			continue
		}
		if err := w.fn(); err == nil {
			t.Fatalf("%s: repeating succeeded", w.name)
		}
		if got := version(t, s); got != v+1 {
			t.Fatalf("%s: failed repeat bumped the version", w.name)
		}
		if got := auditLen(); got != n+1 {
			t.Fatalf("%s: failed repeat wrote an audit row", w.name)
		}
	}
}
