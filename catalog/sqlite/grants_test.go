package sqlite_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/catalog"
)

func grantModule(name, version string, requested, granted []string) catalog.Module {
	return catalog.Module{Name: name, Version: version, Wasm: []byte("\x00asm\x01\x00\x00\x00" + name + version),
		Manifest: catalog.ModuleManifest{ABIVersion: 1, Capabilities: requested, Egress: []string{"api.example.com"}},
		Grant:    catalog.ModuleGrant{Capabilities: granted}}
}

// TestModuleGrants: the store checks grants against requests, refuses
// policies running ungranted modules and grant changes or deletes that
// would leave a policy without its module, and audits each grant.
func TestModuleGrants(t *testing.T) {
	s, _ := open(t)
	ctx := catalog.WithActor(context.Background(), "alice")
	c := []string{"counters", "log"}
	// A grant at upload must be a subset of the request.
	if _, err := s.CreateModule(ctx, grantModule("m", "0.9.0", c, []string{"jwt"})); !errors.Is(err, catalog.ErrInvalid) || !strings.Contains(err.Error(), "grant.capabilities[0]") {
		t.Fatalf("grant of an unrequested capability at upload: %v", err)
	}
	m1 := must[catalog.Module](t)(s.CreateModule(ctx, grantModule("m", "1.0.0", c, c)))
	if m1.Grant.By != "alice" || m1.Grant.At == nil || strings.Join(m1.MissingGrants(), ",") != "egress api.example.com" {
		t.Fatalf("created: grant %+v, missing %v", m1.Grant, m1.MissingGrants())
	}
	must[catalog.Module](t)(s.CreateModule(ctx, grantModule("m", "2.0.0", c, nil)))
	if _, err := s.CreateAPI(ctx, catalog.API{ID: "a", Name: "a", PathPrefix: "/a", BackendURL: "http://127.0.0.1:9/"}); err != nil {
		t.Fatal(err)
	}
	doc := func(ref string) catalog.PolicyDoc {
		return catalog.PolicyDoc{Scope: catalog.ScopeAPI, ScopeID: "a", Inbound: []catalog.PolicyEntry{{Module: ref, Config: json.RawMessage(`{}`)}}}
	}
	// 1.0.0 misses its egress: nothing resolves.
	if err := s.SetPolicy(ctx, doc("m")); !errors.Is(err, catalog.ErrInvalid) || !strings.Contains(err.Error(), "inbound[0].module: module m@2.0.0 is not granted capability counters, capability log, egress api.example.com") {
		t.Fatalf("policy with no granted version: %v", err)
	}
	if _, err := s.SetModuleGrant(ctx, "m", "1.0.0", catalog.ModuleGrant{Capabilities: c, Egress: []string{"api.example.com"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPolicy(ctx, doc("m")); err != nil { // resolves to 1.0.0, the newest granted
		t.Fatal(err)
	}
	if err := s.SetPolicy(ctx, doc("m@2.0.0")); !errors.Is(err, catalog.ErrInvalid) {
		t.Fatalf("pinned ungranted version: %v", err)
	}
	v := must[int64](t)(s.Version(ctx))
	for _, c := range []struct {
		name string
		err  error
		fn   func() error
	}{
		{"revoke in use", catalog.ErrConflict, func() error {
			_, err := s.SetModuleGrant(ctx, "m", "1.0.0", catalog.ModuleGrant{Capabilities: []string{"log"}})
			return err
		}},
		{"unknown capability", catalog.ErrInvalid, func() error {
			_, err := s.SetModuleGrant(ctx, "m", "2.0.0", catalog.ModuleGrant{Capabilities: []string{"telepathy"}})
			return err
		}},
		{"bad egress", catalog.ErrInvalid, func() error {
			_, err := s.SetModuleGrant(ctx, "m", "2.0.0", catalog.ModuleGrant{Egress: []string{"http://x/"}})
			return err
		}},
		{"no such version", catalog.ErrNotFound, func() error {
			_, err := s.SetModuleGrant(ctx, "m", "3.0.0", catalog.ModuleGrant{})
			return err
		}},
		{"delete the last granted version in use", catalog.ErrConflict, func() error { return s.DeleteModule(ctx, "m", "1.0.0") }},
	} {
		if err := c.fn(); !errors.Is(err, c.err) {
			t.Errorf("%s: %v, want %v", c.name, err, c.err)
		}
	}
	if got := must[int64](t)(s.Version(ctx)); got != v {
		t.Fatalf("refused writes changed the catalog: %d → %d", v, got)
	}
	// Granting 2.0.0 moves the unpinned reference; then 1.0.0 can go.
	if _, err := s.SetModuleGrant(ctx, "m", "2.0.0", catalog.ModuleGrant{Capabilities: c, Egress: []string{"api.example.com"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetModuleGrant(ctx, "m", "1.0.0", catalog.ModuleGrant{}); err != nil {
		t.Fatalf("revoke of a version no policy runs: %v", err)
	}
	if err := s.DeleteModule(ctx, "m", "1.0.0"); err != nil {
		t.Fatal(err)
	}
	audit := must[[]catalog.AuditEntry](t)(s.ListAudit(ctx, 3))
	if audit[1].Action != "grant" || audit[1].Actor != "alice" || audit[1].Detail != "capabilities= egress=" || audit[2].Detail != "capabilities=counters,log egress=api.example.com" {
		t.Errorf("audit: %+v", audit)
	}
}
