package gateway_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/host/edge"
	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/gateway"
	"github.com/gatehouse/gatehouse/host/hosttest"
)

// TestClientCertificatePerAPI runs real TLS handshakes against the edge
// listener asking for client certificates only while an API validates
// them, and the per-API rules: CA, thumbprint, expiry, none.
func TestClientCertificatePerAPI(t *testing.T) {
	var seen atomic.Pointer[http.Header]
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Clone()
		seen.Store(&h)
		io.WriteString(w, "ok")
	}))
	defer be.Close()
	serverCert := newCertPair(t, "gw.test")
	clients := newCertPair(t, "client-a")   // the CA the "secure" API trusts, and a client it signed
	strangers := newCertPair(t, "client-x") // another CA and its client
	_, _, expired := clients.issue(t, time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour), "client-old")
	leaf, _ := x509.ParseCertificate(strangers.tls.Certificate[0])

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "clients-ca.pem"), clients.caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	ops := []gateway.Operation{{ID: "get", Method: "GET", Template: "/x"}}
	cfg := &gateway.Config{APIs: []gateway.API{
		{Name: "secure", PathPrefix: "/secure", Backend: be.URL, Operations: ops,
			ClientCertificate: &gateway.ClientCertificate{CAFile: filepath.Join(dir, "clients-ca.pem")}},
		{Name: "pinned", PathPrefix: "/pinned", Backend: be.URL, Operations: ops,
			ClientCertificate: &gateway.ClientCertificate{Thumbprints: []string{strings.ToUpper(edge.Thumbprint(leaf))}}},
		{Name: "open", PathPrefix: "/open", Backend: be.URL, Operations: ops},
		// A policy reads the certificate's details (ABI client
		// certificate fields 32–35).
		{Name: "fields", PathPrefix: "/fields", Backend: be.URL, Operations: ops,
			ClientCertificate: &gateway.ClientCertificate{CAFile: filepath.Join(dir, "clients-ca.pem")},
			Policies:          gateway.Policy{Inbound: []gateway.Step{probeStep("field-to-header:32;field-to-header:33;field-to-header:34;field-to-header:35;set-field:34=forged")}}},
		{Name: "fieldsopen", PathPrefix: "/fieldsopen", Backend: be.URL, Operations: ops,
			Policies: gateway.Policy{Inbound: []gateway.Step{probeStep("field-to-header:32;field-to-header:34")}}},
	}, Modules: []gateway.ModuleSpec{{Name: "probe", Wasm: hosttest.Probe(t), MinInstances: 1, MaxInstances: 2}}}
	ctx := context.Background()
	e, err := engine.New(ctx, engine.Options{CacheDir: cacheDir, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	src := gateway.NewStaticSource(cfg, "")
	g, err := gateway.New(gateway.Options{Engine: e, Source: src, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if err := g.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var certs edge.Certs
	c, _ := edge.ParseKeyPair("gw", serverCert.certPEM, serverCert.keyPEM)
	_ = certs.Set([]*edge.Cert{c})
	srv := edge.NewServer("", g, edge.ServerOptions{}, quietLog())
	tcfg := edge.TLSConfig(&certs)
	edge.RequestClientCerts(tcfg, g.NeedsClientCert)
	edge.UseTLS(srv, tcfg)
	go srv.ServeTLS(ln, "", "")
	defer srv.Close()
	base := "https://" + ln.Addr().String()

	call := func(path string, cert *tls.Certificate) (int, bool) {
		t.Helper()
		asked := false
		tr := &http.Transport{TLSClientConfig: &tls.Config{ServerName: "gw.test", RootCAs: serverCert.pool,
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
				asked = true
				if cert == nil {
					return &tls.Certificate{}, nil
				}
				return cert, nil
			}}, ForceAttemptHTTP2: true}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get(base + path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		resp.Body.Close()
		return resp.StatusCode, asked
	}
	for _, tc := range []struct {
		path string
		cert *tls.Certificate
		want int
	}{
		{"/secure/x", nil, 401},
		{"/secure/x", &clients.tls, 200},
		{"/secure/x", &strangers.tls, 403},
		{"/secure/x", &expired, 403},
		{"/pinned/x", &strangers.tls, 200},
		{"/pinned/x", &clients.tls, 403},
		{"/pinned/x", nil, 401},
		{"/open/x", nil, 200},
		{"/open/x", &strangers.tls, 200},
	} {
		name := "none"
		if tc.cert != nil {
			l, _ := x509.ParseCertificate(tc.cert.Certificate[0])
			name = l.Subject.CommonName
		}
		if got, asked := call(tc.path, tc.cert); got != tc.want || !asked {
			t.Errorf("%s with %s: %d (asked %v), want %d and a certificate request", tc.path, name, got, asked, tc.want)
		}
	}

	// Policies see the details of the verified certificate; they cannot
	// change them (set_field is refused, which fails the call: 500).
	cleaf, _ := x509.ParseCertificate(clients.tls.Certificate[0])
	if got, _ := call("/fields/x", &clients.tls); got != 500 {
		t.Errorf("fields with set-field: %d, want 500 (read-only field)", got)
	}
	cfgNoSet := *cfg
	cfgNoSet.APIs = slices.Clone(cfg.APIs)
	cfgNoSet.APIs[3].Policies = gateway.Policy{Inbound: []gateway.Step{probeStep("field-to-header:32;field-to-header:33;field-to-header:34;field-to-header:35")}}
	src.Set(&cfgNoSet)
	if err := g.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := call("/fields/x", &clients.tls); got != 200 {
		t.Fatalf("fields: %d", got)
	}
	h := *seen.Load()
	if h.Get("X-Field-32") != "CN=client-a" || h.Get("X-Field-33") != "CN=test CA" ||
		h.Get("X-Field-34") != edge.Thumbprint(cleaf) || h.Get("X-Field-35") != cleaf.NotAfter.UTC().Format(time.RFC3339) {
		t.Errorf("certificate fields: %v", h)
	}
	if got, _ := call("/fieldsopen/x", nil); got != 200 {
		t.Fatalf("fieldsopen: %d", got)
	}
	if h := *seen.Load(); h.Get("X-Field-32") != "" || h.Get("X-Field-34") != "" || len(h["X-Field-34"]) != 1 {
		t.Errorf("no certificate: fields %v, want present and empty", h)
	}

	// Without an API that validates them, clients are not asked.
	src.Set(&gateway.Config{APIs: []gateway.API{cfg.APIs[2]}})
	if err := g.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if got, asked := call("/open/x", nil); got != 200 || asked {
		t.Errorf("no rule: %d asked=%v, want 200 without a certificate request", got, asked)
	}
	if g.NeedsClientCert() {
		t.Error("NeedsClientCert after the rule was removed")
	}

	// Bad rules are refused at load, naming the field.
	for _, cc := range []struct {
		rule gateway.ClientCertificate
		want string
	}{
		{gateway.ClientCertificate{}, "needs a ca_file or thumbprints"},
		{gateway.ClientCertificate{Thumbprints: []string{"abc"}}, "thumbprints[0]"},
		{gateway.ClientCertificate{CAFile: filepath.Join(dir, "missing.pem")}, "ca_file"},
		{gateway.ClientCertificate{CAPEM: []byte("junk")}, "no PEM certificate"},
	} {
		bad := cfg.APIs[2]
		bad.ClientCertificate = &cc.rule
		src.Set(&gateway.Config{APIs: []gateway.API{bad}})
		if err := g.Reload(ctx); err == nil || !strings.Contains(err.Error(), cc.want) {
			t.Errorf("rule %+v: %v, want %q", cc.rule, err, cc.want)
		}
	}
}
