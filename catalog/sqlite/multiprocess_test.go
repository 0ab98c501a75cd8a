package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/catalog/sqlite"
)

// Several stores opening a fresh file at once (as a server and a CLI
// might) migrate it exactly once.
func TestConcurrentOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.db")
	var wg sync.WaitGroup
	stores := make([]*sqlite.Store, 4)
	errs := make([]error, len(stores))
	for i := range stores {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			stores[i], errs[i] = sqlite.OpenWithMasterKey(path, testMaster)
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	raw, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var n int
	if err := raw.QueryRow("SELECT COUNT(*) FROM schema_version").Scan(&n); err != nil || n != sqlite.SchemaVersion() {
		t.Fatalf("schema_version rows = %d (%v)", n, err)
	}
}

// Two stores on one file (two writers in effect) serialise through
// immediate transactions and the busy timeout; nothing is lost and the
// database stays intact.
func TestTwoStoresOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.db")
	a, err := sqlite.OpenWithMasterKey(path, testMaster)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := sqlite.OpenWithMasterKey(path, testMaster)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	v0, _ := a.Version(ctx)
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i, s := range []*sqlite.Store{a, b, a, b} {
		wg.Add(1)
		go func(i int, s *sqlite.Store) {
			defer wg.Done()
			for j := 0; j < 10; j++ {
				if _, err := s.CreateUser(ctx, catalog.User{Email: fmt.Sprintf("u%d-%d@example.com", i, j), Name: "U"}); err != nil {
					errs <- err
				}
			}
		}(i, s)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if v, _ := b.Version(ctx); v != v0+40 {
		t.Fatalf("version %d, want %d", v, v0+40)
	}
	if l, _ := a.ListUsers(ctx); len(l) != 40 {
		t.Fatalf("users %d", len(l))
	}
	raw, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var ok string
	if err := raw.QueryRow("PRAGMA integrity_check").Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("integrity_check = %q %v", ok, err)
	}
}
