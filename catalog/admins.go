package catalog

import (
	"context"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// AdminRole is what an admin may do through the admin API
// (docs/admin-api.md, "Admin accounts and roles").
type AdminRole string

// Admin roles, weakest first.
const (
	RoleViewer AdminRole = "viewer" // reads everything but keys and secret values
	RoleEditor AdminRole = "editor" // also writes the catalog, reads keys and secrets
	RoleOwner  AdminRole = "owner"  // also manages admins and their tokens
)

// Rank orders roles (viewer 1, editor 2, owner 3); 0 for an unknown role.
func (r AdminRole) Rank() int {
	switch r {
	case RoleViewer:
		return 1
	case RoleEditor:
		return 2
	case RoleOwner:
		return 3
	}
	return 0
}

// AdminState is an admin account's state; a blocked admin's tokens are
// refused.
type AdminState string

// Admin states.
const (
	AdminActive  AdminState = "active"
	AdminBlocked AdminState = "blocked"
)

// Admin is a named administrator of the gateway.
type Admin struct {
	ID        string     `json:"id"`
	Email     string     `json:"email"`
	Name      string     `json:"name"`
	Role      AdminRole  `json:"role"`
	State     AdminState `json:"state"`
	CreatedAt time.Time  `json:"createdAt"`
}

// Validate checks an admin before it is stored (State "" means active).
func (a *Admin) Validate() error {
	if a.State == "" {
		a.State = AdminActive
	}
	a.Email = strings.TrimSpace(a.Email)
	if addr, err := mail.ParseAddress(a.Email); err != nil || addr.Address != a.Email || len(a.Email) > 254 {
		return &FieldError{Path: "email", Msg: "must be a plain email address"}
	}
	if a.Role.Rank() == 0 {
		return &FieldError{Path: "role", Msg: fmt.Sprintf("unknown role %q (want owner, editor or viewer)", a.Role)}
	}
	if a.State != AdminActive && a.State != AdminBlocked {
		return &FieldError{Path: "state", Msg: fmt.Sprintf("unknown state %q (want active or blocked)", a.State)}
	}
	if utf8.RuneCountInString(a.Name) > 200 {
		return &FieldError{Path: "name", Msg: "at most 200 characters"}
	}
	return nil
}

// AdminToken is a personal API token of an admin. Only its SHA-256 hash
// is stored; Prefix (the first characters of the token) identifies it in
// lists.
type AdminToken struct {
	ID        string    `json:"id"`
	AdminID   string    `json:"adminId"`
	Name      string    `json:"name"`
	Prefix    string    `json:"prefix"`
	CreatedAt time.Time `json:"createdAt"`
	// LastUsedAt is when the token last authenticated a request (to the
	// minute; zero: never).
	LastUsedAt time.Time `json:"lastUsedAt,omitzero"`
}

// Admins keeps admin accounts, their password hashes and their personal
// API tokens. Writes are audited with the context's actor but do not bump
// the catalog version: the gateway never reads them.
type Admins interface {
	// CreateAdmin stores a new admin (ID generated when empty) with an
	// optional bcrypt password hash; a taken email is ErrConflict.
	CreateAdmin(ctx context.Context, a Admin, passwordHash string) (Admin, error)
	GetAdmin(ctx context.Context, id string) (Admin, error)
	ListAdmins(ctx context.Context) ([]Admin, error)
	// UpdateAdmin replaces an admin's name, role and state (email and ID
	// are fixed).
	UpdateAdmin(ctx context.Context, a Admin) (Admin, error)
	// DeleteAdmin deletes an admin and all its tokens.
	DeleteAdmin(ctx context.Context, id string) error
	SetAdminPasswordHash(ctx context.Context, id, hash string) error
	// AdminPasswordHash returns the hash; ErrNotFound when there is none.
	AdminPasswordHash(ctx context.Context, id string) (string, error)
	// CreateAdminToken stores a token by the hex SHA-256 of its secret.
	CreateAdminToken(ctx context.Context, t AdminToken, hash string) (AdminToken, error)
	ListAdminTokens(ctx context.Context, adminID string) ([]AdminToken, error)
	// DeleteAdminToken revokes one of adminID's tokens; ErrNotFound when
	// that admin has no such token.
	DeleteAdminToken(ctx context.Context, adminID, tokenID string) error
	// LookupAdminToken resolves a token hash to the token and its admin
	// as they are now (role and state read at every call).
	LookupAdminToken(ctx context.Context, hash string) (AdminToken, Admin, error)
}

// Password rules shared by the developer portal and admin accounts:
// bcrypt reads at most 72 bytes, so longer passwords are refused rather
// than silently truncated.
const (
	MinPassword = 10
	MaxPassword = 72
	BcryptCost  = 11
)

// HashPassword checks a new password against the rules and returns its
// bcrypt hash; a broken rule is a *FieldError at path "password".
func HashPassword(pw string) (string, error) {
	if utf8.RuneCountInString(pw) < MinPassword {
		return "", &FieldError{Path: "password", Msg: fmt.Sprintf("must have at least %d characters", MinPassword)}
	}
	if len(pw) > MaxPassword {
		return "", &FieldError{Path: "password", Msg: fmt.Sprintf("must have at most %d bytes", MaxPassword)}
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), BcryptCost)
	if err != nil {
		return "", err
	}
	return string(h), nil
}
