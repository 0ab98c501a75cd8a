package sqlite_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/catalog"
)

// TestAdmins: admin and token writes are audited with the actor but do
// not bump the catalog version; a token resolves to its admin as the
// admin is now; deleting the admin deletes its tokens; bad input is
// refused with nothing written.
func TestAdmins(t *testing.T) {
	s, _ := open(t)
	ctx := catalog.WithActor(context.Background(), "root@example.com")
	v0 := must[int64](t)(s.Version(ctx))
	a := must[catalog.Admin](t)(s.CreateAdmin(ctx, catalog.Admin{Email: "Ann@Example.com", Role: catalog.RoleEditor}, "$2a$hash"))
	if a.ID == "" || a.State != catalog.AdminActive {
		t.Fatalf("created %+v", a)
	}
	if _, err := s.CreateAdmin(ctx, catalog.Admin{Email: "ann@example.COM", Role: catalog.RoleViewer}, ""); !errors.Is(err, catalog.ErrConflict) {
		t.Errorf("duplicate email: %v", err)
	}
	if _, err := s.CreateAdmin(ctx, catalog.Admin{Email: "b@example.com", Role: "admin"}, ""); !errors.Is(err, catalog.ErrInvalid) {
		t.Errorf("unknown role: %v", err)
	}
	hash := strings.Repeat("c", 64)
	tok := must[catalog.AdminToken](t)(s.CreateAdminToken(ctx, catalog.AdminToken{AdminID: a.ID, Name: "ci", Prefix: "gha_abcdefgh"}, hash))
	if _, err := s.CreateAdminToken(ctx, catalog.AdminToken{AdminID: a.ID, Name: "ci"}, "not-a-hash"); !errors.Is(err, catalog.ErrInvalid) {
		t.Errorf("bad hash: %v", err)
	}
	if _, err := s.CreateAdminToken(ctx, catalog.AdminToken{AdminID: "nobody", Name: "ci"}, strings.Repeat("d", 64)); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("token of an unknown admin: %v", err)
	}
	if v := must[int64](t)(s.Version(ctx)); v != v0 {
		t.Fatalf("admin writes bumped the version %d -> %d", v0, v)
	}
	audit := must[[]catalog.AuditEntry](t)(s.ListAudit(ctx, 10))
	if len(audit) != 2 || audit[0].Entity != "admin-token" || audit[0].EntityID != tok.ID || audit[1].Entity != "admin" ||
		audit[0].Actor != "root@example.com" || audit[0].Version != v0 {
		t.Fatalf("audit %+v", audit)
	}

	// The lookup reads the admin's current role.
	a.Role = catalog.RoleViewer
	must[catalog.Admin](t)(s.UpdateAdmin(ctx, a))
	gt, ga, err := s.LookupAdminToken(ctx, hash)
	if err != nil || gt.ID != tok.ID || ga.Role != catalog.RoleViewer || ga.Email != "Ann@Example.com" {
		t.Fatalf("lookup %+v %+v %v", gt, ga, err)
	}
	if _, _, err := s.LookupAdminToken(ctx, strings.Repeat("e", 64)); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("unknown hash: %v", err)
	}
	if err := s.DeleteAdminToken(ctx, "someone-else", tok.ID); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("revoking through another admin: %v", err)
	}
	if h, err := s.AdminPasswordHash(ctx, a.ID); err != nil || h != "$2a$hash" {
		t.Errorf("password hash %q %v", h, err)
	}
	must[struct{}](t)(struct{}{}, s.DeleteAdmin(ctx, a.ID))
	if _, _, err := s.LookupAdminToken(ctx, hash); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("token of a deleted admin: %v", err)
	}
	if _, err := s.ListAdminTokens(ctx, a.ID); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("tokens of a deleted admin: %v", err)
	}
}
