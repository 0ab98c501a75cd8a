package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAdminToken(t *testing.T) {
	t.Setenv(adminTokenEnv, "")
	dir := t.TempDir()
	tok, err := adminToken(dir)
	if err != nil || !strings.HasPrefix(tok, "gha_") || len(tok) != 4+64 {
		t.Fatalf("generated token %q, %v", tok, err)
	}
	path := filepath.Join(dir, adminTokenFile)
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v", st, err)
	}
	if again, err := adminToken(dir); err != nil || again != tok {
		t.Errorf("second start: %q %v, want the same token", again, err)
	}
	os.Chmod(path, 0o644)
	if _, err := adminToken(dir); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("world-readable token file: %v", err)
	}
	t.Setenv(adminTokenEnv, "short")
	if _, err := adminToken(dir); err == nil {
		t.Error("a 5-character token from the environment was accepted")
	}
	t.Setenv(adminTokenEnv, "from-the-environment-123")
	if got, err := adminToken(dir); err != nil || got != "from-the-environment-123" {
		t.Errorf("env token: %q %v", got, err)
	}
}
