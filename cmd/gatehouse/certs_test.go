package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/catalog/certtest"
)

// freePort returns a loopback address nothing listens on (now).
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// handshake connects with SNI and returns the leaf's fingerprint, or the
// error.
func handshake(addr, sni string, roots *x509.CertPool) (string, error) {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{ServerName: sni, RootCAs: roots, NextProtos: []string{"http/1.1"}})
	if err != nil {
		return "", err
	}
	defer conn.Close()
	return fingerprint(conn), nil
}

func fingerprint(conn *tls.Conn) string {
	pc := conn.ConnectionState().PeerCertificates
	if len(pc) == 0 {
		return ""
	}
	return certtest.FingerprintOf(pc[0])
}

// get sends one HTTP/1.1 request on an open connection and returns the
// status line.
func get(t *testing.T, conn *tls.Conn, br *bufio.Reader, host string) string {
	t.Helper()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET /nothing-here HTTP/1.1\r\nHost: %s\r\n\r\n", host)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("request on the open connection: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.Status
}

// TestServeCatalogCertificates runs the real binary in catalog mode with no
// certificate file: the HTTPS listener opens when the first certificate is
// uploaded through the admin API, a renewal is served to new connections
// while an open one keeps its certificate, a delete refuses the name; the
// CLI round trip; then a restart with a certificate file serves both, the
// file winning a hostname both name.
func TestServeCatalogCertificates(t *testing.T) {
	admEnv(t)
	work := t.TempDir()
	tlsAddr := freePort(t)
	s := startServe(t, work, "--tls-listen", tlsAddr)
	first := s
	t.Cleanup(func() { first.cmd.Process.Kill() }) // on failure; stop() below otherwise
	if u, _ := s.readyLog["https_url"].(string); u != "" {
		t.Fatalf("https_url %q before any certificate", u)
	}
	if _, err := net.DialTimeout("tcp", tlsAddr, time.Second); err == nil {
		t.Fatal("the HTTPS listener is open with no certificate")
	}
	ca := certtest.NewCA("Test CA")
	a1 := ca.Issue(certtest.Options{DNSNames: []string{"a.test"}})
	if code := s.adminDo(t, "POST", "/certificates", map[string]any{"id": "a", "certificate": string(a1.ChainPEM), "key": string(a1.KeyPEM)}, &map[string]any{}); code != 201 {
		t.Fatalf("upload: %d", code)
	}
	var fp string
	if !eventually(10*time.Second, func() bool { fp, _ = handshake(tlsAddr, "a.test", ca.Pool); return fp == a1.Fingerprint }) {
		t.Fatalf("uploaded certificate not served (got %q):\n%s", fp, s.stderr.String())
	}
	if !strings.Contains(s.stderr.String(), "HTTPS listener started") {
		t.Error("no log line for the listener opening")
	}
	// The metric, per hostname.
	resp, err := http.Get(s.ops + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	mb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !regexp.MustCompile(`gatehouse_tls_certificate_expiry_seconds\{hostname="a.test",source="catalog"\} 8\d{4}(\.\d+)?(e\+\d+)?\n`).Match(mb) {
		t.Errorf("/metrics lacks the expiry of a.test:\n%s", grepLines(string(mb), "tls_certificate"))
	}

	// An open connection, then a renewal.
	old, err := tls.Dial("tcp", tlsAddr, &tls.Config{ServerName: "a.test", RootCAs: ca.Pool, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	oldR := bufio.NewReader(old)
	if st := get(t, old, oldR, "a.test"); st == "" {
		t.Fatal("no answer")
	}
	a2 := ca.Issue(certtest.Options{DNSNames: []string{"a.test"}})
	if code := s.adminDo(t, "PUT", "/certificates/a", map[string]any{"certificate": string(a2.ChainPEM), "key": string(a2.KeyPEM)}, &map[string]any{}); code != 200 {
		t.Fatalf("replace: %d", code)
	}
	if !eventually(10*time.Second, func() bool { fp, _ = handshake(tlsAddr, "a.test", ca.Pool); return fp == a2.Fingerprint }) {
		t.Fatalf("renewed certificate not served (got %q)", fp)
	}
	if st := get(t, old, oldR, "a.test"); st == "" || fingerprint(old) != a1.Fingerprint {
		t.Errorf("the open connection: %q, certificate %s", st, fingerprint(old))
	}

	// The CLI: add, list, show, replace, rm.
	data := filepath.Join(work, "data")
	b1 := ca.Issue(certtest.Options{DNSNames: []string{"b.test", "*.b.test"}})
	b2 := ca.Issue(certtest.Options{DNSNames: []string{"b.test"}})
	files := map[string][]byte{"b1.pem": b1.ChainPEM, "b1.key": b1.KeyPEM, "b2.pem": b2.CertPEM, "b2.key": b2.KeyPEM, "a1.key": a1.KeyPEM}
	for n, b := range files {
		os.WriteFile(filepath.Join(work, n), b, 0o600)
	}
	f := func(n string) string { return filepath.Join(work, n) }
	out := admOK(t, "cert", "add", "--data", data, "--id", "b", "--cert", f("b1.pem"), "--key", f("b1.key"))
	if !strings.Contains(out, b1.Fingerprint) || strings.Contains(out, "PRIVATE") {
		t.Errorf("cert add: %s", out)
	}
	if !eventually(10*time.Second, func() bool { fp, _ = handshake(tlsAddr, "x.b.test", ca.Pool); return fp == b1.Fingerprint }) {
		t.Errorf("wildcard certificate not served (got %q)", fp)
	}
	out = admOK(t, "cert", "list", "--data", data)
	if !strings.Contains(out, "HOSTNAMES") || !strings.Contains(out, "*.b.test,b.test") || !strings.Contains(out, a2.Fingerprint) {
		t.Errorf("cert list:\n%s", out)
	}
	var shown map[string]any
	if err := json.Unmarshal([]byte(admOK(t, "cert", "show", "b", "--data", data, "-o", "json")), &shown); err != nil || shown["fingerprint"] != b1.Fingerprint || shown["key"] != nil {
		t.Errorf("cert show: %v %v", shown, err)
	}
	admOK(t, "cert", "replace", "b", "--data", data, "--cert", f("b2.pem"), "--key", f("b2.key"))
	admFails(t, exitFailure, "does not match the certificate", "cert", "replace", "b", "--data", data, "--cert", f("b2.pem"), "--key", f("a1.key"))
	admFails(t, exitUsage, "--key", "cert", "add", "--data", data, "--cert", f("b2.pem"))
	admFails(t, exitFailure, "no such file", "cert", "add", "--data", data, "--cert", f("missing.pem"), "--key", f("b2.key"))
	if !eventually(10*time.Second, func() bool { fp, _ = handshake(tlsAddr, "b.test", ca.Pool); return fp == b2.Fingerprint }) {
		t.Errorf("replaced certificate not served (got %q)", fp)
	}
	admOK(t, "cert", "rm", "b", "--data", data)

	// Delete the last one: handshakes are refused, with a log line.
	if code := s.adminDo(t, "DELETE", "/certificates/a", nil, nil); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	var herr error
	if !eventually(10*time.Second, func() bool { _, herr = handshake(tlsAddr, "a.test", ca.Pool); return herr != nil }) {
		t.Fatal("deleted certificate still served")
	}
	if !eventually(5*time.Second, func() bool { return strings.Contains(s.stderr.String(), "no certificate configured") }) {
		t.Errorf("no log line for the refused handshake:\n%s", grepLines(s.stderr.String(), "tls"))
	}
	// Back for the restart below.
	s.adminDo(t, "POST", "/certificates", map[string]any{"id": "a", "certificate": string(a2.ChainPEM), "key": string(a2.KeyPEM)}, nil)
	c2 := ca.Issue(certtest.Options{DNSNames: []string{"c.test"}})
	s.adminDo(t, "POST", "/certificates", map[string]any{"id": "c", "certificate": string(c2.ChainPEM), "key": string(c2.KeyPEM)}, nil)
	s.stop(t)

	// Restart with a certificate file for c.test and d.test: the catalog's
	// a.test and the file's d.test are both served; c.test is the file's.
	file := ca.Issue(certtest.Options{DNSNames: []string{"c.test", "d.test"}})
	os.WriteFile(f("file.pem"), file.ChainPEM, 0o600)
	os.WriteFile(f("file.key"), file.KeyPEM, 0o600)
	s = startServe(t, work, "--tls-listen", "127.0.0.1:0", "--tls-cert", f("file.pem"), "--tls-key", f("file.key"))
	second := s
	t.Cleanup(func() { second.cmd.Process.Kill() })
	defer s.stop(t)
	addr := strings.TrimPrefix(s.readyLog["https_url"].(string), "https://")
	for sni, want := range map[string]string{"a.test": a2.Fingerprint, "c.test": file.Fingerprint, "d.test": file.Fingerprint, "unknown.test": file.Fingerprint} {
		conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: sni, InsecureSkipVerify: true})
		if err != nil {
			t.Fatalf("SNI %s: %v", sni, err)
		}
		if got := fingerprint(conn); got != want {
			t.Errorf("SNI %s: certificate %s, want %s", sni, got, want)
		}
		conn.Close()
	}
	// Deleting the catalog's a.test falls back to the default (the file).
	s.adminDo(t, "DELETE", "/certificates/a", nil, nil)
	if !eventually(10*time.Second, func() bool {
		conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: "a.test", InsecureSkipVerify: true})
		if err != nil {
			return false
		}
		defer conn.Close()
		return fingerprint(conn) == file.Fingerprint
	}) {
		t.Error("a.test after delete: not the default certificate")
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
