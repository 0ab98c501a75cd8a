package admin_test

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
	"github.com/gatehouse/gatehouse/catalog/adminapi"
	"github.com/gatehouse/gatehouse/catalog/analytics"
	"github.com/gatehouse/gatehouse/catalog/sqlite"
	"github.com/gatehouse/gatehouse/portal/admin"
)

// BenchmarkPages measures the server time of admin portal pages on a
// catalog of 100 APIs with 1,000 operations, 10 products and 10,000
// subscriptions (1,000 developers with 10 each), and a request log of
// 20,000 calls in the last hour, through the real handlers (the portal
// and, for the policy editor page, the admin API in-process) and real
// SQLite files. It reports p50 and p99 per page (ms/op is their mean).
//
//	go test -run '^$' -bench BenchmarkPages -benchtime 200x ./portal/admin/
func BenchmarkPages(b *testing.B) {
	dir := b.TempDir()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		// Seeding 10,000 subscriptions with synchronous=FULL on a disk
		// takes minutes; the pages only read.
		if d, err := os.MkdirTemp("/dev/shm", "admin-bench-"); err == nil {
			dir = d
			defer os.RemoveAll(d)
		}
	}
	st, err := sqlite.OpenWithMasterKey(filepath.Join(dir, "catalog.db"), make([]byte, 32))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ctx := catalog.WithActor(context.Background(), "bench")
	for p := 0; p < 10; p++ {
		if _, err := st.CreateProduct(ctx, catalog.Product{ID: fmt.Sprintf("p%d", p), Name: fmt.Sprintf("Product %d", p), Published: true}); err != nil {
			b.Fatal(err)
		}
	}
	var opID string
	for a := 0; a < 100; a++ {
		id := fmt.Sprintf("api%03d", a)
		if _, err := st.CreateAPI(ctx, catalog.API{ID: id, Name: "API " + id, PathPrefix: "/" + id, BackendURL: "http://127.0.0.1:1", SubscriptionRequired: true}); err != nil {
			b.Fatal(err)
		}
		for o := 0; o < 10; o++ {
			op, err := st.CreateOperation(ctx, catalog.Operation{ID: fmt.Sprintf("%s.op%d", id, o), APIID: id, Name: fmt.Sprintf("op %d", o), Method: "GET", URLTemplate: fmt.Sprintf("/things%d/{id}", o)})
			if err != nil {
				b.Fatal(err)
			}
			if a == 42 && o == 3 {
				opID = op.ID
			}
		}
		if err := st.AddProductAPI(ctx, catalog.ProductAPI{ProductID: fmt.Sprintf("p%d", a%10), APIID: id}); err != nil {
			b.Fatal(err)
		}
	}
	if err := st.SetPolicy(ctx, catalog.PolicyDoc{Scope: catalog.ScopeOperation, ScopeID: opID, Inbound: []catalog.PolicyEntry{{Base: true},
		{Module: "builtin", Policy: "rate-limit", Config: []byte(`{"calls":5,"renewal_period":10}`)}}}); err != nil {
		b.Logf("policy (no builtin module in this catalog): %v", err)
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
	an, err := analytics.OpenWriter(analytics.WriterOptions{Path: filepath.Join(dir, "logs.db")})
	if err != nil {
		b.Fatal(err)
	}
	defer an.Close(context.Background())
	now := time.Now()
	const calls = 20000
	for i := 0; i < calls; i++ {
		status := 200
		if i%50 == 0 {
			status = 429
		}
		api := fmt.Sprintf("api%03d", i%100)
		for !an.Log(&analytics.Record{Time: now.Add(-time.Duration(i) * 170 * time.Millisecond), RequestID: fmt.Sprint(i), API: api, Operation: api + ".op1",
			Product: fmt.Sprintf("p%d", i%10), Subscription: "s", User: "u0001", Method: "GET", Path: "/" + api + "/things1/1",
			Status: status, Total: time.Duration(1+i%40) * time.Millisecond}) {
			time.Sleep(time.Millisecond) // queue full: wait for the writer
		}
	}
	for an.Stats().Written < calls {
		time.Sleep(20 * time.Millisecond)
	}

	e := &env{t: b, st: st}
	ui, err := admin.New(admin.Options{Store: st, Analytics: an})
	if err != nil {
		b.Fatal(err)
	}
	api, err := adminapi.New(adminapi.Options{Store: st, Token: breakGlass, Session: ui.SessionAuth, Analytics: an})
	if err != nil {
		b.Fatal(err)
	}
	ui.SetAPI(api)
	mux := http.NewServeMux()
	mux.Handle("/", api)
	mux.Handle(admin.Prefix+"/", ui)
	e.ui = ui
	e.srv = httptest.NewServer(mux)
	defer e.srv.Close()
	e.addAdmin("ed@example.com", catalog.RoleEditor, pw)
	br := e.browser()
	if code, _ := br.signin("ed@example.com", pw); code != http.StatusSeeOther {
		b.Fatalf("sign in: %d", code)
	}
	u, _ := url.Parse(e.srv.URL)
	cookies := br.c.Jar.Cookies(u)
	pages := []string{"/ui/", "/ui/policies/operation/api042/" + url.PathEscape(opID), "/ui/apis", "/ui/subscriptions", "/ui/modules", "/ui/analytics?range=1h"}
	for _, p := range pages {
		name := strings.NewReplacer("/", "_", "?", "_").Replace(strings.TrimPrefix(p, "/ui"))
		b.Run(name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			for b.Loop() {
				req := httptest.NewRequest("GET", p, nil)
				for _, c := range cookies {
					req.AddCookie(c)
				}
				w := httptest.NewRecorder()
				t0 := time.Now()
				mux.ServeHTTP(w, req)
				lat = append(lat, time.Since(t0))
				if w.Code != 200 {
					b.Fatalf("%s: %d %s", p, w.Code, w.Body.String())
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
