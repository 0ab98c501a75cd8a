package adminapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/catalog"
)

func TestPortalResetLinkAndSessions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u, err := e.st.CreateUser(ctx, catalog.User{Email: "dev@example.com", Name: "Dev"})
	if err != nil {
		t.Fatal(err)
	}
	// Without a portal the route says so.
	if r := e.do("POST", "/users/"+u.ID+"/reset-link", nil); r.status != 503 {
		t.Errorf("no portal: %d", r.status)
	}
	var mailedTo, mailedLink string
	mailErr := error(nil)
	h, err := New(Options{Store: e.st, Token: testToken, PortalURL: "http://portal.example/", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		SendResetLink: func(_ context.Context, u catalog.User, link string, _ time.Time) error {
			mailedTo, mailedLink = u.Email, link
			return mailErr
		}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	e.srv = srv
	var out struct {
		URL       string    `json:"url"`
		ExpiresAt time.Time `json:"expiresAt"`
		Mailed    bool      `json:"mailed"`
	}
	mailErr = errors.New("smtp down")
	e.must(201, "POST", "/users/"+u.ID+"/reset-link", nil, &out)
	if out.Mailed || out.URL == "" {
		t.Errorf("failed mail: %+v", out)
	}
	mailErr = nil
	e.must(201, "POST", "/users/"+u.ID+"/reset-link", map[string]int{"ttlMinutes": 30}, &out)
	if !out.Mailed || mailedTo != "dev@example.com" || mailedLink != out.URL {
		t.Errorf("mail: %+v to %q link %q", out, mailedTo, mailedLink)
	}
	link, err := url.Parse(out.URL)
	if err != nil || !strings.HasPrefix(out.URL, "http://portal.example/reset?token=") || time.Until(out.ExpiresAt) > 31*time.Minute || time.Until(out.ExpiresAt) < 29*time.Minute {
		t.Fatalf("link %+v", out)
	}
	tok := link.Query().Get("token")
	sum := sha256.Sum256([]byte(tok))
	if id, err := e.st.UseResetToken(ctx, hex.EncodeToString(sum[:])); err != nil || id != u.ID {
		t.Fatalf("the issued token does not work: %v", err)
	}
	for _, bad := range []struct {
		path string
		body any
		want int
	}{
		{"/users/nobody/reset-link", nil, 404},
		{"/users/" + u.ID + "/reset-link", map[string]int{"ttlMinutes": 1}, 400},
		{"/users/" + u.ID + "/reset-link", map[string]any{"ttl": 5}, 400},
		{"/users/" + u.ID + "/reset-link", "{", 400},
	} {
		if r := e.do("POST", bad.path, bad.body); r.status != bad.want {
			t.Errorf("%s %v: %d, want %d", bad.path, bad.body, r.status, bad.want)
		}
	}
	// Sessions: ended by the admin.
	for i := 0; i < 2; i++ {
		h := sha256.Sum256([]byte{byte(i)})
		if err := e.st.CreateSession(ctx, catalog.Session{IDHash: hex.EncodeToString(h[:]), UserID: u.ID, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	var ended struct {
		Ended int `json:"ended"`
	}
	e.must(200, "DELETE", "/users/"+u.ID+"/sessions", nil, &ended)
	if ended.Ended != 2 {
		t.Errorf("ended %d sessions, want 2", ended.Ended)
	}
	// Both admin actions are in the audit log with the actor.
	audit, err := e.st.ListAudit(ctx, 50)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, a := range audit {
		if a.EntityID == u.ID && (a.Action == "reset-link" || a.Action == "sign-out") {
			if a.Actor == "" {
				t.Errorf("audit row without actor: %+v", a)
			}
			seen[a.Action]++
		}
	}
	if seen["reset-link"] != 2 || seen["sign-out"] != 1 {
		t.Errorf("audit rows for the portal admin actions: %v, want 2 reset-link and 1 sign-out", seen)
	}
	if r := e.do("DELETE", "/users/nobody/sessions", nil); r.status != 404 {
		t.Errorf("unknown user: %d", r.status)
	}
	if r := e.doAuth("DELETE", "/users/"+u.ID+"/sessions", nil, "Bearer wrong", ""); r.status != 401 {
		t.Errorf("without the token: %d", r.status)
	}
}
