package oasimport_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/catalog/oasimport"
)

// bigDoc is an OpenAPI 3.0 document of paths × 5 operations; from the
// path index skip on, paths are left out.
func bigDoc(paths int, rename string) []byte {
	var b strings.Builder
	b.WriteString(`{"openapi": "3.0.3", "info": {"title": "Big", "version": "1.0.0"}, "servers": [{"url": "http://127.0.0.1:9/"}], "paths": {`)
	for p := 0; p < paths; p++ {
		if p > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"/r%d": {`, p)
		for m, method := range []string{"get", "put", "post", "delete", "patch"} {
			if m > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `%q: {"operationId": "op-%d-%s%s", "responses": {"200": {"description": "ok"}}}`, method, p, method, rename)
		}
		b.WriteString(`}`)
	}
	b.WriteString(`}}`)
	return []byte(b.String())
}

func auditLen(t *testing.T, st catalog.Store) int {
	t.Helper()
	l, err := st.ListAudit(context.Background(), 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	return len(l)
}

// An import is one write: 1,000 operations bump the catalog version once;
// re-importing the same document writes nothing; a re-import that renames
// every operation writes one version with an audit entry per change.
func TestImportOneWrite(t *testing.T) {
	ctx := context.Background()
	st := open(t)
	v0 := version(t, st)
	rep, err := oasimport.Import(ctx, st, oasimport.Request{PathPrefix: "/big", Document: bigDoc(200, "")})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Created) != 1000 || version(t, st) != v0+1 {
		t.Fatalf("import: %d created, version %d → %d", len(rep.Created), v0, version(t, st))
	}
	v1, n1 := version(t, st), auditLen(t, st)
	rep, err = oasimport.Import(ctx, st, oasimport.Request{APIID: rep.API.ID, Document: bigDoc(200, "")})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Created)+len(rep.Updated)+len(rep.Deleted) != 0 || rep.API.ID == "" {
		t.Fatalf("same document: %+v", rep)
	}
	if version(t, st) != v1 || auditLen(t, st) != n1 {
		t.Fatalf("re-import of the same document wrote: version %d → %d, audit %d → %d", v1, version(t, st), n1, auditLen(t, st))
	}
	rep, err = oasimport.Import(ctx, st, oasimport.Request{APIID: rep.API.ID, Document: bigDoc(199, "-v2")})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Updated) != 995 || len(rep.Deleted) != 5 || len(rep.Created) != 0 {
		t.Fatalf("changed document: %d updated, %d deleted, %d created", len(rep.Updated), len(rep.Deleted), len(rep.Created))
	}
	// One version; the API (its stored document) + 995 renames + 5 deletes.
	if version(t, st) != v1+1 || auditLen(t, st) != n1+1+995+5 {
		t.Fatalf("changed document: version %d → %d, audit %d → %d", v1, version(t, st), n1, auditLen(t, st))
	}
}

func version(t *testing.T, st catalog.Store) int64 {
	t.Helper()
	v, err := st.Version(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return v
}
