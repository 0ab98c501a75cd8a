package declarative_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/catalog/declarative"
)

// scaleDoc is n APIs /svcI/v1 with ops operations and a set-header policy
// each (ops > 0), a product per 100 APIs, n/10 users with a subscription
// each and 10 named values.
func scaleDoc(n, ops int) *declarative.Document {
	d := &declarative.Document{Version: 1, APIs: []declarative.API{}, Products: []declarative.Product{},
		Users: []declarative.User{}, Subscriptions: []declarative.Subscription{}, NamedValues: []declarative.NamedValue{}}
	tmpl := []string{"/items", "/items/{id}", "/items/{id}/tags", "/orders", "/orders/{id}"}
	for i := 0; i < n; i++ {
		a := declarative.API{ID: fmt.Sprintf("api-%05d", i), Name: fmt.Sprintf("API %05d", i), PathPrefix: fmt.Sprintf("/svc%d/v1", i),
			BackendURL: "http://127.0.0.1:9/"}
		if ops > 0 {
			for j := 0; j < ops; j++ {
				a.Operations = append(a.Operations, declarative.Operation{Name: fmt.Sprintf("op%d", j), Method: "GET", URLTemplate: tmpl[j%len(tmpl)] + strings.Repeat("/x", j/len(tmpl))})
			}
			in := []declarative.Entry{{Base: true}, {Module: "builtin", Policy: "set-header", Config: map[string]any{"name": "X-API", "value": fmt.Sprint(i)}}}
			a.Policy = &declarative.Policy{Inbound: &in}
		}
		d.APIs = append(d.APIs, a)
	}
	for p := 0; p*100 < n; p++ {
		pr := declarative.Product{ID: fmt.Sprintf("prod-%03d", p), Name: fmt.Sprintf("Product %03d", p), Published: true}
		for i := p * 100; i < min(n, (p+1)*100); i++ {
			pr.APIs = append(pr.APIs, fmt.Sprintf("api-%05d", i))
		}
		d.Products = append(d.Products, pr)
	}
	for u := 0; u < n/10; u++ {
		d.Users = append(d.Users, declarative.User{ID: fmt.Sprintf("user-%04d", u), Email: fmt.Sprintf("u%d@example.com", u), Name: "U"})
		d.Subscriptions = append(d.Subscriptions, declarative.Subscription{ID: fmt.Sprintf("sub-%04d", u), UserID: fmt.Sprintf("user-%04d", u),
			Scope: "product", ScopeID: fmt.Sprintf("prod-%03d", u%min(10, len(d.Products)))})
	}
	for v := 0; v < 10; v++ {
		val := fmt.Sprint(v)
		d.NamedValues = append(d.NamedValues, declarative.NamedValue{Name: fmt.Sprintf("value-%d", v), Value: &val})
	}
	return d
}

func auditLen(t *testing.T, st catalog.Store) int {
	t.Helper()
	l, err := st.ListAudit(context.Background(), 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	return len(l)
}

// An apply that the store refuses at its 9,001st API (a name another API
// of the document already has: the plan cannot see it, the store's unique
// index does) leaves nothing applied: no API created, the stored one not
// updated, no audit entry, the same catalog version.
func TestApplyAtomicAtScale(t *testing.T) {
	ctx := context.Background()
	st := open(t)
	if _, err := st.CreateAPI(ctx, catalog.API{ID: "api-00000", Name: "API 00000", PathPrefix: "/svc0/v1", BackendURL: "http://127.0.0.1:1/"}); err != nil {
		t.Fatal(err)
	}
	d := scaleDoc(10000, 0)
	d.APIs[9000].Name = d.APIs[1].Name
	v, n := version(t, st), auditLen(t, st)
	changes, err := declarative.Apply(ctx, st, d, false)
	if err == nil || !strings.Contains(err.Error(), "api-09000") {
		t.Fatalf("apply: %d changes, err %v; want the failure at api-09000", len(changes), err)
	}
	if len(changes) != 0 {
		t.Fatalf("apply reported %d changes applied", len(changes))
	}
	apis, err := st.ListAPIs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(apis) != 1 || apis[0].BackendURL != "http://127.0.0.1:1/" {
		t.Fatalf("after the failed apply: %d APIs, first %+v", len(apis), apis[0])
	}
	if version(t, st) != v || auditLen(t, st) != n {
		t.Fatalf("the failed apply bumped the version (%d → %d) or wrote audit entries (%d → %d)", v, version(t, st), n, auditLen(t, st))
	}
}

// A no-change re-apply writes nothing: no audit entry, the same catalog
// version (so the gateway does not rebuild). Changing one API writes that
// API's changes under one new version, one audit entry each.
func TestReapplyWritesNothing(t *testing.T) {
	ctx := context.Background()
	st := open(t)
	d := scaleDoc(300, 5)
	first, err := declarative.Apply(ctx, st, d, true)
	if err != nil {
		t.Fatal(err)
	}
	v, n := version(t, st), auditLen(t, st)
	if n < len(first) {
		t.Fatalf("%d changes but %d audit entries", len(first), n)
	}
	// The exported catalog, re-applied, is no change either.
	exp, err := declarative.Export(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	for name, doc := range map[string]*declarative.Document{"same": scaleDoc(300, 5), "exported": exp} {
		changes, err := declarative.Apply(ctx, st, doc, true)
		if err != nil || len(changes) != 0 {
			t.Fatalf("%s re-apply: %v\n%s", name, err, summary(changes))
		}
		if version(t, st) != v || auditLen(t, st) != n {
			t.Fatalf("%s re-apply: version %d → %d, audit %d → %d", name, v, version(t, st), n, auditLen(t, st))
		}
	}
	d = scaleDoc(300, 5)
	d.APIs[150].BackendURL = "http://127.0.0.1:10/"
	(*d.APIs[150].Policy.Inbound)[1].Config = map[string]any{"name": "X-API", "value": "changed"}
	changes, err := declarative.Apply(ctx, st, d, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := summary(changes); got != "update api api-00150 (backendUrl: \"http://127.0.0.1:9/\" → \"http://127.0.0.1:10/\")\nupdate policy api/api-00150 (inbound: configuration changed)" {
		t.Fatalf("one API changed:\n%s", got)
	}
	if version(t, st) != v+1 || auditLen(t, st) != n+2 {
		t.Fatalf("one API changed: version %d → %d (want +1), audit %d → %d (want +2)", v, version(t, st), n, auditLen(t, st))
	}
}

// Pruning at scale: 2,000 APIs with operations and policies, then a
// document of the first 1,000 with prune deletes the other 1,000 (their
// operations, policies and product links with them) in one write.
func TestPruneAtScale(t *testing.T) {
	ctx := context.Background()
	st := open(t)
	if _, err := declarative.Apply(ctx, st, scaleDoc(2000, 5), true); err != nil {
		t.Fatal(err)
	}
	v := version(t, st)
	changes, err := declarative.Apply(ctx, st, scaleDoc(1000, 5), true)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, c := range changes {
		count[c.Action+" "+c.Kind]++
	}
	// Half the products, users and subscriptions go too (scaleDoc scales them).
	if count["delete api"] != 1000 || count["delete product"] != 10 || count["delete user"] != 100 || count["delete subscription"] != 100 || len(count) != 4 {
		t.Fatalf("prune: %v", count)
	}
	if version(t, st) != v+1 {
		t.Fatalf("prune: version %d → %d, want one bump", v, version(t, st))
	}
	apis, _ := st.ListAPIs(ctx)
	ops, _ := st.ListOperations(ctx, "")
	pols, _ := st.ListPolicies(ctx)
	links, _ := st.ListProductAPIs(ctx, "")
	if len(apis) != 1000 || len(ops) != 5000 || len(pols) != 1000 || len(links) != 1000 {
		t.Fatalf("after prune: %d APIs, %d operations, %d policies, %d product links", len(apis), len(ops), len(pols), len(links))
	}
	if changes, err := declarative.Apply(ctx, st, scaleDoc(1000, 5), true); err != nil || len(changes) != 0 {
		t.Fatalf("re-apply after prune: %v\n%s", err, summary(changes))
	}
}

// A write that lands between the plan and the transaction makes the apply
// plan again inside it: here the API the plan would create is created by
// someone else meanwhile, so the apply updates it instead of failing.
func TestApplyReplansAfterConcurrentWrite(t *testing.T) {
	ctx := context.Background()
	st := open(t)
	d := parse(t, `version: 1
apis:
  - id: a
    name: A
    pathPrefix: /a
    backendUrl: http://127.0.0.1:9/
    policy:
      inbound: [{base: true}]
`)
	calls := 0
	check := func(ctx context.Context, _ catalog.PolicyDoc) error {
		calls++
		if calls == 1 {
			_, err := st.CreateAPI(context.Background(), catalog.API{ID: "a", Name: "A", PathPrefix: "/a", BackendURL: "http://127.0.0.1:1/", SubscriptionRequired: true})
			return err
		}
		return nil
	}
	changes, err := declarative.ApplyWith(ctx, st, d, declarative.Options{CheckPolicy: check})
	if err != nil {
		t.Fatal(err)
	}
	if got := summary(changes); got != "update api a (backendUrl: \"http://127.0.0.1:1/\" → \"http://127.0.0.1:9/\")\ncreate policy api/a" || calls != 2 {
		t.Fatalf("changes after a concurrent write (%d checks):\n%s", calls, got)
	}
	if a, err := st.GetAPI(ctx, "a"); err != nil || a.BackendURL != "http://127.0.0.1:9/" {
		t.Fatalf("api %+v %v", a, err)
	}
}
