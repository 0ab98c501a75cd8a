package sqlite_test

import (
	"bytes"
	"database/sql"
	"errors"
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/catalog/certtest"
)

// TestCertificateWrites: every certificate write bumps the version and is
// audited as entity "certificate" (so ChangedEntities names it); a sealed
// key moved to another certificate's row does not open; another master
// key cannot read the keys.
func TestCertificateWrites(t *testing.T) {
	s, path := open(t)
	ctx := catalog.WithActor(t.Context(), "tester")
	ca := certtest.NewCA("Store CA")
	a := ca.Issue(certtest.Options{DNSNames: []string{"a.test"}})
	b := ca.Issue(certtest.Options{DNSNames: []string{"b.test"}})
	v0, _ := s.Version(ctx)
	if _, err := s.CreateCertificate(ctx, catalog.CertificateUpload{ID: "a", Certificate: string(a.ChainPEM), Key: string(a.KeyPEM)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateCertificate(ctx, catalog.CertificateUpload{ID: "b", Certificate: string(b.ChainPEM), Key: string(b.KeyPEM)}); err != nil {
		t.Fatal(err)
	}
	v1, _ := s.Version(ctx)
	changed, complete, err := s.ChangedEntities(ctx, v0, v1)
	if v1 != v0+2 || err != nil || !complete || !slices.Equal(changed, []string{"certificate"}) {
		t.Fatalf("versions %d → %d, changed %v %v %v", v0, v1, changed, complete, err)
	}
	audit, _ := s.ListAudit(ctx, 2)
	if audit[0].Entity != "certificate" || audit[0].Actor != "tester" || audit[0].Action != "create" || audit[0].EntityID != "b" {
		t.Errorf("audit: %+v", audit[0])
	}
	// A refused write changes nothing.
	if _, err := s.ReplaceCertificate(ctx, "a", catalog.CertificateUpload{Certificate: string(a.ChainPEM), Key: string(b.KeyPEM)}); !errors.Is(err, catalog.ErrInvalid) {
		t.Fatalf("mismatched replace: %v", err)
	}
	if v, _ := s.Version(ctx); v != v1 {
		t.Error("a refused write bumped the version")
	}

	// Swap the sealed keys of the two rows behind the store's back.
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var ka, kb []byte
	db.QueryRow(`SELECT key_sealed FROM certificates WHERE id = 'a'`).Scan(&ka)
	db.QueryRow(`SELECT key_sealed FROM certificates WHERE id = 'b'`).Scan(&kb)
	swap := func(x, y []byte) {
		t.Helper()
		if _, err := db.Exec(`UPDATE certificates SET key_sealed = ? WHERE id = 'a'`, x); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`UPDATE certificates SET key_sealed = ? WHERE id = 'b'`, y); err != nil {
			t.Fatal(err)
		}
	}
	if len(ka) == 0 || bytes.Equal(ka, kb) {
		t.Fatal("sealed keys not read")
	}
	swap(kb, ka)
	if _, err := s.CertificateKeyPairs(ctx); err == nil {
		t.Fatal("a sealed key moved to another row opened")
	}
	swap(ka, kb)
	ps, err := s.CertificateKeyPairs(ctx)
	if err != nil || len(ps) != 2 || !bytes.Equal(ps[0].KeyPEM, a.KeyPEM) || !bytes.Equal(ps[1].KeyPEM, b.KeyPEM) {
		t.Fatalf("keys after swapping back: %v", err)
	}
	// The details (no key) read without opening anything.
	cs, err := s.ListCertificates(ctx)
	if err != nil || len(cs) != 2 || cs[0].ID != "a" || cs[0].Hostnames[0] != "a.test" || cs[0].CertificatePEM != "" {
		t.Fatalf("list: %+v %v", cs, err)
	}
	if err := s.DeleteCertificate(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteCertificate(ctx, "a"); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	// The hostname is free again.
	a2 := ca.Issue(certtest.Options{DNSNames: []string{"a.test"}})
	if _, err := s.CreateCertificate(ctx, catalog.CertificateUpload{Certificate: string(a2.ChainPEM), Key: string(a2.KeyPEM)}); err != nil {
		t.Fatal(err)
	}
}
