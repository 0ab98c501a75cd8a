package sqlite_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/catalog"
)

func TestAccounts(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	u := must[catalog.User](t)(s.CreateUser(ctx, catalog.User{Email: "Dev@Example.com", Name: "Dev"}))
	if got, err := s.GetUserByEmail(ctx, "dev@example.COM"); err != nil || got.ID != u.ID {
		t.Fatalf("by email: %v %v", got, err)
	}
	if _, err := s.GetUserByEmail(ctx, "nobody@example.com"); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("unknown email: %v", err)
	}
	v0 := must[int64](t)(s.Version(ctx))
	// Credentials, sessions and reset tokens do not bump the catalog version.
	if _, err := s.PasswordHash(ctx, u.ID); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("no password yet: %v", err)
	}
	if err := s.SetPasswordHash(ctx, u.ID, "$2a$hash"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPasswordHash(ctx, "nobody", "$2a$hash"); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("password of an unknown user: %v", err)
	}
	if h, err := s.PasswordHash(ctx, u.ID); err != nil || h != "$2a$hash" {
		t.Errorf("hash %q %v", h, err)
	}
	live, old := strings.Repeat("a", 64), strings.Repeat("b", 64)
	must[struct{}](t)(struct{}{}, s.CreateSession(ctx, catalog.Session{IDHash: live, UserID: u.ID, ExpiresAt: time.Now().Add(time.Hour)}))
	must[struct{}](t)(struct{}{}, s.CreateSession(ctx, catalog.Session{IDHash: old, UserID: u.ID, ExpiresAt: time.Now().Add(-time.Second)}))
	if err := s.CreateSession(ctx, catalog.Session{IDHash: "short", UserID: u.ID, ExpiresAt: time.Now()}); !errors.Is(err, catalog.ErrInvalid) {
		t.Errorf("bad session: %v", err)
	}
	if ses, su, err := s.GetSession(ctx, live); err != nil || ses.UserID != u.ID || su.Email != u.Email {
		t.Errorf("live session: %+v %+v %v", ses, su, err)
	}
	if _, _, err := s.GetSession(ctx, old); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("expired session: %v", err)
	}
	tok := strings.Repeat("c", 64)
	must[struct{}](t)(struct{}{}, s.CreateResetToken(ctx, catalog.ResetToken{TokenHash: tok, UserID: u.ID, ExpiresAt: time.Now().Add(time.Hour)}))
	if id, err := s.UseResetToken(ctx, tok); err != nil || id != u.ID {
		t.Errorf("use: %q %v", id, err)
	}
	if _, err := s.UseResetToken(ctx, tok); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("second use: %v", err)
	}
	if err := s.CreateResetToken(ctx, catalog.ResetToken{TokenHash: strings.Repeat("d", 64), UserID: "nobody", ExpiresAt: time.Now().Add(time.Hour)}); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("token for an unknown user: %v", err)
	}
	if n, err := s.DeleteUserSessions(ctx, u.ID); err != nil || n != 2 {
		t.Errorf("delete sessions: %d %v", n, err)
	}
	if v := must[int64](t)(s.Version(ctx)); v != v0 {
		t.Errorf("account writes bumped the catalog version %d -> %d", v0, v)
	}
	// Renaming a subscription is a catalog write.
	sub, _, _, err := s.CreateSubscription(ctx, catalog.Subscription{UserID: u.ID, Scope: catalog.ScopeAll})
	if err != nil {
		t.Fatal(err)
	}
	v1 := must[int64](t)(s.Version(ctx))
	if got, err := s.RenameSubscription(ctx, sub.ID, "renamed"); err != nil || got.Name != "renamed" {
		t.Errorf("rename: %+v %v", got, err)
	}
	if v := must[int64](t)(s.Version(ctx)); v != v1+1 {
		t.Errorf("rename: version %d -> %d", v1, v)
	}
	if _, err := s.RenameSubscription(ctx, "nope", "x"); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("rename unknown: %v", err)
	}
	// ListSubscriptions filters still combine (the WHERE clause is built).
	if l, err := s.ListSubscriptions(ctx, catalog.SubscriptionFilter{UserID: u.ID, Scope: catalog.ScopeAll}); err != nil || len(l) != 1 {
		t.Errorf("list by user and scope: %v %v", l, err)
	}
	if l, err := s.ListSubscriptions(ctx, catalog.SubscriptionFilter{UserID: u.ID, Scope: catalog.ScopeProduct}); err != nil || len(l) != 0 {
		t.Errorf("list by user and other scope: %v %v", l, err)
	}
	// Deleting the user takes credentials, sessions and tokens along.
	if err := s.DeleteSubscription(ctx, sub.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PasswordHash(ctx, u.ID); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("password after the user was deleted: %v", err)
	}
}
