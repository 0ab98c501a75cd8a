package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/catalog"
)

// Admin portal sessions (catalog.AdminSessions). Sign-in and sign-out
// everywhere are audited with the context's actor; uses (touches) are not.

func cut200(s string) string {
	if utf8.RuneCountInString(s) <= 200 {
		return s
	}
	return string([]rune(s)[:200])
}

// CreateAdminSession stores a session.
func (s *Store) CreateAdminSession(ctx context.Context, ses catalog.AdminSession) error {
	if len(ses.IDHash) != 64 || strings.Trim(ses.IDHash, "0123456789abcdef") != "" || ses.AdminID == "" || ses.ExpiresAt.IsZero() {
		return &catalog.FieldError{Path: "session", Msg: "needs a 64-hex-digit ID hash, an admin and an expiry"}
	}
	if ses.CreatedAt.IsZero() {
		ses.CreatedAt = s.now()
	}
	if ses.LastSeenAt.IsZero() {
		ses.LastSeenAt = ses.CreatedAt
	}
	return s.auditOnly(ctx, audit{"signin", "admin", ses.AdminID, "admin portal session from " + cut200(ses.Addr)}, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO admin_sessions (id_hash, admin_id, created_at, last_seen_at, expires_at, user_agent, addr) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			ses.IDHash, ses.AdminID, ses.CreatedAt.UnixNano(), ses.LastSeenAt.UnixNano(), ses.ExpiresAt.UnixNano(), cut200(ses.UserAgent), cut200(ses.Addr))
		if err := mapErr(err); err != nil && strings.Contains(err.Error(), "FOREIGN KEY") {
			return catalog.NotFoundf("admin %q", ses.AdminID)
		} else {
			return err
		}
	})
}

const adminSessionCols = `s.id_hash, s.admin_id, s.created_at, s.last_seen_at, s.expires_at, s.user_agent, s.addr`

func scanAdminSession(dst *catalog.AdminSession, c, l, e *int64) []any {
	return []any{&dst.IDHash, &dst.AdminID, c, l, e, &dst.UserAgent, &dst.Addr}
}

// GetAdminSession returns a live session and its admin.
func (s *Store) GetAdminSession(ctx context.Context, idHash string, idle time.Duration) (catalog.AdminSession, catalog.Admin, error) {
	var ses catalog.AdminSession
	var c, l, e, ac int64
	var a catalog.Admin
	now := s.now()
	dst := append(scanAdminSession(&ses, &c, &l, &e), &a.ID, &a.Email, &a.Name, &a.Role, &a.State, &ac)
	err := s.r.QueryRowContext(ctx, `SELECT `+adminSessionCols+`, a.id, a.email, a.name, a.role, a.state, a.created_at
		FROM admin_sessions s JOIN admins a ON a.id = s.admin_id
		WHERE s.id_hash = ? AND s.expires_at > ? AND s.last_seen_at > ?`,
		idHash, now.UnixNano(), now.Add(-idle).UnixNano()).Scan(dst...)
	if err != nil {
		return catalog.AdminSession{}, catalog.Admin{}, notFound(err, "admin session", "")
	}
	ses.CreatedAt, ses.LastSeenAt, ses.ExpiresAt, a.CreatedAt = unixNano(c), unixNano(l), unixNano(e), unixNano(ac)
	return ses, a, nil
}

// TouchAdminSession records a use of a session.
func (s *Store) TouchAdminSession(ctx context.Context, idHash string, at time.Time) error {
	_, err := s.w.ExecContext(ctx, `UPDATE admin_sessions SET last_seen_at = ? WHERE id_hash = ? AND last_seen_at < ?`, at.UnixNano(), idHash, at.UnixNano())
	return mapErr(err)
}

// ListAdminSessions lists an admin's live sessions, newest first; expired
// ones are deleted on the way.
func (s *Store) ListAdminSessions(ctx context.Context, adminID string, idle time.Duration) ([]catalog.AdminSession, error) {
	now := s.now()
	if _, err := s.w.ExecContext(ctx, `DELETE FROM admin_sessions WHERE admin_id = ? AND (expires_at <= ? OR last_seen_at <= ?)`,
		adminID, now.UnixNano(), now.Add(-idle).UnixNano()); err != nil {
		return nil, mapErr(err)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+adminSessionCols+` FROM admin_sessions s WHERE s.admin_id = ? ORDER BY s.created_at DESC, s.id_hash`, adminID)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []catalog.AdminSession
	for rows.Next() {
		var ses catalog.AdminSession
		var c, l, e int64
		if err := rows.Scan(scanAdminSession(&ses, &c, &l, &e)...); err != nil {
			return nil, mapErr(err)
		}
		ses.CreatedAt, ses.LastSeenAt, ses.ExpiresAt = unixNano(c), unixNano(l), unixNano(e)
		out = append(out, ses)
	}
	return out, mapErr(rows.Err())
}

// DeleteAdminSession ends one session of an admin (signing out).
func (s *Store) DeleteAdminSession(ctx context.Context, adminID, idHash string) error {
	_, err := s.w.ExecContext(ctx, `DELETE FROM admin_sessions WHERE admin_id = ? AND id_hash = ?`, adminID, idHash)
	return mapErr(err)
}

// DeleteAdminSessions ends every session of an admin except keep.
func (s *Store) DeleteAdminSessions(ctx context.Context, adminID, keep string) (int, error) {
	var n int64
	err := s.auditOnly(ctx, audit{"signout", "admin", adminID, "admin portal sessions ended"}, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM admin_sessions WHERE admin_id = ? AND id_hash <> ?`, adminID, keep)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// TouchAdminToken records a use of a personal token.
func (s *Store) TouchAdminToken(ctx context.Context, tokenID string, at time.Time) error {
	_, err := s.w.ExecContext(ctx, `UPDATE admin_tokens SET last_used_at = ? WHERE id = ?`, at.UnixNano(), tokenID)
	return mapErr(err)
}
