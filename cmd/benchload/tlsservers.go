package main

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/gatehouse/gatehouse/catalog/certtest"
)

// tlsHostname is the DNS name of the benchmark's certificate; clients send
// it as SNI (h2load sends none to an IP address: both servers then answer
// with their only certificate).
const tlsHostname = "bench.gatehouse.test"

// benchCert is the certificate every TLS target serves: an ECDSA P-256
// leaf (the key type the brief asks for, and the cheapest common one to
// sign with) issued by a throwaway CA, written as PEM files for the
// gateway's --tls-cert/--tls-key and the bare proxy's -tls-cert/-tls-key.
type benchCert struct {
	CertFile, KeyFile string
	Fingerprint       string // hex SHA-256 of the leaf's DER
	Pool              *x509.CertPool
}

// writeBenchCert issues the certificate into dir.
func writeBenchCert(dir string) (*benchCert, error) {
	ca := certtest.NewCA("benchload CA")
	// Valid for 90 days: the gateway warns in its log about a certificate
	// that expires within 14.
	leaf := ca.Issue(certtest.Options{DNSNames: []string{tlsHostname, "localhost"}, CommonName: tlsHostname,
		NotAfter: time.Now().Add(90 * 24 * time.Hour)})
	c := &benchCert{
		CertFile:    filepath.Join(dir, "bench-cert.pem"),
		KeyFile:     filepath.Join(dir, "bench-key.pem"),
		Fingerprint: leaf.Fingerprint,
		Pool:        ca.Pool,
	}
	// The leaf only, as a server with a public CA sends its leaf and
	// intermediates but not the root.
	if err := os.WriteFile(c.CertFile, leaf.CertPEM, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(c.KeyFile, leaf.KeyPEM, 0o600); err != nil {
		return nil, err
	}
	return c, nil
}

// runBareTLS is the `baretls` mode: the bare tuned reverse proxy of the
// bareproxy mode (newBareProxy) served over TLS with HTTP/2, the way a Go
// programmer would: http.Server.ServeTLS with one certificate and Go's
// default tls.Config (TLS 1.2–1.3, Go's default key exchange preferences,
// ALPN h2 and http/1.1 added by net/http). It is the baseline of the tls
// mode.
func runBareTLS(args []string) error {
	fs := flag.NewFlagSet("baretls", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "listen address")
	backend := fs.String("backend", "", "backend base URL, e.g. http://127.0.0.1:9000")
	certFile := fs.String("tls-cert", "", "PEM certificate file")
	keyFile := fs.String("tls-key", "", "PEM private key file")
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	if *backend == "" || *certFile == "" || *keyFile == "" {
		return usagef("baretls: -backend, -tls-cert and -tls-key are required")
	}
	target, err := url.Parse(*backend)
	if err != nil || target.Host == "" {
		return usagef("baretls: bad -backend %q", *backend)
	}
	pair, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		return fmt.Errorf("baretls: %w", err)
	}
	srv := bareTLSServer(newBareProxy(target), pair)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("baretls: %w", err)
	}
	fmt.Fprintf(os.Stderr, "baretls: listening on %s (pid %d)\n", ln.Addr(), os.Getpid())
	return srv.ServeTLS(ln, "", "")
}

// bareTLSServer is the baseline's server: the bareproxy's limits, one
// certificate, Go's TLS defaults. Handshake errors (clients that hang up
// mid-handshake when a run ends) are not logged.
func bareTLSServer(h http.Handler, pair tls.Certificate) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{pair}},
		ErrorLog:          log.New(io.Discard, "", 0),
	}
}
