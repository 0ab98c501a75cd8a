package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/catalog/sqlite"
)

// TestBootstrapOwner: the first start with no admin creates an owner whose
// password is only in DATA/admin-owner.txt (0600); later starts create
// nothing; with an admin already there, nothing is created either.
func TestBootstrapOwner(t *testing.T) {
	data := t.TempDir()
	st, err := sqlite.OpenWithMasterKey(filepath.Join(data, "catalog.db"), make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	path, err := bootstrapOwner(ctx, st, data, log)
	if err != nil || path != filepath.Join(data, ownerFile) {
		t.Fatalf("bootstrap: %q %v", path, err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("owner file: %v %v", fi.Mode(), err)
	}
	email, pw := ownerSignIn(path)
	if email != bootstrapEmail || len(pw) < 20 {
		t.Fatalf("owner file gives %q / %d characters", email, len(pw))
	}
	as, _ := st.ListAdmins(ctx)
	if len(as) != 1 || as[0].Role != catalog.RoleOwner || as[0].Email != bootstrapEmail {
		t.Fatalf("admins %+v", as)
	}
	hash, err := st.AdminPasswordHash(ctx, as[0].ID)
	if err != nil || bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)) != nil {
		t.Fatalf("the file's password does not sign in: %v", err)
	}
	audit, _ := st.ListAudit(ctx, 5)
	if len(audit) == 0 || audit[0].Actor != "bootstrap" {
		t.Fatalf("audit %+v", audit)
	}
	b, _ := os.ReadFile(path)
	if strings.Contains(string(b), hash) {
		t.Fatal("the hash is in the file")
	}
	// Second start: nothing new, the file still reported for the demo.
	if p2, err := bootstrapOwner(ctx, st, data, log); err != nil || p2 != path {
		t.Fatalf("second start: %q %v", p2, err)
	}
	if as, _ := st.ListAdmins(ctx); len(as) != 1 {
		t.Fatalf("second start created an admin: %d", len(as))
	}
	// The file deleted (as its text asks): nothing printed, nothing made.
	os.Remove(path)
	if p3, err := bootstrapOwner(ctx, st, data, log); err != nil || p3 != "" {
		t.Fatalf("after deleting the file: %q %v", p3, err)
	}
	if e, p := ownerSignIn(path); e != "" || p != "" {
		t.Fatal("read a deleted file")
	}
}

// TestFetchDocumentEgress: importing from a URL never reaches loopback
// (the admin listener, the data plane) however the URL is spelled; a
// non-http URL is refused before any dial.
func TestFetchDocumentEgress(t *testing.T) {
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++; w.Write([]byte("openapi: 3.0.3")) }))
	defer srv.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	_, client, err := newEgress(nil, log)
	if err != nil {
		t.Fatal(err)
	}
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	for _, u := range []string{srv.URL + "/doc.yaml", "http://localhost:" + port + "/", "http://2130706433:" + port + "/", "http://[::1]:" + port + "/", "file:///etc/passwd", "gopher://x"} {
		if _, err := fetchImportDocument(context.Background(), client, u); err == nil {
			t.Errorf("%s: fetched", u)
		}
	}
	if hits != 0 {
		t.Fatalf("the loopback server was reached %d times", hits)
	}
}
