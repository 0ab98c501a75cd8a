package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/catalog"
)

// testOpenAPI is a small OpenAPI document for import tests.
const testOpenAPI = `openapi: 3.0.0
info: {title: Ledger, version: "1.0"}
paths:
  /entries:
    get:
      operationId: listEntries
      responses: {"200": {description: ok}}
`

// api import takes the transport flags of api create/update: on create as
// create does; on re-import (--id) as update does (named fields set, ""
// clears one, --no-* drops an object, the rest kept); without them a
// re-import keeps the stored settings. Bad values: TestAPITransportFlags
// runs its whole table through a re-import too.
func TestAPIImportTransportFlags(t *testing.T) {
	admEnv(t)
	base := startTestAdmin(t)
	t.Setenv("GATEHOUSE_ADMIN_URL", base)
	t.Setenv("GATEHOUSE_ADMIN_TOKEN", admToken)
	dir := t.TempDir()
	caPEM, _, _ := testCertPair(t, "import backend CA")
	caFile := filepath.Join(dir, "ca.pem")
	oas := filepath.Join(dir, "ledger.yaml")
	for p, c := range map[string]string{caFile: caPEM, oas: testOpenAPI} {
		if err := os.WriteFile(p, []byte(c), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	out := admOK(t, "api", "import", "-f", oas, "--path", "/ledger", "--backend", "https://127.0.0.1:8443",
		"--backend-protocol", "h2", "--backend-ca", caFile, "--backend-server-name", "ledger.internal", "--ws-idle-timeout", "30s")
	if !strings.Contains(out, "api ledger (Ledger)") || !strings.Contains(out, "1 operations created") {
		t.Fatalf("import:\n%s", out)
	}
	a, v1 := adminGetAPI(t, base, "ledger")
	want := catalog.APITransport{BackendProtocol: "h2", BackendTLS: &catalog.BackendTLS{CAPEM: caPEM, ServerName: "ledger.internal"},
		WebSocket: &catalog.WebSocketLimits{IdleTimeout: "30s"}}
	if !reflect.DeepEqual(a.APITransport, want) {
		t.Fatalf("after import: %+v", a.APITransport)
	}

	// Re-import without transport flags: kept, and nothing written.
	admOK(t, "api", "import", "--id", "ledger", "-f", oas)
	if a, v := adminGetAPI(t, base, "ledger"); !reflect.DeepEqual(a.APITransport, want) || v != v1 {
		t.Fatalf("re-import without flags: %+v (version %s → %s)", a.APITransport, v1, v)
	}
	// One field changed, one cleared: the others kept.
	admOK(t, "api", "import", "--id", "ledger", "-f", oas, "--backend-tls-min-version", "1.3", "--backend-server-name", "")
	want.BackendTLS.MinVersion, want.BackendTLS.ServerName = "1.3", ""
	if a, _ := adminGetAPI(t, base, "ledger"); !reflect.DeepEqual(a.APITransport, want) {
		t.Fatalf("re-import with two fields: %+v", a.APITransport)
	}
	// --no-* drops an object; the protocol goes back to the default.
	admOK(t, "api", "import", "--id", "ledger", "-f", oas, "--no-websocket-limits", "--backend-protocol", "")
	want.WebSocket, want.BackendProtocol = nil, ""
	if a, _ := adminGetAPI(t, base, "ledger"); !reflect.DeepEqual(a.APITransport, want) {
		t.Fatalf("re-import with --no-websocket-limits: %+v", a.APITransport)
	}

	// A bad value on create: exit 1 naming the field, nothing created.
	_, v2 := adminGetAPI(t, base, "ledger")
	admFails(t, exitFailure, "backendProtocol: h2c is HTTP/2 without TLS and needs an http backend", "api", "import", "-f", oas, "--name", "Other",
		"--path", "/other", "--backend", "https://127.0.0.1:8443", "--backend-protocol", "h2c")
	admFails(t, exitFailure, "websocket.maxDuration", "api", "import", "-f", oas, "--name", "Other", "--path", "/other", "--backend", "http://127.0.0.1:9", "--ws-max-duration", "9000h")
	admFails(t, exitFailure, "other", "api", "get", "other")
	// Found before any call: contradicting flags, a missing file.
	admFails(t, exitUsage, "--no-backend-tls and --backend-ca contradict each other", "api", "import", "--id", "ledger", "-f", oas, "--no-backend-tls", "--backend-ca", caFile)
	admFails(t, exitFailure, "--client-ca: open", "api", "import", "-f", oas, "--name", "Other", "--path", "/other", "--client-ca", filepath.Join(dir, "missing.pem"))
	if _, v := adminGetAPI(t, base, "ledger"); v != v2 {
		t.Fatalf("refused imports changed the catalog: version %s → %s", v2, v)
	}
}
