package portal_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/catalog/oasimport"
	"github.com/gatehouse/gatehouse/catalog/sqlite"
	"github.com/gatehouse/gatehouse/portal"
)

// BenchmarkPages measures the server time of the main pages with a
// catalog of 100 APIs (300 operations, each API with its OpenAPI
// document), 10 products and 10,000 subscriptions (1,000 developers with
// 10 each), through the real handler and a real SQLite catalog. It
// reports p50 and p99 per page (ms/op is their mean).
//
//	go test -run '^$' -bench BenchmarkPages -benchtime 300x ./portal/
func BenchmarkPages(b *testing.B) {
	dir := b.TempDir()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		// Seeding 10,000 subscriptions with synchronous=FULL on a disk
		// takes minutes; the pages only read.
		if d, err := os.MkdirTemp("/dev/shm", "portal-bench-"); err == nil {
			dir = d
			defer os.RemoveAll(d)
		}
	}
	st, err := sqlite.OpenWithMasterKey(filepath.Join(dir, "catalog.db"), make([]byte, 32))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	for p := 0; p < 10; p++ {
		if _, err := st.CreateProduct(ctx, catalog.Product{ID: fmt.Sprintf("p%d", p), Name: fmt.Sprintf("Product %d", p), Published: true}); err != nil {
			b.Fatal(err)
		}
	}
	for a := 0; a < 100; a++ {
		id := fmt.Sprintf("api%03d", a)
		if _, err := st.CreateAPI(ctx, catalog.API{ID: id, Name: "API " + id, PathPrefix: "/" + id, BackendURL: "http://127.0.0.1:1", SubscriptionRequired: true}); err != nil {
			b.Fatal(err)
		}
		doc := strings.NewReplacer("Echo API", "API "+id).Replace(echoDoc) +
			"  /things/{thing}:\n    delete:\n      operationId: delete-thing\n      parameters:\n        - {name: thing, in: path, required: true, schema: {type: string}}\n      responses: {\"204\": {description: gone}}\n"
		if _, err := oasimport.Import(ctx, st, oasimport.Request{APIID: id, Document: []byte(doc)}); err != nil {
			b.Fatal(err)
		}
		if err := st.AddProductAPI(ctx, catalog.ProductAPI{ProductID: fmt.Sprintf("p%d", a%10), APIID: id}); err != nil {
			b.Fatal(err)
		}
	}
	for u := 0; u < 1000; u++ {
		id := fmt.Sprintf("u%04d", u)
		if _, err := st.CreateUser(ctx, catalog.User{ID: id, Email: id + "@example.com", Name: "User " + id}); err != nil {
			b.Fatal(err)
		}
		for s := 0; s < 10; s++ {
			if _, _, _, err := st.CreateSubscription(ctx, catalog.Subscription{UserID: id, Name: fmt.Sprintf("sub %d", s), Scope: catalog.ScopeProduct, ScopeID: fmt.Sprintf("p%d", s)}); err != nil {
				b.Fatal(err)
			}
		}
	}
	h, err := portal.New(portal.Options{Store: st})
	if err != nil {
		b.Fatal(err)
	}
	// A signed-in developer (u0500, 10 subscriptions).
	srv := httptest.NewServer(h)
	defer srv.Close()
	pwHash, _ := portal.HashPassword(pw)
	if err := st.SetPasswordHash(ctx, "u0500", pwHash); err != nil {
		b.Fatal(err)
	}
	e := &env{t: b, st: st, srv: srv}
	br := e.browser()
	if code, _ := br.signin("u0500@example.com", pw); code != http.StatusSeeOther {
		b.Fatalf("sign in: %d", code)
	}
	u, _ := url.Parse(srv.URL)
	cookies := br.c.Jar.Cookies(u)
	ops, _ := st.ListOperations(ctx, "api042")
	pages := []string{"/", "/products", "/products/p3", "/apis", "/apis/api042", "/apis/api042/console/" + url.PathEscape(ops[1].ID), "/subscriptions", "/profile"}
	for _, p := range pages {
		b.Run(strings.NewReplacer("/", "_").Replace(p), func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			for b.Loop() {
				req := httptest.NewRequest("GET", p, nil)
				for _, c := range cookies {
					req.AddCookie(c)
				}
				w := httptest.NewRecorder()
				t0 := time.Now()
				h.ServeHTTP(w, req)
				lat = append(lat, time.Since(t0))
				if w.Code != 200 {
					b.Fatalf("%s: %d", p, w.Code)
				}
			}
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			q := func(f float64) float64 {
				return float64(lat[min(len(lat)-1, int(f*float64(len(lat))))]) / float64(time.Millisecond)
			}
			b.ReportMetric(q(0.50), "p50-ms")
			b.ReportMetric(q(0.99), "p99-ms")
		})
	}
}
