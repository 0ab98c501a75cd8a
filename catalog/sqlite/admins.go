package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/catalog"
)

// Admin accounts and personal API tokens (catalog.Admins). Writes append
// an audit entry naming the context's actor in the same transaction but do
// not bump the catalog version: the gateway never reads admins, and its
// snapshot must not be rebuilt because a token was issued.

// auditOnly runs fn in an immediate transaction and appends the audit
// entry, recorded at the current catalog version, without bumping it.
func (s *Store) auditOnly(ctx context.Context, a audit, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return mapErr(err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return mapErr(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_log (at, actor, action, entity, entity_id, detail, version)
		VALUES (?, ?, ?, ?, ?, ?, (SELECT version FROM catalog_version WHERE id = 1))`,
		s.now().UnixNano(), catalog.ActorFrom(ctx), a.action, a.entity, a.id, a.detail); err != nil {
		return mapErr(err)
	}
	return mapErr(tx.Commit())
}

const adminCols = `id, email, name, role, state, created_at`

func scanAdmin(sc interface{ Scan(...any) error }) (catalog.Admin, error) {
	var a catalog.Admin
	var created int64
	err := sc.Scan(&a.ID, &a.Email, &a.Name, &a.Role, &a.State, &created)
	a.CreatedAt = unixNano(created)
	return a, err
}

// CreateAdmin stores a new admin.
func (s *Store) CreateAdmin(ctx context.Context, a catalog.Admin, passwordHash string) (catalog.Admin, error) {
	if err := a.Validate(); err != nil {
		return catalog.Admin{}, err
	}
	if a.ID == "" {
		a.ID = newID()
	} else if err := validAdminID(a.ID); err != nil {
		return catalog.Admin{}, err
	}
	a.CreatedAt = s.now()
	var hash any
	if passwordHash != "" {
		hash = passwordHash
	}
	err := s.auditOnly(ctx, audit{"create", "admin", a.ID, "role " + string(a.Role)}, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO admins (id, email, name, role, state, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			a.ID, a.Email, a.Name, a.Role, a.State, hash, a.CreatedAt.UnixNano())
		if err := mapErr(err); errors.Is(err, catalog.ErrConflict) {
			return catalog.Conflictf("an admin with id %q or email %q already exists", a.ID, a.Email)
		}
		return err
	})
	if err != nil {
		return catalog.Admin{}, err
	}
	return a, nil
}

func validAdminID(id string) error {
	if id == "" || len(id) > 64 || strings.Trim(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != "" {
		return &catalog.FieldError{Path: "id", Msg: "1-64 letters, digits, '-', '_' or '.'"}
	}
	return nil
}

// GetAdmin returns one admin.
func (s *Store) GetAdmin(ctx context.Context, id string) (catalog.Admin, error) {
	a, err := scanAdmin(s.r.QueryRowContext(ctx, `SELECT `+adminCols+` FROM admins WHERE id = ?`, id))
	if err != nil {
		return catalog.Admin{}, notFound(err, "admin", id)
	}
	return a, nil
}

// ListAdmins lists admins by email.
func (s *Store) ListAdmins(ctx context.Context) ([]catalog.Admin, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+adminCols+` FROM admins ORDER BY email`)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []catalog.Admin
	for rows.Next() {
		a, err := scanAdmin(rows)
		if err != nil {
			return nil, mapErr(err)
		}
		out = append(out, a)
	}
	return out, mapErr(rows.Err())
}

// UpdateAdmin replaces an admin's name, role and state.
func (s *Store) UpdateAdmin(ctx context.Context, a catalog.Admin) (catalog.Admin, error) {
	cur, err := s.GetAdmin(ctx, a.ID)
	if err != nil {
		return catalog.Admin{}, err
	}
	a.Email, a.CreatedAt = cur.Email, cur.CreatedAt
	if err := a.Validate(); err != nil {
		return catalog.Admin{}, err
	}
	err = s.auditOnly(ctx, audit{"update", "admin", a.ID, "role " + string(a.Role) + ", " + string(a.State)}, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE admins SET name = ?, role = ?, state = ? WHERE id = ?`, a.Name, a.Role, a.State, a.ID)
		if err != nil {
			return err
		}
		return mustAffect(res, "admin", a.ID)
	})
	if err != nil {
		return catalog.Admin{}, err
	}
	return a, nil
}

// DeleteAdmin deletes an admin; its tokens go with it (ON DELETE CASCADE).
func (s *Store) DeleteAdmin(ctx context.Context, id string) error {
	return s.auditOnly(ctx, audit{"delete", "admin", id, ""}, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM admins WHERE id = ?`, id)
		if err != nil {
			return err
		}
		return mustAffect(res, "admin", id)
	})
}

// SetAdminPasswordHash stores or replaces an admin's password hash.
func (s *Store) SetAdminPasswordHash(ctx context.Context, id, hash string) error {
	if hash == "" {
		return &catalog.FieldError{Path: "password", Msg: "hash is empty"}
	}
	return s.auditOnly(ctx, audit{"update", "admin", id, "password set"}, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE admins SET password_hash = ? WHERE id = ?`, hash, id)
		if err != nil {
			return err
		}
		return mustAffect(res, "admin", id)
	})
}

// AdminPasswordHash returns an admin's password hash.
func (s *Store) AdminPasswordHash(ctx context.Context, id string) (string, error) {
	var h sql.NullString
	err := s.r.QueryRowContext(ctx, `SELECT password_hash FROM admins WHERE id = ?`, id).Scan(&h)
	if err != nil {
		return "", notFound(err, "admin", id)
	}
	if !h.Valid {
		return "", catalog.NotFoundf("password of admin %q", id)
	}
	return h.String, nil
}

// CreateAdminToken stores a token by its hash.
func (s *Store) CreateAdminToken(ctx context.Context, t catalog.AdminToken, hash string) (catalog.AdminToken, error) {
	if len(hash) != 64 || strings.Trim(hash, "0123456789abcdef") != "" {
		return catalog.AdminToken{}, &catalog.FieldError{Path: "token", Msg: "needs the 64-hex-digit SHA-256 of the token"}
	}
	if t.Name == "" || utf8.RuneCountInString(t.Name) > 100 {
		return catalog.AdminToken{}, &catalog.FieldError{Path: "name", Msg: "1-100 characters"}
	}
	t.ID, t.CreatedAt = newID(), s.now()
	err := s.auditOnly(ctx, audit{"create", "admin-token", t.ID, "admin " + t.AdminID + ": " + t.Name}, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO admin_tokens (id, admin_id, token_hash, name, prefix, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			t.ID, t.AdminID, hash, t.Name, t.Prefix, t.CreatedAt.UnixNano())
		if err := mapErr(err); errors.Is(err, catalog.ErrConflict) && strings.Contains(err.Error(), "FOREIGN KEY") {
			return catalog.NotFoundf("admin %q", t.AdminID)
		} else {
			return err
		}
	})
	if err != nil {
		return catalog.AdminToken{}, err
	}
	return t, nil
}

// ListAdminTokens lists an admin's tokens, oldest first (never the token
// itself: only its hash is stored).
func (s *Store) ListAdminTokens(ctx context.Context, adminID string) ([]catalog.AdminToken, error) {
	if _, err := s.GetAdmin(ctx, adminID); err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT id, admin_id, name, prefix, created_at, last_used_at FROM admin_tokens WHERE admin_id = ? ORDER BY created_at, id`, adminID)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []catalog.AdminToken
	for rows.Next() {
		var t catalog.AdminToken
		var created int64
		var used sql.NullInt64
		if err := rows.Scan(&t.ID, &t.AdminID, &t.Name, &t.Prefix, &created, &used); err != nil {
			return nil, mapErr(err)
		}
		t.CreatedAt = unixNano(created)
		if used.Valid {
			t.LastUsedAt = unixNano(used.Int64)
		}
		out = append(out, t)
	}
	return out, mapErr(rows.Err())
}

// DeleteAdminToken revokes one of an admin's tokens.
func (s *Store) DeleteAdminToken(ctx context.Context, adminID, tokenID string) error {
	return s.auditOnly(ctx, audit{"delete", "admin-token", tokenID, "admin " + adminID}, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM admin_tokens WHERE id = ? AND admin_id = ?`, tokenID, adminID)
		if err != nil {
			return err
		}
		return mustAffect(res, "token of admin "+adminID, tokenID)
	})
}

// LookupAdminToken resolves a token hash to its token and current admin.
func (s *Store) LookupAdminToken(ctx context.Context, hash string) (catalog.AdminToken, catalog.Admin, error) {
	var t catalog.AdminToken
	var tc int64
	row := s.r.QueryRowContext(ctx, `SELECT t.id, t.admin_id, t.name, t.prefix, t.created_at, t.last_used_at,
		a.id, a.email, a.name, a.role, a.state, a.created_at
		FROM admin_tokens t JOIN admins a ON a.id = t.admin_id WHERE t.token_hash = ?`, hash)
	var a catalog.Admin
	var ac int64
	var used sql.NullInt64
	err := row.Scan(&t.ID, &t.AdminID, &t.Name, &t.Prefix, &tc, &used, &a.ID, &a.Email, &a.Name, &a.Role, &a.State, &ac)
	if err != nil {
		return catalog.AdminToken{}, catalog.Admin{}, notFound(err, "admin token", "")
	}
	t.CreatedAt, a.CreatedAt = unixNano(tc), unixNano(ac)
	if used.Valid {
		t.LastUsedAt = unixNano(used.Int64)
	}
	return t, a, nil
}
