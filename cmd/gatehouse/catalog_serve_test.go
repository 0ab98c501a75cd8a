package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/plugins/embedded"
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

// A new build registers its built-in module and drops the older build,
// even though policies name "builtin" without a version.
func TestRegisterBuiltinReplacesOlderBuild(t *testing.T) {
	if embedded.Builtin() == nil {
		t.Fatal("the built-in module is not built: run `make wasm` first")
	}
	ctx := context.Background()
	dir := t.TempDir()
	t.Setenv(catalog.MasterKeyEnv, "")
	st, err := openCatalog(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.CreateModule(ctx, catalog.Module{Name: "builtin", Version: "0.0.1", Wasm: []byte("\x00asm\x01\x00\x00\x00"), Manifest: catalog.ModuleManifest{ABIVersion: 1}}); err != nil {
		t.Fatal(err)
	}
	if err := st.SetPolicy(ctx, catalog.PolicyDoc{Scope: catalog.ScopeGlobal, Inbound: []catalog.PolicyEntry{{Module: "builtin", Policy: "set-header", Config: []byte(`{"name":"X-A","value":"1"}`)}}}); err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(ctx, engine.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	for i := 0; i < 2; i++ { // the second start changes nothing
		if err := registerBuiltin(ctx, st, e, slog.Default()); err != nil {
			t.Fatal(err)
		}
	}
	mods, err := st.ListModules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(mods) != 1 || mods[0].Version != embedded.BuiltinVersion() || len(mods[0].Manifest.Policies) < 16 || len(mods[0].Manifest.Capabilities) == 0 {
		t.Fatalf("modules after registration: %+v", mods)
	}
}
