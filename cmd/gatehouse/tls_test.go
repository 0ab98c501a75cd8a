package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// testCA signs server certificates for the TLS tests of the binary.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "CA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	c, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return &testCA{c, key, pool}
}

// write issues a certificate for cn (also its DNS name) and writes it
// and its key to dir/cn.pem and dir/cn-key.pem.
func (ca *testCA) write(t *testing.T, dir, file, cn string) (certFile, keyFile string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn}, DNSNames: []string{strings.SplitN(cn, "#", 2)[0]},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	certFile, keyFile = filepath.Join(dir, file+".pem"), filepath.Join(dir, file+"-key.pem")
	for p, b := range map[string][]byte{
		certFile: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyFile:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}),
	} {
		if err := os.WriteFile(p+".tmp", b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(p+".tmp", p); err != nil {
			t.Fatal(err)
		}
	}
	return certFile, keyFile
}

// TestServeTLS runs the real binary with two certificates, the HTTPS
// redirect and a SIGHUP reload; bad TLS flags fail at start, naming the
// problem.
func TestServeTLS(t *testing.T) {
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "backend "+r.URL.Path) }))
	defer be.Close()
	work := t.TempDir()
	cfg := filepath.Join(work, "gateway.yaml")
	if err := os.WriteFile(cfg, []byte("apis:\n  - name: a\n    path: /a\n    backend: "+be.URL+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ca := newTestCA(t)
	ac, ak := ca.write(t, work, "a", "a.test")
	bc, bk := ca.write(t, work, "b", "b.test")
	s := startServe(t, work, "--config", cfg, "--tls-listen", "127.0.0.1:0", "--tls-cert", ac, "--tls-key", ak, "--tls-cert", bc, "--tls-key", bk, "--https-redirect")
	defer s.stop(t)
	httpsURL, _ := s.readyLog["https_url"].(string)
	if !strings.HasPrefix(httpsURL, "https://") {
		t.Fatalf("no https_url in the ready log: %v", s.readyLog)
	}
	addr := strings.TrimPrefix(httpsURL, "https://")

	get := func(sni string) (*http.Response, string, string) {
		t.Helper()
		tr := &http.Transport{TLSClientConfig: &tls.Config{ServerName: sni, RootCAs: ca.pool}, ForceAttemptHTTP2: true}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("https://" + addr + "/a/x")
		if err != nil {
			return nil, "", err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b), resp.TLS.PeerCertificates[0].Subject.CommonName
	}
	for _, sni := range []string{"a.test", "b.test"} {
		resp, body, cn := get(sni)
		if resp == nil || resp.StatusCode != 200 || resp.Proto != "HTTP/2.0" || body != "backend /x" || cn != sni {
			t.Fatalf("SNI %s: %v %q cert %q", sni, resp, body, cn)
		}
	}
	// The plain listener redirects.
	req, _ := http.NewRequest("GET", s.gateway+"/a/x?q=1", nil)
	req.Host = "a.test:80"
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, port, _ := strings.Cut(addr, ":")
	if resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != "https://a.test:"+port+"/a/x?q=1" {
		t.Errorf("redirect: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	// A renewed certificate is served after SIGHUP (or the file watch),
	// without a restart.
	ca.write(t, work, "a", "a.test#renewed")
	if !eventually(10*time.Second, func() bool {
		s.cmd.Process.Signal(syscall.SIGHUP)
		_, _, cn := get("a.test")
		return cn == "a.test#renewed"
	}) {
		t.Fatalf("renewed certificate not served:\n%s", s.stderr.String())
	}

	bin := gatehouseBinary(t)
	other := filepath.Join(work, "other")
	os.MkdirAll(other, 0o700)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--tls-cert", ac}, 2, "come in pairs"},
		{[]string{"--tls-cert", ac, "--tls-key", bk}, 1, "does not match the certificate"},
		{[]string{"--tls-cert", ak, "--tls-key", ak}, 1, "holds a private key"},
		{[]string{"--tls-cert", filepath.Join(work, "missing.pem"), "--tls-key", ak}, 1, "no such file"},
		{[]string{"--https-redirect"}, 2, "--https-redirect needs certificates"},
	} {
		cmd := exec.Command(bin, append([]string{"serve", "--config", cfg, "--data", filepath.Join(other, "d"), "--listen", "127.0.0.1:0", "--ops-listen", "", "--tls-listen", "127.0.0.1:0"}, tc.args...)...)
		out, err := cmd.CombinedOutput()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != tc.code || !strings.Contains(string(out), tc.want) {
			t.Errorf("serve %v: %v, want exit %d with %q\n%s", tc.args, err, tc.code, tc.want, out)
		}
	}
}

// TestServeH2C: --h2c makes the plain listener speak prior-knowledge
// HTTP/2 (and still HTTP/1.1).
func TestServeH2C(t *testing.T) {
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer be.Close()
	work := t.TempDir()
	cfg := filepath.Join(work, "gateway.yaml")
	if err := os.WriteFile(cfg, []byte("apis:\n  - name: a\n    path: /a\n    backend: "+be.URL+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, work, "--config", cfg, "--h2c")
	defer s.stop(t)
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: p}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get(s.gateway + "/a/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Proto != "HTTP/2.0" {
		t.Fatalf("h2c: %d %s", resp.StatusCode, resp.Proto)
	}
	resp, err = http.Get(s.gateway + "/a/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Proto != "HTTP/1.1" {
		t.Fatalf("HTTP/1.1 next to h2c: %d %s", resp.StatusCode, resp.Proto)
	}
}
