package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// withStdin runs fn with os.Stdin reading s.
func withStdin(t *testing.T, s string, fn func()) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "stdin")
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	old := os.Stdin
	os.Stdin = f
	defer func() { os.Stdin = old }()
	fn()
}

// TestAdminAccountsCLI bootstraps an owner with the break-glass token,
// then works as that owner and as an editor with personal tokens, over
// the real admin API on loopback.
func TestAdminAccountsCLI(t *testing.T) {
	admEnv(t)
	base := startTestAdmin(t)
	t.Setenv("GATEHOUSE_ADMIN_URL", base)
	t.Setenv("GATEHOUSE_ADMIN_TOKEN", admToken)

	var owner struct{ ID, Email, Role string }
	withStdin(t, "correct horse battery\nignored\n", func() {
		out := admOK(t, "admin", "create", "--email", "owner@example.com", "--role", "owner", "--password-stdin", "-o", "json")
		if err := json.Unmarshal([]byte(out), &owner); err != nil || owner.Role != "owner" || owner.ID == "" {
			t.Fatalf("admin create: %v %s", err, out)
		}
	})
	withStdin(t, "short\n", func() {
		admFails(t, exitFailure, "at least 10 characters", "admin", "create", "--email", "x@example.com", "--role", "viewer", "--password-stdin")
	})
	admFails(t, exitFailure, "unknown role", "admin", "create", "--email", "x@example.com", "--role", "root")
	admFails(t, exitFailure, "already exists", "admin", "create", "--email", "OWNER@example.com", "--role", "viewer")
	admFails(t, exitUsage, "--email and --role are required", "admin", "create", "--email", "x@example.com")
	admFails(t, exitUsage, "break-glass token has no tokens", "admin", "token", "list")

	// A token for the owner, shown once.
	r := admRun("admin", "token", "create", "--admin", owner.ID, "--name", "ci")
	m := regexp.MustCompile(`(?m)^token:\s+(gha_[A-Za-z0-9_-]{43})$`).FindStringSubmatch(r.out)
	if r.code != exitOK || m == nil || !strings.Contains(r.errOut, "shown only now") {
		t.Fatalf("token create: %d\n%s\n%s", r.code, r.out, r.errOut)
	}
	ownerTok := m[1]
	t.Setenv("GATEHOUSE_ADMIN_TOKEN", ownerTok)
	if out := admOK(t, "admin", "whoami"); !regexp.MustCompile(`(?m)^actor:\s+owner@example.com$`).MatchString(out) || !regexp.MustCompile(`(?m)^role:\s+owner$`).MatchString(out) {
		t.Fatalf("whoami:\n%s", out)
	}
	list := admOK(t, "admin", "token", "list")
	if strings.Contains(list, ownerTok) || !regexp.MustCompile(`(?m)^\S+\s+ci\s+`+regexp.QuoteMeta(ownerTok[:12])).MatchString(list) {
		t.Fatalf("token list:\n%s", list)
	}

	// The owner makes an editor, who gets a token of their own.
	var ed struct{ ID string }
	json.Unmarshal([]byte(admOK(t, "admin", "create", "--email", "ed@example.com", "--role", "editor", "-o", "json")), &ed)
	var edTok struct{ ID, Token string }
	json.Unmarshal([]byte(admOK(t, "admin", "token", "create", "--admin", ed.ID, "--name", "laptop", "-o", "json")), &edTok)
	if out := admOK(t, "admin", "list"); !regexp.MustCompile(`(?m)^` + ed.ID + `\s+ed@example.com\s+-\s+editor\s+active$`).MatchString(out) {
		t.Fatalf("admin list:\n%s", out)
	}

	t.Setenv("GATEHOUSE_ADMIN_TOKEN", edTok.Token)
	admOK(t, "api", "create", "--id", "echo", "--name", "Echo", "--path", "/echo", "--backend", "http://127.0.0.1:9998")
	admFails(t, exitFailure, "needs owner", "admin", "create", "--email", "x@example.com", "--role", "owner")
	admFails(t, exitFailure, "needs owner", "admin", "update", owner.ID, "--role", "viewer")
	if out := admOK(t, "audit", "--limit", "1", "-o", "json"); !strings.Contains(out, `"actor": "ed@example.com"`) {
		t.Fatalf("audit after the editor's write:\n%s", out)
	}

	// The owner demotes the editor (the token follows), then revokes it.
	t.Setenv("GATEHOUSE_ADMIN_TOKEN", ownerTok)
	admOK(t, "admin", "update", ed.ID, "--role", "viewer")
	t.Setenv("GATEHOUSE_ADMIN_TOKEN", edTok.Token)
	admFails(t, exitFailure, "needs editor", "api", "delete", "echo")
	t.Setenv("GATEHOUSE_ADMIN_TOKEN", ownerTok)
	if out := admOK(t, "admin", "token", "revoke", edTok.ID, "--admin", ed.ID); !strings.Contains(out, "deleted token "+edTok.ID) {
		t.Fatalf("revoke: %q", out)
	}
	t.Setenv("GATEHOUSE_ADMIN_TOKEN", edTok.Token)
	admFails(t, exitFailure, "missing or wrong bearer token", "api", "list")
}
