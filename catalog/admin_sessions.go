package catalog

import (
	"context"
	"time"
)

// AdminSession is a sign-in to the admin portal (/ui on the admin
// listener). The session token itself is never stored: IDHash is its
// SHA-256 (hex). A session ends at ExpiresAt (the absolute timeout) or
// when it has not been used for the idle timeout since LastSeenAt.
type AdminSession struct {
	IDHash     string    `json:"-"`
	AdminID    string    `json:"adminId"`
	CreatedAt  time.Time `json:"createdAt"`
	LastSeenAt time.Time `json:"lastSeenAt"`
	ExpiresAt  time.Time `json:"expiresAt"`
	// UserAgent and Addr describe where the session was started (shown
	// in the session list), cut to 200 characters.
	UserAgent string `json:"userAgent"`
	Addr      string `json:"addr"`
}

// AdminSessions keeps admin portal sessions. Like Admins, writes do not
// bump the catalog version; starting and ending sessions is audited.
type AdminSessions interface {
	// CreateAdminSession stores a session (audited as a sign-in of its
	// admin).
	CreateAdminSession(ctx context.Context, s AdminSession) error
	// GetAdminSession returns the session with this ID hash and its admin
	// as they are now, if it has neither expired nor been idle longer
	// than idle; ErrNotFound otherwise.
	GetAdminSession(ctx context.Context, idHash string, idle time.Duration) (AdminSession, Admin, error)
	// TouchAdminSession records a use of the session at `at`.
	TouchAdminSession(ctx context.Context, idHash string, at time.Time) error
	// ListAdminSessions lists an admin's live sessions, newest first.
	ListAdminSessions(ctx context.Context, adminID string, idle time.Duration) ([]AdminSession, error)
	// DeleteAdminSession ends one of adminID's sessions (no error when it
	// is already gone).
	DeleteAdminSession(ctx context.Context, adminID, idHash string) error
	// DeleteAdminSessions ends every session of an admin but keep ("" for
	// none) and returns how many ended.
	DeleteAdminSessions(ctx context.Context, adminID, keep string) (int, error)
	// TouchAdminToken records a use of a personal token at `at` (shown as
	// AdminToken.LastUsedAt).
	TouchAdminToken(ctx context.Context, tokenID string, at time.Time) error
}
