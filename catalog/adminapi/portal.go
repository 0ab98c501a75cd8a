package adminapi

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/gorilla/mux"

	"github.com/gatehouse/gatehouse/catalog"
)

// Developer portal account routes: one-time password reset links and
// signing a developer out everywhere.

func (s *server) portalRoutes(r routes) {
	r.Handle("/users/{userId}/reset-link", s.h(s.createResetLink)).Methods(http.MethodPost)
	r.Handle("/users/{userId}/sessions", s.h(s.deleteUserSessions)).Methods(http.MethodDelete)
}

// Reset link lifetimes.
const (
	defaultResetTTL = 24 * time.Hour
	minResetTTL     = 5 * time.Minute
	maxResetTTL     = 7 * 24 * time.Hour
)

func (s *server) createResetLink(w http.ResponseWriter, r *http.Request) error {
	if s.portalURL == "" {
		return &httpError{status: http.StatusServiceUnavailable, code: "unavailable", msg: "this server has no developer portal (--portal-listen is empty)"}
	}
	var req struct {
		TTLMinutes int `json:"ttlMinutes"`
	}
	if r.ContentLength != 0 {
		if err := decode(w, r, maxJSONBody, &req); err != nil {
			return err
		}
	}
	ttl := defaultResetTTL
	if req.TTLMinutes != 0 {
		ttl = time.Duration(req.TTLMinutes) * time.Minute
		if ttl < minResetTTL || ttl > maxResetTTL {
			return invalid("ttlMinutes", "must be between 5 and 10080")
		}
	}
	u, err := s.st.GetUser(r.Context(), mux.Vars(r)["userId"])
	if err != nil {
		return err
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	tok := base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(tok))
	exp := time.Now().Add(ttl).UTC().Truncate(time.Second)
	if err := s.st.CreateResetToken(r.Context(), catalog.ResetToken{TokenHash: hex.EncodeToString(sum[:]), UserID: u.ID, ExpiresAt: exp}); err != nil {
		return err
	}
	if err := s.st.RecordAction(writeCtx(r), "reset-link", "user", u.ID, "portal password reset link issued, expires "+exp.Format(time.RFC3339)); err != nil {
		return err
	}
	link := s.portalURL + "/reset?token=" + url.QueryEscape(tok)
	mailed := false
	if s.sendReset != nil {
		if err := s.sendReset(r.Context(), u, link, exp); err != nil {
			// The link still works: the admin can hand it over.
			s.log.Warn("portal reset link: mail failed", "user", u.ID, "err", err)
		} else {
			mailed = true
		}
	}
	s.log.Info("portal reset link issued", "user", u.ID, "expires", exp, "mailed", mailed)
	writeJSON(w, http.StatusCreated, map[string]any{"url": link, "expiresAt": exp, "mailed": mailed})
	return nil
}

func (s *server) deleteUserSessions(w http.ResponseWriter, r *http.Request) error {
	u, err := s.st.GetUser(r.Context(), mux.Vars(r)["userId"])
	if err != nil {
		return err
	}
	n, err := s.st.DeleteUserSessions(r.Context(), u.ID)
	if err != nil {
		return err
	}
	if err := s.st.RecordAction(writeCtx(r), "sign-out", "user", u.ID, fmt.Sprintf("%d portal sessions ended", n)); err != nil {
		return err
	}
	s.log.Info("portal sessions ended by an admin", "user", u.ID, "sessions", n)
	writeJSON(w, http.StatusOK, map[string]int{"ended": n})
	return nil
}
