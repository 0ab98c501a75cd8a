package main

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
)

// The baseline over TLS: the bare proxy behind http.Server.ServeTLS with
// the benchmark's certificate answers over HTTP/2, and checkTLSTarget
// accepts it; servers that answer over HTTP/1.1, with another certificate
// or with something else than the backend's body are refused.
func TestBareTLSAndCheck(t *testing.T) {
	dir := t.TempDir()
	cert, err := writeBenchCert(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(cert.KeyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v %v", fi, err)
	}
	pair, err := tls.LoadX509KeyPair(cert.CertFile, cert.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	backend := httptest.NewServer(backendHandler{})
	defer backend.Close()
	u, _ := url.Parse(backend.URL)
	addr := serveTLS(t, bareTLSServer(newBareProxy(u), pair))

	client := h2Client(cert)
	defer client.CloseIdleConnections()
	ctx := context.Background()
	bare := &tlsTarget{Name: nameBare, Policies: -1, Addr: addr, URL: "https://" + addr + "/"}
	notes, err := checkTLSTarget(ctx, client, bare)
	if err != nil || !strings.Contains(strings.Join(notes, ","), "h2") {
		t.Fatalf("checkTLSTarget: %v %v", notes, err)
	}

	// The same server without HTTP/2.
	h1 := bareTLSServer(newBareProxy(u), pair)
	h1.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
	h1Addr := serveTLS(t, h1)
	_, err = checkTLSTarget(ctx, client, &tlsTarget{Name: "h1", Policies: -1, URL: "https://" + h1Addr + "/"})
	if err == nil || !strings.Contains(err.Error(), "want HTTP/2.0") {
		t.Errorf("HTTP/1.1 server: %v", err)
	}

	// Another certificate (another CA): the client refuses the handshake.
	other, err := writeBenchCert(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	otherPair, err := tls.LoadX509KeyPair(other.CertFile, other.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	otherAddr := serveTLS(t, bareTLSServer(newBareProxy(u), otherPair))
	_, err = checkTLSTarget(ctx, client, &tlsTarget{Name: "other", Policies: -1, URL: "https://" + otherAddr + "/"})
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("other certificate: %v", err)
	}

	// A fast wrong answer.
	wrong := bareTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "nope", http.StatusNotFound)
	}), pair)
	wrongAddr := serveTLS(t, wrong)
	_, err = checkTLSTarget(ctx, client, &tlsTarget{Name: "wrong", Policies: -1, URL: "https://" + wrongAddr + "/"})
	if err == nil || !strings.Contains(err.Error(), "want 200") {
		t.Errorf("404 server: %v", err)
	}

	// A "4-policy gateway" that is the bare proxy: no X-Bench reaches the backend.
	_, err = checkTLSTarget(ctx, client, &tlsTarget{Name: "gw-4", Policies: 4, URL: "https://" + addr + "/"})
	if err == nil || !strings.Contains(err.Error(), "set-header policy did not reach") {
		t.Errorf("chain missing: %v", err)
	}
}
