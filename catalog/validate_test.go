package catalog_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/catalog"
)

func wantInvalid(t *testing.T, err error, path string) {
	t.Helper()
	if !errors.Is(err, catalog.ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
	var fe *catalog.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("err = %T, want *FieldError", err)
	}
	if fe.Path != path {
		t.Fatalf("path = %q, want %q (%v)", fe.Path, path, err)
	}
}

func goodAPI() catalog.API {
	a := catalog.API{ID: "echo", Name: "Echo", PathPrefix: "/echo", BackendURL: "http://127.0.0.1:8081/base"}
	a.ApplyDefaults()
	return a
}

func TestAPIDefaultsAndValidate(t *testing.T) {
	a := goodAPI()
	if a.KeyHeader != "Ocp-Apim-Subscription-Key" || a.KeyQuery != "subscription-key" || a.Revision != 1 {
		t.Fatalf("defaults: %+v", a)
	}
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := []struct {
		mut  func(*catalog.API)
		path string
	}{
		{func(a *catalog.API) { a.ID = "" }, "id"},
		{func(a *catalog.API) { a.ID = "a/b" }, "id"},
		{func(a *catalog.API) { a.Name = "  " }, "name"},
		{func(a *catalog.API) { a.Name = strings.Repeat("x", 257) }, "name"},
		{func(a *catalog.API) { a.Name = "a\x00b" }, "name"},
		{func(a *catalog.API) { a.PathPrefix = "echo" }, "pathPrefix"},
		{func(a *catalog.API) { a.PathPrefix = "/echo/" }, "pathPrefix"},
		{func(a *catalog.API) { a.PathPrefix = "/a//b" }, "pathPrefix"},
		{func(a *catalog.API) { a.PathPrefix = "/a/../b" }, "pathPrefix"},
		{func(a *catalog.API) { a.PathPrefix = "/a?b" }, "pathPrefix"},
		{func(a *catalog.API) { a.PathPrefix = "/a%2fb" }, "pathPrefix"},
		{func(a *catalog.API) { a.BackendURL = "file:///etc/passwd" }, "backendUrl"},
		{func(a *catalog.API) { a.BackendURL = "ftp://example.com" }, "backendUrl"},
		{func(a *catalog.API) { a.BackendURL = "http://169.254.169.254/latest" }, "backendUrl"},
		{func(a *catalog.API) { a.BackendURL = "http://[fe80::1]/" }, "backendUrl"},
		{func(a *catalog.API) { a.BackendURL = "http://[::ffff:169.254.1.1]/" }, "backendUrl"},
		{func(a *catalog.API) { a.BackendURL = "http://example.com/api?x=1" }, "backendUrl"},
		{func(a *catalog.API) { a.BackendURL = "http://0.0.0.0/" }, "backendUrl"},
		{func(a *catalog.API) { a.BackendURL = "http://[::]/" }, "backendUrl"},
		{func(a *catalog.API) { a.BackendURL = "http://2852039166/" }, "backendUrl"},
		{func(a *catalog.API) { a.BackendURL = "http://0xa9fea9fe/" }, "backendUrl"},
		{func(a *catalog.API) { a.BackendURL = "http://169.254.169.254./" }, "backendUrl"},
		{func(a *catalog.API) { a.BackendURL = "http://0251.0376.0251.0376/" }, "backendUrl"},
		{func(a *catalog.API) { a.BackendURL = "http://[fe80::1%25eth0]/" }, "backendUrl"},
		{func(a *catalog.API) { a.BackendURL = "http://224.0.0.1/" }, "backendUrl"},
		{func(a *catalog.API) { a.BackendURL = "http://user:pw@example.com/" }, "backendUrl"},
		{func(a *catalog.API) { a.BackendURL = "http:///nohost" }, "backendUrl"},
		{func(a *catalog.API) { a.BackendURL = "http://example.com:99999/" }, "backendUrl"},
		{func(a *catalog.API) { a.BackendURL = "/relative" }, "backendUrl"},
		{func(a *catalog.API) { a.KeyHeader = "bad header" }, "keyHeader"},
		{func(a *catalog.API) { a.KeyQuery = "a=b" }, "keyQuery"},
		{func(a *catalog.API) { a.Revision = -1 }, "revision"},
	}
	for _, c := range bad {
		a := goodAPI()
		c.mut(&a)
		wantInvalid(t, a.Validate(), c.path)
	}
	for _, u := range []string{"https://example.com", "http://10.0.0.1:8080/x", "http://[::1]:9000", "http://localhost/", "http://cafe.be/", "http://123.example.com/", "http://api.v2.internal:8443/x"} {
		a := goodAPI()
		a.BackendURL = u
		if err := a.Validate(); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	a = goodAPI()
	a.PathPrefix = "/"
	if err := a.Validate(); err != nil {
		t.Errorf("root prefix: %v", err)
	}
}

func TestOperationValidate(t *testing.T) {
	ok := catalog.Operation{ID: "get-user", APIID: "echo", Name: "Get user", Method: "GET", URLTemplate: "/users/{id}/orders/{orderId}"}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		method, tmpl, path string
	}{
		{"get", "/x", "method"},
		{"FETCH", "/x", "method"},
		{"GET", "x", "urlTemplate"},
		{"GET", "/users/{id", "urlTemplate"},
		{"GET", "/users/id}", "urlTemplate"},
		{"GET", "/users/{}", "urlTemplate"},
		{"GET", "/a/{id}/b/{id}", "urlTemplate"},
		{"GET", "/a?x=1", "urlTemplate"},
	} {
		o := ok
		o.Method, o.URLTemplate = c.method, c.tmpl
		wantInvalid(t, o.Validate(), c.path)
	}
}

func TestUserProductGroupValidate(t *testing.T) {
	u := catalog.User{ID: "u1", Email: "dev@example.com", Name: "Dev"}
	u.ApplyDefaults()
	if err := u.Validate(); err != nil || u.State != catalog.UserActive {
		t.Fatal(err, u.State)
	}
	u.Email = "Dev <dev@example.com>"
	wantInvalid(t, u.Validate(), "email")
	u.Email, u.State = "dev@example.com", "gone"
	wantInvalid(t, u.Validate(), "state")

	p := catalog.Product{ID: "p", Name: "Starter", SubscriptionsLimit: -1}
	wantInvalid(t, p.Validate(), "subscriptionsLimit")
	g := catalog.Group{ID: "g", Name: ""}
	wantInvalid(t, g.Validate(), "name")
}

func TestSubscriptionValidate(t *testing.T) {
	s := catalog.Subscription{ID: "s", UserID: "u", Scope: catalog.ScopeAll}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	s.ScopeID = "x"
	wantInvalid(t, s.Validate(), "scopeId")
	s.Scope, s.ScopeID = catalog.ScopeProduct, ""
	wantInvalid(t, s.Validate(), "scopeId")
	s.Scope = "operation"
	wantInvalid(t, s.Validate(), "scope")
	s.Scope, s.ScopeID, s.State = catalog.ScopeAPI, "echo", "paused"
	wantInvalid(t, s.Validate(), "state")
}

func TestModuleValidate(t *testing.T) {
	m := catalog.Module{Name: "rate-limit", Version: "1.2.3-beta.1", Wasm: []byte("\x00asm\x01\x00\x00\x00"),
		Manifest: catalog.ModuleManifest{ABIVersion: 1, Capabilities: []string{"http.headers"}, ConfigSchema: json.RawMessage(`{"type":"object"}`)}}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(m.SHA256) != 64 {
		t.Fatalf("sha256 not filled: %q", m.SHA256)
	}
	m2 := m
	m2.SHA256 = strings.Repeat("0", 64)
	wantInvalid(t, m2.Validate(), "sha256")
	m2 = m
	m2.Version = "1.2"
	wantInvalid(t, m2.Validate(), "version")
	m2 = m
	m2.Manifest.ConfigSchema = json.RawMessage(`[1]`)
	wantInvalid(t, m2.Validate(), "manifest.configSchema")
	m2 = m
	m2.Manifest.Capabilities = []string{"a", "a"}
	wantInvalid(t, m2.Validate(), "manifest.capabilities[1]")
	m2 = m
	m2.Manifest.ABIVersion = 0
	wantInvalid(t, m2.Validate(), "manifest.abiVersion")
}

func TestPolicyDocValidate(t *testing.T) {
	d := catalog.PolicyDoc{Scope: catalog.ScopeAPI, ScopeID: "echo",
		Inbound: []catalog.PolicyEntry{{Base: true}, {Module: "rate-limit@1.0.0", Config: json.RawMessage(`{"calls":5}`), FailMode: catalog.FailOpen}},
		OnError: []catalog.PolicyEntry{{Module: "headers", FailMode: catalog.FailFallback, Fallback: "static"}},
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		mut  func(*catalog.PolicyDoc)
		path string
	}{
		{func(d *catalog.PolicyDoc) { d.Scope, d.ScopeID = catalog.ScopeGlobal, "" }, "inbound[0].base"},
		{func(d *catalog.PolicyDoc) { d.Scope = catalog.ScopeAll }, "scope"},
		{func(d *catalog.PolicyDoc) { d.Inbound = append(d.Inbound, catalog.PolicyEntry{Base: true}) }, "inbound[2].base"},
		{func(d *catalog.PolicyDoc) { d.Inbound[0].Module = "x" }, "inbound[0]"},
		{func(d *catalog.PolicyDoc) { d.Inbound[1].Module = "" }, "inbound[1].module"},
		{func(d *catalog.PolicyDoc) { d.Inbound[1].Module = "Bad Name" }, "inbound[1].module"},
		{func(d *catalog.PolicyDoc) { d.Inbound[1].Config = json.RawMessage(`{`) }, "inbound[1].config"},
		{func(d *catalog.PolicyDoc) { d.Inbound[1].FailMode = "maybe" }, "inbound[1].failMode"},
		{func(d *catalog.PolicyDoc) { d.Inbound[1].Fallback = "x" }, "inbound[1].fallback"},
		{func(d *catalog.PolicyDoc) { d.OnError[0].Fallback = "" }, "onError[0].fallback"},
	} {
		d2 := d
		d2.Inbound = append([]catalog.PolicyEntry(nil), d.Inbound...)
		d2.OnError = append([]catalog.PolicyEntry(nil), d.OnError...)
		c.mut(&d2)
		wantInvalid(t, d2.Validate(), c.path)
	}
}

func TestNamedValueValidate(t *testing.T) {
	n := catalog.NamedValue{Name: "backend-token", Value: "x", Secret: true}
	if err := n.Validate(); err != nil {
		t.Fatal(err)
	}
	n.Name = "has space"
	wantInvalid(t, n.Validate(), "name")
}

func TestErrors(t *testing.T) {
	if !errors.Is(catalog.NotFoundf("api %q", "x"), catalog.ErrNotFound) {
		t.Fatal("NotFoundf")
	}
	if !errors.Is(catalog.Conflictf("dup"), catalog.ErrConflict) {
		t.Fatal("Conflictf")
	}
	if errors.Is(&catalog.FieldError{Path: "a", Msg: "b"}, catalog.ErrNotFound) {
		t.Fatal("FieldError is not ErrNotFound")
	}
}

// The API's egress allow-list is validated and applies to its own backend.
func TestAPIEgressAllow(t *testing.T) {
	for _, c := range []struct {
		backend string
		allow   []string
		field   string // "" valid
		msg     string
	}{
		{"http://127.0.0.1:8081", nil, "", ""},
		{"http://10.0.0.5/api", nil, "", ""},
		{"http://169.254.169.254/", []string{"169.254.169.254"}, "", ""},
		{"http://[fe80::1]:8080/", []string{"fe80::/64"}, "", ""},
		{"http://169.254.169.254/", []string{"169.254.0.0/16"}, "backendUrl", "cloud metadata"},
		{"http://2852039166/", []string{"169.254.169.254"}, "backendUrl", "non-canonical form of the IPv4 address 169.254.169.254"},
		{"http://127.0.0.1.", nil, "backendUrl", "non-canonical"},
		{"https://api.example.com", []string{"10.0.0.1/8"}, "egressAllow", "host bits set; write 10.0.0.0/8"},
		{"https://api.example.com", []string{"evil@x"}, "egressAllow", "entry 0"},
	} {
		a := catalog.API{ID: "a", Name: "A", PathPrefix: "/a", BackendURL: c.backend, EgressAllow: c.allow}
		a.ApplyDefaults()
		err := a.Validate()
		var fe *catalog.FieldError
		switch {
		case c.field == "" && err != nil:
			t.Errorf("%s %v: %v", c.backend, c.allow, err)
		case c.field != "" && (!errors.As(err, &fe) || fe.Path != c.field || !strings.Contains(err.Error(), c.msg)):
			t.Errorf("%s %v: %v, want %s: …%s…", c.backend, c.allow, err, c.field, c.msg)
		}
	}
}
