package declarative_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/mattn/go-sqlite3"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/catalog/declarative"
	"github.com/gatehouse/gatehouse/catalog/sqlite"
)

func open(t testing.TB) *sqlite.Store {
	t.Helper()
	s, err := sqlite.OpenWithMasterKey(filepath.Join(t.TempDir(), "catalog.db"), bytes.Repeat([]byte{0x42}, 32))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	for _, name := range []string{"builtin", "ua-filter"} {
		if _, err := s.CreateModule(ctx, catalog.Module{Name: name, Version: "1.0.0", Wasm: []byte("\x00asm\x01\x00\x00\x00"),
			Manifest: catalog.ModuleManifest{ABIVersion: 1}}); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func parseFile(t *testing.T, name string) *declarative.Document {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	d, err := declarative.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func parse(t *testing.T, s string) *declarative.Document {
	t.Helper()
	d, err := declarative.Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func version(t *testing.T, st catalog.Store) int64 {
	t.Helper()
	v, err := st.Version(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func summary(cs []declarative.Change) string {
	var out []string
	for _, c := range cs {
		s := c.Action + " " + c.Kind + " " + c.Key
		if c.Diff != "" {
			s += " (" + c.Diff + ")"
		}
		out = append(out, s)
	}
	return strings.Join(out, "\n")
}

func TestApplyIdempotentAndRoundTrip(t *testing.T) {
	ctx := context.Background()
	st := open(t)
	d := parseFile(t, "testdata/catalog.yaml")

	planned, err := declarative.Plan(ctx, st, d, false)
	if err != nil {
		t.Fatal(err)
	}
	if version(t, st) != 2 { // the two modules
		t.Fatal("Plan wrote")
	}
	applied, err := declarative.Apply(ctx, st, d, false)
	if err != nil {
		t.Fatalf("%v\napplied so far:\n%s", err, summary(applied))
	}
	if summary(planned) != summary(applied) {
		t.Errorf("plan and apply differ:\n%s\n---\n%s", summary(planned), summary(applied))
	}
	t.Logf("applied:\n%s", summary(applied))
	if len(applied) != 21 {
		t.Errorf("%d changes", len(applied))
	}

	// What was applied is in the store.
	a, err := st.GetAPI(ctx, "internal")
	if err != nil || a.SubscriptionRequired || a.KeyHeader != "X-Api-Key" || !a.AllowQueryKey || a.KeyQuery != catalog.DefaultKeyQuery {
		t.Errorf("internal = %+v, %v", a, err)
	}
	ops, _ := st.ListOperations(ctx, "echo")
	if len(ops) != 2 {
		t.Errorf("ops = %+v", ops)
	}
	pd, err := st.GetPolicy(ctx, catalog.ScopeOperation, "echo-get")
	if err != nil || string(pd.Inbound[1].Config) != `{"calls":5,"renewal_period":10}` {
		t.Errorf("op policy = %+v, %v", pd, err)
	}
	if s, err := st.GetSubscription(ctx, "alice-starter"); err != nil || s.State != catalog.StateActive {
		t.Errorf("alice-starter = %+v, %v", s, err)
	}
	if s, err := st.GetSubscription(ctx, "bob-all"); err != nil || s.State != catalog.StateSuspended || s.ExpiresAt == nil {
		t.Errorf("bob-all = %+v, %v", s, err)
	}
	if n, err := st.GetNamedValue(ctx, "partner-token"); err != nil || n.Value != "s3cret" || !n.Secret {
		t.Errorf("partner-token = %+v, %v", n, err)
	}

	// Applying again changes nothing, with or without prune.
	v := version(t, st)
	for _, prune := range []bool{false, true} {
		again, err := declarative.Apply(ctx, st, d, prune)
		if err != nil || len(again) != 0 {
			t.Fatalf("second apply (prune=%v): %v\n%s", prune, err, summary(again))
		}
	}
	if version(t, st) != v {
		t.Error("second apply wrote")
	}

	// Export → Marshal → Parse → Plan: no changes.
	exp, err := declarative.Export(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	y, err := declarative.Marshal(exp)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(y), "s3cret") || strings.Contains(strings.ToLower(string(y)), "primarykey") {
		t.Errorf("export carries secrets:\n%s", y)
	}
	back, err := declarative.Parse(y)
	if err != nil {
		t.Fatalf("%v\n%s", err, y)
	}
	for _, prune := range []bool{false, true} {
		cs, err := declarative.Plan(ctx, st, back, prune)
		if err != nil || len(cs) != 0 {
			t.Fatalf("round trip (prune=%v): %v\n%s\n%s", prune, err, summary(cs), y)
		}
	}
	// The same through JSON (the admin API's export without YAML).
	j, err := json.Marshal(exp)
	if err != nil {
		t.Fatal(err)
	}
	backJ, err := declarative.Parse(j)
	if err != nil {
		t.Fatalf("%v\n%s", err, j)
	}
	if cs, err := declarative.Plan(ctx, st, backJ, true); err != nil || len(cs) != 0 {
		t.Fatalf("JSON round trip: %v\n%s\n%s", err, summary(cs), j)
	}
	// Marshal is stable.
	y2, _ := declarative.Marshal(back)
	if !bytes.Equal(y, y2) {
		t.Errorf("marshal not stable:\n%s\n---\n%s", y, y2)
	}

	// The export applies to an empty catalog (secret values aside).
	st2 := open(t)
	if _, err := declarative.Apply(ctx, st2, back, false); err == nil || !strings.Contains(err.Error(), "namedValues[1].value") {
		t.Errorf("apply of an export with a secret: err = %v", err)
	}
	back.NamedValues = nil
	if _, err := declarative.Apply(ctx, st2, back, false); err != nil {
		t.Fatal(err)
	}
	exp2, _ := declarative.Export(ctx, st2)
	exp2.NamedValues = nil
	y3, _ := declarative.Marshal(exp2)
	back.NamedValues = nil
	y4, _ := declarative.Marshal(back)
	if !bytes.Equal(y3, y4) {
		t.Errorf("copy differs:\n%s\n---\n%s", y3, y4)
	}
}

func TestUpdatesAndDiffs(t *testing.T) {
	ctx := context.Background()
	st := open(t)
	if _, err := declarative.Apply(ctx, st, parseFile(t, "testdata/catalog.yaml"), false); err != nil {
		t.Fatal(err)
	}
	a, _ := st.GetAPI(ctx, "echo")
	a.OpenAPIDoc, a.Revision = []byte("openapi: 3.0.3"), 3
	if _, err := st.UpdateAPI(ctx, a); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile("testdata/catalog.yaml")
	s := strings.NewReplacer(
		"backendUrl: http://127.0.0.1:8081", "backendUrl: http://127.0.0.1:8082",
		"config: {calls: 5, renewal_period: 10}\n      - name: get-item", "config: {calls: 6, renewal_period: 10}\n      - name: get-item",
		"value: s3cret", "value: n3w",
		"state: suspended", "state: active",
		"name: Bob\n", "name: Robert\n",
	).Replace(string(b))
	cs, err := declarative.Apply(ctx, st, parse(t, s), false)
	if err != nil {
		t.Fatal(err)
	}
	want := `update user bob (name: "Bob" → "Robert")
update named-value partner-token (value: (secret) changed)
update api echo (backendUrl: "http://127.0.0.1:8081" → "http://127.0.0.1:8082")
update subscription bob-all (state: "suspended" → "active")
update policy operation/echo-get (inbound: configuration changed)`
	if got := summary(cs); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// The API's OpenAPI document and revision survive an update.
	if a, _ := st.GetAPI(ctx, "echo"); string(a.OpenAPIDoc) != "openapi: 3.0.3" || a.Revision != 3 || a.BackendURL != "http://127.0.0.1:8082" {
		t.Errorf("api = %+v", a)
	}
}

func TestPartialDocumentAndPrune(t *testing.T) {
	ctx := context.Background()
	st := open(t)
	if _, err := declarative.Apply(ctx, st, parseFile(t, "testdata/catalog.yaml"), false); err != nil {
		t.Fatal(err)
	}
	// Only named values are described: without prune, nothing is deleted.
	d := parse(t, "version: 1\nnamedValues:\n  - {name: backend-host, value: other.example.com}\n")
	cs, err := declarative.Apply(ctx, st, d, false)
	if err != nil || summary(cs) != `update named-value backend-host (value: "internal.example.com" → "other.example.com")` {
		t.Fatalf("%v\n%s", err, summary(cs))
	}
	// With prune, only named values go; APIs, users … are untouched.
	cs, err = declarative.Apply(ctx, st, d, true)
	if err != nil || summary(cs) != "delete named-value partner-token" {
		t.Fatalf("%v\n%s", err, summary(cs))
	}
	// users: [] with prune deletes every user — refused while subscriptions
	// (not in the document) still belong to them.
	empty := parse(t, "version: 1\nusers: []\n")
	if _, err := declarative.Plan(ctx, st, empty, true); !errors.Is(err, catalog.ErrInvalid) || !strings.Contains(err.Error(), "prune") {
		t.Fatalf("err = %v", err)
	}
	// apis: [] with prune deletes every API (no subscription is scoped to one).
	cs, err = declarative.Plan(ctx, st, parse(t, "version: 1\napis: []\n"), true)
	if err != nil || summary(cs) != "delete api echo\ndelete api internal" {
		t.Fatalf("%v\n%s", err, summary(cs))
	}
	// Operation pruning inside an API, and API-level policy removal.
	d = parseFile(t, "testdata/catalog.yaml")
	d.APIs[0].Operations = d.APIs[0].Operations[:1]
	d.APIs[0].Policy = nil
	d.NamedValues = nil
	cs, err = declarative.Plan(ctx, st, d, false)
	if err != nil || len(cs) != 0 {
		t.Fatalf("no prune: %v\n%s", err, summary(cs))
	}
	cs, err = declarative.Apply(ctx, st, d, true)
	if err != nil {
		t.Fatal(err)
	}
	got := summary(cs)
	if !strings.Contains(got, "delete policy api/echo") || !strings.Contains(got, "delete operation echo/") || len(cs) != 2 {
		t.Errorf("prune:\n%s", got)
	}
	// A policy: {} removes the document.
	d.APIs[0].Operations[0].Policy = &declarative.Policy{}
	cs, err = declarative.Apply(ctx, st, d, false)
	if err != nil || summary(cs) != "delete policy operation/echo-get" {
		t.Fatalf("%v\n%s", err, summary(cs))
	}
}

func TestErrorsWriteNothing(t *testing.T) {
	ctx := context.Background()
	st := open(t)
	if _, err := declarative.Apply(ctx, st, parseFile(t, "testdata/catalog.yaml"), false); err != nil {
		t.Fatal(err)
	}
	v := version(t, st)
	good, _ := os.ReadFile("testdata/catalog.yaml")
	for _, tc := range []struct{ name, old, new, path string }{
		{"missing module", "module: builtin@1.0.0", "module: builtin@2.0.0", "apis[0].policy.inbound[1].module"},
		{"missing api", "apis: [echo, internal]", "apis: [echo, nope]", "products[1].apis[1]"},
		{"missing user", "users: [alice]", "users: [carol]", "groups[0].users[0]"},
		{"subscription user", "userId: bob", "userId: carol", "subscriptions[1].userId"},
		{"subscription scope", "scopeId: starter", "scopeId: gold", "subscriptions[0].scopeId"},
		{"bad backend", "backendUrl: https://internal.example.com/api", "backendUrl: ftp://x", "apis[1].backendUrl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := strings.Replace(string(good), tc.old, tc.new, 1)
			if s == string(good) {
				t.Fatal("no replacement")
			}
			d, err := declarative.Parse([]byte(s))
			if err == nil {
				_, err = declarative.Apply(ctx, st, d, true)
			}
			var fe *catalog.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v", err)
			}
			if fe.Path != tc.path {
				t.Errorf("path = %q, want %q (%v)", fe.Path, tc.path, err)
			}
			t.Log(err)
		})
	}
	// Changing a subscription's owner is refused.
	s := strings.Replace(string(good), "userId: alice", "userId: bob", 1)
	if _, err := declarative.Apply(ctx, st, parse(t, s), false); err == nil || !strings.Contains(err.Error(), "subscriptions[0].userId") {
		t.Errorf("err = %v", err)
	}
	// A new operation ID for an existing method + template needs prune.
	s = strings.Replace(string(good), "id: echo-get", "id: echo-get-2", 1)
	if _, err := declarative.Apply(ctx, st, parse(t, s), false); err == nil || !strings.Contains(err.Error(), "apis[0].operations[0].id") {
		t.Errorf("err = %v", err)
	}
	if version(t, st) != v {
		t.Error("a refused apply wrote")
	}
	cs, err := declarative.Apply(ctx, st, parse(t, s), true)
	if err != nil || summary(cs) != "delete operation echo/echo-get\ncreate operation echo/echo-get-2\ncreate policy operation/echo-get-2" {
		t.Errorf("%v\n%s", err, summary(cs))
	}
}

func TestParseStrict(t *testing.T) {
	for _, tc := range []struct{ doc, path string }{
		{"", ""},
		{"version: 2\n", "version"},
		{"apis: []\n", "version"},
		{"version: 1\nfoo: 1\n", "foo"},
		{"version: 1\napis:\n  - id: a\n    backendURL: http://x\n", "apis[0].backendURL"},
		{"version: 1\napis:\n  - {id: a, name: A, pathPrefix: /a, backendUrl: 'http://x', operations: [{name: o, method: GET, urlTemplate: /, polcy: {}}]}\n", "apis[0].operations[0].polcy"},
		{"version: 1\nusers: [{id: u, email: not-an-email, name: U}]\n", "users[0].email"},
		{"version: 1\nusers: [{id: u, email: u@x.com, name: U}, {id: u, email: v@x.com, name: V}]\n", "users[1].id"},
		{"version: 1\n---\nversion: 1\n", ""},
		{"version: 1\nnamedValues: [{name: x}]\n", "namedValues[0].value"},
		{"version: 1\nglobalPolicy: {inbound: [{base: true}]}\n", "globalPolicy.inbound[0].base"},
		{"version: 1\nglobalPolicy: {inbound: [{module: m, config: &a [1]}, {module: m, config: *a}]}\n", "globalPolicy.inbound[1].config"},
		{`{"version": 1, "users": [{"id": "u", "email": "u@x.com", "name": "U", "role": "x"}]}`, "users[0].role"},
		{"version: one\n", ""},
	} {
		_, err := declarative.Parse([]byte(tc.doc))
		var fe *catalog.FieldError
		if !errors.As(err, &fe) || !errors.Is(err, catalog.ErrInvalid) || fe.Path != tc.path {
			t.Errorf("%q: err = %v (path %q), want path %q", tc.doc, err, pathOf(fe), tc.path)
		}
	}
	// JSON works too.
	d := parse(t, `{"version": 1, "namedValues": [{"name": "a", "value": "b"}], "globalPolicy": {}}`)
	if len(d.NamedValues) != 1 || d.GlobalPolicy == nil || d.APIs != nil {
		t.Errorf("d = %+v", d)
	}
}

func pathOf(fe *catalog.FieldError) string {
	if fe == nil {
		return "<nil>"
	}
	return fe.Path
}

func TestCheckPolicy(t *testing.T) {
	ctx := context.Background()
	st := open(t)
	d := parseFile(t, "testdata/catalog.yaml")
	var seen []string
	check := func(_ context.Context, pd catalog.PolicyDoc) error {
		seen = append(seen, string(pd.Scope)+"/"+pd.ScopeID)
		if pd.Scope == catalog.ScopeProduct {
			return &catalog.FieldError{Path: "inbound[1].config.calls", Msg: "must be at most 50"}
		}
		return nil
	}
	_, err := declarative.ApplyWith(ctx, st, d, declarative.Options{CheckPolicy: check})
	var fe *catalog.FieldError
	if !errors.As(err, &fe) || fe.Path != "products[0].policy.inbound[1].config.calls" {
		t.Fatalf("err = %v", err)
	}
	if version(t, st) != 2 {
		t.Error("a refused apply wrote")
	}
	if len(seen) != 3 {
		t.Errorf("checked %v", seen)
	}
}

// An empty section (drop the parent's) is not an absent one (inherit): it
// survives apply, export and a second plan.
func TestEmptySectionRoundTrip(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	doc := parse(t, `version: 1
apis:
  - id: a
    name: A
    pathPrefix: /a
    backendUrl: http://127.0.0.1:9
    policy:
      outbound: []
`)
	if _, err := declarative.Apply(ctx, st, doc, false); err != nil {
		t.Fatal(err)
	}
	pd, err := st.GetPolicy(ctx, catalog.ScopeAPI, "a")
	if err != nil {
		t.Fatal(err)
	}
	if pd.Outbound == nil || len(pd.Outbound) != 0 || pd.Inbound != nil {
		t.Fatalf("stored %#v", pd)
	}
	exp, err := declarative.Export(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	b, err := declarative.Marshal(exp)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "outbound: []") {
		t.Errorf("export lost the empty section:\n%s", b)
	}
	again, err := declarative.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if ch, err := declarative.Plan(ctx, st, again, false); err != nil || len(ch) != 0 {
		t.Errorf("export → plan: %v %+v", err, ch)
	}
}
