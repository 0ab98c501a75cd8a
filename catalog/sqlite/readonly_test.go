package sqlite

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// The read pool must refuse writes at the SQLite level.
func TestReadPoolIsReadOnly(t *testing.T) {
	s, err := OpenWithMasterKey(filepath.Join(t.TempDir(), "c.db"), bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.r.ExecContext(context.Background(), "UPDATE catalog_version SET version = 99"); err == nil {
		t.Fatal("read pool accepted a write")
	}
	if n := s.w.Stats().MaxOpenConnections; n != 1 {
		t.Fatalf("writer pool allows %d connections", n)
	}
	var fk int
	if err := s.w.QueryRow("PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Fatalf("foreign_keys = %d %v", fk, err)
	}
	var sync int
	if err := s.w.QueryRow("PRAGMA synchronous").Scan(&sync); err != nil || sync != 2 {
		t.Fatalf("synchronous = %d, want 2 (FULL) %v", sync, err)
	}
}

// Paths with URI-special characters are escaped, not truncated.
func TestOddPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "we?ird #dir%20")
	path := filepath.Join(dir, "c.db")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	s, err := OpenWithMasterKey(path, bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database not at %s: %v", path, err)
	}
}
