package catalogsource_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/catalog/sqlite"
	"github.com/gatehouse/gatehouse/examples"
	"github.com/gatehouse/gatehouse/host/catalogsource"
	"github.com/gatehouse/gatehouse/host/gateway"
)

// TestPatchedLoadMatchesFull: over a seeded random sequence of catalog
// writes through a real SQLite store (APIs, operations, policy documents of
// every scope, products and their links, modules, named values,
// subscriptions and users), the config Load builds after each write from
// the rows the write touched equals the config a fresh source builds from
// a full read — APIs with their operations and effective policies,
// modules, secret values, skipped entries — and the patch path was the one
// taken for every write it handles.
func TestPatchedLoadMatchesFull(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	key := make([]byte, 32)
	st, err := sqlite.OpenWithMasterKey(filepath.Join(dir, "catalog.db"), key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	rng := rand.New(rand.NewPCG(15, 2))
	mod := func(name, version string) {
		t.Helper()
		must[catalog.Module](t)(st.CreateModule(ctx, catalog.Module{Name: name, Version: version,
			Wasm: []byte("\x00asm\x01\x00\x00\x00" + name + version), Manifest: catalog.ModuleManifest{ABIVersion: 1}}))
	}
	mod("builtin", "1.0.0")
	mod("m", "1.0.0")
	must[catalog.NamedValue](t)(st.CreateNamedValue(ctx, catalog.NamedValue{Name: "nv", Value: "plain"}))
	must[catalog.NamedValue](t)(st.CreateNamedValue(ctx, catalog.NamedValue{Name: "tok", Value: "s3cret-value", Secret: true}))
	user := must[catalog.User](t)(st.CreateUser(ctx, catalog.User{Email: "dev@example.com", Name: "Dev"}))

	src := catalogsource.New(st)
	kinds := map[string]int{}
	check := func(step int, what string, wantKind string) {
		t.Helper()
		got, _, err := src.Load(ctx)
		if err != nil {
			t.Fatalf("step %d (%s): patched load: %v", step, what, err)
		}
		kinds[src.LastLoad()]++
		// Every kind of load hands the gateway a config nothing changes
		// afterwards: it keeps it instead of a copy.
		if !got.Immutable {
			t.Fatalf("step %d (%s): a %s load's config is not marked immutable", step, what, src.LastLoad())
		}
		if k := src.LastLoad(); wantKind != "" && k != wantKind {
			t.Fatalf("step %d (%s): load was %s, want %s", step, what, k, wantKind)
		}
		fresh := catalogsource.New(st)
		want, _, err := fresh.Load(ctx)
		if err != nil {
			t.Fatalf("step %d (%s): full load: %v", step, what, err)
		}
		g := *got
		g.Unchanged = false
		if !reflect.DeepEqual(&g, want) {
			t.Fatalf("step %d (%s): patched config differs from a full load:\n%s", step, what, firstDiff(&g, want))
		}
		if !slices.Equal(src.Skipped(), fresh.Skipped()) {
			t.Fatalf("step %d (%s): skipped %q, full load %q", step, what, src.Skipped(), fresh.Skipped())
		}
	}
	check(0, "first", catalogsource.LoadFull)

	type apiRec struct {
		api catalog.API
		ops []catalog.Operation
	}
	var apis []*apiRec
	var products []string
	var subs []string
	pick := func() *apiRec { return apis[rng.IntN(len(apis))] }
	entries := func() []catalog.PolicyEntry {
		var out []catalog.PolicyEntry
		n := rng.IntN(3)
		base := rng.IntN(n + 2) // n+1: no base
		for i := 0; i <= n; i++ {
			if i == base {
				out = append(out, catalog.PolicyEntry{Base: true})
			}
			if i == n {
				break
			}
			e := catalog.PolicyEntry{Module: "builtin", Policy: "set-header",
				Config: json.RawMessage(fmt.Sprintf(`{"name":"X-%d","value":"v%d"}`, rng.IntN(5), rng.IntN(100)))}
			switch rng.IntN(6) {
			case 0:
				e.Config = json.RawMessage(`{"name":"X-NV","value":"{{nv}}-{{tok}}"}`)
			case 1:
				e = catalog.PolicyEntry{Module: "m", Policy: "p", Config: json.RawMessage(`{}`)}
			case 2:
				e = catalog.PolicyEntry{Module: "builtin", Policy: "mock-response", Config: json.RawMessage(`{}`)}
			}
			out = append(out, e)
		}
		return out
	}
	doc := func(scope catalog.Scope, id string) catalog.PolicyDoc {
		d := catalog.PolicyDoc{Scope: scope, ScopeID: id, Inbound: entries()}
		if rng.IntN(2) == 0 {
			d.Outbound = entries()
		}
		return d
	}
	// Three OpenAPI documents an API may carry: none, and two whose
	// get-item examples differ.
	docs := [][]byte{nil, examples.EchoOpenAPI, bytes.ReplaceAll(examples.EchoOpenAPI, []byte("Item 42"), []byte("Item 43"))}
	newAPI := func(i int) catalog.API {
		a := catalog.API{ID: fmt.Sprintf("api%d", i), Name: fmt.Sprintf("n%03d", rng.IntN(1000)), PathPrefix: fmt.Sprintf("/p%d", i),
			BackendURL: "http://127.0.0.1:1", SubscriptionRequired: rng.IntN(2) == 0}
		a.OpenAPIDoc = docs[rng.IntN(len(docs))]
		return a
	}
	templates := []string{"/get", "/post", "/items/{id}", "/status/{code}", "/x"}
	nextAPI, nextProduct := 0, 0
	for step := 1; step <= 300; step++ {
		kind := catalogsource.LoadPatched
		var what string
		switch r := rng.IntN(20); {
		case len(apis) < 3 || r == 0:
			a := newAPI(nextAPI)
			nextAPI++
			if _, err := st.CreateAPI(ctx, a); err != nil {
				continue // a name taken: no write
			}
			a.OpenAPIDoc = nil
			apis = append(apis, &apiRec{api: a})
			what = "create api " + a.ID
		case r == 1:
			rec := pick()
			rec.api.BackendURL = fmt.Sprintf("http://127.0.0.1:%d", 1+rng.IntN(9))
			rec.api.SubscriptionRequired = !rec.api.SubscriptionRequired
			if rng.IntN(2) == 0 {
				rec.api.Name = fmt.Sprintf("n%03d", rng.IntN(1000)) // moves in name order
			}
			rec.api.OpenAPIDoc = docs[rng.IntN(len(docs))]
			if _, err := st.UpdateAPI(ctx, rec.api); err != nil {
				continue
			}
			what = "update api " + rec.api.ID
		case r == 2 && len(apis) > 3:
			i := rng.IntN(len(apis))
			if err := st.DeleteAPI(ctx, apis[i].api.ID); err != nil {
				t.Fatal(err)
			}
			what = "delete api " + apis[i].api.ID
			if rng.IntN(2) == 0 {
				// Created again under the same ID before the next load: its
				// operations, documents and product links are gone.
				a := apis[i].api
				a.OpenAPIDoc = nil
				if _, err := st.CreateAPI(ctx, a); err != nil {
					t.Fatal(err)
				}
				apis[i].ops = nil
				what += " and create it again"
				break
			}
			apis = slices.Delete(apis, i, i+1)
		case r <= 5:
			rec := pick()
			o := catalog.Operation{APIID: rec.api.ID, Name: fmt.Sprintf("op%d", rng.IntN(4)), Method: []string{"GET", "POST", "*"}[rng.IntN(3)],
				URLTemplate: templates[rng.IntN(len(templates))]}
			o, err := st.CreateOperation(ctx, o)
			if err != nil {
				continue
			}
			rec.ops = append(rec.ops, o)
			what = "create operation " + o.ID
		case r == 6:
			rec := pick()
			if len(rec.ops) == 0 {
				continue
			}
			i := rng.IntN(len(rec.ops))
			if rng.IntN(2) == 0 {
				if err := st.DeleteOperation(ctx, rec.ops[i].ID); err != nil {
					t.Fatal(err)
				}
				what = "delete operation " + rec.ops[i].ID
				rec.ops = slices.Delete(rec.ops, i, i+1)
			} else {
				o := rec.ops[i]
				o.URLTemplate = templates[rng.IntN(len(templates))]
				if _, err := st.UpdateOperation(ctx, o); err != nil {
					continue
				}
				rec.ops[i] = o
				what = "update operation " + o.ID
			}
		case r <= 10:
			rec := pick()
			d := doc(catalog.ScopeAPI, rec.api.ID)
			if len(rec.ops) > 0 && rng.IntN(2) == 0 {
				d = doc(catalog.ScopeOperation, rec.ops[rng.IntN(len(rec.ops))].ID)
			}
			if rng.IntN(4) == 0 {
				if err := st.DeletePolicy(ctx, d.Scope, d.ScopeID); err != nil {
					continue
				}
				what = "delete policy " + string(d.Scope) + "/" + d.ScopeID
				break
			}
			if err := st.SetPolicy(ctx, d); err != nil {
				t.Fatal(err)
			}
			what = "set policy " + string(d.Scope) + "/" + d.ScopeID
		case r == 11:
			d := doc(catalog.ScopeGlobal, "")
			for _, sec := range []*[]catalog.PolicyEntry{&d.Inbound, &d.Outbound} {
				*sec = slices.DeleteFunc(*sec, func(e catalog.PolicyEntry) bool { return e.Base })
			}
			if err := st.SetPolicy(ctx, d); err != nil {
				t.Fatal(err)
			}
			what = "set global policy"
		case r == 12:
			p := must[catalog.Product](t)(st.CreateProduct(ctx, catalog.Product{ID: fmt.Sprintf("prod%d", nextProduct), Name: fmt.Sprintf("Product %d", nextProduct)}))
			nextProduct++
			products = append(products, p.ID)
			what = "create product " + p.ID
		case r == 13 && len(products) > 0:
			pid := products[rng.IntN(len(products))]
			l := catalog.ProductAPI{ProductID: pid, APIID: pick().api.ID}
			if rng.IntN(3) == 0 {
				if err := st.RemoveProductAPI(ctx, l); err != nil {
					continue
				}
				what = "unlink product " + pid
				break
			}
			if err := st.AddProductAPI(ctx, l); err != nil {
				continue
			}
			what = "link product " + pid
		case r == 14 && len(products) > 0:
			pid := products[rng.IntN(len(products))]
			if rng.IntN(4) == 0 {
				if err := st.DeleteProduct(ctx, pid); err != nil {
					t.Fatal(err)
				}
				products = slices.DeleteFunc(products, func(p string) bool { return p == pid })
				what = "delete product " + pid
				break
			}
			if err := st.SetPolicy(ctx, doc(catalog.ScopeProduct, pid)); err != nil {
				t.Fatal(err)
			}
			what = "set product policy " + pid
		case r == 15:
			mod("m", fmt.Sprintf("1.%d.0", step))
			what = "upload module m"
		case r == 16:
			must[catalog.NamedValue](t)(st.UpdateNamedValue(ctx, catalog.NamedValue{Name: []string{"nv", "tok"}[rng.IntN(2)],
				Value: fmt.Sprintf("value-%d", step), Secret: rng.IntN(2) == 0}))
			what = "update named value"
		case r == 17:
			sub, _, _, err := st.CreateSubscription(ctx, catalog.Subscription{UserID: user.ID, Scope: catalog.ScopeAll, State: catalog.StateActive})
			if err != nil {
				t.Fatal(err)
			}
			subs = append(subs, sub.ID)
			what, kind = "create subscription", catalogsource.LoadUnchanged
		case r == 18 && len(subs) > 0:
			if _, err := st.SetSubscriptionState(ctx, subs[rng.IntN(len(subs))], catalog.StateSuspended); err != nil {
				t.Fatal(err)
			}
			what, kind = "suspend subscription", catalogsource.LoadUnchanged
		default:
			// Several writes of different kinds between two loads.
			rec := pick()
			if err := st.SetPolicy(ctx, doc(catalog.ScopeAPI, rec.api.ID)); err != nil {
				t.Fatal(err)
			}
			rec.api.BackendURL = "http://127.0.0.1:7"
			if _, err := st.UpdateAPI(ctx, rec.api); err != nil {
				t.Fatal(err)
			}
			if len(products) > 0 {
				st.AddProductAPI(ctx, catalog.ProductAPI{ProductID: products[0], APIID: rec.api.ID}) // may exist already
			}
			what = "several writes to " + rec.api.ID
		}
		check(step, what, kind)
	}
	t.Logf("loads: %v", kinds)
	if kinds[catalogsource.LoadPatched] < 150 {
		t.Fatalf("only %d patched loads", kinds[catalogsource.LoadPatched])
	}
}

// The patch path falls back to a full read when the audit log cannot
// account for a version, and for an entity kind it does not know.
func TestPatchedLoadFallsBack(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "catalog.db")
	st, err := sqlite.OpenWithMasterKey(path, make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	a := must[catalog.API](t)(st.CreateAPI(ctx, catalog.API{ID: "a", Name: "a", PathPrefix: "/a", BackendURL: "http://127.0.0.1:1"}))
	src := catalogsource.New(st)
	load := func(want string, backend string) {
		t.Helper()
		cfg, _, err := src.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if src.LastLoad() != want || cfg.APIs[0].Backend != backend {
			t.Fatalf("load %s with backend %s, want %s with %s", src.LastLoad(), cfg.APIs[0].Backend, want, backend)
		}
	}
	load(catalogsource.LoadFull, "http://127.0.0.1:1")
	a.BackendURL = "http://127.0.0.1:2"
	must[catalog.API](t)(st.UpdateAPI(ctx, a))
	load(catalogsource.LoadPatched, "http://127.0.0.1:2")

	raw, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	a.BackendURL = "http://127.0.0.1:3"
	must[catalog.API](t)(st.UpdateAPI(ctx, a))
	if _, err := raw.Exec("DELETE FROM audit_log WHERE id = (SELECT max(id) FROM audit_log)"); err != nil {
		t.Fatal(err)
	}
	load(catalogsource.LoadFull, "http://127.0.0.1:3")

	// A write the patch path does not know (an entity a later version
	// might add) is answered by a full read.
	a.BackendURL = "http://127.0.0.1:4"
	must[catalog.API](t)(st.UpdateAPI(ctx, a))
	if _, err := raw.Exec("UPDATE audit_log SET entity = 'future-kind' WHERE id = (SELECT max(id) FROM audit_log)"); err != nil {
		t.Fatal(err)
	}
	load(catalogsource.LoadFull, "http://127.0.0.1:4")
}

// firstDiff describes the first API (or other field) where a and b differ.
func firstDiff(a, b *gateway.Config) string {
	if len(a.APIs) != len(b.APIs) {
		return fmt.Sprintf("%d APIs vs %d", len(a.APIs), len(b.APIs))
	}
	for i := range a.APIs {
		if !reflect.DeepEqual(a.APIs[i], b.APIs[i]) {
			ja, _ := json.Marshal(a.APIs[i])
			jb, _ := json.Marshal(b.APIs[i])
			return fmt.Sprintf("API %d:\npatched %s\nfull    %s", i, ja, jb)
		}
	}
	ja, _ := json.Marshal(struct {
		P gateway.Policy
		M []gateway.ModuleSpec
		S []string
		V int64
	}{a.Policies, a.Modules, a.SecretValues, a.Version})
	jb, _ := json.Marshal(struct {
		P gateway.Policy
		M []gateway.ModuleSpec
		S []string
		V int64
	}{b.Policies, b.Modules, b.SecretValues, b.Version})
	return fmt.Sprintf("patched %s\nfull    %s", ja, jb)
}
