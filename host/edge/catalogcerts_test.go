package edge

import (
	"bytes"
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/catalog/certtest"
)

// TestCatalogCertificatesSwap: a loader with a catalog hook and no file
// serves what the catalog holds, over a real TLS listener; a reload swaps
// the set (new handshakes get the new certificate, an open connection
// keeps its own); an empty catalog empties the set (handshakes refused,
// each logged) instead of keeping the deleted certificate; a certificate
// expiring within 14 days is logged.
func TestCatalogCertificatesSwap(t *testing.T) {
	ca := certtest.NewCA("Edge CA")
	var mu sync.Mutex
	var current []*certtest.Pair
	hook := func(context.Context) ([]*Cert, error) {
		mu.Lock()
		defer mu.Unlock()
		var out []*Cert
		for _, p := range current {
			c, err := ParseKeyPair("catalog x", p.ChainPEM, p.KeyPEM)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
		return out, nil
	}
	set := func(ps ...*certtest.Pair) { mu.Lock(); current = ps; mu.Unlock() }
	var logs bytes.Buffer
	var logMu sync.Mutex
	log := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &logMu}, nil))
	certs := &Certs{}
	l := &CertLoader{Catalog: hook, Certs: certs, Logger: log, AllowEmpty: true}

	a1 := ca.Issue(certtest.Options{DNSNames: []string{"a.test"}, NotAfter: time.Now().Add(3 * 24 * time.Hour)})
	b1 := ca.Issue(certtest.Options{DNSNames: []string{"b.test"}})
	set(a1, b1)
	if err := l.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	logMu.Lock()
	if !strings.Contains(logs.String(), "certificate expires soon") || !strings.Contains(logs.String(), "days_left=2") {
		t.Errorf("no expiry warning:\n%s", logs.String())
	}
	logMu.Unlock()

	ln, err := tls.Listen("tcp", "127.0.0.1:0", TLSConfig(certs))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if c.(*tls.Conn).Handshake() != nil {
					return
				}
				buf := make([]byte, 1)
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
					c.Write(buf)
				}
			}()
		}
	}()
	dial := func(sni string) (*tls.Conn, error) {
		return tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", ln.Addr().String(), &tls.Config{ServerName: sni, RootCAs: ca.Pool})
	}
	fp := func(c *tls.Conn) string { return certtest.FingerprintOf(c.ConnectionState().PeerCertificates[0]) }
	for sni, want := range map[string]string{"a.test": a1.Fingerprint, "b.test": b1.Fingerprint} {
		c, err := dial(sni)
		if err != nil || fp(c) != want {
			t.Fatalf("SNI %s: %v", sni, err)
		}
		c.Close()
	}
	open, err := dial("a.test")
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()

	a2 := ca.Issue(certtest.Options{DNSNames: []string{"a.test"}})
	set(a2)
	if err := l.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	c, err := dial("a.test")
	if err != nil || fp(c) != a2.Fingerprint {
		t.Fatalf("after the swap: %v", err)
	}
	c.Close()
	// b.test is gone: the default (a2) answers, and the client refuses it.
	if _, err := dial("b.test"); err == nil {
		t.Error("b.test still verifies after its certificate left")
	}
	open.Write([]byte("x"))
	buf := make([]byte, 1)
	if _, err := open.Read(buf); err != nil || fp(open) != a1.Fingerprint {
		t.Errorf("the open connection: %v, certificate changed", err)
	}

	set()
	if err := l.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(certs.List()) != 0 {
		t.Fatal("the deleted certificate is still in the set")
	}
	if _, err := dial("a.test"); err == nil {
		t.Fatal("handshake with no certificate succeeded")
	}
	if _, err := certs.GetCertificate(&tls.ClientHelloInfo{ServerName: "a.test"}); err == nil || !strings.Contains(err.Error(), `no certificate configured (SNI "a.test")`) {
		t.Errorf("GetCertificate: %v", err)
	}
	// Without AllowEmpty (files), an empty load fails and keeps the set.
	set(b1)
	l.Load(t.Context())
	l.AllowEmpty = false
	set()
	if err := l.Load(t.Context()); err == nil || len(certs.List()) != 1 {
		t.Errorf("empty load without AllowEmpty: %v, %d certificates", err, len(certs.List()))
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
