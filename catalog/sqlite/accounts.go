package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/catalog"
)

// The developer portal's accounts (catalog.Accounts). Credentials,
// sessions and reset tokens are written on the writer connection without
// bumping the catalog version: the gateway never reads them, and a sign-in
// must not make it rebuild its snapshot.

// GetUserByEmail finds a user by email, case-insensitively.
func (s *Store) GetUserByEmail(ctx context.Context, email string) (catalog.User, error) {
	var u catalog.User
	err := s.r.QueryRowContext(ctx, `SELECT id, email, name, state FROM users WHERE email = ? COLLATE NOCASE`, email).Scan(&u.ID, &u.Email, &u.Name, &u.State)
	if err != nil {
		return catalog.User{}, notFound(err, "user with email", email)
	}
	return u, nil
}

// SetPasswordHash stores or replaces a user's password hash.
func (s *Store) SetPasswordHash(ctx context.Context, userID, hash string) error {
	if hash == "" {
		return &catalog.FieldError{Path: "password", Msg: "hash is empty"}
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO portal_credentials (user_id, password_hash, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET password_hash = excluded.password_hash, updated_at = excluded.updated_at`,
		userID, hash, s.now().UnixNano())
	var fe *catalog.FieldError
	if err := mapErr(err); errors.Is(err, catalog.ErrConflict) || errors.As(err, &fe) {
		return catalog.NotFoundf("user %q", userID)
	} else if err != nil {
		return err
	}
	return nil
}

// PasswordHash returns a user's password hash.
func (s *Store) PasswordHash(ctx context.Context, userID string) (string, error) {
	var h string
	err := s.r.QueryRowContext(ctx, `SELECT password_hash FROM portal_credentials WHERE user_id = ?`, userID).Scan(&h)
	if err != nil {
		return "", notFound(err, "password of user", userID)
	}
	return h, nil
}

// CreateSession stores a session.
func (s *Store) CreateSession(ctx context.Context, ses catalog.Session) error {
	if len(ses.IDHash) != 64 || ses.UserID == "" || ses.ExpiresAt.IsZero() {
		return &catalog.FieldError{Path: "session", Msg: "needs a 64-hex-digit ID hash, a user and an expiry"}
	}
	created := ses.CreatedAt
	if created.IsZero() {
		created = s.now()
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO portal_sessions (id_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
		ses.IDHash, ses.UserID, created.UnixNano(), ses.ExpiresAt.UnixNano())
	return mapErr(err)
}

// GetSession returns an unexpired session and its user.
func (s *Store) GetSession(ctx context.Context, idHash string) (catalog.Session, catalog.User, error) {
	var ses catalog.Session
	var u catalog.User
	var created, exp int64
	err := s.r.QueryRowContext(ctx, `SELECT s.id_hash, s.user_id, s.created_at, s.expires_at, u.id, u.email, u.name, u.state
		FROM portal_sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = ? AND s.expires_at > ?`,
		idHash, s.now().UnixNano()).Scan(&ses.IDHash, &ses.UserID, &created, &exp, &u.ID, &u.Email, &u.Name, &u.State)
	if err != nil {
		return catalog.Session{}, catalog.User{}, notFound(err, "session", "")
	}
	ses.CreatedAt = unixNano(created)
	ses.ExpiresAt = unixNano(exp)
	return ses, u, nil
}

// DeleteSession ends one session (no error when it is already gone).
func (s *Store) DeleteSession(ctx context.Context, idHash string) error {
	_, err := s.w.ExecContext(ctx, `DELETE FROM portal_sessions WHERE id_hash = ? OR expires_at <= ?`, idHash, s.now().UnixNano())
	return mapErr(err)
}

// DeleteUserSessions ends every session of a user.
func (s *Store) DeleteUserSessions(ctx context.Context, userID string) (int, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM portal_sessions WHERE user_id = ?`, userID)
	if err != nil {
		return 0, mapErr(err)
	}
	n, err := res.RowsAffected()
	return int(n), mapErr(err)
}

// CreateResetToken stores a one-time reset token.
func (s *Store) CreateResetToken(ctx context.Context, t catalog.ResetToken) error {
	if len(t.TokenHash) != 64 || t.UserID == "" || t.ExpiresAt.IsZero() {
		return &catalog.FieldError{Path: "token", Msg: "needs a 64-hex-digit hash, a user and an expiry"}
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO portal_reset_tokens (token_hash, user_id, expires_at) VALUES (?, ?, ?)`,
		t.TokenHash, t.UserID, t.ExpiresAt.UnixNano())
	if err := mapErr(err); errors.Is(err, catalog.ErrConflict) {
		return catalog.NotFoundf("user %q", t.UserID)
	} else if err != nil {
		return err
	}
	return nil
}

// UseResetToken consumes a reset token: it works once, before it expires.
func (s *Store) UseResetToken(ctx context.Context, tokenHash string) (string, error) {
	now := s.now().UnixNano()
	var userID string
	err := s.w.QueryRowContext(ctx, `UPDATE portal_reset_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?
		RETURNING user_id`, now, tokenHash, now).Scan(&userID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", catalog.NotFoundf("reset token (unknown, used or expired)")
	}
	return userID, mapErr(err)
}

// RenameSubscription sets a subscription's display name.
func (s *Store) RenameSubscription(ctx context.Context, id, name string) (catalog.Subscription, error) {
	if len(name) > 200 {
		return catalog.Subscription{}, &catalog.FieldError{Path: "name", Msg: "at most 200 bytes"}
	}
	err := s.writeOne(ctx, audit{"rename", "subscription", id, fmt.Sprintf("name=%q", name)}, "subscription", id,
		`UPDATE subscriptions SET name = ?, updated_at = ? WHERE id = ?`, name, s.now().UnixNano(), id)
	if err != nil {
		return catalog.Subscription{}, err
	}
	return s.getSubW(ctx, id)
}

func unixNano(n int64) time.Time { return time.Unix(0, n).UTC() }
