package adminapi

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// setHeaderManifest describes the policy the scale documents attach: the
// built-in module's set-header, with a schema the admin API checks every
// config against (as it does for the real module).
const setHeaderManifest = `{"policies": [{"name": "set-header", "configSchema": {"type": "object",
	"required": ["name", "value"], "additionalProperties": false,
	"properties": {"name": {"type": "string"}, "value": {"type": "string"}}}}]}`

// scaleOps are the 5 operations of every API of a scale document (the
// shape of host/gateway/scale_bench_test.go).
var scaleOps = []struct{ method, tmpl string }{
	{"GET", "/items"}, {"GET", "/items/{id}"}, {"GET", "/items/{id}/tags"}, {"POST", "/orders"}, {"DELETE", "/orders/{id}"},
}

// scaleDocument is a declarative document of n APIs `/svcI/v1` × 5
// operations with a set-header policy each, one product per 100 APIs (with
// a policy), n/10 users, one subscription per user (to a product) and 100
// named values. changed, when ≥ 0, is the index of an API whose backend
// and policy differ.
func scaleDocument(n, changed int) []byte {
	var b strings.Builder
	b.Grow(n * 900)
	b.WriteString(`{"version": 1, "apis": [`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		backend, value := "http://127.0.0.1:9/", strconv.Itoa(i)
		if i == changed {
			backend, value = "http://127.0.0.1:10/", value+"-changed"
		}
		fmt.Fprintf(&b, `{"id": "api-%05d", "name": "API %05d", "pathPrefix": "/svc%d/v1", "backendUrl": %q, "operations": [`, i, i, i, backend)
		for j, o := range scaleOps {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"name": "op%d", "method": %q, "urlTemplate": %q}`, j, o.method, o.tmpl)
		}
		fmt.Fprintf(&b, `], "policy": {"inbound": [{"base": true}, {"module": "builtin", "policy": "set-header", "config": {"name": "X-API", "value": %q}}]}}`, value)
	}
	b.WriteString(`], "products": [`)
	products := (n + 99) / 100
	for p := 0; p < products; p++ {
		if p > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id": "prod-%04d", "name": "Product %04d", "published": true, "apis": [`, p, p)
		for i := p * 100; i < min(n, (p+1)*100); i++ {
			if i > p*100 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"api-%05d"`, i)
		}
		fmt.Fprintf(&b, `], "policy": {"outbound": [{"base": true}, {"module": "builtin", "policy": "set-header", "config": {"name": "X-Product", "value": "%d"}}]}}`, p)
	}
	b.WriteString(`], "users": [`)
	users := max(1, n/10)
	for u := 0; u < users; u++ {
		if u > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id": "user-%05d", "email": "user%d@example.com", "name": "User %d"}`, u, u, u)
	}
	b.WriteString(`], "subscriptions": [`)
	for u := 0; u < users; u++ {
		if u > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id": "sub-%05d", "userId": "user-%05d", "scope": "product", "scopeId": "prod-%04d"}`, u, u, u%products)
	}
	b.WriteString(`], "namedValues": [`)
	for v := 0; v < 100; v++ {
		if v > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"name": "value-%03d", "value": "v%d"}`, v, v)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// scaleOpenAPI is an OpenAPI 3.0 document of ops operations (ops/5 paths
// × 5 methods) with operationIds. With changed, 10 operations are renamed,
// 5 removed and 5 added.
func scaleOpenAPI(ops int, changed bool) []byte {
	var b strings.Builder
	b.WriteString(`{"openapi": "3.0.3", "info": {"title": "Scale", "version": "1.0.0"}, "servers": [{"url": "http://127.0.0.1:9/"}], "paths": {`)
	methods := []string{"get", "put", "post", "delete", "patch"}
	paths := ops / len(methods)
	first := true
	for p := 0; p < paths+1; p++ {
		if p == paths && !changed {
			break
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		fmt.Fprintf(&b, `"/r%d/{id}": {"parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}]`, p)
		for m, method := range methods {
			if changed && p == 0 { // 5 removed
				continue
			}
			if p == paths && !changed {
				continue
			}
			id := fmt.Sprintf("op-%d-%s", p, method)
			summary := fmt.Sprintf("Operation %d %s", p, method)
			if changed && p == 1 || changed && p == 2 { // 10 renamed
				id += "-v2"
				summary += " v2"
			}
			_ = m
			fmt.Fprintf(&b, `, %q: {"operationId": %q, "summary": %q, "responses": {"200": {"description": "ok"}}}`, method, id, summary)
		}
		b.WriteString(`}`)
	}
	b.WriteString(`}}`)
	return []byte(b.String())
}

// BenchmarkApplyScale times the control plane at scale against a real
// SQLite file through the real admin API over loopback (the way the CLI
// calls it): the first apply of a GATEHOUSE_SCALE_APPLY-API document
// (default 1,000; `make bench-scale` sets 10,000), a no-change re-apply,
// an apply with one API changed, export as JSON and as YAML, then an
// OpenAPI import of a 1,000-operation document into a new API and
// re-imports of the same and of a slightly changed document. Each figure
// is reported in ms; *_writes are the catalog versions each step made and
// *_audit its audit rows. Run with -benchtime 1x.
func BenchmarkApplyScale(b *testing.B) {
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("GATEHOUSE_SCALE_APPLY")); err == nil && v > 0 {
		n = v
	}
	for i := 0; i < b.N; i++ {
		e := newEnv(b)
		// As large as the real built-in module (≈5 MB): its row is read
		// past the blob when a policy referencing it is stored.
		wasm := append(append([]byte{}, wasmBytes...), make([]byte, 5<<20)...)
		if r := e.uploadGrant("builtin", "1.0.0", setHeaderManifest, "all", wasm); r.status != 201 {
			b.Fatalf("upload: %d %s", r.status, r.body)
		}
		doc, doc1 := scaleDocument(n, -1), scaleDocument(n, n/2)
		b.ReportMetric(float64(len(doc))/(1<<20), "doc_MiB")
		step := func(name string, want int, method, path string, body any, ctype, accept string) resp {
			v0, a0 := e.version(), e.auditCount()
			// The client shares the process: collect its garbage (the
			// generated documents) before, not during, the timed call.
			runtime.GC()
			start := time.Now()
			r := e.send(method, path, body, "Bearer "+testToken, ctype, accept)
			d := time.Since(start)
			if r.status != want {
				b.Fatalf("%s: %d %.300s", name, r.status, r.body)
			}
			b.ReportMetric(float64(d.Microseconds())/1000, name+"_ms")
			if method != "GET" {
				b.ReportMetric(float64(e.version()-v0), name+"_writes")
				b.ReportMetric(float64(e.auditCount()-a0), name+"_audit")
			}
			return r
		}
		step("apply", 200, "POST", "/apply", doc, "application/json", "")
		step("reapply", 200, "POST", "/apply", doc, "application/json", "")
		step("apply1", 200, "POST", "/apply", doc1, "application/json", "")
		step("export", 200, "GET", "/export", nil, "", "application/json")
		r := step("exportyaml", 200, "GET", "/export", nil, "", "application/yaml")
		b.ReportMetric(float64(len(r.body))/(1<<20), "export_yaml_MiB")

		oas, oas2 := scaleOpenAPI(1000, false), scaleOpenAPI(1000, true)
		body := func(doc []byte, id string) map[string]any {
			m := map[string]any{"pathPrefix": "/scale/v1", "document": string(doc)}
			if id != "" {
				m["apiId"] = id
			}
			return m
		}
		r = step("oasimport", 201, "POST", "/apis/import", body(oas, ""), "application/json", "")
		var rep struct {
			API     struct{ ID string }
			Created []json.RawMessage
		}
		r.json(b, &rep)
		if len(rep.Created) != 1000 {
			b.Fatalf("import created %d operations", len(rep.Created))
		}
		step("oasreimport", 200, "POST", "/apis/import", body(oas, rep.API.ID), "application/json", "")
		step("oasreimport2", 200, "POST", "/apis/import", body(oas2, rep.API.ID), "application/json", "")
	}
}

// auditCount is the ID of the newest audit entry: the number of entries
// ever written.
func (e *env) auditCount() int64 {
	e.t.Helper()
	l, err := e.st.ListAudit(context.Background(), 1)
	if err != nil {
		e.t.Fatal(err)
	}
	if len(l) == 0 {
		return 0
	}
	return l[0].ID // IDs are assigned in order, one per entry, never reused
}
