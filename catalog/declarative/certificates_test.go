package declarative_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/catalog/certtest"
	"github.com/gatehouse/gatehouse/catalog/declarative"
)

func addCert(t testing.TB, st catalog.Store, id string, p *certtest.Pair) {
	t.Helper()
	if _, err := st.CreateCertificate(context.Background(), catalog.CertificateUpload{ID: id, Certificate: string(p.ChainPEM), Key: string(p.KeyPEM)}); err != nil {
		t.Fatal(err)
	}
}

func exportText(t *testing.T, st catalog.Store) string {
	t.Helper()
	d, err := declarative.Export(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	b, err := declarative.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// keysOf returns every stored certificate's fingerprint and key.
func keysOf(t *testing.T, st catalog.Store) map[string]string {
	t.Helper()
	ps, err := st.CertificateKeyPairs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, p := range ps {
		out[p.ID] = p.Fingerprint + "\n" + string(p.KeyPEM)
	}
	return out
}

// TestCertificatesRoundTrip exports a catalog with certificates (no keys in
// the text), adds key files next to the document, applies it to an empty
// catalog and exports that: the same document, the same keys stored. A
// second apply changes nothing; an older document without the field
// changes nothing, even with prune.
func TestCertificatesRoundTrip(t *testing.T) {
	ctx := context.Background()
	src := open(t)
	ca := certtest.NewCA("Round Trip CA")
	a := ca.Issue(certtest.Options{DNSNames: []string{"a.test", "*.a.test"}})
	b := ca.Issue(certtest.Options{CommonName: "b.test", Key: certtest.RSAKey(2048)})
	addCert(t, src, "edge-a", a)
	addCert(t, src, "edge-b", b)
	if _, err := declarative.Apply(ctx, src, parseFile(t, "testdata/catalog.yaml"), false); err != nil {
		t.Fatal(err)
	}
	text := exportText(t, src)
	if strings.Contains(text, "PRIVATE KEY") || strings.Contains(text, "key:") {
		t.Fatalf("export carries a key:\n%s", text)
	}
	for _, want := range []string{"id: edge-a", "fingerprint: " + a.Fingerprint, "- '*.a.test'", "certificate: |"} {
		if !strings.Contains(text, want) {
			t.Errorf("export lacks %q:\n%s", want, text)
		}
	}

	// The secret named value's value is not exported either: given here.
	secret := "  - name: partner-token\n    secret: true\n"
	if !strings.Contains(text, secret) {
		t.Fatalf("export lacks %q:\n%s", secret, text)
	}
	input := strings.Replace(text, secret, "  - name: partner-token\n    value: s3cret\n    secret: true\n", 1)

	// Without keys, the document cannot create the certificates.
	dst := open(t)
	v0 := version(t, dst)
	_, err := declarative.Apply(ctx, dst, parse(t, input), false)
	var fe *catalog.FieldError
	if !errors.As(err, &fe) || fe.Path != "certificates[0].key" || !strings.Contains(fe.Msg, "must be given") {
		t.Fatalf("apply without keys: %v", err)
	}
	if version(t, dst) != v0 {
		t.Fatal("a refused apply wrote")
	}

	// With key files next to the document.
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "keys"), 0o700)
	os.WriteFile(filepath.Join(dir, "keys", "a.key"), a.KeyPEM, 0o600)
	os.WriteFile(filepath.Join(dir, "b.key"), b.KeyPEM, 0o600)
	withFiles := strings.Replace(input, "  - id: edge-a\n", "  - id: edge-a\n    keyFile: keys/a.key\n", 1)
	withFiles = strings.Replace(withFiles, "  - id: edge-b\n", "  - id: edge-b\n    keyFile: b.key\n", 1)
	if withFiles == input {
		t.Fatal("could not add keyFile lines")
	}
	if _, err := declarative.Parse([]byte(withFiles)); err == nil || !strings.Contains(err.Error(), "certificates[0].keyFile") {
		t.Fatalf("Parse took keyFile (the admin API must not read files): %v", err)
	}
	resolved, changed, err := declarative.ResolveKeyFiles([]byte(withFiles), dir)
	if err != nil || !changed {
		t.Fatalf("resolve: %v %v", changed, err)
	}
	changes, err := declarative.Apply(ctx, dst, parse(t, string(resolved)), false)
	if err != nil {
		t.Fatal(err)
	}
	if s := summary(changes); !strings.Contains(s, "create certificate edge-a") || !strings.Contains(s, "create certificate edge-b") {
		t.Errorf("changes:\n%s", s)
	}
	if got := exportText(t, dst); got != text {
		t.Errorf("export after apply differs:\n--- source\n%s\n--- applied\n%s", text, got)
	}
	srcKeys, dstKeys := keysOf(t, src), keysOf(t, dst)
	for id, k := range srcKeys {
		if dstKeys[id] != k {
			t.Errorf("certificate %s: stored key or chain differs after the round trip", id)
		}
	}
	// Again, with keys (unchanged) and without: no change.
	for _, doc := range []string{string(resolved), input} {
		v := version(t, dst)
		if changes, err := declarative.Apply(ctx, dst, parse(t, doc), true); err != nil || len(changes) != 0 {
			t.Errorf("second apply: %v\n%s", err, summary(changes))
		}
		if version(t, dst) != v {
			t.Error("an apply without changes wrote")
		}
	}

	// A document from before certificates existed: applied with prune, it
	// leaves them alone.
	old := strings.Split(input, "certificates:\n")[0]
	if strings.Contains(old, "certificates") || !strings.Contains(old, "apis:") {
		t.Fatalf("could not cut the certificates out:\n%s", old)
	}
	if changes, err := declarative.Apply(ctx, dst, parse(t, old), true); err != nil || strings.Contains(summary(changes), "certificate") {
		t.Errorf("old document: %v\n%s", err, summary(changes))
	}
	if got := keysOf(t, dst); len(got) != 2 {
		t.Errorf("certificates after an old document: %d", len(got))
	}
	// certificates: [] with prune deletes them; without prune it does not.
	empty := old + "certificates: []\n"
	if changes, _ := declarative.Apply(ctx, dst, parse(t, empty), false); len(changes) != 0 {
		t.Errorf("certificates: [] without prune: %s", summary(changes))
	}
	changes, err = declarative.Apply(ctx, dst, parse(t, empty), true)
	if err != nil || summary(changes) != "delete certificate edge-a\ndelete certificate edge-b" {
		t.Errorf("prune: %v\n%s", err, summary(changes))
	}
}

// TestCertificatesRenewal replaces a certificate through a document: a
// renewal on the same key needs no key in the document (the stored one is
// kept); a new key pair without its key is refused; with it, applied.
func TestCertificatesRenewal(t *testing.T) {
	ctx := context.Background()
	st := open(t)
	ca := certtest.NewCA("Renewal CA")
	first := ca.Issue(certtest.Options{DNSNames: []string{"r.test"}})
	addCert(t, st, "r", first)
	doc := func(p *certtest.Pair, key string) string {
		s := "version: 1\ncertificates:\n  - id: r\n    certificate: |\n" + indent(string(p.ChainPEM), "      ")
		if key != "" {
			s += "    key: |\n" + indent(key, "      ")
		}
		return s
	}
	sameKey := ca.Issue(certtest.Options{DNSNames: []string{"r.test"}, Key: first.Key})
	changes, err := declarative.Apply(ctx, st, parse(t, doc(sameKey, "")), false)
	if err != nil || len(changes) != 1 || !strings.Contains(changes[0].Diff, "key: kept") || !strings.Contains(changes[0].Diff, "fingerprint: ") {
		t.Fatalf("renewal on the same key: %v %+v", err, changes)
	}
	if got := keysOf(t, st)["r"]; !strings.HasPrefix(got, sameKey.Fingerprint+"\n") {
		t.Errorf("stored after renewal: %.64s", got)
	}

	newKey := ca.Issue(certtest.Options{DNSNames: []string{"r.test", "www.r.test"}})
	v := version(t, st)
	_, err = declarative.Apply(ctx, st, parse(t, doc(newKey, "")), false)
	var fe *catalog.FieldError
	if !errors.As(err, &fe) || fe.Path != "certificates[0].key" || !strings.Contains(fe.Msg, "does not match the stored key") {
		t.Fatalf("new key pair without key: %v", err)
	}
	if version(t, st) != v {
		t.Fatal("refused apply wrote")
	}
	changes, err = declarative.Apply(ctx, st, parse(t, doc(newKey, string(newKey.KeyPEM))), false)
	if err != nil || len(changes) != 1 || !strings.Contains(changes[0].Diff, "key: replaced") || !strings.Contains(changes[0].Diff, `hostnames: "r.test" → "r.test,www.r.test"`) {
		t.Fatalf("new key pair with key: %v %+v", err, changes)
	}
	if got := keysOf(t, st)["r"]; got != newKey.Fingerprint+"\n"+string(newKey.KeyPEM) {
		t.Errorf("stored after new key pair: %.64s", got)
	}
}

func indent(s, by string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(s, "\n") {
		if l != "" {
			b.WriteString(by + l)
		}
	}
	return b.String()
}

// TestCertificatesBadInput: each bad document is refused with the path of
// the field, and nothing is written.
func TestCertificatesBadInput(t *testing.T) {
	ctx := context.Background()
	st := open(t)
	ca := certtest.NewCA("Bad Input CA")
	other := certtest.NewCA("Other CA")
	held := ca.Issue(certtest.Options{DNSNames: []string{"held.test"}})
	addCert(t, st, "held", held)
	good := ca.Issue(certtest.Options{DNSNames: []string{"good.test"}})
	second := ca.Issue(certtest.Options{DNSNames: []string{"second.test", "good.test"}})
	expired := ca.Issue(certtest.Options{DNSNames: []string{"old.test"}, NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour)})
	future := ca.Issue(certtest.Options{DNSNames: []string{"future.test"}, NotBefore: time.Now().Add(time.Hour)})
	takesHeld := ca.Issue(certtest.Options{DNSNames: []string{"held.test"}})
	foreign := other.Issue(certtest.Options{DNSNames: []string{"good.test"}})
	misordered := append(append([]byte{}, ca.PEM...), good.CertPEM...)
	weak := ca.Issue(certtest.Options{DNSNames: []string{"weak.test"}, Key: certtest.RSAKey(1024)})

	entry := func(id string, chain []byte, extra ...string) string {
		s := "  - id: " + id + "\n    certificate: |\n" + indent(string(chain), "      ")
		for _, e := range extra {
			s += "    " + e + "\n"
		}
		return s
	}
	key := func(p *certtest.Pair) string { return "key: |\n" + indent(string(p.KeyPEM), "      ") }
	for _, c := range []struct {
		name, certs, path, msg string
	}{
		{"key of another certificate", entry("n", good.ChainPEM, key(second)), "certificates[0].key", "does not match the certificate"},
		{"expired", entry("n", expired.ChainPEM, key(expired)), "certificates[0].certificate", "expired on"},
		{"not yet valid", entry("n", future.ChainPEM, key(future)), "certificates[0].certificate", "not valid before"},
		{"garbage PEM", entry("n", []byte("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n"), key(good)), "certificates[0].certificate", "does not parse"},
		{"not PEM", "  - id: n\n    certificate: hello\n    " + key(good) + "\n", "certificates[0].certificate", "no PEM CERTIFICATE block"},
		{"empty certificate", "  - id: n\n    certificate: \"\"\n", "certificates[0].certificate", "must not be empty"},
		{"key in the certificate", entry("n", append(append([]byte{}, good.ChainPEM...), good.KeyPEM...)), "certificates[0].certificate", "holds a private key"},
		{"garbage key", entry("n", good.ChainPEM, "key: not a key"), "certificates[0].key", "no PEM PRIVATE KEY block"},
		{"chain out of order", entry("n", misordered, key(good)), "certificates[0].certificate", "did not issue"},
		{"key inline and by file", entry("n", good.ChainPEM, key(good), "keyFile: good.key"), "certificates[0].keyFile", "not both"},
		{"keyFile sent to the admin API", entry("n", good.ChainPEM, "keyFile: good.key"), "certificates[0].keyFile", "gatehouse apply"},
		{"new without key", entry("n", good.ChainPEM), "certificates[0].key", "must be given to create"},
		{"same id twice", entry("n", good.ChainPEM, key(good)) + entry("n", second.ChainPEM, key(second)), "certificates[1].id", "appears twice"},
		{"same hostname twice", entry("n", good.ChainPEM, key(good)) + entry("m", foreign.ChainPEM, key(foreign)), "certificates[1].certificate", `hostname "good.test"`},
		{"hostname of a kept certificate", entry("n", takesHeld.ChainPEM, key(takesHeld)), "certificates[0].certificate", `certificate "held" serves`},
		{"wrong hostnames", entry("n", good.ChainPEM, key(good), "hostnames: [other.test]"), "certificates[0].hostnames", "the certificate names [good.test]"},
		{"wrong fingerprint", entry("n", good.ChainPEM, key(good), "fingerprint: "+held.Fingerprint), "certificates[0].fingerprint", good.Fingerprint},
		{"wrong notAfter", entry("n", good.ChainPEM, key(good), "notAfter: 2030-01-01T00:00:00Z"), "certificates[0].notAfter", "expires"},
		{"bad id", entry("a b", good.ChainPEM, key(good)), "certificates[0].id", ""},
		{"unknown field", entry("n", good.ChainPEM, key(good), "sni: [x.test]"), "certificates[0].sni", "unknown field"},
		{"held renewed with another key, no key", entry("held", takesHeld.ChainPEM), "certificates[0].key", "does not match the stored key"},
		{"certificate over 64 KiB", entry("n", []byte(strings.Repeat(string(good.ChainPEM), 1+catalog.MaxCertificateBody/len(good.ChainPEM))), key(good)), "certificates[0].certificate", "larger than"},
		{"RSA key of 1024 bits", entry("n", weak.ChainPEM, key(weak)), "certificates[0].key", "at least 2048"},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := version(t, st)
			before := keysOf(t, st)
			doc := "version: 1\ncertificates:\n" + c.certs
			d, err := declarative.Parse([]byte(doc))
			if err == nil {
				_, err = declarative.Apply(ctx, st, d, false)
			}
			var fe *catalog.FieldError
			if !errors.As(err, &fe) || fe.Path != c.path || !strings.Contains(fe.Msg, c.msg) {
				t.Fatalf("got %v; want %s: …%s…", err, c.path, c.msg)
			}
			if strings.Contains(err.Error(), "PRIVATE KEY-----") || strings.Contains(err.Error(), "MIG") {
				t.Errorf("the error quotes key material: %v", err)
			}
			if version(t, st) != v || len(keysOf(t, st)) != len(before) {
				t.Error("a refused document wrote")
			}
		})
	}
	// With prune the kept certificate's hostname is free: the held one is
	// deleted first, then the new one created, in one apply.
	doc := "version: 1\ncertificates:\n" + entry("n", takesHeld.ChainPEM, key(takesHeld))
	changes, err := declarative.Apply(ctx, st, parse(t, doc), true)
	if err != nil || summary(changes) != "delete certificate held\ncreate certificate n" {
		t.Fatalf("prune and take the hostname: %v\n%s", err, summary(changes))
	}
}

// TestResolveKeyFiles: what `gatehouse apply` reads for keyFile, and what
// it refuses.
func TestResolveKeyFiles(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "doc")
	os.MkdirAll(filepath.Join(dir, "keys"), 0o700)
	ca := certtest.NewCA("Key File CA")
	p := ca.Issue(certtest.Options{DNSNames: []string{"k.test"}})
	os.WriteFile(filepath.Join(dir, "keys", "k.key"), p.KeyPEM, 0o600)
	os.WriteFile(filepath.Join(root, "outside.key"), p.KeyPEM, 0o600)
	os.WriteFile(filepath.Join(dir, "big.key"), make([]byte, catalog.MaxCertificateBody+1), 0o600)
	os.WriteFile(filepath.Join(dir, "empty.key"), nil, 0o600)
	os.Symlink(filepath.Join(root, "outside.key"), filepath.Join(dir, "out-link.key"))
	os.Symlink("../outside.key", filepath.Join(dir, "rel-out-link.key"))
	os.Symlink("keys/k.key", filepath.Join(dir, "in-link.key"))
	fifo := filepath.Join(dir, "fifo.key")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Logf("no FIFO: %v", err)
		fifo = ""
	}
	doc := func(line string) []byte {
		return []byte("version: 1\ncertificates:\n  - id: k\n    certificate: |\n" + indent(string(p.ChainPEM), "      ") + "    " + line + "\n")
	}
	for _, name := range []string{"keys/k.key", "in-link.key", "./keys/../keys/k.key"} {
		out, changed, err := declarative.ResolveKeyFiles(doc("keyFile: "+name), dir)
		if err != nil || !changed {
			t.Fatalf("%s: %v %v", name, changed, err)
		}
		d, err := declarative.Parse(out)
		if err != nil {
			t.Fatalf("%s: resolved document: %v\n%s", name, err, out)
		}
		if d.Certificates[0].Key != string(p.KeyPEM) || d.Certificates[0].KeyFile != "" {
			t.Errorf("%s: key %q", name, d.Certificates[0].Key)
		}
	}
	// JSON in, YAML out.
	j := `{"version": 1, "apis": [], "certificates": [{"id": "k", "keyFile": "keys/k.key", "certificate": ` + jsonString(string(p.ChainPEM)) + `}]}`
	if out, changed, err := declarative.ResolveKeyFiles([]byte(j), dir); err != nil || !changed {
		t.Fatalf("json: %v %v", changed, err)
	} else if d, err := declarative.Parse(out); err != nil || d.Certificates[0].Key != string(p.KeyPEM) || d.APIs == nil {
		t.Fatalf("json: %v", err)
	}
	// Unchanged: no keyFile, or a document that does not parse.
	for _, in := range []string{"version: 1\napis: []\n", "version: 1\ncertificates: [\n  keyFile", string(doc("key: x"))} {
		if out, changed, err := declarative.ResolveKeyFiles([]byte(in), dir); err != nil || changed || string(out) != in {
			t.Errorf("%q: %v %v", in, changed, err)
		}
	}
	bad := []struct{ line, dir, msg string }{
		{"keyFile: ../outside.key", dir, "inside the document's directory"},
		{"keyFile: " + filepath.Join(root, "outside.key"), dir, "inside the document's directory"},
		{"keyFile: out-link.key", dir, "leads out of the document's directory"},
		{"keyFile: rel-out-link.key", dir, "leads out of the document's directory"},
		{"keyFile: missing.key", dir, "no such file"},
		{"keyFile: keys", dir, "not a regular file"},
		{"keyFile: big.key", dir, "larger than"},
		{"keyFile: empty.key", dir, "is empty"},
		{"keyFile: keys/k.key", "", "stdin"},
		{"keyFile: 12", dir, "must be a file name"},
		{"keyFile: [a]", dir, "must be a file name"},
		{"keyFile: keys/k.key\n    key: x", dir, "not both"},
	}
	if fifo != "" {
		bad = append(bad, struct{ line, dir, msg string }{"keyFile: fifo.key", dir, "not a regular file"})
	}
	for _, c := range bad {
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _, err := declarative.ResolveKeyFiles(doc(c.line), c.dir)
			var fe *catalog.FieldError
			if !errors.As(err, &fe) || fe.Path != "certificates[0].keyFile" || !strings.Contains(fe.Msg, c.msg) {
				t.Errorf("%s (dir %q): got %v, want …%s…", c.line, c.dir, err, c.msg)
			}
			if err != nil && strings.Contains(err.Error(), "PRIVATE") {
				t.Errorf("%s: the error quotes the file", c.line)
			}
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: ResolveKeyFiles hangs", c.line)
		}
	}
}

func jsonString(s string) string {
	r := strings.NewReplacer("\\", "\\\\", "\"", "\\\"", "\n", "\\n")
	return "\"" + r.Replace(s) + "\""
}

// TestCertificatesExpiredUnchanged: a certificate that expired while
// stored is left alone by a document carrying the same chain (with or
// without its key), as the catalog keeps serving it; creating it anew is
// refused, as `cert add` refuses it.
func TestCertificatesExpiredUnchanged(t *testing.T) {
	ctx := context.Background()
	st := open(t)
	ca := certtest.NewCA("Expiry CA")
	p := ca.Issue(certtest.Options{DNSNames: []string{"soon.test"}, NotAfter: time.Now().Add(2 * time.Second)})
	addCert(t, st, "soon", p)
	time.Sleep(time.Until(p.Leaf.NotAfter) + 1100*time.Millisecond)
	text := exportText(t, st)
	withKey := strings.Replace(text, "  - id: soon\n", "  - id: soon\n    key: |\n"+indent(string(p.KeyPEM), "      "), 1)
	for _, doc := range []string{text, withKey} {
		if changes, err := declarative.Apply(ctx, st, parse(t, doc), true); err != nil || len(changes) != 0 {
			t.Errorf("expired, unchanged: %v\n%s", err, summary(changes))
		}
	}
	_, err := declarative.Apply(ctx, open(t), parse(t, withKey), false)
	var fe *catalog.FieldError
	if !errors.As(err, &fe) || fe.Path != "certificates[0].certificate" || !strings.Contains(fe.Msg, "expired on") {
		t.Errorf("creating an expired certificate: %v", err)
	}
}

// TestCertificatesMoveHostname moves a hostname between certificates of
// one document: the one giving it up is written first, whatever the
// order of the document. Two certificates swapping names cannot be
// ordered and are refused with nothing written.
func TestCertificatesMoveHostname(t *testing.T) {
	ctx := context.Background()
	st := open(t)
	ca := certtest.NewCA("Move CA")
	old1 := ca.Issue(certtest.Options{DNSNames: []string{"www.m.test", "m.test"}})
	old2 := ca.Issue(certtest.Options{DNSNames: []string{"api.m.test"}})
	addCert(t, st, "z-old", old1)
	addCert(t, st, "y-api", old2)
	entry := func(id string, p *certtest.Pair) string {
		return "  - id: " + id + "\n    certificate: |\n" + indent(string(p.ChainPEM), "      ") + "    key: |\n" + indent(string(p.KeyPEM), "      ")
	}
	// www moves from z-old to the new a-www; api.m.test moves from y-api
	// to z-old; y-api gets a new name. Document order: a-www, y-api, z-old.
	aWWW := ca.Issue(certtest.Options{DNSNames: []string{"www.m.test"}})
	yAPI := ca.Issue(certtest.Options{DNSNames: []string{"api2.m.test"}})
	zOld := ca.Issue(certtest.Options{DNSNames: []string{"m.test", "api.m.test"}})
	doc := "version: 1\ncertificates:\n" + entry("a-www", aWWW) + entry("y-api", yAPI) + entry("z-old", zOld)
	changes, err := declarative.Apply(ctx, st, parse(t, doc), false)
	if err != nil {
		t.Fatalf("move: %v", err)
	}
	if s := summary(changes); !strings.HasPrefix(s, "update certificate y-api") || !strings.Contains(s, "update certificate z-old") ||
		strings.Index(s, "update certificate z-old") > strings.Index(s, "create certificate a-www") {
		t.Errorf("order:\n%s", s)
	}
	got := keysOf(t, st)
	for id, p := range map[string]*certtest.Pair{"a-www": aWWW, "y-api": yAPI, "z-old": zOld} {
		if !strings.HasPrefix(got[id], p.Fingerprint) {
			t.Errorf("%s: not the document's certificate", id)
		}
	}
	// A swap: y-api takes m.test from z-old, z-old takes api2.m.test.
	v := version(t, st)
	swapY := ca.Issue(certtest.Options{DNSNames: []string{"m.test"}})
	swapZ := ca.Issue(certtest.Options{DNSNames: []string{"api2.m.test", "api.m.test"}})
	_, err = declarative.Apply(ctx, st, parse(t, "version: 1\ncertificates:\n"+entry("y-api", swapY)+entry("z-old", swapZ)), false)
	var fe *catalog.FieldError
	if !errors.As(err, &fe) || !strings.HasSuffix(fe.Path, ".certificate") || !strings.Contains(fe.Msg, "cannot swap hostnames") || !strings.Contains(err.Error(), "certificates[0]") || !strings.Contains(err.Error(), "certificates[1]") {
		t.Fatalf("swap: %v", err)
	}
	if version(t, st) != v {
		t.Fatal("a refused swap wrote")
	}
}
