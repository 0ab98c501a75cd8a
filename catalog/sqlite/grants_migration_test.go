package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
)

// TestGrantsMigration opens a catalog written before grants existed (only
// the first migration applied, modules uploaded then): every module is
// granted the capabilities its manifest lists (what upload derived from
// its imports), recorded in the audit log as granted by migration.
func TestGrantsMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "catalog.db")
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL DEFAULT (unixepoch()))`,
		ms[0].sql,
		`INSERT INTO schema_version (version) VALUES (1)`,
		`UPDATE catalog_version SET version = 7 WHERE id = 1`,
		`INSERT INTO modules (name, version, sha256, wasm, manifest, created_at) VALUES
			('quota-v10', '1.0.0', 'x', x'00', '{"abiVersion":1,"capabilities":["config","counters","http"],"limits":{}}', 1),
			('plain', '0.1.0', 'y', x'00', '{"abiVersion":1,"limits":{}}', 2)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	db.Close()

	s, err := OpenWithMasterKey(path, bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m, err := s.GetModule(ctx, "quota-v10", "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(m.Grant.Capabilities, ",") != "config,counters,http" || m.Grant.By != "migration" || m.Grant.At == nil || len(m.MissingGrants()) != 0 {
		t.Errorf("migrated v1.0 module: grant %+v, missing %v", m.Grant, m.MissingGrants())
	}
	p, err := s.GetModule(ctx, "plain", "0.1.0")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Grant.Capabilities) != 0 || p.Grant.Egress == nil || len(p.MissingGrants()) != 0 {
		t.Errorf("module without capabilities: grant %+v", p.Grant)
	}
	audit, err := s.ListAudit(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range audit {
		got = append(got, a.Actor+" "+a.Action+" "+a.Entity+" "+a.EntityID+" "+a.Detail)
		if a.Version != 7 {
			t.Errorf("audit entry %+v: version %d, want the catalog's 7", a, a.Version)
		}
	}
	want := "migration grant module quota-v10@1.0.0 capabilities=config,counters,http|migration grant module plain@0.1.0 capabilities="
	if strings.Join(got, "|") != want {
		t.Errorf("audit after migration:\n%s\nwant\n%s", strings.Join(got, "|"), want)
	}
	if v, _ := s.Version(ctx); v != 7 {
		t.Errorf("migration changed the catalog version to %d", v)
	}
}
