package adminapi

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/catalog/certtest"
	"github.com/gatehouse/gatehouse/catalog/sqlite"
)

// TestCertificatesCRUD uploads, lists, shows, replaces and deletes a
// certificate through the API; the key never appears in an answer, in the
// audit log or in clear in the SQLite files; viewers read, cannot write.
func TestCertificatesCRUD(t *testing.T) {
	dir := t.TempDir()
	e := newSealedEnv(t, dir)
	ca := certtest.NewCA("Test CA")
	p := ca.Issue(certtest.Options{DNSNames: []string{"www.example.test", "API.example.test"}, CommonName: "www.example.test"})
	var c certView
	r := e.must(201, "POST", "/certificates", map[string]any{"id": "www", "certificate": string(p.ChainPEM), "key": string(p.KeyPEM)}, &c)
	if r.header.Get("Location") != Prefix+"/certificates/www" {
		t.Errorf("Location %q", r.header.Get("Location"))
	}
	if c.ID != "www" || c.Fingerprint != p.Fingerprint || strings.Join(c.Hostnames, ",") != "api.example.test,www.example.test" ||
		c.KeyType != "ECDSA P-256" || c.ChainLength != 2 || c.Issuer != "CN=Test CA" || c.DaysLeft != 0 || len(c.Warnings) != 1 {
		t.Fatalf("created: %+v", c)
	}
	var got certView
	e.must(200, "GET", "/certificates/www", nil, &got)
	if got.CertificatePEM != string(p.ChainPEM) || got.NotAfter.Unix() != p.Leaf.NotAfter.Unix() {
		t.Errorf("get: %+v", got)
	}
	var l items[certView]
	e.must(200, "GET", "/certificates", nil, &l)
	if len(l.Items) != 1 || l.Items[0].CertificatePEM != "" || l.Items[0].Fingerprint != p.Fingerprint {
		t.Errorf("list: %+v", l)
	}

	// A viewer reads, cannot write.
	_, vt := e.newAdmin("viewer@example.com", catalog.RoleViewer)
	if r := e.doAuth("GET", "/certificates/www", nil, "Bearer "+vt, ""); r.status != 200 {
		t.Errorf("viewer GET: %d", r.status)
	}
	for _, m := range []string{"PUT", "DELETE"} {
		if r := e.doAuth(m, "/certificates/www", map[string]any{"certificate": string(p.ChainPEM), "key": string(p.KeyPEM)}, "Bearer "+vt, "application/json"); r.status != 403 {
			t.Errorf("viewer %s: %d", m, r.status)
		}
	}

	// Renewal: same ID, new pair, new fingerprint; hostnames may change.
	p2 := ca.Issue(certtest.Options{DNSNames: []string{"www.example.test"}, NotAfter: time.Now().Add(90 * 24 * time.Hour)})
	c = certView{}
	e.must(200, "PUT", "/certificates/www", map[string]any{"certificate": string(p2.CertPEM), "key": string(p2.KeyPEM)}, &c)
	if c.Fingerprint != p2.Fingerprint || c.ChainLength != 1 || len(c.Hostnames) != 1 || c.DaysLeft < 89 || len(c.Warnings) != 0 || !c.CreatedAt.Equal(got.CreatedAt) {
		t.Fatalf("replaced: %+v", c)
	}
	// api.example.test is free again.
	p3 := ca.Issue(certtest.Options{DNSNames: []string{"api.example.test"}})
	e.must(201, "POST", "/certificates", map[string]any{"certificate": string(p3.CertPEM), "key": string(p3.KeyPEM)}, &c)
	if len(c.ID) != 24 {
		t.Errorf("generated id %q", c.ID)
	}
	e.must(404, "PUT", "/certificates/nope", map[string]any{"certificate": string(p3.CertPEM), "key": string(p3.KeyPEM)}, nil)
	e.must(400, "PUT", "/certificates/www", map[string]any{"id": "other", "certificate": string(p2.CertPEM), "key": string(p2.KeyPEM)}, nil)

	// The key is in no answer, no audit entry, and not in clear on disk.
	var audit items[catalog.AuditEntry]
	e.must(200, "GET", "/audit", nil, &audit)
	n := 0
	for _, a := range audit.Items {
		if a.Entity == "certificate" {
			n++
		}
	}
	if n != 3 {
		t.Errorf("%d certificate audit entries, want 3", n)
	}
	keyBody := func(p *certtest.Pair) []string {
		b, _ := pem.Decode(p.KeyPEM)
		lines := strings.Split(strings.TrimSpace(string(p.KeyPEM)), "\n")
		return append(lines[1:len(lines)-1], string(b.Bytes))
	}
	var disk []byte
	files, _ := filepath.Glob(filepath.Join(dir, "catalog.db*"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		disk = append(disk, b...)
	}
	if !bytes.Contains(disk, []byte(p2.Leaf.Subject.CommonName)) && !bytes.Contains(disk, p2.Leaf.Raw[:64]) {
		t.Fatal("the SQLite files do not hold the certificate either: wrong files read")
	}
	for _, pp := range []*certtest.Pair{p, p2, p3} {
		for _, s := range keyBody(pp) {
			if bytes.Contains(disk, []byte(s)) {
				t.Fatalf("key material in clear in the SQLite files: %q", s[:10])
			}
			if strings.Contains(string(e.do("GET", "/audit", nil).body)+string(e.do("GET", "/certificates", nil).body)+string(e.do("GET", "/certificates/www", nil).body)+string(e.do("GET", "/export", nil).body), s) {
				t.Fatal("key material in an answer")
			}
		}
	}
	// The store hands the key to the listener only.
	kps, err := e.st.CertificateKeyPairs(t.Context())
	if err != nil || len(kps) != 2 || !bytes.Equal(kps[0].KeyPEM, p2.KeyPEM) {
		t.Fatalf("key pairs: %d %v", len(kps), err)
	}

	e.must(204, "DELETE", "/certificates/www", nil, nil)
	e.must(404, "GET", "/certificates/www", nil, nil)
	e.must(404, "DELETE", "/certificates/www", nil, nil)
}

// TestCertificatesBadInput: every bad upload gets a 400 naming the field
// (409 for a hostname another certificate serves, 413 for a body over 64
// KiB), and stores nothing.
func TestCertificatesBadInput(t *testing.T) {
	e := newEnv(t)
	ca := certtest.NewCA("Test CA")
	good := ca.Issue(certtest.Options{DNSNames: []string{"taken.example.test"}})
	e.must(201, "POST", "/certificates", map[string]any{"id": "taken", "certificate": string(good.CertPEM), "key": string(good.KeyPEM)}, nil)
	ok := ca.Issue(certtest.Options{DNSNames: []string{"ok.example.test"}})
	other := ca.Issue(certtest.Options{DNSNames: []string{"ok.example.test"}})
	expired := ca.Issue(certtest.Options{DNSNames: []string{"old.example.test"}, NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour)})
	future := ca.Issue(certtest.Options{DNSNames: []string{"new.example.test"}, NotBefore: time.Now().Add(time.Hour)})
	rsa1024 := ca.Issue(certtest.Options{DNSNames: []string{"rsa.example.test"}, Key: certtest.RSAKey(1024)})
	_, edk, _ := ed25519.GenerateKey(rand.Reader)
	ed := ca.Issue(certtest.Options{DNSNames: []string{"ed.example.test"}, Key: edk})
	noName := ca.Issue(certtest.Options{})
	star := ca.Issue(certtest.Options{DNSNames: []string{"*"}})
	starTLD := ca.Issue(certtest.Options{DNSNames: []string{"*.com"}})
	partial := ca.Issue(certtest.Options{DNSNames: []string{"w*.example.test"}})
	var many []string
	for i := range catalog.MaxCertificateHostnames + 1 {
		many = append(many, fmt.Sprintf("h%d.example.test", i))
	}
	tooMany := ca.Issue(certtest.Options{DNSNames: many})
	dup := ca.Issue(certtest.Options{DNSNames: []string{"fresh.example.test", "TAKEN.example.test"}})
	kb, _ := pem.Decode(ok.KeyPEM)
	encrypted := string(pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: kb.Bytes}))
	legacyEnc := string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-256-CBC,00"}, Bytes: kb.Bytes}))
	der := string(ok.Leaf.Raw)

	before, _ := e.st.Version(t.Context())
	for _, tc := range []struct {
		name       string
		cert, key  string
		status     int
		field, msg string
	}{
		{"empty", "", string(ok.KeyPEM), 400, "certificate", "must not be empty"},
		{"not PEM", der, string(ok.KeyPEM), 400, "certificate", "no PEM CERTIFICATE block"},
		{"key as cert", string(ok.KeyPEM), string(ok.KeyPEM), 400, "certificate", "holds a private key"},
		{"garbage PEM", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", string(ok.KeyPEM), 400, "certificate", "does not parse"},
		{"no key", string(ok.CertPEM), "", 400, "key", "must not be empty"},
		{"key not PEM", string(ok.CertPEM), "secret", 400, "key", "no PEM PRIVATE KEY"},
		{"key mismatch", string(ok.CertPEM), string(other.KeyPEM), 400, "key", "does not match the certificate"},
		{"expired", string(expired.CertPEM), string(expired.KeyPEM), 400, "certificate", "expired on"},
		{"not yet valid", string(future.CertPEM), string(future.KeyPEM), 400, "certificate", "not valid before"},
		{"encrypted PKCS8", string(ok.CertPEM), encrypted, 400, "key", "decrypt it first"},
		{"encrypted legacy", string(ok.CertPEM), legacyEnc, 400, "key", "decrypt it first"},
		{"RSA 1024", string(rsa1024.CertPEM), string(rsa1024.KeyPEM), 400, "key", "at least 2048"},
		{"Ed25519", string(ed.CertPEM), string(ed.KeyPEM), 400, "key", "unsupported key type Ed25519"},
		{"DSA block", string(ok.CertPEM), "-----BEGIN DSA PRIVATE KEY-----\nAAAA\n-----END DSA PRIVATE KEY-----\n", 400, "key", "unsupported key type"},
		{"chain out of order", string(ca.PEM) + string(ok.CertPEM), string(ok.KeyPEM), 400, "certificate", "put the server certificate first"},
		{"foreign issuer", string(ok.CertPEM) + string(certtest.NewCA("Other CA").PEM), string(ok.KeyPEM), 400, "certificate", "did not issue"},
		{"no hostname", string(noName.CertPEM), string(noName.KeyPEM), 400, "certificate", "names no hostname"},
		{"star", string(star.CertPEM), string(star.KeyPEM), 400, "certificate", "wildcard for every hostname"},
		{"star TLD", string(starTLD.CertPEM), string(starTLD.KeyPEM), 400, "certificate", "below a registered domain"},
		{"partial wildcard", string(partial.CertPEM), string(partial.KeyPEM), 400, "certificate", "whole left-most label"},
		{"101 hostnames", string(tooMany.CertPEM), string(tooMany.KeyPEM), 400, "certificate", "names 101 hostnames; at most 100"},
		{"duplicate hostname", string(dup.CertPEM), string(dup.KeyPEM), 409, "", `hostname "taken.example.test" is already served by certificate "taken"`},
		{"too large", string(ok.CertPEM) + strings.Repeat("#", catalog.MaxCertificateBody), string(ok.KeyPEM), 413, "", "larger than"},
	} {
		r := e.do("POST", "/certificates", map[string]any{"certificate": tc.cert, "key": tc.key})
		eb := errorBody{}
		if r.status < 500 {
			eb = r.err(t)
		}
		fieldOK := tc.field == "" || (len(eb.Error.Fields) == 1 && eb.Error.Fields[0].Path == tc.field)
		if r.status != tc.status || !fieldOK || !strings.Contains(eb.Error.Message, tc.msg) {
			t.Errorf("%s: %d %s, want %d on %q with %q", tc.name, r.status, r.body, tc.status, tc.field, tc.msg)
		}
		if strings.Contains(string(r.body), "PRIVATE KEY-----") {
			t.Errorf("%s: answer quotes the key: %s", tc.name, r.body)
		}
		// Replacing with the same input is refused the same way.
		if tc.status == 400 {
			if r := e.do("PUT", "/certificates/taken", map[string]any{"certificate": tc.cert, "key": tc.key}); r.status != 400 {
				t.Errorf("%s: PUT %d %s", tc.name, r.status, r.body)
			}
		}
	}
	for _, body := range []string{`{"certificate": 1}`, `{"certificate":"x","key":"y","extra":1}`, `not json`} {
		if r := e.do("POST", "/certificates", body); r.status != 400 {
			t.Errorf("%s: %d", body, r.status)
		}
	}
	e.must(400, "POST", "/certificates", map[string]any{"id": "bad id", "certificate": string(ok.CertPEM), "key": string(ok.KeyPEM)}, nil)
	e.must(409, "POST", "/certificates", map[string]any{"id": "taken", "certificate": string(ok.CertPEM), "key": string(ok.KeyPEM)}, nil)
	after, _ := e.st.Version(t.Context())
	var l items[certView]
	e.must(200, "GET", "/certificates", nil, &l)
	if after != before || len(l.Items) != 1 || l.Items[0].Fingerprint != good.Fingerprint {
		t.Errorf("something was stored: version %d → %d, %d certificates", before, after, len(l.Items))
	}
	// A wildcard for a domain is fine, and an exact name under it may be
	// another certificate's.
	w := ca.Issue(certtest.Options{DNSNames: []string{"*.example.test"}})
	e.must(201, "POST", "/certificates", map[string]any{"certificate": string(w.CertPEM), "key": string(w.KeyPEM)}, nil)
	// RSA 2048 and PKCS#1 / SEC 1 key blocks are accepted.
	rk := certtest.RSAKey(2048)
	rp := ca.Issue(certtest.Options{DNSNames: []string{"rsa2048.example.test"}, Key: rk})
	var rc certView
	e.must(201, "POST", "/certificates", map[string]any{"certificate": string(rp.CertPEM), "key": string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)}))}, &rc)
	if rc.KeyType != "RSA 2048" {
		t.Errorf("key type %q", rc.KeyType)
	}
}

// TestCertificatesPaged: the certificate list pages like every other list
// (creation order, cursors bound to the listing, a bad limit refused).
func TestCertificatesPaged(t *testing.T) {
	e := newSealedEnv(t, t.TempDir())
	ca := certtest.NewCA("Test CA")
	var want []string
	for i := 0; i < 5; i++ {
		id := fmt.Sprintf("c%d", i)
		p := ca.Issue(certtest.Options{DNSNames: []string{id + ".example.test"}})
		e.must(201, "POST", "/certificates", map[string]any{"id": id, "certificate": string(p.ChainPEM), "key": string(p.KeyPEM)}, nil)
		want = append(want, id)
	}
	got, pages := e.walk("/certificates", url.Values{}, 2, nil)
	if pages != 3 || strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("%d pages %v; want 3 pages %v", pages, got, want)
	}
	var pp subPage
	e.must(201, "POST", "/products", map[string]any{"id": "p1", "name": "P1"}, nil)
	e.must(201, "POST", "/products", map[string]any{"id": "p2", "name": "P2"}, nil)
	e.must(200, "GET", "/products?limit=1", nil, &pp)
	if pp.Next == nil {
		t.Fatal("products: no next")
	}
	if r := e.do("GET", "/certificates?after="+*pp.Next, nil); r.status != 400 {
		t.Errorf("products cursor on certificates: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/certificates?limit=0", nil); r.status != 400 {
		t.Errorf("limit=0: %d %s", r.status, r.body)
	}
}

// newSealedEnv is an admin API over a real SQLite catalog in dir with a
// master key (certificate keys are sealed with it).
func newSealedEnv(t *testing.T, dir string) *env {
	t.Helper()
	st, err := sqlite.OpenWithMasterKey(filepath.Join(dir, "catalog.db"), testMaster)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h, err := New(Options{Store: st, Token: testToken, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &env{t: t, st: st, srv: srv}
}
