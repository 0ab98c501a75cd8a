package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/catalog"
)

// testCertPair makes a self-signed ECDSA certificate and its PKCS#8 key.
func testCertPair(t *testing.T, cn string) (certPEM, keyPEM string, der []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err = x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})), der
}

// adminGetAPI reads an API and the catalog version straight from the
// admin API (not through the CLI under test).
func adminGetAPI(t *testing.T, base, id string) (catalog.API, string) {
	t.Helper()
	get := func(path string) []byte {
		req, _ := http.NewRequest("GET", base+"/admin/v1"+path, nil)
		req.Header.Set("Authorization", "Bearer "+admToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
		}
		return b
	}
	var a catalog.API
	if err := json.Unmarshal(get("/apis/"+id), &a); err != nil {
		t.Fatal(err)
	}
	return a, string(get("/version"))
}

// api create/update set the per-API transport settings field by field;
// the rest of each object stays; "" clears a field, --no-* an object;
// every bad value is the admin API's 400 naming the field, and changes
// nothing.
func TestAPITransportFlags(t *testing.T) {
	admEnv(t)
	base := startTestAdmin(t)
	t.Setenv("GATEHOUSE_ADMIN_URL", base)
	t.Setenv("GATEHOUSE_ADMIN_TOKEN", admToken)
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	caPEM, caKey, _ := testCertPair(t, "ledger backend CA")
	clientPEM, clientKey, _ := testCertPair(t, "gateway client")
	_, _, callerDER := testCertPair(t, "caller")
	_, otherKey, _ := testCertPair(t, "other")
	caFile, clientFile, keyFile := write("ca.pem", caPEM), write("client.pem", clientPEM), write("client-key.pem", clientKey)
	thumb := sha256.Sum256(callerDER)
	thumbHex := hex.EncodeToString(thumb[:])

	// create: protocol, CA, SNI name, minimum version, WebSocket idle.
	out := admOK(t, "api", "create", "--id", "ledger", "--name", "Ledger", "--path", "/ledger", "--backend", "https://127.0.0.1:8443",
		"--backend-protocol", "grpc", "--backend-ca", caFile, "--backend-server-name", "ledger.internal",
		"--backend-tls-min-version", "1.3", "--ws-idle-timeout", "30s", "-o", "json")
	if !strings.Contains(out, `"backendProtocol": "grpc"`) {
		t.Errorf("create answer:\n%s", out)
	}
	a, _ := adminGetAPI(t, base, "ledger")
	want := catalog.APITransport{BackendProtocol: "grpc", BackendTLS: &catalog.BackendTLS{CAPEM: caPEM, ServerName: "ledger.internal", MinVersion: "1.3"},
		WebSocket: &catalog.WebSocketLimits{IdleTimeout: "30s"}}
	if !reflect.DeepEqual(a.APITransport, want) {
		t.Fatalf("after create: %+v", a.APITransport)
	}

	// The table form names certificates by subject, never PEM.
	out = admOK(t, "api", "get", "ledger")
	if !strings.Contains(out, "1 certificate(s): CN=ledger backend CA") || strings.Contains(out, "BEGIN") || !strings.Contains(out, "ledger.internal") {
		t.Errorf("api get (table):\n%s", out)
	}
	if out := admOK(t, "api", "get", "ledger", "-o", "json"); !strings.Contains(out, "BEGIN CERTIFICATE") {
		t.Errorf("api get -o json lost the PEM:\n%s", out)
	}

	// update: mTLS to the backend, the key in a secret named value; the
	// fields set before stay.
	admOK(t, "named-value", "set", "ledger-client-key", "--secret", "--value", clientKey)
	admOK(t, "api", "update", "ledger", "--backend-client-cert", clientFile, "--backend-client-key-named-value", "ledger-client-key")
	a, _ = adminGetAPI(t, base, "ledger")
	want.BackendTLS.ClientCertPEM, want.BackendTLS.ClientKeyNamedValue = clientPEM, "ledger-client-key"
	if !reflect.DeepEqual(a.APITransport, want) || a.Name != "Ledger" || a.BackendURL != "https://127.0.0.1:8443" {
		t.Fatalf("after update (mTLS): %+v", a)
	}
	if out := admOK(t, "api", "get", "ledger", "-o", "json"); strings.Contains(out, "PRIVATE KEY") {
		t.Fatal("the key came back")
	}

	// "" clears one field; an unrelated update keeps everything.
	admOK(t, "api", "update", "ledger", "--backend-server-name", "")
	admOK(t, "api", "update", "ledger", "--name", "Ledger 2")
	a, _ = adminGetAPI(t, base, "ledger")
	want.BackendTLS.ServerName = ""
	if !reflect.DeepEqual(a.APITransport, want) || a.Name != "Ledger 2" {
		t.Fatalf("after clearing serverName: %+v", a)
	}

	// Callers' client certificates: CA and thumbprints (repeatable).
	admOK(t, "api", "update", "ledger", "--client-ca", caFile, "--client-thumbprint", thumbHex, "--client-thumbprint", strings.ToUpper(thumbHex))
	a, _ = adminGetAPI(t, base, "ledger")
	if c := a.ClientCertificate; c == nil || c.CAPEM != caPEM || !reflect.DeepEqual(c.Thumbprints, []string{thumbHex, strings.ToUpper(thumbHex)}) {
		t.Fatalf("client certificate: %+v", a.ClientCertificate)
	}
	// Clearing the CA keeps the thumbprints; --no-client-certificate drops
	// the rule.
	admOK(t, "api", "update", "ledger", "--client-ca", "")
	a, _ = adminGetAPI(t, base, "ledger")
	if c := a.ClientCertificate; c == nil || c.CAPEM != "" || len(c.Thumbprints) != 2 {
		t.Fatalf("after --client-ca '': %+v", a.ClientCertificate)
	}
	admOK(t, "api", "update", "ledger", "--no-client-certificate")
	if a, _ = adminGetAPI(t, base, "ledger"); a.ClientCertificate != nil {
		t.Fatalf("after --no-client-certificate: %+v", a.ClientCertificate)
	}

	// WebSocket limits: one field, then both cleared (object dropped).
	admOK(t, "api", "update", "ledger", "--ws-max-duration", "2h")
	if a, _ = adminGetAPI(t, base, "ledger"); a.WebSocket == nil || *a.WebSocket != (catalog.WebSocketLimits{IdleTimeout: "30s", MaxDuration: "2h"}) {
		t.Fatalf("websocket: %+v", a.WebSocket)
	}
	admOK(t, "api", "update", "ledger", "--ws-idle-timeout", "", "--ws-max-duration", "")
	if a, _ = adminGetAPI(t, base, "ledger"); a.WebSocket != nil {
		t.Fatalf("websocket after clearing both: %+v", a.WebSocket)
	}

	// Bad values: exit 1 with the admin API's message naming the field;
	// the API and the catalog version do not change.
	nonSecret := "plain-key"
	admOK(t, "named-value", "set", nonSecret, "--value", clientKey)
	admOK(t, "named-value", "set", "other-key", "--secret", "--value", otherKey)
	before, version := adminGetAPI(t, base, "ledger")
	bad := []struct {
		want string
		args []string
	}{
		{"backendProtocol: must be http1, h2, h2c or grpc", []string{"--backend-protocol", "h3"}},
		{"backendProtocol: h2c is HTTP/2 without TLS and needs an http backend", []string{"--backend-protocol", "h2c"}},
		{"backendTls.minVersion: must be 1.2 or 1.3", []string{"--backend-tls-min-version", "1.1"}},
		{"backendTls.caPem: holds a private key", []string{"--backend-ca", write("key-as-ca.pem", caKey)}},
		{"backendTls.caPem: not PEM", []string{"--backend-ca", write("garbage.pem", "hello, not a certificate")}},
		{"backendTls.clientCertPem: holds a private key", []string{"--backend-client-cert", keyFile}},
		{"backendTls: clientCertPem and clientKeyNamedValue come together", []string{"--backend-client-key-named-value", ""}},
		{"backendTls.clientKeyNamedValue", []string{"--backend-client-key-named-value", "no-such-value"}},
		{"backendTls.clientKeyNamedValue", []string{"--backend-client-key-named-value", nonSecret}},
		{"backendTls.clientKeyNamedValue: the key does not match clientCertPem", []string{"--backend-client-key-named-value", "other-key"}},
		{"backendTls.clientKeyNamedValue: is the name of a secret named value, without {{ }}", []string{"--backend-client-key-named-value", "{{ledger-client-key}}"}},
		{"backendTls.serverName: must be a host name", []string{"--backend-server-name", "ledger.internal:8443"}},
		{"backendTls: applies to https backends only", []string{"--backend", "http://127.0.0.1:8080", "--backend-protocol", "h2c"}},
		{"backendProtocol: grpc is HTTP/2 over TLS and needs an https backend", []string{"--backend", "http://127.0.0.1:8080"}},
		{"websocket.idleTimeout: must be a duration such as 90s or 30m", []string{"--ws-idle-timeout", "5"}},
		{"websocket.idleTimeout: must be between 1s and 24h0m0s", []string{"--ws-idle-timeout", "25h"}},
		{"websocket.idleTimeout: is longer than maxDuration", []string{"--ws-idle-timeout", "2h", "--ws-max-duration", "1h"}},
		{"websocket.maxDuration: must be between 1s and 168h0m0s", []string{"--ws-max-duration", "500ms"}},
		{"clientCertificate.thumbprints[0]: not a hex SHA-256 fingerprint", []string{"--client-thumbprint", "abc123"}},
		{"clientCertificate.caPem: not PEM", []string{"--client-ca", write("garbage2.pem", "-----BEGIN nothing")}},
	}
	// The same through a re-import (api import --id), which takes the
	// same flags with the same meaning (cmd_api_transport.go).
	oas := write("ledger.yaml", testOpenAPI)
	for _, c := range bad {
		for _, cmd := range [][]string{{"api", "update", "ledger"}, {"api", "import", "--id", "ledger", "-f", oas}} {
			r := admFails(t, exitFailure, c.want, append(cmd, c.args...)...)
			t.Logf("%s %v → %s", cmd[1], c.args, strings.TrimSpace(r.errOut))
			if strings.Contains(r.errOut, "BEGIN") || strings.Contains(r.errOut, "hello, not") {
				t.Errorf("%v: the message quotes the input:\n%s", c.args, r.errOut)
			}
			after, v := adminGetAPI(t, base, "ledger")
			if v != version || !reflect.DeepEqual(after, before) {
				t.Fatalf("%s %v changed the catalog: version %s → %s\n%+v", cmd[1], c.args, version, v, after)
			}
		}
	}
	// Errors found before any call: a missing or oversized file, and
	// contradicting flags.
	admFails(t, exitFailure, "--backend-ca: open "+filepath.Join(dir, "missing.pem"), "api", "update", "ledger", "--backend-ca", filepath.Join(dir, "missing.pem"))
	admFails(t, exitFailure, "is larger than 256 KiB", "api", "update", "ledger", "--client-ca", write("big.pem", strings.Repeat(caPEM, 1+catalog.MaxTransportPEM/len(caPEM))))
	admFails(t, exitUsage, "--no-backend-tls and --backend-server-name contradict each other", "api", "update", "ledger", "--no-backend-tls", "--backend-server-name", "x")
	if _, v := adminGetAPI(t, base, "ledger"); v != version {
		t.Fatalf("a refused command changed the catalog version: %s → %s", version, v)
	}
	// create refuses the same way and creates nothing.
	admFails(t, exitFailure, "backendProtocol: h2 is HTTP/2 over TLS and needs an https backend", "api", "create", "--id", "plain", "--name", "P", "--path", "/p",
		"--backend", "http://127.0.0.1:9", "--backend-protocol", "h2")
	admFails(t, exitFailure, "api", "api", "get", "plain")

	// --no-backend-tls drops TLS settings (the named value is no longer in
	// use: it can be deleted).
	admOK(t, "api", "update", "ledger", "--no-backend-tls", "--backend-protocol", "")
	a, _ = adminGetAPI(t, base, "ledger")
	if !a.APITransport.IsZero() {
		t.Fatalf("after --no-backend-tls: %+v", a.APITransport)
	}
	admOK(t, "named-value", "delete", "ledger-client-key")
}
