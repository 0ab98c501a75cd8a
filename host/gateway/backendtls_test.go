package gateway_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/gateway"
)

// tlsBackend is a real TLS backend that requires a client certificate
// signed by clientCA and answers with the SNI name it saw and the client
// certificate's subject.
func tlsBackend(t *testing.T, server, clientCA *certPair, maxVersion uint16) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "sni="+r.TLS.ServerName+" client="+r.TLS.PeerCertificates[0].Subject.CommonName+" path="+r.URL.Path)
	}), TLSConfig: &tls.Config{Certificates: []tls.Certificate{server.tls}, ClientAuth: tls.RequireAndVerifyClientCert,
		ClientCAs: clientCA.pool, MaxVersion: maxVersion}}
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// yamlGateway serves a YAML config from a file (relative backend_tls paths
// resolve against its directory) and returns the gateway's URL.
func yamlGateway(t *testing.T, dir, yaml string) string {
	t.Helper()
	p := filepath.Join(dir, "gateway.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	e, err := engine.New(ctx, engine.Options{CacheDir: cacheDir, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.New(gateway.Options{Engine: e, Source: &gateway.FileSource{Path: p}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Reload(ctx); err != nil {
		t.Fatalf("config refused: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: g}
	go srv.Serve(ln)
	t.Cleanup(func() {
		srv.Close()
		g.Close()
		e.Close(ctx)
	})
	return "http://" + ln.Addr().String()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 20 * time.Second}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestBackendMTLS(t *testing.T) {
	serverCert := newCertPair(t, "backend.internal")
	clientCert := newCertPair(t, "gatehouse-client")
	otherCA := newCertPair(t, "backend.internal") // a CA that did not sign the backend
	wrongClient := newCertPair(t, "intruder")     // a client cert the backend's CA did not sign
	be := tlsBackend(t, serverCert, clientCert, 0)
	be12 := tlsBackend(t, serverCert, clientCert, tls.VersionTLS12)

	dir := t.TempDir()
	for name, b := range map[string][]byte{
		"ca.pem": serverCert.caPEM, "other-ca.pem": otherCA.caPEM,
		"client.pem": clientCert.certPEM, "client-key.pem": clientCert.keyPEM,
		"intruder.pem": wrongClient.certPEM, "intruder-key.pem": wrongClient.keyPEM,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	api := func(name, backend, tlsYAML string) string {
		return "  - name: " + name + "\n    path: /" + name + "\n    backend: https://" + backend + "/" + name + "\n" +
			"    operations: [{id: get, method: GET, template: /x}]\n" + tlsYAML
	}
	yaml := "apis:\n" +
		api("mtls", be, "    backend_tls: {ca_file: ca.pem, client_cert_file: client.pem, client_key_file: client-key.pem, server_name: backend.internal}\n") +
		api("nocert", be, "    backend_tls: {ca_file: ca.pem, server_name: backend.internal}\n") +
		api("intruder", be, "    backend_tls: {ca_file: ca.pem, client_cert_file: intruder.pem, client_key_file: intruder-key.pem, server_name: backend.internal}\n") +
		api("wrongca", be, "    backend_tls: {ca_file: other-ca.pem, client_cert_file: client.pem, client_key_file: client-key.pem, server_name: backend.internal}\n") +
		api("systemroots", be, "    backend_tls: {client_cert_file: client.pem, client_key_file: client-key.pem, server_name: backend.internal}\n") +
		api("wrongsni", be, "    backend_tls: {ca_file: ca.pem, client_cert_file: client.pem, client_key_file: client-key.pem, server_name: other.internal}\n") +
		api("min13", be12, "    backend_tls: {ca_file: ca.pem, client_cert_file: client.pem, client_key_file: client-key.pem, server_name: backend.internal, min_version: \"1.3\"}\n") +
		api("ok12", be12, "    backend_tls: {ca_file: ca.pem, client_cert_file: client.pem, client_key_file: client-key.pem, server_name: backend.internal}\n")
	gw := yamlGateway(t, dir, yaml)

	if code, body := get(t, gw+"/mtls/x"); code != 200 || body != "sni=backend.internal client=gatehouse-client path=/mtls/x" {
		t.Fatalf("mTLS with the client certificate: %d %q", code, body)
	}
	if code, body := get(t, gw+"/ok12/x"); code != 200 {
		t.Fatalf("TLS 1.2 backend with the default minimum: %d %q", code, body)
	}
	for _, name := range []string{"nocert", "intruder", "wrongca", "systemroots", "wrongsni", "min13"} {
		code, body := get(t, gw+"/"+name+"/x")
		if code != http.StatusBadGateway {
			t.Errorf("%s: %d %q, want 502", name, code, body)
		}
		if strings.Contains(body, "x509") || strings.Contains(body, "tls:") {
			t.Errorf("%s: the TLS error reaches the client: %q", name, body)
		}
	}
}

func TestBackendTLSConfigErrors(t *testing.T) {
	pair := newCertPair(t, "b")
	other := newCertPair(t, "o")
	dir := t.TempDir()
	for name, b := range map[string][]byte{"ca.pem": pair.caPEM, "c.pem": pair.certPEM, "k.pem": pair.keyPEM, "ok.pem": other.keyPEM, "junk.pem": []byte("junk")} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ name, api, want string }{
		{"h2 on http", "backend: http://127.0.0.1:1\n    backend_protocol: h2", "needs an https backend"},
		{"h2c on https", "backend: https://127.0.0.1:1\n    backend_protocol: h2c", "needs an http backend"},
		{"unknown protocol", "backend: http://127.0.0.1:1\n    backend_protocol: spdy", "must be http1, h2 or h2c"},
		{"tls on http", "backend: http://127.0.0.1:1\n    backend_tls: {ca_file: ca.pem}", "https backends only"},
		{"bad min", "backend: https://127.0.0.1:1\n    backend_tls: {min_version: \"1.1\"}", "must be 1.2 or 1.3"},
		{"cert without key", "backend: https://127.0.0.1:1\n    backend_tls: {client_cert_file: c.pem}", "come together"},
		{"missing CA file", "backend: https://127.0.0.1:1\n    backend_tls: {ca_file: nope.pem}", "ca_file"},
		{"junk CA", "backend: https://127.0.0.1:1\n    backend_tls: {ca_file: junk.pem}", "no PEM certificate"},
		{"mismatched key", "backend: https://127.0.0.1:1\n    backend_tls: {client_cert_file: c.pem, client_key_file: ok.pem}", "does not match"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, "gw.yaml")
			yaml := "apis:\n  - name: a\n    path: /a\n    " + tc.api + "\n    operations: [{id: get, method: GET, template: /x}]\n"
			if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			e, err := engine.New(ctx, engine.Options{CacheDir: cacheDir, Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close(ctx)
			g, err := gateway.New(gateway.Options{Engine: e, Source: &gateway.FileSource{Path: p}, Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			err = g.Reload(ctx)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestBackendTLSSessionResumption: new connections to a TLS backend resume
// the session (an abbreviated handshake), per API: a session one API made
// with its client certificate is never offered by another API, whose first
// connection is a full handshake presenting its own certificate.
func TestBackendTLSSessionResumption(t *testing.T) {
	serverCert := newCertPair(t, "backend.internal")
	clientA := newCertPair(t, "client-a")
	clientB := newCertPair(t, "client-b")
	clientCAs := x509.NewCertPool()
	clientCAs.AddCert(clientA.ca)
	clientCAs.AddCert(clientB.ca)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		client := "none"
		if len(r.TLS.PeerCertificates) > 0 {
			client = r.TLS.PeerCertificates[0].Subject.CommonName
		}
		// Every answer closes its connection: the next request dials.
		w.Header().Set("Connection", "close")
		fmt.Fprintf(w, "resumed=%v client=%s", r.TLS.DidResume, client)
	}), TLSConfig: &tls.Config{Certificates: []tls.Certificate{serverCert.tls}, ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: clientCAs}}
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
	be := ln.Addr().String()

	dir := t.TempDir()
	for name, b := range map[string][]byte{
		"ca.pem": serverCert.caPEM,
		"a.pem":  clientA.certPEM, "a-key.pem": clientA.keyPEM,
		"b.pem": clientB.certPEM, "b-key.pem": clientB.keyPEM,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	api := func(name, tlsYAML string) string {
		return "  - name: " + name + "\n    path: /" + name + "\n    backend: https://" + be + "/" + name + "\n" +
			"    operations: [{id: get, method: GET, template: /x}]\n    backend_tls: {ca_file: ca.pem, server_name: backend.internal" + tlsYAML + "}\n"
	}
	gw := yamlGateway(t, dir, "apis:\n"+
		api("a", ", client_cert_file: a.pem, client_key_file: a-key.pem")+
		api("b", ", client_cert_file: b.pem, client_key_file: b-key.pem")+
		api("plain", ""))

	for i, c := range []struct{ path, want string }{
		{"/a/x", "resumed=false client=client-a"},
		{"/a/x", "resumed=true client=client-a"},
		{"/a/x", "resumed=true client=client-a"},
		{"/b/x", "resumed=false client=client-b"}, // not a's session
		{"/b/x", "resumed=true client=client-b"},
		{"/plain/x", "resumed=false client=none"}, // neither a's nor b's
		{"/plain/x", "resumed=true client=none"},
		{"/a/x", "resumed=true client=client-a"},
	} {
		if code, body := get(t, gw+c.path); code != 200 || body != c.want {
			t.Fatalf("request %d, %s: %d %q, want %q", i, c.path, code, body, c.want)
		}
	}
}
