package catalogsource

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/catalog/oasimport"
	"github.com/gatehouse/gatehouse/catalog/sqlite"
	"github.com/gatehouse/gatehouse/examples"
	"github.com/gatehouse/gatehouse/host/hosttest"
)

func TestFillMockExample(t *testing.T) {
	x, err := oasimport.LoadExamples(examples.EchoOpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		config, method, tmpl, want string // want "" : kept
	}{
		{``, "GET", "/items/{id}", `{"content_type":"application/json","example":"{\"id\":\"42\",\"name\":\"Item 42\"}"}`},
		{`null`, "GET", "/items/{id}", `{"content_type":"application/json","example":"{\"id\":\"42\",\"name\":\"Item 42\"}"}`},
		{`{"status_code":200,"content_type":""}`, "GET", "/status/{code}", `{"content_type":"","example":"200 OK","status_code":200}`},
		{`{"content_type":"text/plain; charset=utf-8"}`, "GET", "/status/{code}", `{"content_type":"text/plain; charset=utf-8","example":"200 OK"}`},
		{`{"content_type":"application/xml"}`, "GET", "/items/{id}", ``},
		{`{"status_code":201}`, "GET", "/items/{id}", ``},
		{`{"example":""}`, "GET", "/items/{id}", ``},
		{`{"Example":"x"}`, "GET", "/items/{id}", ``},
		{`{"status_code":"200"}`, "GET", "/items/{id}", ``},
		{`[1]`, "GET", "/items/{id}", ``},
		{`{}`, "DELETE", "/items/{id}", ``},
	} {
		got, ok := fillMockExample(json.RawMessage(tc.config), x, tc.method, tc.tmpl)
		if tc.want == "" {
			if ok {
				t.Errorf("%s: filled %s", tc.config, got)
			}
			continue
		}
		if !ok || string(got) != tc.want {
			t.Errorf("%s: %s %v, want %s", tc.config, got, ok, tc.want)
		}
	}
}

// Documents are parsed once per content: a second Load reuses the parsed
// document, a changed document replaces it, and the cache keeps only the
// documents in use.
func TestMockExampleCache(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.OpenWithMasterKey(filepath.Join(t.TempDir(), "c.db"), make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.CreateModule(ctx, catalog.Module{Name: "builtin", Version: "1.0.0", Wasm: hosttest.Guest(t, "plugins/builtin"), Manifest: catalog.ModuleManifest{ABIVersion: 1}}); err != nil {
		t.Fatal(err)
	}
	no := false
	rep, err := oasimport.Import(ctx, st, oasimport.Request{Document: examples.EchoOpenAPI, PathPrefix: "/echo", BackendURL: "http://127.0.0.1:1", SubscriptionRequired: &no})
	if err != nil {
		t.Fatal(err)
	}
	var item string
	for _, o := range rep.Created {
		if o.Name == "get-item" {
			item = o.ID
		}
	}
	setMock := func(cfg string) {
		t.Helper()
		if err := st.SetPolicy(ctx, catalog.PolicyDoc{Scope: catalog.ScopeOperation, ScopeID: item,
			Inbound: []catalog.PolicyEntry{{Module: "builtin", Policy: MockResponsePolicy, Config: json.RawMessage(cfg)}}}); err != nil {
			t.Fatal(err)
		}
	}
	setMock(`{}`)
	src := New(st)
	cached := func() *oasimport.Examples {
		t.Helper()
		if _, _, err := src.Load(ctx); err != nil {
			t.Fatal(err)
		}
		src.exMu.Lock()
		defer src.exMu.Unlock()
		if len(src.examples) > 1 {
			t.Fatalf("%d cached documents", len(src.examples))
		}
		for _, x := range src.examples {
			return x
		}
		return nil
	}
	first := cached()
	if first == nil {
		t.Fatal("nothing cached")
	}
	if cached() != first {
		t.Error("the document was parsed again")
	}
	api := rep.API
	api, _ = st.GetAPI(ctx, api.ID)
	api.OpenAPIDoc = append(append([]byte(nil), api.OpenAPIDoc...), "\n# changed\n"...)
	if _, err := st.UpdateAPI(ctx, api); err != nil {
		t.Fatal(err)
	}
	if x := cached(); x == nil || x == first {
		t.Error("a changed document was not parsed again")
	}
	setMock(`{"example":"x"}`)
	if x := cached(); x != nil {
		t.Error("a document no mock needs stays cached")
	}
}
