package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/catalog/certtest"
)

// TestExportApplyCertificates moves edge certificates from one real
// server to a new one with the CLI: `cert add` on the first, `export`
// (no keys in it), key files next to the document, `apply` on the second.
// The second then serves the uploaded certificates (real TLS handshakes)
// and exports the same document. Bad documents are refused with the
// field's path and change nothing.
func TestExportApplyCertificates(t *testing.T) {
	admEnv(t)
	ca := certtest.NewCA("Export Apply CA")
	a := ca.Issue(certtest.Options{DNSNames: []string{"a.test"}})
	b := ca.Issue(certtest.Options{DNSNames: []string{"b.test", "*.b.test"}, Key: certtest.RSAKey(2048)})

	work1 := t.TempDir()
	s1 := startServe(t, work1, "--tls-listen", freePort(t))
	t.Cleanup(func() { s1.cmd.Process.Kill() })
	data1 := filepath.Join(work1, "data")
	f := func(name string, b []byte) string {
		p := filepath.Join(work1, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	admOK(t, "cert", "add", "--data", data1, "--id", "edge-a", "--cert", f("a.pem", a.ChainPEM), "--key", f("a.key", a.KeyPEM))
	admOK(t, "cert", "add", "--data", data1, "--id", "edge-b", "--cert", f("b.pem", b.ChainPEM), "--key", f("b.key", b.KeyPEM))
	admOK(t, "api", "create", "--data", data1, "--id", "echo", "--name", "Echo", "--path", "/echo", "--backend", "http://127.0.0.1:9")
	exported := admOK(t, "export", "--data", data1)
	if strings.Contains(exported, "PRIVATE") || !strings.Contains(exported, "fingerprint: "+a.Fingerprint) || !strings.Contains(exported, "id: echo") {
		t.Fatalf("export:\n%s", exported)
	}

	// The document and its key files, in a directory of their own.
	docs := t.TempDir()
	os.Mkdir(filepath.Join(docs, "keys"), 0o700)
	os.WriteFile(filepath.Join(docs, "keys", "a.key"), a.KeyPEM, 0o600)
	os.WriteFile(filepath.Join(docs, "keys", "b.key"), b.KeyPEM, 0o600)
	os.WriteFile(filepath.Join(filepath.Dir(docs), "outside.key"), a.KeyPEM, 0o600)
	write := func(name, keyA, keyB string) string {
		s := strings.Replace(exported, "  - id: edge-a\n", "  - id: edge-a\n    keyFile: "+keyA+"\n", 1)
		s = strings.Replace(s, "  - id: edge-b\n", "  - id: edge-b\n    keyFile: "+keyB+"\n", 1)
		if s == exported {
			t.Fatal("no certificates in the export")
		}
		p := filepath.Join(docs, name)
		os.WriteFile(p, []byte(s), 0o600)
		return p
	}
	good := write("catalog.yaml", "keys/a.key", "keys/b.key")

	work2 := t.TempDir()
	tls2 := freePort(t)
	s2 := startServe(t, work2, "--tls-listen", tls2)
	t.Cleanup(func() { s2.cmd.Process.Kill() })
	data2 := filepath.Join(work2, "data")
	v0 := admOK(t, "catalog-version", "--data", data2)
	noKeys := filepath.Join(docs, "export.yaml")
	os.WriteFile(noKeys, []byte(exported), 0o600)
	for _, c := range []struct{ file, want string }{
		{noKeys, "certificates[0].key"},
		{write("outside.yaml", "../outside.key", "keys/b.key"), "certificates[0].keyFile"},
		{write("swapped.yaml", "keys/b.key", "keys/a.key"), "certificates[0].key: does not match the certificate"},
	} {
		r := admFails(t, exitFailure, c.want, "apply", "--data", data2, "-f", c.file)
		t.Logf("%s → %s", filepath.Base(c.file), strings.TrimSpace(r.errOut))
		if strings.Contains(r.errOut, "PRIVATE") {
			t.Errorf("%s: the error quotes a key:\n%s", c.file, r.errOut)
		}
	}
	if v := admOK(t, "catalog-version", "--data", data2); v != v0 {
		t.Fatalf("refused applies wrote: version %s → %s", v0, v)
	}
	if _, err := handshake(tls2, "a.test", ca.Pool); err == nil {
		t.Fatal("a certificate is served before the apply")
	}

	out := admOK(t, "apply", "--data", data2, "-f", good, "--dry-run")
	line := func(s string) *regexp.Regexp {
		return regexp.MustCompile(`(?m)^` + strings.Join(strings.Fields(s), `\s+`) + `$`)
	}
	if !line("create certificate edge-a").MatchString(out) || !strings.Contains(out, "dry run") {
		t.Errorf("dry run:\n%s", out)
	}
	out = admOK(t, "apply", "--data", data2, "-f", good)
	if !line("create certificate edge-b").MatchString(out) || !strings.Contains(out, "3 changes applied") {
		t.Errorf("apply:\n%s", out)
	}
	for sni, want := range map[string]string{"a.test": a.Fingerprint, "b.test": b.Fingerprint, "x.b.test": b.Fingerprint} {
		var fp string
		var err error
		if !eventually(10e9, func() bool { fp, err = handshake(tls2, sni, ca.Pool); return fp == want }) {
			t.Errorf("SNI %s after apply: certificate %s (%v), want %s", sni, fp, err, want)
		}
	}
	if again := admOK(t, "export", "--data", data2); again != exported {
		t.Errorf("export after apply differs:\n--- first\n%s\n--- second\n%s", exported, again)
	}
	if out := admOK(t, "apply", "--data", data2, "-f", good); !strings.Contains(out, "no changes") {
		t.Errorf("second apply:\n%s", out)
	}
	if out := admOK(t, "apply", "--data", data2, "-f", noKeys); !strings.Contains(out, "no changes") {
		t.Errorf("apply of the export itself (no keys) on the copy:\n%s", out)
	}
	// A document from before certificates were exported, with --prune:
	// nothing changes, the certificates are still served.
	before, _, ok := strings.Cut(exported, "certificates:\n")
	if !ok || !strings.Contains(before, "apis:") {
		t.Fatalf("cannot cut the certificates out of:\n%s", exported)
	}
	old := filepath.Join(docs, "old.yaml")
	os.WriteFile(old, []byte(before), 0o600)
	if out := admOK(t, "apply", "--data", data2, "-f", old, "--prune"); !strings.Contains(out, "no changes") {
		t.Errorf("old document with --prune:\n%s", out)
	}
	if fp, err := handshake(tls2, "a.test", ca.Pool); fp != a.Fingerprint {
		t.Errorf("after the old document: certificate %s (%v)", fp, err)
	}
}
