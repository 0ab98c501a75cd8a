package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/gatehouse/gatehouse/catalog/adminapi"
	"github.com/gatehouse/gatehouse/catalog/sqlite"
	"github.com/gatehouse/gatehouse/host/engine"
	"github.com/gatehouse/gatehouse/host/hosttest"
)

const admToken = "gha_test-token"

// testAdmin serves the real admin API over loopback on a fresh catalog and
// returns its base URL (without /admin/v1, as serve writes it).
func startTestAdmin(t *testing.T) string {
	t.Helper()
	st, err := sqlite.OpenWithMasterKey(filepath.Join(t.TempDir(), "catalog.db"), bytes.Repeat([]byte{0x42}, 32))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	e, err := engine.New(ctx, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(ctx) })
	h, err := adminapi.New(adminapi.Options{
		Store: st,
		Token: admToken,
		ValidateModule: func(ctx context.Context, wasm []byte) (int, []string, error) {
			info, err := e.Validate(ctx, wasm)
			if err != nil {
				return 0, nil, err
			}
			return info.ABIMajor, info.Capabilities, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// cliEnv isolates the CLI from the environment of the test run.
func admEnv(t *testing.T) {
	t.Setenv("GATEHOUSE_ADMIN_URL", "")
	t.Setenv("GATEHOUSE_ADMIN_TOKEN", "")
	t.Setenv("GATEHOUSE_DATA", filepath.Join(t.TempDir(), "nodata"))
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
}

type admResult struct {
	code        int
	out, errOut string
}

func admRun(args ...string) admResult {
	var out, errb bytes.Buffer
	code := run(append([]string{"gatehouse"}, args...), &out, &errb)
	return admResult{code, out.String(), errb.String()}
}

// ok runs the CLI and fails the test unless it exits 0.
func admOK(t *testing.T, args ...string) string {
	t.Helper()
	r := admRun(args...)
	if r.code != exitOK {
		t.Fatalf("%v: exit %d\nstdout:\n%s\nstderr:\n%s", args, r.code, r.out, r.errOut)
	}
	return r.out
}

func admFails(t *testing.T, code int, want string, args ...string) admResult {
	t.Helper()
	r := admRun(args...)
	if r.code != code {
		t.Errorf("%v: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", args, r.code, code, r.out, r.errOut)
	}
	if !strings.Contains(r.errOut, want) {
		t.Errorf("%v: stderr lacks %q:\n%s", args, want, r.errOut)
	}
	return r
}

func admDataDir(t *testing.T, url, token string) string {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "admin.url"), []byte(url+"\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "admin.token"), []byte(token+"\n"), 0o600)
	return dir
}

func TestAdminCLIDiscovery(t *testing.T) {
	admEnv(t)
	base := startTestAdmin(t)
	good := admDataDir(t, base, admToken)
	badTok := admDataDir(t, base, "gha_wrong")
	badURL := admDataDir(t, "http://127.0.0.1:1", admToken)

	// The data directory's admin.url and admin.token, by flag and by env.
	if out := admOK(t, "catalog-version", "--data", good); !regexp.MustCompile(`^\d+\n$`).MatchString(out) {
		t.Errorf("catalog-version: %q", out)
	}
	t.Setenv("GATEHOUSE_DATA", good)
	admOK(t, "catalog-version")

	// A wrong token: exit 1 with the server's message.
	r := admFails(t, exitFailure, "gatehouse: missing or wrong bearer token", "catalog-version", "--data", badTok)
	if r.out != "" {
		t.Errorf("stdout on failure: %q", r.out)
	}
	// An unreachable server.
	admFails(t, exitFailure, "cannot reach the admin API", "catalog-version", "--data", badURL)

	// The environment overrides the data directory.
	t.Setenv("GATEHOUSE_DATA", badTok)
	t.Setenv("GATEHOUSE_ADMIN_TOKEN", admToken)
	admOK(t, "catalog-version")
	t.Setenv("GATEHOUSE_DATA", badURL)
	t.Setenv("GATEHOUSE_ADMIN_URL", base+"/admin/v1/")
	admOK(t, "catalog-version")

	// The data directory's token is not sent to another server.
	t.Setenv("GATEHOUSE_DATA", good)
	t.Setenv("GATEHOUSE_ADMIN_TOKEN", "")
	t.Setenv("GATEHOUSE_ADMIN_URL", "http://127.0.0.2:1")
	admFails(t, exitFailure, "no admin token for http://127.0.0.2:1", "catalog-version")
	t.Setenv("GATEHOUSE_ADMIN_URL", base+"/admin/v1") // the same server, spelled differently
	admOK(t, "catalog-version")
	t.Setenv("GATEHOUSE_DATA", badURL)
	t.Setenv("GATEHOUSE_ADMIN_TOKEN", admToken)

	// Flags override the environment.
	t.Setenv("GATEHOUSE_ADMIN_TOKEN", "gha_wrong")
	admFails(t, exitFailure, "missing or wrong bearer token", "catalog-version")
	admOK(t, "catalog-version", "--token", admToken)
	t.Setenv("GATEHOUSE_ADMIN_URL", "http://127.0.0.1:1")
	admOK(t, "catalog-version", "--token", admToken, "--admin-url", base)

	// The CLI config file sits between the environment and the data dir.
	t.Setenv("GATEHOUSE_ADMIN_URL", "")
	t.Setenv("GATEHOUSE_ADMIN_TOKEN", "")
	cfg := filepath.Join(t.TempDir(), "cli.yaml")
	os.WriteFile(cfg, []byte("admin_url: "+base+"\ntoken: "+admToken+"\noutput: json\n"), 0o600)
	if out := admOK(t, "catalog-version", "--cli-config", cfg); !strings.Contains(out, `"version":`) {
		t.Errorf("config output json: %q", out)
	}
	xdg := t.TempDir()
	os.MkdirAll(filepath.Join(xdg, "gatehouse"), 0o700)
	os.WriteFile(filepath.Join(xdg, "gatehouse", "cli.yaml"), []byte("admin_url: "+base+"\ntoken: "+admToken+"\n"), 0o600)
	t.Setenv("XDG_CONFIG_HOME", xdg)
	admOK(t, "catalog-version")
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	admFails(t, exitFailure, "no such file", "catalog-version", "--cli-config", filepath.Join(xdg, "missing.yaml"))

	// Nothing anywhere: say how to get a server.
	t.Setenv("GATEHOUSE_DATA", t.TempDir())
	r = admFails(t, exitFailure, "gatehouse serve", "api", "list")
	if !strings.Contains(r.errOut, "GATEHOUSE_ADMIN_URL") {
		t.Errorf("no hint about the environment: %s", r.errOut)
	}
}

func TestAdminCLIUsage(t *testing.T) {
	admEnv(t)
	t.Setenv("GATEHOUSE_DATA", admDataDir(t, startTestAdmin(t), admToken))
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"api", "get"}, "want ID, got 0 arguments"},
		{[]string{"api", "get", "a", "b"}, "want ID, got 2 arguments"},
		{[]string{"api", "list", "--bogus"}, "flag provided but not defined"},
		{[]string{"api", "list", "x", "--bogus"}, "flag provided but not defined"},
		{[]string{"api", "list", "-o", "xml"}, "--output must be table, json or yaml"},
		{[]string{"api", "import", "--path", "/x"}, "exactly one of -f FILE and --url URL"},
		{[]string{"subscription", "regenerate", "s1", "tertiary"}, "primary or secondary"},
		{[]string{"subscription", "create", "--user", "u", "--scope", "product"}, "needs --scope-id"},
		{[]string{"policy", "get", "planet"}, "scope must be global, product, api or operation"},
		{[]string{"policy", "get", "api"}, "scope api needs an ID"},
		{[]string{"policy", "detach", "global", "--section", "inbound", "first"}, "INDEX must be a number"},
		{[]string{"policy", "attach", "global", "--section", "middle", "--module", "m"}, "--section must be"},
		{[]string{"plugin", "upload", "x.wasm"}, "--name and --version are required"},
		{[]string{"apply"}, "-f FILE is required"},
		{[]string{"audit", "--limit", "5000"}, "--limit must be between"},
		{[]string{"api", "frob"}, `unknown command "frob"`},
		{[]string{"plugin", "frob"}, `unknown command "frob"`},
		{[]string{"subscription", "expire", "s1"}, "exactly one of --at and --never"},
		{[]string{"named-value", "set", "n"}, "--value is required"},
	} {
		admFails(t, exitUsage, c.want, c.args...)
	}
}

func TestAdminCLIWorkflow(t *testing.T) {
	admEnv(t)
	base := startTestAdmin(t)
	t.Setenv("GATEHOUSE_ADMIN_URL", base)
	t.Setenv("GATEHOUSE_ADMIN_TOKEN", admToken)

	// APIs; flags may follow arguments.
	admOK(t, "api", "create", "--id", "orders", "--name", "Orders", "--path", "/orders", "--backend", "http://127.0.0.1:9999", "--subscription-required")
	admOK(t, "api", "create", "--id", "echo", "--name", "Echo", "--path", "/echo", "--backend", "http://127.0.0.1:9998")
	table := admOK(t, "api", "list")
	if !regexp.MustCompile(`(?m)^ID\s+NAME\s+PATH\s+BACKEND`).MatchString(table) || !regexp.MustCompile(`(?m)^orders\s+Orders\s+/orders\s+http://127.0.0.1:9999\s+yes`).MatchString(table) {
		t.Errorf("api list table:\n%s", table)
	}
	var apis []map[string]any
	if err := json.Unmarshal([]byte(admOK(t, "api", "list", "-o", "json")), &apis); err != nil || len(apis) != 2 {
		t.Errorf("api list -o json: %v %v", apis, err)
	}
	var yapis []map[string]any
	if err := yaml.Unmarshal([]byte(admOK(t, "api", "list", "--output=yaml")), &yapis); err != nil || len(yapis) != 2 || yapis[0]["pathPrefix"] == nil {
		t.Errorf("api list -o yaml: %v %v", yapis, err)
	}
	if out := admOK(t, "api", "get", "orders", "-o", "json"); !strings.Contains(out, `"backendUrl": "http://127.0.0.1:9999"`) {
		t.Errorf("api get -o json:\n%s", out)
	}
	if out := admOK(t, "api", "update", "orders", "--key-header", "X-Key", "-o", "json"); !strings.Contains(out, `"keyHeader": "X-Key"`) || !strings.Contains(out, `"subscriptionRequired": true`) {
		t.Errorf("api update:\n%s", out)
	}
	if out := admOK(t, "api", "get", "orders"); !regexp.MustCompile(`(?m)^pathPrefix:\s+/orders$`).MatchString(out) {
		t.Errorf("api get:\n%s", out)
	}

	// A validation error: the server's message and each field on stderr.
	r := admFails(t, exitFailure, "backendUrl", "api", "create", "--name", "Bad", "--path", "/bad", "--backend", "ftp://x")
	if !strings.HasPrefix(r.errOut, "gatehouse: ") || strings.Count(r.errOut, "\n") < 2 {
		t.Errorf("validation error output:\n%s", r.errOut)
	}
	admFails(t, exitFailure, "gatehouse: ", "api", "get", "nope")

	// OpenAPI import from a file.
	doc := filepath.Join(t.TempDir(), "pets.yaml")
	os.WriteFile(doc, []byte(`openapi: 3.0.3
info: {title: Pets, version: "1.0"}
servers: [{url: "http://127.0.0.1:9997"}]
paths:
  /pets:
    get: {operationId: listPets, responses: {"200": {description: ok}}}
    post: {operationId: createPet, responses: {"201": {description: ok}}}
  /pets/{id}:
    get: {operationId: getPet, parameters: [{name: id, in: path, required: true, schema: {type: string}}], responses: {"200": {description: ok}}}
`), 0o644)
	out := admOK(t, "api", "import", "-f", doc, "--path", "/pets")
	if !strings.Contains(out, "3 operations created") || !strings.Contains(out, "listPets") {
		t.Errorf("api import:\n%s", out)
	}
	var imp struct{ API struct{ ID string } }
	json.Unmarshal([]byte(admOK(t, "api", "import", "-f", doc, "--path", "/pets2", "--name", "Pets2", "-o", "json")), &imp)
	pets := imp.API.ID
	if pets == "" {
		t.Fatal("no API ID in the import answer")
	}
	if out := admOK(t, "api", "import", "-f", doc, "--id", pets); !strings.Contains(out, "0 operations created") {
		t.Errorf("re-import:\n%s", out)
	}
	ops := admOK(t, "api", "operations", pets, "-o", "json")
	var opl []map[string]any
	json.Unmarshal([]byte(ops), &opl)
	if len(opl) != 3 {
		t.Fatalf("operations: %s", ops)
	}
	opID := opl[0]["id"].(string)

	// Users, groups, products.
	admOK(t, "user", "create", "--id", "ann", "--email", "ann@example.com", "--name", "Ann")
	admOK(t, "group", "create", "--id", "devs", "--name", "Developers")
	admOK(t, "group", "add-user", "devs", "ann")
	if out := admOK(t, "group", "users", "devs"); !strings.Contains(out, "ann@example.com") {
		t.Errorf("group users:\n%s", out)
	}
	admOK(t, "product", "create", "--id", "gold", "--name", "Gold", "--published")
	admOK(t, "product", "add-api", "gold", "orders")
	if out := admOK(t, "product", "update", "gold", "--approval-required", "-o", "json"); !strings.Contains(out, `"approvalRequired": true`) || !strings.Contains(out, `"published": true`) {
		t.Errorf("product update:\n%s", out)
	}
	if out := admOK(t, "product", "apis", "gold"); !strings.Contains(out, "orders") {
		t.Errorf("product apis:\n%s", out)
	}

	// Subscriptions and their keys.
	out = admOK(t, "subscription", "create", "--user", "ann", "--scope", "api", "--scope-id", "orders", "--name", "ann-orders", "-o", "json")
	var created struct {
		Subscription struct{ ID, State string }
		PrimaryKey   string
		SecondaryKey string
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.Subscription.ID == "" || created.PrimaryKey == "" || created.SecondaryKey == "" {
		t.Fatalf("subscription create: %v\n%s", err, out)
	}
	sub := created.Subscription.ID
	out = admOK(t, "subscription", "create", "--user", "ann", "--scope", "product", "--scope-id", "gold")
	if !regexp.MustCompile(`(?m)^primaryKey:\s+\S+`).MatchString(out) || !regexp.MustCompile(`(?m)^state:\s+submitted`).MatchString(out) {
		t.Errorf("subscription create table:\n%s", out)
	}
	list := admOK(t, "subscription", "list", "--user", "ann", "--scope", "api")
	if !strings.Contains(list, sub) || strings.Contains(list, "submitted") || strings.Contains(list, created.PrimaryKey) {
		t.Errorf("subscription list:\n%s", list)
	}
	if out := admOK(t, "subscription", "list", "-o", "json"); strings.Count(out, `"id"`) != 2 {
		t.Errorf("subscription list json:\n%s", out)
	}
	keys := admOK(t, "subscription", "show-keys", sub)
	if !strings.Contains(keys, created.PrimaryKey) || !strings.Contains(keys, created.SecondaryKey) {
		t.Errorf("show-keys:\n%s", keys)
	}
	regen := admOK(t, "subscription", "regenerate", sub, "primary")
	m := regexp.MustCompile(`(?m)^primaryKey:\s+(\S+)$`).FindStringSubmatch(regen)
	if m == nil || m[1] == created.PrimaryKey {
		t.Fatalf("regenerate:\n%s", regen)
	}
	keys = admOK(t, "subscription", "show-keys", sub, "-o", "json")
	if !strings.Contains(keys, m[1]) || !strings.Contains(keys, created.SecondaryKey) {
		t.Errorf("show-keys after regenerate:\n%s", keys)
	}
	if out := admOK(t, "subscription", "suspend", sub); !strings.Contains(out, "suspended") {
		t.Errorf("suspend: %s", out)
	}
	admFails(t, exitFailure, "gatehouse: ", "subscription", "approve", sub) // only from submitted: 409

	// Modules.
	wasm := filepath.Join(t.TempDir(), "ua-filter.wasm")
	os.WriteFile(wasm, hosttest.Guest(t, "examples/ua-filter"), 0o644)
	admOK(t, "plugin", "upload", wasm, "--name", "ua-filter", "--version", "1.0.0")
	if out := admOK(t, "plugin", "list"); !regexp.MustCompile(`(?m)^ua-filter\s+1\.0\.0\s+1\s`).MatchString(out) {
		t.Errorf("plugin list:\n%s", out)
	}
	bad := filepath.Join(t.TempDir(), "bad.wasm")
	os.WriteFile(bad, []byte("not wasm"), 0o644)
	admFails(t, exitFailure, "gatehouse: ", "plugin", "upload", bad, "--name", "bad", "--version", "1.0.0")

	// Grants: uploaded without one, the module cannot be attached; the
	// error names what is missing. grant adds, revoke takes away.
	admFails(t, exitFailure, "not granted capability config, capability http, capability log", "policy", "attach", "api", "orders", "--section", "inbound", "--module", "ua-filter@1.0.0", "--config", `{"deny":["BadBot"]}`)
	admOK(t, "plugin", "grant", "ua-filter", "1.0.0", "--capabilities", "config,http")
	admFails(t, exitFailure, "not granted capability log", "policy", "attach", "api", "orders", "--section", "inbound", "--module", "ua-filter@1.0.0", "--config", `{"deny":["BadBot"]}`)
	admFails(t, exitFailure, `unknown capability "telepathy"`, "plugin", "grant", "ua-filter", "1.0.0", "--capabilities", "telepathy")
	admFails(t, exitFailure, "not found", "plugin", "grant", "nosuch", "1.0.0", "--all")
	admFails(t, exitUsage, "give --all, or --capabilities", "plugin", "grant", "ua-filter", "1.0.0")
	admOK(t, "plugin", "grant", "ua-filter", "1.0.0", "--capabilities", "log")
	if out := admOK(t, "plugin", "list"); !regexp.MustCompile(`(?m)^ua-filter\s+1\.0\.0\s+1\s+config,http,log\s+config,http,log\s+-\s`).MatchString(out) {
		t.Errorf("plugin list after the grant (REQUESTED, GRANTED):\n%s", out)
	}

	// Policies: attach, then get.
	// The first attach to a section starts it as [base, entry]; a second
	// base is refused.
	admOK(t, "policy", "attach", "api", "orders", "--section", "inbound", "--module", "ua-filter@1.0.0", "--config", `{"deny":["BadBot"]}`)
	admFails(t, exitFailure, "base may appear at most once", "policy", "attach", "api", "orders", "--base", "--position", "0")
	out = admOK(t, "policy", "get", "api", "orders")
	if !regexp.MustCompile(`(?m)^inbound\s+0\s+\(base\)`).MatchString(out) || !regexp.MustCompile(`(?m)^inbound\s+1\s+ua-filter@1.0.0.*BadBot`).MatchString(out) {
		t.Errorf("policy get:\n%s", out)
	}
	// A grant in use is not revoked.
	admFails(t, exitFailure, "used by the policy of api orders", "plugin", "revoke", "ua-filter", "1.0.0", "--capabilities", "log")
	admFails(t, exitFailure, "used by the policy of api orders", "plugin", "revoke", "ua-filter", "1.0.0", "--all")
	admOK(t, "policy", "move", "api", "orders", "1", "--section", "inbound", "--to", "0")
	var pdoc struct {
		Inbound []struct {
			Base   bool
			Module string
		}
	}
	json.Unmarshal([]byte(admOK(t, "policy", "get", "api", "orders", "-o", "json")), &pdoc)
	if len(pdoc.Inbound) != 2 || pdoc.Inbound[0].Module != "ua-filter@1.0.0" || !pdoc.Inbound[1].Base {
		t.Errorf("after move: %+v", pdoc)
	}
	admOK(t, "policy", "detach", "api", "orders", "--section", "inbound", "1")
	pol := filepath.Join(t.TempDir(), "global.yaml")
	os.WriteFile(pol, []byte("inbound:\n  - module: ua-filter\n    config: {deny: [EvilBot]}\n"), 0o644)
	admOK(t, "policy", "set", "global", "-f", pol)
	if out := admOK(t, "policy", "get", "global", "-o", "yaml"); !strings.Contains(out, "EvilBot") {
		t.Errorf("policy set/get global:\n%s", out)
	}
	out = admOK(t, "policy", "effective", pets, opID)
	if !strings.Contains(out, "EvilBot") || !strings.Contains(out, "global") {
		t.Errorf("policy effective:\n%s", out)
	}

	// Audit and version.
	if out := admOK(t, "audit", "--limit", "5"); strings.Count(out, "\n") != 6 || !strings.Contains(out, "break-glass") {
		t.Errorf("audit:\n%s", out)
	}

	// Deletes.
	admOK(t, "product", "remove-api", "gold", "orders")
	admOK(t, "group", "remove-user", "devs", "ann")
	if out := admOK(t, "subscription", "cancel", sub); !strings.Contains(out, "cancelled") {
		t.Errorf("cancel: %s", out)
	}
	admOK(t, "api", "delete", "echo")
	admFails(t, exitFailure, "gatehouse: ", "api", "get", "echo")
}

func TestAdminCLIApply(t *testing.T) {
	admEnv(t)
	t.Setenv("GATEHOUSE_ADMIN_URL", startTestAdmin(t))
	t.Setenv("GATEHOUSE_ADMIN_TOKEN", admToken)
	admOK(t, "api", "create", "--id", "orders", "--name", "Orders", "--path", "/orders", "--backend", "http://127.0.0.1:9999")

	// Export: export, then a dry run of a changed document.
	exp := admOK(t, "export")
	if !strings.Contains(exp, "orders") {
		t.Errorf("export:\n%s", exp)
	}
	v1 := admOK(t, "catalog-version")
	changed := filepath.Join(t.TempDir(), "catalog.yaml")
	os.WriteFile(changed, []byte(strings.Replace(exp, "http://127.0.0.1:9999", "http://127.0.0.1:9000", 1)), 0o644)
	out := admOK(t, "apply", "-f", changed, "--dry-run")
	if !strings.Contains(out, "dry run") || !strings.Contains(out, "orders") {
		t.Errorf("apply --dry-run:\n%s", out)
	}
	if v2 := admOK(t, "catalog-version"); v2 != v1 {
		t.Errorf("a dry run changed the catalog: %s -> %s", v1, v2)
	}

	if out := admOK(t, "export", "-o", "json"); !json.Valid([]byte(out)) {
		t.Errorf("export -o json:\n%s", out)
	}
	out = admOK(t, "apply", "-f", changed, "-o", "json")
	var res struct {
		Changes []map[string]any
		Applied bool
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || !res.Applied || len(res.Changes) == 0 {
		t.Errorf("apply: %v\n%s", err, out)
	}
	if out := admOK(t, "api", "get", "orders"); !strings.Contains(out, "http://127.0.0.1:9000") {
		t.Errorf("after apply:\n%s", out)
	}
}

func TestAdminCLIImportURLAndExtras(t *testing.T) {
	admEnv(t)
	t.Setenv("GATEHOUSE_ADMIN_URL", startTestAdmin(t))
	t.Setenv("GATEHOUSE_ADMIN_TOKEN", admToken)

	const doc = `{"openapi":"3.0.3","info":{"title":"Remote","version":"1"},"paths":{"/a":{"get":{"operationId":"getA","responses":{"200":{"description":"ok"}}}}}}`
	docs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/openapi.json":
			io.WriteString(w, doc)
		case "/huge":
			w.Write(bytes.Repeat([]byte(" "), maxDocument+10))
		default:
			http.NotFound(w, r)
		}
	}))
	defer docs.Close()
	out := admOK(t, "api", "import", "--url", docs.URL+"/openapi.json", "--path", "/remote", "--backend", "http://127.0.0.1:9000", "--subscription-required=false")
	if !strings.Contains(out, "1 operations created") || !strings.Contains(out, "getA") {
		t.Errorf("import --url:\n%s", out)
	}
	admFails(t, exitFailure, "larger than 8 MiB", "api", "import", "--url", docs.URL+"/huge", "--path", "/huge")
	admFails(t, exitFailure, "404", "api", "import", "--url", docs.URL+"/missing", "--path", "/missing")

	// A module with a manifest.
	dir := t.TempDir()
	wasm := filepath.Join(dir, "ua-filter.wasm")
	os.WriteFile(wasm, hosttest.Guest(t, "examples/ua-filter"), 0o644)
	man := filepath.Join(dir, "manifest.json")
	os.WriteFile(man, []byte(`{"configSchema":{"type":"object","properties":{"deny":{"type":"array","items":{"type":"string"}}},"additionalProperties":false},"limits":{"timeoutMs":50}}`), 0o644)
	out = admOK(t, "plugin", "upload", wasm, "--name", "ua-filter", "--version", "2.0.0", "--manifest", man, "--grant", "all", "-o", "json")
	if !strings.Contains(out, `"timeoutMs": 50`) || !strings.Contains(out, `"abiVersion": 1`) {
		t.Errorf("upload with manifest:\n%s", out)
	}
	// The schema is enforced: the field path reaches stderr.
	r := admFails(t, exitFailure, "gatehouse: ", "policy", "attach", "global", "--module", "ua-filter@2.0.0", "--config", `{"deny": 3}`)
	if !strings.Contains(r.errOut, "\n  inbound[0].config") {
		t.Errorf("no field path on its own line:\n%s", r.errOut)
	}
	admOK(t, "policy", "attach", "global", "--module", "ua-filter@2.0.0", "--config", "deny: [BadBot]") // YAML config

	// Named values; secrets are not read back.
	admOK(t, "named-value", "set", "backend-host", "--value", "example.com")
	admOK(t, "named-value", "set", "backend-host", "--value", "example.org")
	admOK(t, "named-value", "set", "api-secret", "--value", "s3cret", "--secret")
	out = admOK(t, "named-value", "list")
	if !strings.Contains(out, "example.org") || strings.Contains(out, "s3cret") {
		t.Errorf("named-value list:\n%s", out)
	}
	if out := admOK(t, "named-value", "get", "api-secret"); strings.Contains(out, "s3cret") {
		t.Errorf("named-value get shows the secret:\n%s", out)
	}
	if out := admOK(t, "named-value", "get", "api-secret", "--reveal"); !strings.Contains(out, "s3cret") {
		t.Errorf("named-value get --reveal:\n%s", out)
	}
	admOK(t, "named-value", "delete", "backend-host")

	// No progress line when stderr is not a terminal.
	var sink bytes.Buffer
	if r := newProgressReader(strings.NewReader("x"), &sink, "up", 1); r == nil || sink.Len() != 0 {
		t.Error("progress on a non-terminal")
	}
	spinner(&sink, "applying")()
}
