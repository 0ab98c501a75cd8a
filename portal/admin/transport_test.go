package admin_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/portal/admin"
)

// The API page shows an API's transport settings read-only (certificates
// by subject, the key by its named value's name, never PEM), and saving
// the page's form keeps them.
func TestAPIPageTransport(t *testing.T) {
	e := newEnv(t, admin.Options{})
	e.addAdmin("ed@example.com", catalog.RoleEditor, pw)
	b := e.browser()
	b.signin("ed@example.com", pw)
	ctx := context.Background()

	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "gw-client <b>"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	certPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
	if _, err := e.st.CreateNamedValue(ctx, catalog.NamedValue{Name: "gw-key", Value: keyPEM, Secret: true}); err != nil {
		t.Fatal(err)
	}
	a := catalog.API{ID: "ledger", Name: "ledger", PathPrefix: "/ledger", BackendURL: "https://127.0.0.1:8443"}
	a.APITransport = catalog.APITransport{BackendProtocol: "grpc",
		BackendTLS: &catalog.BackendTLS{CAPEM: certPEM, ClientCertPEM: certPEM, ClientKeyNamedValue: "gw-key", ServerName: "ledger.internal", MinVersion: "1.3"},
		WebSocket:  &catalog.WebSocketLimits{IdleTimeout: "30s"}}
	if _, err := e.st.CreateAPI(ctx, a); err != nil {
		t.Fatal(err)
	}
	code, body := b.get("/ui/apis/ledger")
	if code != http.StatusOK || !strings.Contains(body, `id="api-transport"`) {
		t.Fatalf("page: %d\n%s", code, body)
	}
	for _, want := range []string{"grpc", "ledger.internal", `key in secret named value &#34;gw-key&#34;`, `CN=gw-client \&lt;b\&gt; — key`, "idle 30s, at most 1h (default)"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q:\n%s", want, body[strings.Index(body, `id="api-transport"`):][:600])
		}
	}
	if strings.Contains(body, "BEGIN") || strings.Contains(body, "<b>") {
		t.Fatal("the page shows PEM or unescaped certificate text")
	}
	// The page's form edits other fields and keeps the transport settings.
	if code, _, _ := b.post("/ui/apis/ledger", url.Values{"name": {"ledger 2"}, "pathPrefix": {"/ledger"}, "backendUrl": {"https://127.0.0.1:8443"}}, true); code != http.StatusSeeOther {
		t.Fatalf("save: %d", code)
	}
	got, err := e.st.GetAPI(ctx, "ledger")
	if err != nil || got.Name != "ledger 2" || got.BackendTLS == nil || got.BackendTLS.ClientKeyNamedValue != "gw-key" || got.BackendProtocol != "grpc" {
		t.Fatalf("after save: %+v %v", got, err)
	}
	// An API without settings has no transport section.
	if _, err := e.st.CreateAPI(ctx, catalog.API{ID: "plain", Name: "plain", PathPrefix: "/plain", BackendURL: "http://127.0.0.1:1"}); err != nil {
		t.Fatal(err)
	}
	if _, body := b.get("/ui/apis/plain"); strings.Contains(body, `id="api-transport"`) {
		t.Fatal("transport section for an API without settings")
	}
}
