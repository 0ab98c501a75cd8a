package sqlite_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/catalog"
)

// TestAdminSessions: sessions live until the absolute expiry or the idle
// timeout, whichever comes first; sign-in and sign-out everywhere are
// audited with the actor and do not bump the catalog version; deleting
// the admin ends its sessions; bad input writes nothing.
func TestAdminSessions(t *testing.T) {
	s, _ := open(t)
	ctx := catalog.WithActor(context.Background(), "ann@example.com")
	a := must[catalog.Admin](t)(s.CreateAdmin(ctx, catalog.Admin{Email: "ann@example.com", Role: catalog.RoleEditor}, "$2a$hash"))
	v0 := must[int64](t)(s.Version(ctx))
	now := time.Now()
	h := func(c string) string { return strings.Repeat(c, 64) }
	add := func(id string, created, seen, exp time.Time) {
		t.Helper()
		if err := s.CreateAdminSession(ctx, catalog.AdminSession{IDHash: id, AdminID: a.ID, CreatedAt: created, LastSeenAt: seen, ExpiresAt: exp, UserAgent: strings.Repeat("x", 500), Addr: "127.0.0.1"}); err != nil {
			t.Fatal(err)
		}
	}
	add(h("a"), now, now, now.Add(time.Hour))                                        // live
	add(h("b"), now.Add(-2*time.Hour), now.Add(-40*time.Minute), now.Add(time.Hour)) // idle
	add(h("c"), now.Add(-13*time.Hour), now, now.Add(-time.Minute))                  // expired
	idle := 30 * time.Minute
	ses, ad, err := s.GetAdminSession(ctx, h("a"), idle)
	if err != nil || ad.Email != "ann@example.com" || ses.AdminID != a.ID || len([]rune(ses.UserAgent)) != 200 {
		t.Fatalf("live session: %+v %+v %v", ses, ad, err)
	}
	for _, id := range []string{h("b"), h("c"), h("d")} {
		if _, _, err := s.GetAdminSession(ctx, id, idle); !errors.Is(err, catalog.ErrNotFound) {
			t.Errorf("session %s…: %v, want not found", id[:4], err)
		}
	}
	// A use moves the idle clock forward, never back.
	must[struct{}](t)(struct{}{}, s.TouchAdminSession(ctx, h("b"), now))
	if _, _, err := s.GetAdminSession(ctx, h("b"), idle); err != nil {
		t.Fatalf("touched session: %v", err)
	}
	must[struct{}](t)(struct{}{}, s.TouchAdminSession(ctx, h("b"), now.Add(-time.Hour)))
	if _, _, err := s.GetAdminSession(ctx, h("b"), idle); err != nil {
		t.Fatalf("an older use moved the last use back: %v", err)
	}
	list := must[[]catalog.AdminSession](t)(s.ListAdminSessions(ctx, a.ID, idle))
	if len(list) != 2 {
		t.Fatalf("live sessions: %d, want 2 (the expired one deleted)", len(list))
	}
	// Bad input.
	if err := s.CreateAdminSession(ctx, catalog.AdminSession{IDHash: "short", AdminID: a.ID, ExpiresAt: now}); !errors.Is(err, catalog.ErrInvalid) {
		t.Errorf("short hash: %v", err)
	}
	if err := s.CreateAdminSession(ctx, catalog.AdminSession{IDHash: h("e"), AdminID: "nobody", ExpiresAt: now.Add(time.Hour)}); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("unknown admin: %v", err)
	}
	// Sign out everywhere but one.
	if n := must[int](t)(s.DeleteAdminSessions(ctx, a.ID, h("a"))); n != 1 {
		t.Fatalf("ended %d, want 1", n)
	}
	if _, _, err := s.GetAdminSession(ctx, h("a"), idle); err != nil {
		t.Fatalf("the kept session ended: %v", err)
	}
	// Another admin cannot end it by its hash.
	must[struct{}](t)(struct{}{}, s.DeleteAdminSession(ctx, "someone-else", h("a")))
	if _, _, err := s.GetAdminSession(ctx, h("a"), idle); err != nil {
		t.Fatalf("ended by another admin: %v", err)
	}
	audit := must[[]catalog.AuditEntry](t)(s.ListAudit(ctx, 10))
	var signins, signouts int
	for _, e := range audit {
		if e.Entity == "admin" && e.EntityID == a.ID && e.Actor == "ann@example.com" {
			switch e.Action {
			case "signin":
				signins++
			case "signout":
				signouts++
			}
		}
	}
	if signins != 3 || signouts != 1 {
		t.Fatalf("audit: %d sign-ins, %d sign-outs; want 3 and 1", signins, signouts)
	}
	if v := must[int64](t)(s.Version(ctx)); v != v0 {
		t.Fatalf("session writes bumped the version %d -> %d", v0, v)
	}
	// Deleting the admin ends its sessions.
	must[struct{}](t)(struct{}{}, s.DeleteAdmin(ctx, a.ID))
	if _, _, err := s.GetAdminSession(ctx, h("a"), idle); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("session of a deleted admin: %v", err)
	}
}

func TestAdminTokenLastUsed(t *testing.T) {
	s, _ := open(t)
	ctx := catalog.WithActor(context.Background(), "root")
	a := must[catalog.Admin](t)(s.CreateAdmin(ctx, catalog.Admin{Email: "ann@example.com", Role: catalog.RoleEditor}, ""))
	hash := strings.Repeat("c", 64)
	tok := must[catalog.AdminToken](t)(s.CreateAdminToken(ctx, catalog.AdminToken{AdminID: a.ID, Name: "ci", Prefix: "gha_x"}, hash))
	if lt, _, err := s.LookupAdminToken(ctx, hash); err != nil || !lt.LastUsedAt.IsZero() {
		t.Fatalf("new token: %+v %v", lt, err)
	}
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	must[struct{}](t)(struct{}{}, s.TouchAdminToken(ctx, tok.ID, at))
	lt, _, err := s.LookupAdminToken(ctx, hash)
	if err != nil || !lt.LastUsedAt.Equal(at) {
		t.Fatalf("after a use: %v %v", lt.LastUsedAt, err)
	}
	ts := must[[]catalog.AdminToken](t)(s.ListAdminTokens(ctx, a.ID))
	if len(ts) != 1 || !ts[0].LastUsedAt.Equal(at) {
		t.Fatalf("list: %+v", ts)
	}
}
