package adminapi

import (
	"os"
	"strings"
	"testing"
)

func TestImport(t *testing.T) {
	e := newEnv(t)
	doc, err := os.ReadFile("../oasimport/testdata/petstore-oas30.yaml")
	if err != nil {
		t.Skip("no petstore document:", err)
	}
	var rep importReport
	e.must(201, "POST", "/apis/import", map[string]any{"pathPrefix": "/pets", "backendUrl": "https://petstore.example.com/v2", "document": string(doc)}, &rep)
	if rep.API.ID == "" || len(rep.Created) == 0 || rep.Updated == nil || rep.Deleted == nil {
		t.Fatalf("report %+v", rep)
	}
	r := e.must(200, "GET", "/apis/"+rep.API.ID+"/openapi", nil, nil)
	if string(r.body) != string(doc) || !strings.Contains(r.header.Get("Content-Type"), "yaml") {
		t.Fatalf("stored document: %s %q", r.header.Get("Content-Type"), r.body[:40])
	}
	e.must(200, "POST", "/apis/import", map[string]any{"apiId": rep.API.ID, "pathPrefix": "/pets", "document": string(doc)}, &rep)
	if len(rep.Created) != 0 {
		t.Fatalf("re-import created %+v", rep.Created)
	}
	v := e.version()
	r = e.do("POST", "/apis/import", map[string]any{"pathPrefix": "/broken", "document": "openapi: [1"})
	if r.status != 400 || e.version() != v {
		t.Fatalf("broken document: %d %s", r.status, r.body)
	}
	e.must(400, "POST", "/apis/import", map[string]any{"pathPrefix": "/x"}, nil)
}

func TestApplyExport(t *testing.T) {
	e := newEnv(t)
	doc := `version: 1
users:
  - id: alice
    email: alice@example.com
    name: Alice
products:
  - id: gold
    name: Gold
`
	v := e.version()
	var res struct {
		Changes []struct{ Action, Kind, Key string }
		Applied bool
	}
	e.must(200, "POST", "/apply?dryRun=true", doc, &res)
	if res.Applied || len(res.Changes) != 2 || e.version() != v {
		t.Fatalf("dry run %+v", res)
	}
	e.must(200, "POST", "/apply", doc, &res)
	if !res.Applied || len(res.Changes) != 2 {
		t.Fatalf("apply %+v", res)
	}
	e.must(200, "GET", "/users/alice", nil, nil)
	var audit items[struct{ Actor string }]
	e.must(200, "GET", "/audit?limit=1", nil, &audit)
	if audit.Items[0].Actor != Actor {
		t.Fatalf("apply audited as %q", audit.Items[0].Actor)
	}
	e.must(400, "POST", "/apply?dryRun=maybe", doc, nil)
	v = e.version()
	if r := e.do("POST", "/apply", "version: 1\nbogus: [\n"); r.status != 400 || e.version() != v {
		t.Fatalf("bad document: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/apply", ""); r.status != 400 {
		t.Fatalf("empty document: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/apply", strings.Repeat("#", maxApplyBody+1)); r.status != 413 {
		t.Fatalf("huge document: %d", r.status)
	}

	var exp struct {
		Version int
		Users   []struct{ ID string }
	}
	e.must(200, "GET", "/export", nil, &exp)
	if exp.Version != 1 || len(exp.Users) != 1 {
		t.Fatalf("export %+v", exp)
	}
	req := e.doAccept("/export", "application/yaml")
	if req.status != 200 || !strings.Contains(string(req.body), "alice@example.com") || !strings.Contains(req.header.Get("Content-Type"), "yaml") {
		t.Fatalf("yaml export: %d %s", req.status, req.body)
	}
}

// A declarative apply checks policy configs against module schemas, as
// PUT /policies does, and names the place in the document.
func TestApplyChecksPolicySchemas(t *testing.T) {
	e := newEnv(t)
	if r := e.uploadGrant("ratelimit", "1.0.0", rateLimitManifest, "all", wasmBytes); r.status != 201 {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	doc := `version: 1
products:
  - id: gold
    name: Gold
    policy:
      inbound:
        - module: ratelimit
          config: {limit: "lots"}
`
	v := e.version()
	for _, q := range []string{"?dryRun=true", ""} {
		r := e.do("POST", "/apply"+q, doc)
		if r.status != 400 || !strings.Contains(string(r.body), "products[0].policy.inbound[0].config.limit") || e.version() != v {
			t.Fatalf("apply%s of a config failing its schema: %d %s", q, r.status, r.body)
		}
	}
	good := strings.Replace(doc, `"lots"`, "10", 1)
	e.must(200, "POST", "/apply", good, nil)
}
