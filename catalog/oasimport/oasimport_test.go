package oasimport_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/mattn/go-sqlite3"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/catalog/oasimport"
	"github.com/gatehouse/gatehouse/catalog/sqlite"
)

func open(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.OpenWithMasterKey(filepath.Join(t.TempDir(), "catalog.db"), bytes.Repeat([]byte{0x42}, 32))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func opSummary(ops []catalog.Operation) string {
	var parts []string
	for _, o := range ops {
		parts = append(parts, o.Method+" "+o.URLTemplate+" "+o.Name)
	}
	return strings.Join(parts, "; ")
}

func TestParseFixtures(t *testing.T) {
	for _, tc := range []struct {
		file, format, title, version, backend, ops string
	}{
		{"testdata/petstore-swagger2.json", "swagger-2.0", "Swagger Petstore", "1.0.0", "https://petstore.example.com/v1",
			"GET /pets listPets; POST /pets createPet; DELETE /pets/{petId} DELETE /pets/{petId}; GET /pets/{petId} showPetById"},
		{"testdata/petstore-oas30.yaml", "openapi-3.0", "Petstore", "2.1.0", "https://petstore.example.com/v2",
			"GET /pets listPets; POST /pets createPet; DELETE /pets/{petId} deletePet; GET /pets/{petId} showPetById; PUT /pets/{petId} updatePet"},
		{"testdata/petstore-oas31.json", "openapi-3.1", "Petstore 3.1", "3.0.0", "https://api.pets.example.com/v3",
			"GET /pets listPets; GET /pets/{petId} showPetById; PATCH /pets/{petId} PATCH /pets/{petId}"},
		{"../../examples/echo-openapi.yaml", "openapi-3.0", "Echo API", "1.0.0", "http://127.0.0.1:8081",
			"GET /get echo-get; GET /items/{id} get-item; POST /post echo-post; GET /status/{code} get-status"},
	} {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			r, err := oasimport.Parse(read(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if r.Format != tc.format || r.Title != tc.title || r.Version != tc.version {
				t.Errorf("format/title/version = %q %q %q", r.Format, r.Title, r.Version)
			}
			if got := opSummary(r.Operations); got != tc.ops {
				t.Errorf("operations:\n got %s\nwant %s", got, tc.ops)
			}
			// The backend is derived from the first absolute server URL.
			st := open(t)
			rep, err := oasimport.Import(context.Background(), st, oasimport.Request{PathPrefix: "/p", Document: read(t, tc.file)})
			if err != nil {
				t.Fatal(err)
			}
			if rep.API.BackendURL != tc.backend {
				t.Errorf("backend = %q, want %q", rep.API.BackendURL, tc.backend)
			}
		})
	}
}

func TestImportCreate(t *testing.T) {
	ctx := context.Background()
	st := open(t)
	doc := read(t, "testdata/petstore-oas30.yaml")
	rep, err := oasimport.Import(ctx, st, oasimport.Request{PathPrefix: "/pets", Document: doc})
	if err != nil {
		t.Fatal(err)
	}
	a := rep.API
	if a.ID != "petstore" || a.Name != "Petstore" || a.Version != "2.1.0" || !a.SubscriptionRequired || a.PathPrefix != "/pets" {
		t.Errorf("api = %+v", a)
	}
	got, err := st.GetAPI(ctx, "petstore")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.OpenAPIDoc, doc) {
		t.Error("stored document differs from the one given")
	}
	ops, _ := st.ListOperations(ctx, "petstore")
	if len(ops) != 5 || len(rep.Created) != 5 {
		t.Fatalf("ops = %v, created = %v", ops, rep.Created)
	}
	// Same name again: a clear conflict, nothing written.
	v, _ := st.Version(ctx)
	_, err = oasimport.Import(ctx, st, oasimport.Request{PathPrefix: "/pets2", Document: doc})
	if !errors.Is(err, catalog.ErrConflict) {
		t.Fatalf("err = %v, want conflict", err)
	}
	if v2, _ := st.Version(ctx); v2 != v {
		t.Error("a refused import wrote something")
	}
	// Explicit name, backend and subscription setting.
	no := false
	rep, err = oasimport.Import(ctx, st, oasimport.Request{Name: "Pets v1", PathPrefix: "/v1/pets",
		BackendURL: "http://127.0.0.1:9000", SubscriptionRequired: &no, Document: read(t, "testdata/petstore-swagger2.json")})
	if err != nil {
		t.Fatal(err)
	}
	if rep.API.ID != "pets-v1" || rep.API.BackendURL != "http://127.0.0.1:9000" || rep.API.SubscriptionRequired {
		t.Errorf("api = %+v", rep.API)
	}
	// A path prefix already in use is a conflict and leaves nothing behind.
	v, _ = st.Version(ctx)
	_, err = oasimport.Import(ctx, st, oasimport.Request{Name: "Other", PathPrefix: "/pets", Document: doc})
	if !errors.Is(err, catalog.ErrConflict) {
		t.Fatalf("err = %v, want conflict", err)
	}
	if _, err := st.GetAPI(ctx, "other"); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("api other left behind: %v", err)
	}
	_ = v
}

func TestReimport(t *testing.T) {
	ctx := context.Background()
	st := open(t)
	rep, err := oasimport.Import(ctx, st, oasimport.Request{Name: "Pets", PathPrefix: "/pets", Document: read(t, "testdata/petstore-oas30.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]catalog.Operation{}
	for _, o := range rep.Created {
		ids[o.Method+" "+o.URLTemplate] = o
	}
	if _, err := st.CreateModule(ctx, catalog.Module{Name: "noop", Version: "1.0.0", Wasm: []byte("\x00asm\x01\x00\x00\x00"),
		Manifest: catalog.ModuleManifest{ABIVersion: 1}}); err != nil {
		t.Fatal(err)
	}
	show, del := ids["GET /pets/{petId}"], ids["DELETE /pets/{petId}"]
	for _, id := range []string{show.ID, del.ID} {
		if err := st.SetPolicy(ctx, catalog.PolicyDoc{Scope: catalog.ScopeOperation, ScopeID: id,
			Inbound: []catalog.PolicyEntry{{Base: true}, {Module: "noop"}}}); err != nil {
			t.Fatal(err)
		}
	}

	// Version 2 of the API: delete is gone, showPetById renamed, a new
	// /pets/{petId}/photo operation.
	doc2 := strings.NewReplacer(
		"operationId: showPetById", "operationId: getPet",
		"    delete:\n      operationId: deletePet\n      responses:\n        \"204\": {description: Deleted}\n",
		"  /pets/{petId}/photo:\n    get:\n      operationId: getPhoto\n      parameters:\n        - {name: petId, in: path, required: true, schema: {type: string}}\n      responses:\n        \"200\": {description: ok}\n",
		"version: 2.1.0", "version: 2.2.0",
	).Replace(string(read(t, "testdata/petstore-oas30.yaml")))
	rep, err = oasimport.Import(ctx, st, oasimport.Request{APIID: "pets", Document: []byte(doc2)})
	if err != nil {
		t.Fatal(err)
	}
	if got := opSummary(rep.Created); got != "GET /pets/{petId}/photo getPhoto" {
		t.Errorf("created: %s", got)
	}
	if got := opSummary(rep.Updated); got != "GET /pets/{petId} getPet" || rep.Updated[0].ID != show.ID {
		t.Errorf("updated: %s", got)
	}
	if got := opSummary(rep.Deleted); got != "DELETE /pets/{petId} deletePet" {
		t.Errorf("deleted: %s", got)
	}
	if rep.API.Version != "2.2.0" || rep.API.Name != "Pets" || rep.API.PathPrefix != "/pets" {
		t.Errorf("api = %+v", rep.API)
	}
	// The kept operation's policy survives; the deleted one's is gone.
	if d, err := st.GetPolicy(ctx, catalog.ScopeOperation, show.ID); err != nil || len(d.Inbound) != 2 {
		t.Errorf("kept op policy: %+v, %v", d, err)
	}
	if _, err := st.GetPolicy(ctx, catalog.ScopeOperation, del.ID); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("deleted op policy: %v", err)
	}
	if a, _ := st.GetAPI(ctx, "pets"); string(a.OpenAPIDoc) != doc2 {
		t.Error("document not replaced")
	}

	// Re-importing the same document changes no operation.
	rep, err = oasimport.Import(ctx, st, oasimport.Request{APIID: "pets", Document: []byte(doc2)})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Created)+len(rep.Updated)+len(rep.Deleted) != 0 {
		t.Errorf("second re-import: %+v", rep)
	}

	// Swapping two operations' names works.
	doc3 := strings.NewReplacer("operationId: listPets", "operationId: createPet", "operationId: createPet", "operationId: listPets").Replace(doc2)
	rep, err = oasimport.Import(ctx, st, oasimport.Request{APIID: "pets", Document: []byte(doc3)})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Updated) != 2 {
		t.Errorf("swap: %+v", rep.Updated)
	}

	// Re-import into a missing API.
	if _, err := oasimport.Import(ctx, st, oasimport.Request{APIID: "nope", Document: []byte(doc2)}); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("err = %v", err)
	}
}

func TestBadDocumentsChangeNothing(t *testing.T) {
	ctx := context.Background()
	st := open(t)
	good := read(t, "testdata/petstore-oas30.yaml")
	if _, err := oasimport.Import(ctx, st, oasimport.Request{Name: "Pets", PathPrefix: "/pets", Document: good}); err != nil {
		t.Fatal(err)
	}
	v, _ := st.Version(ctx)
	bad := map[string]string{
		"empty":       "",
		"spaces":      "  \n",
		"garbage":     "\x00\x01\x02 not { a document",
		"scalar":      "42",
		"no version":  `{"info": {"title": "x", "version": "1"}, "paths": {}}`,
		"openapi 2.5": `{"openapi": "2.5", "info": {"title": "x", "version": "1"}, "paths": {}}`,
		"no paths":    `{"openapi": "3.0.3", "info": {"title": "x", "version": "1"}, "paths": {}}`,
		"31 webhooks only": `{"openapi": "3.1.0", "info": {"title": "x", "version": "1"},
			"webhooks": {"w": {"post": {"responses": {"200": {"description": "ok"}}}}}}`,
		"external file ref": `{"openapi": "3.0.3", "info": {"title": "x", "version": "1"}, "paths": {"/a": {"get": {
			"responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "/etc/passwd#/x"}}}}}}}}}`,
		"external url ref": `{"openapi": "3.0.3", "info": {"title": "x", "version": "1"}, "paths": {"/a": {
			"$ref": "http://127.0.0.1:1/paths.json#/a"}}}`,
		"swagger external ref": `{"swagger": "2.0", "info": {"title": "x", "version": "1"}, "paths": {"/a": {"get": {
			"responses": {"200": {"description": "ok", "schema": {"$ref": "other.json#/definitions/X"}}}}}}}`,
		"bad template": `{"openapi": "3.0.3", "info": {"title": "x", "version": "1"}, "paths": {"/a/{pet.id}": {"get": {
			"parameters": [{"name": "pet.id", "in": "path", "required": true, "schema": {"type": "string"}}],
			"responses": {"200": {"description": "ok"}}}}}}`,
		"duplicate operationId": `{"openapi": "3.0.3", "info": {"title": "x", "version": "1"}, "paths": {
			"/a": {"get": {"operationId": "same", "responses": {"200": {"description": "ok"}}}},
			"/b": {"get": {"operationId": "same", "responses": {"200": {"description": "ok"}}}}}}`,
		"too large": "openapi: 3.0.3\n#" + strings.Repeat("x", oasimport.MaxDocumentSize),
	}
	for name, doc := range bad {
		t.Run(name, func(t *testing.T) {
			for _, req := range []oasimport.Request{
				{Name: "New", PathPrefix: "/new", Document: []byte(doc)},
				{APIID: "pets", Document: []byte(doc)},
			} {
				_, err := oasimport.Import(ctx, st, req)
				var fe *catalog.FieldError
				if !errors.As(err, &fe) || !errors.Is(err, catalog.ErrInvalid) || !strings.HasPrefix(fe.Path, "document") {
					t.Fatalf("err = %v, want a document field error", err)
				}
				t.Log(err)
			}
		})
	}
	// Bad request fields are refused before any write too.
	for _, req := range []oasimport.Request{
		{Name: "New", Document: good},                                            // no path prefix
		{Name: "New", PathPrefix: "/new", BackendURL: "ftp://x", Document: good}, // bad backend
		{APIID: "pets", PathPrefix: "no-slash", Document: good},
		{Name: "!!!", PathPrefix: "/new", Document: good}, // no ID derivable
	} {
		if _, err := oasimport.Import(ctx, st, req); !errors.Is(err, catalog.ErrInvalid) {
			t.Errorf("%+v: err = %v, want invalid", req, err)
		}
	}
	if v2, _ := st.Version(ctx); v2 != v {
		t.Errorf("catalog version moved from %d to %d", v, v2)
	}
}

func TestNameCollision(t *testing.T) {
	// A fallback name equal to another operation's operationId is suffixed.
	r, err := oasimport.Parse([]byte(`openapi: 3.0.3
info: {title: x, version: "1"}
paths:
  /a:
    get: {operationId: "GET /b", responses: {"200": {description: ok}}}
  /b:
    get: {responses: {"200": {description: ok}}}
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := opSummary(r.Operations); got != "GET /a GET /b; GET /b GET /b (GET /b)" {
		t.Errorf("got %s", got)
	}
}

func TestYAMLLeniency(t *testing.T) {
	// Unquoted versions are read as their text, as authors mean them.
	for _, doc := range []string{
		"swagger: 2.0\ninfo: {title: x, version: 1.0}\npaths: {/a: {get: {responses: {'200': {description: ok}}}}}\n",
		"openapi: 3.0.3\ninfo: {title: x, version: 1.0}\npaths: {/a: {get: {responses: {'200': {description: ok}}}}}\n",
	} {
		r, err := oasimport.Parse([]byte(doc))
		if err != nil || r.Version != "1.0" {
			t.Errorf("%q: %+v, %v", doc, r, err)
		}
	}
	// Anchors and merge keys work; an alias bomb is refused quickly.
	r, err := oasimport.Parse([]byte(`openapi: 3.0.3
info: {title: x, version: "1"}
x-ok: &ok {"200": {description: ok}}
paths:
  /a: {get: {responses: *ok}}
  /b: {get: {responses: {<<: *ok, "404": {description: nope}}}}
`))
	if err != nil || len(r.Operations) != 2 {
		t.Errorf("anchors: %+v, %v", r, err)
	}
	bomb := "openapi: 3.0.3\na: &a [x, x, x, x, x, x, x, x, x, x]\n"
	for i := 'b'; i <= 'k'; i++ {
		bomb += fmt.Sprintf("%c: &%c [*%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	if _, err := oasimport.Parse([]byte(bomb)); !errors.Is(err, catalog.ErrInvalid) {
		t.Errorf("bomb: %v", err)
	}
}

// TestDemoSeed is what `gatehouse serve --demo` does: create the API, then
// re-import examples/echo-openapi.yaml into it.
func TestDemoSeed(t *testing.T) {
	ctx := context.Background()
	st := open(t)
	if _, err := st.CreateAPI(ctx, catalog.API{ID: "echo", Name: "Echo API", PathPrefix: "/echo", BackendURL: "http://127.0.0.1:40000", SubscriptionRequired: true}); err != nil {
		t.Fatal(err)
	}
	rep, err := oasimport.Import(ctx, st, oasimport.Request{APIID: "echo", Document: read(t, "../../examples/echo-openapi.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Created) != 4 || rep.API.BackendURL != "http://127.0.0.1:40000" || rep.API.Version != "1.0.0" || !rep.API.SubscriptionRequired {
		t.Errorf("report = %+v", rep)
	}
	// Operations get readable IDs: <api>.<operation name>.
	if _, err := st.GetOperation(ctx, "echo.get-item"); err != nil {
		t.Errorf("operation echo.get-item: %v", err)
	}
}
