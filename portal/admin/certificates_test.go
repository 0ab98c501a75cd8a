package admin_test

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/catalog/certtest"
	"github.com/gatehouse/gatehouse/portal/admin"
)

// postFiles submits a multipart form with two files, as the Certificates
// page's forms do, with the browser's CSRF token.
func (b *browser) postFiles(path string, fields map[string]string, files map[string][]byte) (int, string) {
	b.e.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("csrf", b.csrf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	for k, v := range files {
		w, _ := mw.CreateFormFile(k, k+".pem")
		w.Write(v)
	}
	mw.Close()
	resp, err := b.c.Post(b.e.srv.URL+path, mw.FormDataContentType(), &body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// TestCertificatesPage: an editor uploads a chain and key as two files,
// sees the certificate with its hostnames and days left (never its key),
// gets the admin API's refusal for a key that does not match, replaces
// it, and deletes it only after typing its ID; a viewer sees the list
// without any form and is refused every change.
func TestCertificatesPage(t *testing.T) {
	e := newEnv(t, admin.Options{})
	e.addAdmin("ed@example.com", catalog.RoleEditor, pw)
	e.addAdmin("vi@example.com", catalog.RoleViewer, pw)
	ctx := context.Background()
	b := e.browser()
	b.signin("ed@example.com", pw)
	if code, body := b.get("/ui/certificates"); code != 200 || !strings.Contains(body, `id="cert-form"`) || !strings.Contains(body, "No certificates.") || !strings.Contains(body, `href="/ui/certificates" aria-current="page"`) {
		t.Fatalf("empty page: %d\n%s", code, body)
	}
	ca := certtest.NewCA("Page CA")
	p := ca.Issue(certtest.Options{DNSNames: []string{"shop.example.test"}})
	other := ca.Issue(certtest.Options{DNSNames: []string{"shop.example.test"}})

	code, body := b.postFiles("/ui/certificates", map[string]string{"id": "shop"}, map[string][]byte{"cert": p.ChainPEM, "key": other.KeyPEM})
	if code != http.StatusBadRequest || !strings.Contains(body, "Upload refused") || !strings.Contains(body, "does not match the certificate") {
		t.Fatalf("mismatched key: %d\n%s", code, body)
	}
	if cs, _ := e.st.ListCertificates(ctx); len(cs) != 0 {
		t.Fatal("a refused upload was stored")
	}
	if code, _ := b.postFiles("/ui/certificates", map[string]string{"id": "shop"}, map[string][]byte{"cert": p.ChainPEM, "key": p.KeyPEM}); code != http.StatusSeeOther {
		t.Fatalf("upload: %d", code)
	}
	code, body = b.get("/ui/certificates")
	if code != 200 || !strings.Contains(body, "<code>shop</code>") || !strings.Contains(body, "shop.example.test") || !strings.Contains(body, p.Fingerprint[:16]) ||
		!strings.Contains(body, "expires in 0 days") || strings.Contains(body, "PRIVATE KEY") || strings.Contains(body, strings.Split(string(p.KeyPEM), "\n")[1]) {
		t.Fatalf("list:\n%s", body)
	}

	p2 := ca.Issue(certtest.Options{DNSNames: []string{"shop.example.test"}})
	if code, _ := b.postFiles("/ui/certificates/shop", nil, map[string][]byte{"cert": p2.ChainPEM, "key": p2.KeyPEM}); code != http.StatusSeeOther {
		t.Fatalf("replace: %d", code)
	}
	if c, _ := e.st.GetCertificate(ctx, "shop"); c.Fingerprint != p2.Fingerprint {
		t.Fatal("not replaced")
	}

	// The viewer: the list, no form; every change refused.
	v := e.browser()
	v.signin("vi@example.com", pw)
	code, body = v.get("/ui/certificates")
	if code != 200 || !strings.Contains(body, "shop.example.test") || strings.Contains(body, "<form method=\"post\" action=\"/ui/certificates") {
		t.Fatalf("viewer page: %d\n%s", code, body)
	}
	if code, _ := v.postFiles("/ui/certificates/shop", nil, map[string][]byte{"cert": p.ChainPEM, "key": p.KeyPEM}); code != http.StatusForbidden {
		t.Errorf("viewer replace: %d", code)
	}
	if code, _, _ := v.post("/ui/certificates/shop/delete", url.Values{"confirm": {"shop"}}, true); code != http.StatusForbidden {
		t.Errorf("viewer delete: %d", code)
	}

	// Delete needs the ID typed.
	if code, _, body := b.post("/ui/certificates/shop/delete", url.Values{"confirm": {"nope"}}, true); code != http.StatusBadRequest || !strings.Contains(body, "type its ID") {
		t.Fatalf("delete without confirmation: %d", code)
	}
	if _, err := e.st.GetCertificate(ctx, "shop"); err != nil {
		t.Fatal("deleted without confirmation")
	}
	if code, _, _ := b.post("/ui/certificates/shop/delete", url.Values{"confirm": {"shop"}}, true); code != http.StatusSeeOther {
		t.Fatalf("delete: %d", code)
	}
	if _, err := e.st.GetCertificate(ctx, "shop"); err == nil {
		t.Fatal("not deleted")
	}
	// Without the CSRF token: refused.
	if code, _, _ := b.post("/ui/certificates/x/delete", url.Values{"confirm": {"x"}}, false); code != http.StatusForbidden {
		t.Errorf("no CSRF: %d", code)
	}
}
