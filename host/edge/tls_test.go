package edge

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testCA is a throwaway certificate authority for real TLS in tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

var serial int64 = 1

func newTestCA(t testing.TB) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial++
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "Gatehouse Test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return &testCA{cert: c, key: key, pool: pool}
}

// issue returns PEM certificate and key for names, valid from nb to na.
func (ca *testCA) issue(t testing.TB, cn string, names []string, nb, na time.Time) (certPEM, keyPEM []byte) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial++
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn}, DNSNames: names,
		NotBefore: nb, NotAfter: na, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
}

func (ca *testCA) valid(t testing.TB, cn string, names ...string) (certPEM, keyPEM []byte) {
	return ca.issue(t, cn, names, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
}

func mustPair(t testing.TB, name string, c, k []byte) *Cert {
	t.Helper()
	p, err := ParseKeyPair(name, c, k)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// serveTLS serves h over TLS with certs on loopback and returns the address.
func serveTLS(t *testing.T, certs *Certs, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer("", h, ServerOptions{}, nil)
	UseTLS(srv, TLSConfig(certs))
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// handshake dials addr with SNI name, verifying against pool, and returns
// the leaf the server presented.
func handshake(addr, name string, pool *x509.CertPool) (*x509.Certificate, error) {
	conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: name, RootCAs: pool})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0], nil
}

func TestParseKeyPairBadInputs(t *testing.T) {
	ca := newTestCA(t)
	c1, k1 := ca.valid(t, "a", "a.test")
	_, k2 := ca.valid(t, "b", "b.test")
	encrypted := pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1, 2, 3}})
	legacy := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-256-CBC,00"}, Bytes: []byte{1}})
	der, _ := pem.Decode(c1)
	for _, tc := range []struct {
		name       string
		cert, key  []byte
		wantReason string
	}{
		{"garbage cert", []byte("hello, not a certificate"), k1, "no PEM CERTIFICATE block"},
		{"empty cert", nil, k1, "certificate is empty"},
		{"DER cert", der.Bytes, k1, "no PEM CERTIFICATE block"},
		{"key as cert", k1, k1, "holds a private key"},
		{"corrupt cert", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")}), k1, "does not parse"},
		{"garbage key", c1, []byte("-----BEGIN NOTHING-----"), "no PEM PRIVATE KEY"},
		{"empty key", c1, []byte(" \n"), "private key is empty"},
		{"cert as key", c1, c1, "no PEM PRIVATE KEY"},
		{"corrupt key", c1, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("junk")}), "key does not parse"},
		{"mismatched key", c1, k2, "does not match the certificate"},
		{"pkcs8 encrypted key", c1, encrypted, "encrypted with a password"},
		{"legacy encrypted key", c1, legacy, "encrypted with a password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseKeyPair("x", tc.cert, tc.key)
			if !errors.Is(err, ErrBadCertificate) || !strings.Contains(err.Error(), tc.wantReason) {
				t.Fatalf("err = %v, want ErrBadCertificate with %q", err, tc.wantReason)
			}
			if strings.Contains(err.Error(), "BEGIN") {
				t.Fatalf("error quotes input: %v", err)
			}
		})
	}
	if _, err := ParseKeyPair("ok", c1, k1); err != nil {
		t.Fatalf("good pair refused: %v", err)
	}
	var s Certs
	if err := s.Set(nil); !errors.Is(err, ErrBadCertificate) {
		t.Fatalf("empty set: %v", err)
	}
}

func TestSNIPicksCertificate(t *testing.T) {
	ca := newTestCA(t)
	ca1, ka := ca.valid(t, "a", "a.test")
	cb, kb := ca.valid(t, "b", "b.test", "*.wild.test")
	var certs Certs
	if err := certs.Set([]*Cert{mustPair(t, "a", ca1, ka), mustPair(t, "b", cb, kb)}); err != nil {
		t.Fatal(err)
	}
	addr := serveTLS(t, &certs, http.NotFoundHandler())
	for name, want := range map[string]string{"a.test": "a", "b.test": "b", "B.TEST": "b", "x.wild.test": "b"} {
		leaf, err := handshake(addr, name, ca.pool)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if leaf.Subject.CommonName != want {
			t.Errorf("SNI %s: got certificate %q, want %q", name, leaf.Subject.CommonName, want)
		}
	}
	// No SNI name (an IP) gets the default, the first; a client checking
	// a name it covers not refuses it: wrong-host certificates are refused.
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := conn.ConnectionState().PeerCertificates[0].Subject.CommonName; got != "a" {
		t.Errorf("no SNI: got %q, want the default a", got)
	}
	conn.Close()
	var hostErr x509.HostnameError
	if _, err := handshake(addr, "other.test", ca.pool); !errors.As(err, &hostErr) {
		t.Fatalf("wrong host: err = %v, want a hostname error", err)
	}
	if _, err := handshake(addr, "a.wild.test.evil", ca.pool); err == nil {
		t.Fatal("a name under no certificate verified")
	}
}

func TestExpiredCertificateServedWithWarningAndRefusedByClients(t *testing.T) {
	ca := newTestCA(t)
	c, k := ca.issue(t, "old", []string{"old.test"}, time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour))
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "c.pem"), c)
	writeFile(t, filepath.Join(dir, "k.pem"), k)
	var logs syncBuf
	l := &CertLoader{Files: []CertFile{{filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")}}, Certs: &Certs{}, Logger: textLogger(&logs)}
	if err := l.Load(context.Background()); err != nil {
		t.Fatalf("expired certificate refused at load: %v", err)
	}
	if !strings.Contains(logs.String(), "outside its validity period") {
		t.Fatalf("no expiry warning logged: %s", logs.String())
	}
	addr := serveTLS(t, l.Certs, http.NotFoundHandler())
	var invalid x509.CertificateInvalidError
	if _, err := handshake(addr, "old.test", ca.pool); !errors.As(err, &invalid) || invalid.Reason != x509.Expired {
		t.Fatalf("err = %v, want an expired certificate error", err)
	}
}

func TestReloadWithoutRestart(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	cp, kp := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	c1, k1 := ca.valid(t, "first", "r.test")
	writeFile(t, cp, c1)
	writeFile(t, kp, k1)
	var logs syncBuf
	l := &CertLoader{Files: []CertFile{{cp, kp}}, Certs: &Certs{}, Logger: textLogger(&logs)}
	if err := l.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	addr := serveTLS(t, l.Certs, http.NotFoundHandler())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kick := make(chan struct{})
	go l.Watch(ctx, 20*time.Millisecond, kick)

	waitCN := func(want string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			leaf, err := handshake(addr, "r.test", ca.pool)
			if err == nil && leaf.Subject.CommonName == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("still serving %v (err %v), want %q", leaf.Subject.CommonName, err, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitCN("first")

	// A renewal written in place is picked up by the file watch.
	c2, k2 := ca.valid(t, "second", "r.test")
	writeFile(t, cp, c2)
	writeFile(t, kp, k2)
	waitCN("second")

	// A half-written renewal (key not matching) keeps the served one.
	c3, _ := ca.valid(t, "third", "r.test")
	writeFile(t, cp, c3)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "does not match") {
		if time.Now().After(deadline) {
			t.Fatalf("bad reload not logged: %s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	waitCN("second")
	// The fixed key arrives later, and a kick (SIGHUP) loads it too.
	c3, k3 := ca.valid(t, "third", "r.test")
	writeFile(t, cp, c3)
	writeFile(t, kp, k3)
	kick <- struct{}{}
	waitCN("third")
}

func TestModernDefaultsRefuseOldClients(t *testing.T) {
	ca := newTestCA(t)
	c, k := ca.valid(t, "a", "a.test")
	var certs Certs
	_ = certs.Set([]*Cert{mustPair(t, "a", c, k)})
	addr := serveTLS(t, &certs, http.NotFoundHandler())
	for name, cfg := range map[string]*tls.Config{
		"TLS 1.1":       {MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11},
		"CBC suite":     {MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}},
		"RSA kex suite": {MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256}},
	} {
		cfg.ServerName, cfg.RootCAs = "a.test", ca.pool
		if conn, err := tls.Dial("tcp", addr, cfg); err == nil {
			conn.Close()
			t.Errorf("%s: handshake succeeded", name)
		}
	}
	conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: "a.test", RootCAs: ca.pool, MaxVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatalf("TLS 1.2 with a strong suite refused: %v", err)
	}
	if st := conn.ConnectionState(); st.CurveID != tls.X25519 {
		t.Errorf("TLS 1.2 key exchange %v, want X25519", st.CurveID)
	}
	conn.Close()
}

func TestHTTP2OverTLSAndH2C(t *testing.T) {
	ca := newTestCA(t)
	c, k := ca.valid(t, "a", "a.test")
	var certs Certs
	_ = certs.Set([]*Cert{mustPair(t, "a", c, k)})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.Proto) })
	addr := serveTLS(t, &certs, h)
	tr := &http.Transport{TLSClientConfig: &tls.Config{ServerName: "a.test", RootCAs: ca.pool}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get("https://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Proto != "HTTP/2.0" || string(body) != "HTTP/2.0" {
		t.Fatalf("proto %s / server saw %s, want HTTP/2.0", resp.Proto, body)
	}

	// h2c: only when asked.
	h2c := func(allow bool) (string, error) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := NewServer("", h, ServerOptions{}, nil)
		if allow {
			AllowH2C(srv)
		}
		go srv.Serve(ln)
		defer srv.Close()
		p := new(http.Protocols)
		p.SetUnencryptedHTTP2(true)
		ctr := &http.Transport{Protocols: p}
		defer ctr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: ctr, Timeout: 5 * time.Second}).Get("http://" + ln.Addr().String() + "/")
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		return resp.Proto, nil
	}
	if proto, err := h2c(true); err != nil || proto != "HTTP/2.0" {
		t.Fatalf("h2c allowed: %s, %v", proto, err)
	}
	if proto, err := h2c(false); err == nil {
		t.Fatalf("h2c not asked for, but a prior-knowledge HTTP/2 client got %s", proto)
	}
}

func TestRedirectHTTPS(t *testing.T) {
	hn, _ := NewHostnames([]string{"api.test"})
	for _, tc := range []struct {
		port, host, target string
		names              *Hostnames
		status             int
		loc                string
	}{
		{"443", "a.test", "/p/x?y=1", nil, 308, "https://a.test/p/x?y=1"},
		{"8443", "a.test:8080", "/p%20q", nil, 308, "https://a.test:8443/p%20q"},
		{"8443", "[::1]:8080", "/", nil, 308, "https://[::1]:8443/"},
		{"443", "evil.test", "/", hn, 421, ""},
		{"443", "API.test", "/", hn, 308, "https://api.test/"},
		{"443", "a.test@evil", "/", nil, 400, ""},
	} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: RedirectHTTPS(tc.port, tc.names)}
		go srv.Serve(ln)
		req, _ := http.NewRequest("POST", "http://"+ln.Addr().String()+tc.target, strings.NewReader("body"))
		req.Host = tc.host
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status || resp.Header.Get("Location") != tc.loc {
			t.Errorf("Host %q %s: %d %q, want %d %q", tc.host, tc.target, resp.StatusCode, resp.Header.Get("Location"), tc.status, tc.loc)
		}
	}
}

func textLogger(w *syncBuf) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

// syncBuf is a log sink a test reads while the logger writes.
type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *syncBuf) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(b)
}

func (l *syncBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func writeFile(t testing.TB, p string, b []byte) {
	t.Helper()
	// Written through a temporary file and renamed, as certbot and most
	// renewal tools do, so the watch never sees a torn file.
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
}

// FuzzParseKeyPair: any bytes as certificate and key either parse into a
// matching pair or fail with ErrBadCertificate and an error that quotes
// no input; never a panic.
func FuzzParseKeyPair(f *testing.F) {
	ca := newTestCA(f)
	c, k := ca.valid(f, "a", "a.test")
	f.Add(c, k)
	f.Add(k, c)
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), k)
	f.Add(c, []byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"))
	f.Add([]byte{}, []byte{})
	f.Fuzz(func(t *testing.T, cert, key []byte) {
		p, err := ParseKeyPair("fuzz", cert, key)
		if err != nil {
			if !errors.Is(err, ErrBadCertificate) {
				t.Fatalf("error not ErrBadCertificate: %v", err)
			}
			if strings.Contains(err.Error(), "-----") {
				t.Fatalf("error quotes PEM input: %v", err)
			}
			return
		}
		if p.Leaf == nil || !publicKeyMatches(p.Leaf.PublicKey, p.TLS.PrivateKey.(crypto.Signer)) {
			t.Fatal("a pair was accepted whose key does not match")
		}
	})
}

// FuzzRedirectHTTPS: whatever the Host, the redirect never leaves the
// https scheme or names a host other than the one asked for.
func FuzzRedirectHTTPS(f *testing.F) {
	for _, h := range []string{"a.test", "a.test:80", "[::1]:8080", "a.test@evil", "evil/x", "", "A.TEST.", "1.2.3.4"} {
		f.Add(h, "/p?q")
	}
	h := RedirectHTTPS("8443", nil)
	f.Fuzz(func(t *testing.T, host, target string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Host = host
		if u, err := url.ParseRequestURI(target); err == nil {
			r.URL = u
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusPermanentRedirect {
			return
		}
		loc, err := url.Parse(w.Header().Get("Location"))
		if err != nil {
			t.Fatalf("Location %q does not parse: %v", w.Header().Get("Location"), err)
		}
		want, _ := splitHostPort(host)
		want, _ = normHost(want)
		if loc.Scheme != "https" || loc.Hostname() != strings.Trim(want, "[]") || loc.Port() != "8443" || loc.User != nil {
			t.Fatalf("Host %q → Location %q", host, loc)
		}
	})
}
