package portal

import (
	"errors"
	"net/http"
	"net/mail"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/portal/web"
)

// Password rules are catalog.HashPassword's, shared with admin accounts.
const (
	minPassword = catalog.MinPassword
	bcryptCost  = catalog.BcryptCost
)

// dummyHash is compared against when the account does not exist, so that
// a sign-in takes as long for an unknown email as for a wrong password.
// Made once, on first use or in the background when the server is made
// (New), not at package init: a bcrypt hash costs every process start —
// every CLI command included — tens of milliseconds of CPU.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("gatehouse-no-such-account"), bcryptCost)
	return h
})

// HashPassword checks a new password against the rules and returns its
// bcrypt hash (catalog.HashPassword, with the portal's wording).
func HashPassword(pw string) (string, error) {
	h, err := catalog.HashPassword(pw)
	var fe *catalog.FieldError
	if errors.As(err, &fe) {
		return "", badRequest("The password %s.", fe.Msg)
	}
	return h, err
}

func formError(err error) (string, bool) {
	var se *statusError
	if errors.As(err, &se) && se.status == http.StatusBadRequest {
		return se.msg, true
	}
	return "", false
}

func (s *Server) signupForm(w http.ResponseWriter, r *http.Request) error {
	s.render(w, r, http.StatusOK, "signup", map[string]any{"Title": "Sign up"})
	return nil
}

func (s *Server) signup(w http.ResponseWriter, r *http.Request) error {
	email := strings.TrimSpace(r.PostFormValue("email"))
	name := strings.TrimSpace(r.PostFormValue("name"))
	pw := r.PostFormValue("password")
	again := func(msg string) error {
		s.render(w, r, http.StatusBadRequest, "signup", map[string]any{"Title": "Sign up", "Error": msg, "Email": email, "Name": name})
		return nil
	}
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email || len(email) > 254 {
		return again("Enter a valid email address, like ada@example.com.")
	}
	if name == "" || utf8.RuneCountInString(name) > 100 {
		return again("Enter your name (at most 100 characters).")
	}
	if pw != r.PostFormValue("password2") {
		return again("The two passwords differ.")
	}
	hash, err := HashPassword(pw)
	if msg, ok := formError(err); ok {
		return again(msg)
	} else if err != nil {
		return err
	}
	ctx := catalog.WithActor(r.Context(), "portal")
	u, err := s.st.CreateUser(ctx, catalog.User{Email: email, Name: name, State: catalog.UserActive})
	if errors.Is(err, catalog.ErrConflict) {
		return again("An account with this email already exists. Sign in, or ask an administrator for a reset link.")
	}
	var fe *catalog.FieldError
	if errors.As(err, &fe) {
		return again(fe.Error())
	}
	if err != nil {
		return err
	}
	if err := s.st.SetPasswordHash(r.Context(), u.ID, hash); err != nil {
		return err
	}
	if err := s.startSession(w, r, u); err != nil {
		return err
	}
	redirect(w, r, "/products", "signedup")
	return nil
}

func (s *Server) signinForm(w http.ResponseWriter, r *http.Request) error {
	s.render(w, r, http.StatusOK, "signin", map[string]any{"Title": "Sign in", "Next": web.SafeNext(r.URL.Query().Get("next"), "/")})
	return nil
}

func (s *Server) signin(w http.ResponseWriter, r *http.Request) error {
	email := strings.TrimSpace(r.PostFormValue("email"))
	pw := r.PostFormValue("password")
	next := web.SafeNext(r.PostFormValue("next"), "/")
	again := func(status int, msg string) error {
		s.render(w, r, status, "signin", map[string]any{"Title": "Sign in", "Error": msg, "Email": email, "Next": next})
		return nil
	}
	acct, client := "acct:"+strings.ToLower(email), "ip:"+web.ClientIP(r)
	if d := s.limiter.Blocked(acct, web.MaxAccountFails); d > 0 {
		return again(http.StatusTooManyRequests, "Too many failed sign-ins for this account. Try again in "+web.Minutes(d.Seconds())+", or ask an administrator for a reset link.")
	}
	if d := s.limiter.Blocked(client, web.MaxClientFails); d > 0 {
		return again(http.StatusTooManyRequests, "Too many failed sign-ins from your network address. Try again in "+web.Minutes(d.Seconds())+".")
	}
	u, err := s.st.GetUserByEmail(r.Context(), email)
	hash := string(dummyHash())
	if err == nil {
		if h, herr := s.st.PasswordHash(r.Context(), u.ID); herr == nil {
			hash = h
		} else if !errors.Is(herr, catalog.ErrNotFound) {
			return herr
		}
	} else if !errors.Is(err, catalog.ErrNotFound) {
		return err
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)) != nil || err != nil {
		s.limiter.Fail(acct, client)
		return again(http.StatusUnauthorized, "Wrong email or password.")
	}
	switch u.State {
	case catalog.UserBlocked:
		return again(http.StatusForbidden, "This account is blocked. Contact an administrator.")
	case catalog.UserPending:
		return again(http.StatusForbidden, "This account awaits activation by an administrator.")
	}
	s.limiter.Reset(acct)
	if err := s.startSession(w, r, u); err != nil {
		return err
	}
	if next == "/" {
		redirect(w, r, "/", "signedin")
	} else {
		http.Redirect(w, r, next, http.StatusSeeOther)
	}
	return nil
}

func (s *Server) signout(w http.ResponseWriter, r *http.Request) error {
	if v := viewerFrom(r); v != nil {
		if err := s.st.DeleteSession(r.Context(), v.idHash); err != nil {
			return err
		}
	}
	s.clearCookie(w, r, sessionCookie)
	redirect(w, r, "/", "signedout")
	return nil
}

func (s *Server) profile(w http.ResponseWriter, r *http.Request) error {
	s.render(w, r, http.StatusOK, "profile", map[string]any{"Title": "Profile", "Session": viewerFrom(r).session})
	return nil
}

func (s *Server) updateProfile(w http.ResponseWriter, r *http.Request) error {
	v := viewerFrom(r)
	name := strings.TrimSpace(r.PostFormValue("name"))
	if name == "" || utf8.RuneCountInString(name) > 100 {
		s.render(w, r, http.StatusBadRequest, "profile", map[string]any{"Title": "Profile", "Error": "Enter your name (at most 100 characters).", "Session": v.session})
		return nil
	}
	u := v.user
	u.Name = name
	if _, err := s.st.UpdateUser(catalog.WithActor(r.Context(), "portal"), u); err != nil {
		return err
	}
	redirect(w, r, "/profile", "profile")
	return nil
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) error {
	v := viewerFrom(r)
	again := func(status int, msg string) error {
		s.render(w, r, status, "profile", map[string]any{"Title": "Profile", "PasswordError": msg, "Session": v.session})
		return nil
	}
	if d := s.limiter.Blocked("acct:"+strings.ToLower(v.user.Email), web.MaxAccountFails); d > 0 {
		return again(http.StatusTooManyRequests, "Too many wrong passwords. Try again in "+web.Minutes(d.Seconds())+".")
	}
	hash, err := s.st.PasswordHash(r.Context(), v.user.ID)
	if err != nil {
		return err
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(r.PostFormValue("current"))) != nil {
		s.limiter.Fail("acct:"+strings.ToLower(v.user.Email), "ip:"+web.ClientIP(r))
		return again(http.StatusUnauthorized, "The current password is wrong.")
	}
	if r.PostFormValue("password") != r.PostFormValue("password2") {
		return again(http.StatusBadRequest, "The two new passwords differ.")
	}
	nh, err := HashPassword(r.PostFormValue("password"))
	if msg, ok := formError(err); ok {
		return again(http.StatusBadRequest, msg)
	} else if err != nil {
		return err
	}
	if err := s.st.SetPasswordHash(r.Context(), v.user.ID, nh); err != nil {
		return err
	}
	// Every other session ends; this browser gets a fresh one.
	if _, err := s.st.DeleteUserSessions(r.Context(), v.user.ID); err != nil {
		return err
	}
	if err := s.startSession(w, r.WithContext(r.Context()), v.user); err != nil {
		return err
	}
	redirect(w, r, "/profile", "password")
	return nil
}

func (s *Server) resetForm(w http.ResponseWriter, r *http.Request) error {
	s.render(w, r, http.StatusOK, "reset", map[string]any{"Title": "Set a new password", "Token": r.URL.Query().Get("token")})
	return nil
}

func (s *Server) reset(w http.ResponseWriter, r *http.Request) error {
	tok := r.PostFormValue("token")
	again := func(status int, msg string) error {
		s.render(w, r, status, "reset", map[string]any{"Title": "Set a new password", "Token": tok, "Error": msg})
		return nil
	}
	if r.PostFormValue("password") != r.PostFormValue("password2") {
		return again(http.StatusBadRequest, "The two passwords differ.")
	}
	hash, err := HashPassword(r.PostFormValue("password"))
	if msg, ok := formError(err); ok {
		return again(http.StatusBadRequest, msg)
	} else if err != nil {
		return err
	}
	userID, err := s.st.UseResetToken(r.Context(), web.HashToken(tok))
	if errors.Is(err, catalog.ErrNotFound) {
		return again(http.StatusBadRequest, "This reset link is unknown, already used or expired. Ask an administrator for a new one.")
	} else if err != nil {
		return err
	}
	if err := s.st.SetPasswordHash(r.Context(), userID, hash); err != nil {
		return err
	}
	if _, err := s.st.DeleteUserSessions(r.Context(), userID); err != nil {
		return err
	}
	redirect(w, r, "/signin", "reset")
	return nil
}
