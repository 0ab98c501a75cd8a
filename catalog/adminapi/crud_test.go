package adminapi

import (
	"testing"

	"github.com/gatehouse/gatehouse/catalog"
)

func TestAPIsAndOperations(t *testing.T) {
	e := newEnv(t)
	var a catalog.API
	e.must(201, "POST", "/apis", map[string]any{"name": "Echo", "pathPrefix": "/echo", "backendUrl": "https://backend.example"}, &a)
	if a.ID == "" || a.KeyHeader != catalog.DefaultKeyHeader || a.Revision != 1 {
		t.Fatalf("created %+v", a)
	}
	e.must(409, "POST", "/apis", map[string]any{"name": "Other", "pathPrefix": "/echo", "backendUrl": "https://backend.example"}, nil)
	e.must(200, "GET", "/apis/"+a.ID, nil, nil)
	e.must(404, "GET", "/apis/missing", nil, nil)
	var l items[catalog.API]
	e.must(200, "GET", "/apis", nil, &l)
	if len(l.Items) != 1 || l.Items[0].ID != a.ID {
		t.Fatalf("list %+v", l)
	}
	a.Name = "Echo 2"
	var up catalog.API
	e.must(200, "PUT", "/apis/"+a.ID, a, &up)
	if up.Name != "Echo 2" {
		t.Fatalf("updated %+v", up)
	}
	e.must(400, "PUT", "/apis/"+a.ID, map[string]any{"id": "other", "name": "x", "pathPrefix": "/x", "backendUrl": "http://x"}, nil)
	e.must(404, "PUT", "/apis/missing", map[string]any{"name": "x", "pathPrefix": "/x", "backendUrl": "http://x"}, nil)
	e.must(404, "GET", "/apis/"+a.ID+"/openapi", nil, nil)

	var o catalog.Operation
	e.must(201, "POST", "/apis/"+a.ID+"/operations", map[string]any{"name": "List", "method": "GET", "urlTemplate": "/items"}, &o)
	if o.APIID != a.ID {
		t.Fatalf("op %+v", o)
	}
	e.must(409, "POST", "/apis/"+a.ID+"/operations", map[string]any{"name": "List", "method": "GET", "urlTemplate": "/items"}, nil)
	e.must(404, "POST", "/apis/missing/operations", map[string]any{"name": "List", "method": "GET", "urlTemplate": "/items"}, nil)
	e.must(200, "GET", "/apis/"+a.ID+"/operations/"+o.ID, nil, nil)
	e.must(404, "GET", "/apis/missing/operations/"+o.ID, nil, nil)
	var ol items[catalog.Operation]
	e.must(200, "GET", "/apis/"+a.ID+"/operations", nil, &ol)
	if len(ol.Items) != 1 {
		t.Fatalf("ops %+v", ol)
	}
	o.URLTemplate = "/things"
	e.must(200, "PUT", "/apis/"+a.ID+"/operations/"+o.ID, o, nil)
	e.must(204, "DELETE", "/apis/"+a.ID+"/operations/"+o.ID, nil, nil)
	e.must(404, "DELETE", "/apis/"+a.ID+"/operations/"+o.ID, nil, nil)
	e.must(204, "DELETE", "/apis/"+a.ID, nil, nil)
	e.must(404, "DELETE", "/apis/"+a.ID, nil, nil)
}

func TestProductsGroupsUsers(t *testing.T) {
	e := newEnv(t)
	e.seed()
	e.must(409, "POST", "/products", map[string]any{"id": "starter", "name": "Again"}, nil)
	e.must(200, "PUT", "/products/starter", map[string]any{"name": "Starter+", "approvalRequired": true}, nil)
	var p catalog.Product
	e.must(200, "GET", "/products/starter", nil, &p)
	if p.Name != "Starter+" || !p.ApprovalRequired {
		t.Fatalf("product %+v", p)
	}
	e.must(404, "PUT", "/products/missing", map[string]any{"name": "x"}, nil)
	var links items[catalog.ProductAPI]
	e.must(200, "GET", "/products/starter/apis", nil, &links)
	if len(links.Items) != 1 || links.Items[0].APIID != "echo" {
		t.Fatalf("links %+v", links)
	}
	v := e.version()
	e.must(200, "PUT", "/products/starter/apis/echo", nil, nil) // already linked
	if e.version() != v {
		t.Fatal("re-linking wrote")
	}
	e.must(404, "PUT", "/products/starter/apis/missing", nil, nil)
	e.must(204, "DELETE", "/products/starter/apis/echo", nil, nil)
	e.must(404, "DELETE", "/products/starter/apis/echo", nil, nil)
	e.must(404, "GET", "/products/missing/apis", nil, nil)

	var g catalog.Group
	e.must(201, "POST", "/groups", map[string]any{"name": "Devs"}, &g)
	e.must(409, "POST", "/groups", map[string]any{"id": g.ID, "name": "Devs"}, nil)
	e.must(200, "PUT", "/groups/"+g.ID, map[string]any{"name": "Developers"}, nil)
	e.must(201, "PUT", "/groups/"+g.ID+"/users/dev", nil, nil)
	e.must(200, "PUT", "/groups/"+g.ID+"/users/dev", nil, nil)
	e.must(404, "PUT", "/groups/"+g.ID+"/users/nobody", nil, nil)
	var members items[catalog.User]
	e.must(200, "GET", "/groups/"+g.ID+"/users", nil, &members)
	if len(members.Items) != 1 || members.Items[0].ID != "dev" {
		t.Fatalf("members %+v", members)
	}
	e.must(204, "DELETE", "/groups/"+g.ID+"/users/dev", nil, nil)
	e.must(404, "DELETE", "/groups/"+g.ID+"/users/dev", nil, nil)
	e.must(200, "GET", "/groups/"+g.ID, nil, nil)
	e.must(200, "GET", "/groups", nil, nil)
	e.must(204, "DELETE", "/groups/"+g.ID, nil, nil)
	e.must(404, "GET", "/groups/"+g.ID, nil, nil)

	e.must(409, "POST", "/users", map[string]any{"email": "dev@example.com", "name": "Dup"}, nil)
	var u catalog.User
	e.must(200, "PUT", "/users/dev", map[string]any{"email": "dev@example.com", "name": "Dev", "state": "blocked"}, &u)
	if u.State != "blocked" {
		t.Fatalf("user %+v", u)
	}
	e.must(200, "GET", "/users", nil, nil)
	e.must(204, "DELETE", "/users/dev", nil, nil)
	e.must(404, "GET", "/users/dev", nil, nil)
	e.must(204, "DELETE", "/products/starter", nil, nil)
	e.must(404, "DELETE", "/products/starter", nil, nil)
}

func TestSubscriptions(t *testing.T) {
	e := newEnv(t)
	e.seed()
	var c createdSubscription
	e.must(201, "POST", "/subscriptions", map[string]any{"userId": "dev", "scope": "product", "scopeId": "starter", "state": "cancelled"}, &c)
	if c.Subscription.State != catalog.StateActive || c.PrimaryKey == "" || c.SecondaryKey == "" {
		t.Fatalf("created %+v", c)
	}
	id := c.Subscription.ID
	e.must(409, "POST", "/subscriptions/"+id+"/approve", nil, nil)
	var k catalog.Keys
	e.must(200, "GET", "/subscriptions/"+id+"/keys", nil, &k)
	if k.Primary != c.PrimaryKey || k.Secondary != c.SecondaryKey {
		t.Fatalf("keys %+v vs %+v", k, c)
	}
	var nk struct{ Key string }
	e.must(200, "POST", "/subscriptions/"+id+"/keys/secondary/regenerate", nil, &nk)
	if nk.Key == "" || nk.Key == c.SecondaryKey {
		t.Fatalf("regenerated %q", nk.Key)
	}
	e.must(404, "POST", "/subscriptions/missing/keys/primary/regenerate", nil, nil)
	var s catalog.Subscription
	e.must(200, "POST", "/subscriptions/"+id+"/suspend", nil, &s)
	if s.State != catalog.StateSuspended {
		t.Fatalf("suspended %+v", s)
	}
	e.must(200, "POST", "/subscriptions/"+id+"/activate", nil, nil)
	e.must(200, "PUT", "/subscriptions/"+id+"/expiry", map[string]any{"expiresAt": "2000-01-01T00:00:00Z"}, &s)
	if s.State != catalog.StateExpired {
		t.Fatalf("expired %+v", s)
	}
	s = catalog.Subscription{}
	e.must(200, "PUT", "/subscriptions/"+id+"/expiry", map[string]any{"expiresAt": nil}, &s)
	if s.State != catalog.StateActive || s.ExpiresAt != nil {
		t.Fatalf("unexpired %+v", s)
	}
	e.must(400, "PUT", "/subscriptions/"+id+"/expiry", map[string]any{}, nil)
	e.must(400, "PUT", "/subscriptions/"+id+"/expiry", map[string]any{"expiresAt": "tomorrow"}, nil)

	// Approval and limits.
	e.must(200, "PUT", "/products/starter", map[string]any{"name": "Starter", "approvalRequired": true, "subscriptionsLimit": 2}, nil)
	e.must(201, "POST", "/subscriptions", map[string]any{"userId": "dev", "scope": "product", "scopeId": "starter", "state": "active"}, &c)
	if c.Subscription.State != catalog.StateSubmitted {
		t.Fatalf("approval required: %+v", c.Subscription)
	}
	e.must(409, "POST", "/subscriptions", map[string]any{"userId": "dev", "scope": "product", "scopeId": "starter"}, nil)
	e.must(200, "POST", "/subscriptions/"+c.Subscription.ID+"/approve", nil, &s)
	if s.State != catalog.StateActive {
		t.Fatalf("approved %+v", s)
	}
	e.must(409, "POST", "/subscriptions/"+c.Subscription.ID+"/approve", nil, nil)
	e.must(200, "POST", "/subscriptions/"+id+"/cancel", nil, nil)
	e.must(201, "POST", "/subscriptions", map[string]any{"userId": "dev", "scope": "product", "scopeId": "starter"}, nil)
	e.must(409, "POST", "/subscriptions", map[string]any{"userId": "dev", "scope": "product", "scopeId": "missing"}, nil)
	e.must(409, "POST", "/subscriptions", map[string]any{"userId": "nobody", "scope": "api", "scopeId": "echo"}, nil)

	var l items[catalog.Subscription]
	e.must(200, "GET", "/subscriptions?userId=dev&scope=product&scopeId=starter", nil, &l)
	if len(l.Items) != 3 {
		t.Fatalf("list %+v", l)
	}
	e.must(400, "GET", "/subscriptions?scope=bogus", nil, nil)
	e.must(200, "GET", "/subscriptions/"+id, nil, nil)
	e.must(204, "DELETE", "/subscriptions/"+id, nil, nil)
	e.must(404, "GET", "/subscriptions/"+id, nil, nil)
	e.must(404, "GET", "/subscriptions/"+id+"/keys", nil, nil)
}

func TestNamedValuesAuditVersion(t *testing.T) {
	e := newEnv(t)
	v := e.version()
	var n catalog.NamedValue
	e.must(201, "POST", "/named-values", map[string]any{"name": "db-pass", "value": "hunter2", "secret": true}, &n)
	if n.Value != "***" {
		t.Fatalf("secret echoed: %+v", n)
	}
	if e.version() != v+1 {
		t.Fatal("version not bumped")
	}
	e.must(409, "POST", "/named-values", map[string]any{"name": "db-pass", "value": "x"}, nil)
	e.must(200, "GET", "/named-values/db-pass", nil, &n)
	if n.Value != "***" {
		t.Fatalf("secret read back: %+v", n)
	}
	var l items[catalog.NamedValue]
	e.must(200, "GET", "/named-values", nil, &l)
	if len(l.Items) != 1 || l.Items[0].Value != "***" {
		t.Fatalf("list %+v", l)
	}
	e.must(200, "PUT", "/named-values/db-pass", map[string]any{"value": "plain"}, &n)
	if n.Value != "plain" {
		t.Fatalf("updated %+v", n)
	}
	e.must(404, "PUT", "/named-values/missing", map[string]any{"value": "plain"}, nil)
	e.must(204, "DELETE", "/named-values/db-pass", nil, nil)
	e.must(404, "GET", "/named-values/db-pass", nil, nil)

	var audit items[catalog.AuditEntry]
	e.must(200, "GET", "/audit?limit=2", nil, &audit)
	if len(audit.Items) != 2 {
		t.Fatalf("audit %+v", audit)
	}
	a := audit.Items[0]
	if a.Actor != Actor || a.Action != "delete" || a.Entity != "named-value" || a.EntityID != "db-pass" || a.Version != e.version() {
		t.Fatalf("newest audit entry %+v", a)
	}
	e.must(400, "GET", "/audit?limit=0", nil, nil)
	e.must(400, "GET", "/audit?limit=x", nil, nil)
	e.must(200, "GET", "/audit?limit=5000", nil, nil)
}
