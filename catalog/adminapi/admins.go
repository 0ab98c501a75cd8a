package adminapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/gatehouse/gatehouse/catalog"
)

// Admin accounts, roles and personal API tokens (docs/admin-api.md,
// "Admin accounts and roles").

// TokenPrefix starts every personal admin token, so that a leaked one is
// recognisable (secret scanners, logs).
const TokenPrefix = "gha_"

// tokenShown is how many leading characters of a token are kept (as
// AdminToken.Prefix) to tell tokens apart in lists.
const tokenShown = len(TokenPrefix) + 8

// principal is who a request acts as.
type principal struct {
	actor   string // audit actor: the admin's email, or Actor for break-glass
	role    catalog.AdminRole
	adminID string // "" for the break-glass token
	tokenID string
}

type principalKey struct{}

func principalOf(r *http.Request) principal {
	p, _ := r.Context().Value(principalKey{}).(principal)
	return p
}

// principalFor resolves a bearer token. ok is false for an unknown,
// revoked or malformed token, or one whose admin is blocked; err is set
// only when the store fails.
func (s *server) principalFor(ctx context.Context, tok string) (p principal, ok bool, err error) {
	if subtle.ConstantTimeCompare([]byte(tok), s.token) == 1 {
		return principal{actor: Actor, role: catalog.RoleOwner}, true, nil
	}
	if !strings.HasPrefix(tok, TokenPrefix) || len(tok) > 200 {
		return principal{}, false, nil
	}
	t, a, err := s.st.LookupAdminToken(ctx, hashToken(tok))
	if errors.Is(err, catalog.ErrNotFound) {
		return principal{}, false, nil
	}
	if err != nil {
		return principal{}, false, err
	}
	if a.State != catalog.AdminActive || a.Role.Rank() == 0 {
		return principal{}, false, nil
	}
	// Last use, to the minute: one write a minute per token at most.
	if now := time.Now(); now.Sub(t.LastUsedAt) >= time.Minute {
		if err := s.st.TouchAdminToken(ctx, t.ID, now); err != nil {
			s.log.Warn("adminapi: recording a token's last use", "token", t.ID, "err", err)
		}
	}
	return principal{actor: a.Email, role: a.Role, adminID: a.ID, tokenID: t.ID}, true, nil
}

// sessionPrincipal resolves the admin portal's session cookie (Options.
// Session). A live cookie without its CSRF header is answered 403 here
// (found true, empty principal): a cookie is sent by the browser on any
// request, so it alone proves nothing about who made the request.
func (s *server) sessionPrincipal(w http.ResponseWriter, r *http.Request) (principal, bool, error) {
	id, live, csrfOK := s.session(r)
	if !live {
		return principal{}, false, nil
	}
	if !csrfOK {
		writeError(w, &httpError{status: http.StatusForbidden, code: "csrf",
			msg: "the admin portal's session cookie is accepted only with its X-CSRF-Token header; use a bearer token otherwise"})
		return principal{}, true, nil
	}
	a, err := s.st.GetAdmin(r.Context(), id)
	if errors.Is(err, catalog.ErrNotFound) {
		return principal{}, false, nil
	}
	if err != nil {
		return principal{}, false, err
	}
	if a.State != catalog.AdminActive || a.Role.Rank() == 0 {
		return principal{}, false, nil
	}
	return principal{actor: a.Email, role: a.Role, adminID: a.ID}, true, nil
}

func hashToken(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

// newToken returns a fresh personal token: the prefix and 256 random bits.
func newToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// sensitiveReads are the GET routes that answer secrets (subscription keys,
// secret named values): editor or owner only.
var sensitiveReads = map[string]bool{
	Prefix + "/subscriptions/{subId}/keys": true,
	Prefix + "/named-values/{name}/value":  true,
}

// authorize checks the principal's role against the matched route:
// reads need viewer (sensitiveReads editor), catalog writes editor,
// managing admins owner. An admin may manage their own tokens and
// password whatever their role.
func (s *server) authorize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principalOf(r)
		tpl, _ := mux.CurrentRoute(r).GetPathTemplate()
		need := catalog.RoleViewer
		read := r.Method == http.MethodGet || r.Method == http.MethodHead
		switch {
		case strings.HasPrefix(tpl, Prefix+"/admins"):
			self := p.adminID != "" && mux.Vars(r)["id"] == p.adminID &&
				(strings.HasPrefix(tpl, Prefix+"/admins/{id}/tokens") || tpl == Prefix+"/admins/{id}/password")
			if !read && !self {
				need = catalog.RoleOwner
			}
		case sensitiveReads[tpl]:
			need = catalog.RoleEditor
		case !read:
			need = catalog.RoleEditor
		}
		if p.role.Rank() < need.Rank() {
			writeError(w, &httpError{status: http.StatusForbidden, code: "forbidden",
				msg: "role " + string(p.role) + " may not " + r.Method + " " + tpl + " (needs " + string(need) + ")"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *server) adminRoutes(r routes) {
	r.Handle("/me", s.h(s.getMe)).Methods(http.MethodGet)
	r.Handle("/admins", s.h(s.listAdmins)).Methods(http.MethodGet)
	r.Handle("/admins", s.h(s.createAdmin)).Methods(http.MethodPost)
	r.Handle("/admins/{id}", s.h(s.getAdmin)).Methods(http.MethodGet)
	r.Handle("/admins/{id}", s.h(s.updateAdmin)).Methods(http.MethodPatch)
	r.Handle("/admins/{id}", s.h(s.deleteAdmin)).Methods(http.MethodDelete)
	r.Handle("/admins/{id}/password", s.h(s.setAdminPassword)).Methods(http.MethodPut)
	r.Handle("/admins/{id}/tokens", s.h(s.listAdminTokens)).Methods(http.MethodGet)
	r.Handle("/admins/{id}/tokens", s.h(s.createAdminToken)).Methods(http.MethodPost)
	r.Handle("/admins/{id}/tokens/{tokenId}", s.h(s.deleteAdminToken)).Methods(http.MethodDelete)
}

// me is the answer of GET /me.
type me struct {
	Actor   string            `json:"actor"`
	Role    catalog.AdminRole `json:"role"`
	Admin   *catalog.Admin    `json:"admin,omitempty"`
	TokenID string            `json:"tokenId,omitempty"`
}

func (s *server) getMe(w http.ResponseWriter, r *http.Request) error {
	p := principalOf(r)
	out := me{Actor: p.actor, Role: p.role, TokenID: p.tokenID}
	if p.adminID != "" {
		a, err := s.st.GetAdmin(r.Context(), p.adminID)
		if err != nil {
			return err
		}
		out.Admin = &a
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *server) listAdmins(w http.ResponseWriter, r *http.Request) error {
	pq, err := s.parsePage(r, kindAdmins, "")
	if err != nil {
		return err
	}
	as, err := s.st.ListAdmins(r.Context())
	if err != nil {
		return err
	}
	sliceAnswer(w, s, pq, as, func(a catalog.Admin) catalog.PageKey { return catalog.PageKey{S: a.Email, T: a.ID} })
	return nil
}

func (s *server) getAdmin(w http.ResponseWriter, r *http.Request) error {
	a, err := s.st.GetAdmin(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

// adminIn is the body of POST /admins.
type adminIn struct {
	ID       string            `json:"id"`
	Email    string            `json:"email"`
	Name     string            `json:"name"`
	Role     catalog.AdminRole `json:"role"`
	Password string            `json:"password"`
}

func (s *server) createAdmin(w http.ResponseWriter, r *http.Request) error {
	var in adminIn
	if err := decode(w, r, maxJSONBody, &in); err != nil {
		return err
	}
	a := catalog.Admin{ID: in.ID, Email: in.Email, Name: in.Name, Role: in.Role}
	if err := a.Validate(); err != nil { // before the (slow) hash
		return err
	}
	var hash string
	if in.Password != "" {
		var err error
		if hash, err = catalog.HashPassword(in.Password); err != nil {
			return err
		}
	}
	a, err := s.st.CreateAdmin(writeCtx(r), a, hash)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, a)
	return nil
}

// adminPatch is the body of PATCH /admins/{id}: absent fields are kept.
type adminPatch struct {
	Name  *string             `json:"name"`
	Role  *catalog.AdminRole  `json:"role"`
	State *catalog.AdminState `json:"state"`
}

func (s *server) updateAdmin(w http.ResponseWriter, r *http.Request) error {
	var in adminPatch
	if err := decode(w, r, maxJSONBody, &in); err != nil {
		return err
	}
	a, err := s.st.GetAdmin(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	if in.Name != nil {
		a.Name = *in.Name
	}
	if in.Role != nil {
		a.Role = *in.Role
	}
	if in.State != nil {
		a.State = *in.State
	}
	a, err = s.st.UpdateAdmin(writeCtx(r), a)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

func (s *server) deleteAdmin(w http.ResponseWriter, r *http.Request) error {
	if err := s.st.DeleteAdmin(writeCtx(r), mux.Vars(r)["id"]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) setAdminPassword(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Password string `json:"password"`
	}
	if err := decode(w, r, maxJSONBody, &in); err != nil {
		return err
	}
	id := mux.Vars(r)["id"]
	if _, err := s.st.GetAdmin(r.Context(), id); err != nil {
		return err
	}
	hash, err := catalog.HashPassword(in.Password)
	if err != nil {
		return err
	}
	if err := s.st.SetAdminPasswordHash(writeCtx(r), id, hash); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) listAdminTokens(w http.ResponseWriter, r *http.Request) error {
	id := mux.Vars(r)["id"]
	pq, err := s.parsePage(r, kindAdminTokens, id)
	if err != nil {
		return err
	}
	ts, err := s.st.ListAdminTokens(r.Context(), id)
	if err != nil {
		return err
	}
	sliceAnswer(w, s, pq, ts, func(t catalog.AdminToken) catalog.PageKey { return catalog.PageKey{N: t.CreatedAt.UnixNano(), T: t.ID} })
	return nil
}

// newTokenOut is the answer of POST /admins/{id}/tokens: the only time
// the token itself is shown.
type newTokenOut struct {
	catalog.AdminToken
	Token string `json:"token"`
}

func (s *server) createAdminToken(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name string `json:"name"`
	}
	if err := decode(w, r, maxJSONBody, &in); err != nil {
		return err
	}
	tok := newToken()
	t, err := s.st.CreateAdminToken(writeCtx(r), catalog.AdminToken{AdminID: mux.Vars(r)["id"], Name: in.Name, Prefix: tok[:tokenShown]}, hashToken(tok))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, newTokenOut{t, tok})
	return nil
}

func (s *server) deleteAdminToken(w http.ResponseWriter, r *http.Request) error {
	v := mux.Vars(r)
	if err := s.st.DeleteAdminToken(writeCtx(r), v["id"], v["tokenId"]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
