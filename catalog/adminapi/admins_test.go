package adminapi

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/catalog"
)

// as sends a request with a personal token.
func (e *env) as(tok, method, path string, body any) resp {
	e.t.Helper()
	return e.doAuth(method, path, body, "Bearer "+tok, "application/json")
}

// newAdmin creates an admin with the break-glass token and returns it and
// a fresh token of theirs.
func (e *env) newAdmin(email string, role catalog.AdminRole) (catalog.Admin, string) {
	e.t.Helper()
	var a catalog.Admin
	e.must(201, "POST", "/admins", map[string]any{"email": email, "name": email, "role": role}, &a)
	var nt newTokenOut
	e.must(201, "POST", "/admins/"+a.ID+"/tokens", map[string]any{"name": "ci"}, &nt)
	if !strings.HasPrefix(nt.Token, TokenPrefix) || len(nt.Token) != len(TokenPrefix)+43 || nt.Prefix != nt.Token[:tokenShown] {
		e.t.Fatalf("token %+v", nt)
	}
	return a, nt.Token
}

// TestViewerReadsEverythingWritesNothing walks the router as a viewer:
// every GET but the secret ones is let through, every other method and
// the secret reads answer 403 in the error shape, and nothing changes.
func TestViewerReadsEverythingWritesNothing(t *testing.T) {
	e := newEnv(t)
	e.seed()
	_, vt := e.newAdmin("viewer@example.com", catalog.RoleViewer)
	before := e.version()
	var auditBefore items[catalog.AuditEntry]
	e.must(200, "GET", "/audit", nil, &auditBefore)
	walkRoutes(t, func(method, tpl, path string) {
		r := e.as(vt, method, strings.TrimPrefix(path, Prefix), "{}")
		if method == http.MethodGet && !sensitiveReads[tpl] {
			if r.status == 401 || r.status == 403 {
				t.Errorf("viewer GET %s: %d %s", tpl, r.status, r.body)
			}
			return
		}
		if r.status != 403 || r.err(t).Error.Code != "forbidden" {
			t.Errorf("viewer %s %s: %d %s, want 403 forbidden", method, tpl, r.status, r.body)
		}
	})
	// A real GET of a real object works; the keys of a real subscription
	// do not.
	e.must(201, "POST", "/subscriptions", map[string]any{"id": "s1", "userId": "dev", "scope": "product", "scopeId": "starter", "state": "active"}, nil)
	before = e.version()
	if r := e.as(vt, "GET", "/apis/echo", nil); r.status != 200 {
		t.Fatalf("viewer GET /apis/echo: %d", r.status)
	}
	if r := e.as(vt, "GET", "/subscriptions/s1/keys", nil); r.status != 403 {
		t.Fatalf("viewer read keys: %d %s", r.status, r.body)
	}
	if r := e.as(vt, "DELETE", "/apis/echo", nil); r.status != 403 {
		t.Fatalf("viewer DELETE /apis/echo: %d", r.status)
	}
	e.must(200, "GET", "/apis/echo", nil, nil)
	if e.version() != before {
		t.Fatal("a viewer changed the catalog")
	}
	var auditAfter items[catalog.AuditEntry]
	e.must(200, "GET", "/audit", nil, &auditAfter)
	if len(auditAfter.Items) != len(auditBefore.Items)+1 { // the subscription created above
		t.Fatalf("audit grew from %d to %d entries", len(auditBefore.Items), len(auditAfter.Items))
	}
}

// TestEditorWritesCatalogNotAdmins: an editor writes catalog objects and
// reads secrets, audited under their email, but cannot manage admins or
// another admin's tokens.
func TestEditorWritesCatalogNotAdmins(t *testing.T) {
	e := newEnv(t)
	e.seed()
	ed, et := e.newAdmin("Editor@Example.com", catalog.RoleEditor)
	owner, _ := e.newAdmin("owner@example.com", catalog.RoleOwner)
	var ownerTokens items[catalog.AdminToken]
	e.must(200, "GET", "/admins/"+owner.ID+"/tokens", nil, &ownerTokens)

	if r := e.as(et, "POST", "/products", map[string]any{"id": "gold", "name": "Gold"}); r.status != 201 {
		t.Fatalf("editor POST /products: %d %s", r.status, r.body)
	}
	e.must(201, "POST", "/named-values", map[string]any{"name": "pw", "value": "s3cret", "secret": true}, nil)
	if r := e.as(et, "GET", "/named-values/pw/value", nil); r.status != 200 || !strings.Contains(string(r.body), "s3cret") {
		t.Fatalf("editor reveal: %d %s", r.status, r.body)
	}
	var audit items[catalog.AuditEntry]
	e.must(200, "GET", "/audit?limit=10", nil, &audit)
	actors := map[string]string{}
	for _, a := range audit.Items {
		actors[a.Action+" "+a.Entity+" "+a.EntityID] = a.Actor
	}
	if actors["create product gold"] != "Editor@Example.com" || actors["read named-value pw"] != "Editor@Example.com" ||
		actors["create named-value pw"] != Actor || actors["create admin "+owner.ID] != Actor {
		t.Fatalf("audit actors %v", actors)
	}

	admins := len(e.listAdmins())
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/admins", map[string]any{"email": "x@example.com", "role": "owner"}},
		{"PATCH", "/admins/" + ed.ID, map[string]any{"role": "owner"}}, // no self-promotion
		{"DELETE", "/admins/" + owner.ID, nil},
		{"POST", "/admins/" + owner.ID + "/tokens", map[string]any{"name": "steal"}},
		{"DELETE", "/admins/" + owner.ID + "/tokens/" + ownerTokens.Items[0].ID, nil},
		{"PUT", "/admins/" + owner.ID + "/password", map[string]any{"password": "0123456789abc"}},
	} {
		if r := e.as(et, c.method, c.path, c.body); r.status != 403 || r.err(t).Error.Code != "forbidden" {
			t.Errorf("editor %s %s: %d %s", c.method, c.path, r.status, r.body)
		}
	}
	if n := len(e.listAdmins()); n != admins {
		t.Fatalf("admins %d -> %d", admins, n)
	}
	var after items[catalog.AdminToken]
	e.must(200, "GET", "/admins/"+owner.ID+"/tokens", nil, &after)
	if len(after.Items) != 1 || after.Items[0].ID != ownerTokens.Items[0].ID {
		t.Fatalf("owner's tokens changed: %+v", after.Items)
	}
	var me2 catalog.Admin
	e.must(200, "GET", "/admins/"+ed.ID, nil, &me2)
	if me2.Role != catalog.RoleEditor {
		t.Fatalf("editor promoted itself: %+v", me2)
	}
}

func (e *env) listAdmins() []catalog.Admin {
	e.t.Helper()
	var as items[catalog.Admin]
	e.must(200, "GET", "/admins", nil, &as)
	return as.Items
}

// TestTokenLifecycle: a token is shown once, listed without itself,
// works until revoked, follows its admin's role and dies with a block or
// delete; an owner token manages admins.
func TestTokenLifecycle(t *testing.T) {
	e := newEnv(t)
	e.seed()
	a, tok := e.newAdmin("dev-admin@example.com", catalog.RoleEditor)

	var m me
	if r := e.as(tok, "GET", "/me", nil); r.status != 200 {
		t.Fatalf("/me: %d %s", r.status, r.body)
	} else {
		r.json(t, &m)
	}
	if m.Actor != a.Email || m.Role != catalog.RoleEditor || m.Admin == nil || m.Admin.ID != a.ID || m.TokenID == "" {
		t.Fatalf("/me %+v", m)
	}
	m = me{}
	e.must(200, "GET", "/me", nil, &m)
	if m.Actor != Actor || m.Role != catalog.RoleOwner || m.Admin != nil {
		t.Fatalf("break-glass /me %+v", m)
	}

	// Self-service: a second token of one's own, then listing.
	var nt newTokenOut
	if r := e.as(tok, "POST", "/admins/"+a.ID+"/tokens", map[string]any{"name": "laptop"}); r.status != 201 {
		t.Fatalf("own token: %d %s", r.status, r.body)
	} else {
		r.json(t, &nt)
	}
	lr := e.must(200, "GET", "/admins/"+a.ID+"/tokens", nil, nil)
	if strings.Contains(string(lr.body), tok) || strings.Contains(string(lr.body), nt.Token) || strings.Contains(string(lr.body), `"token"`) {
		t.Fatalf("token list shows a token: %s", lr.body)
	}
	var ts items[catalog.AdminToken]
	lr.json(t, &ts)
	if len(ts.Items) != 2 || ts.Items[1].Name != "laptop" || ts.Items[1].Prefix != nt.Token[:tokenShown] {
		t.Fatalf("tokens %+v", ts.Items)
	}

	// Revoking one's own token: the next request with it is 401.
	if r := e.as(tok, "DELETE", "/admins/"+a.ID+"/tokens/"+nt.ID, nil); r.status != 204 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if r := e.as(nt.Token, "GET", "/version", nil); r.status != 401 {
		t.Fatalf("revoked token: %d", r.status)
	}
	if r := e.as(tok, "DELETE", "/admins/"+a.ID+"/tokens/"+nt.ID, nil); r.status != 404 {
		t.Fatalf("revoke twice: %d", r.status)
	}

	// Demotion demotes the token at once; promotion back restores it.
	e.must(200, "PATCH", "/admins/"+a.ID, map[string]any{"role": "viewer"}, nil)
	if r := e.as(tok, "POST", "/products", map[string]any{"id": "p2", "name": "P2"}); r.status != 403 {
		t.Fatalf("demoted token wrote: %d", r.status)
	}
	e.must(200, "PATCH", "/admins/"+a.ID, map[string]any{"role": "editor"}, nil)
	if r := e.as(tok, "POST", "/products", map[string]any{"id": "p2", "name": "P2"}); r.status != 201 {
		t.Fatalf("promoted token: %d %s", r.status, r.body)
	}
	// Blocking kills the token; unblocking revives it; deleting kills it.
	e.must(200, "PATCH", "/admins/"+a.ID, map[string]any{"state": "blocked"}, nil)
	if r := e.as(tok, "GET", "/version", nil); r.status != 401 {
		t.Fatalf("blocked admin's token: %d", r.status)
	}
	e.must(200, "PATCH", "/admins/"+a.ID, map[string]any{"state": "active"}, nil)
	e.must(204, "DELETE", "/admins/"+a.ID, nil, nil)
	if r := e.as(tok, "GET", "/version", nil); r.status != 401 {
		t.Fatalf("deleted admin's token: %d", r.status)
	}

	// An owner token manages admins, audited under the owner's email;
	// admin writes do not bump the catalog version.
	_, ot := e.newAdmin("root@example.com", catalog.RoleOwner)
	v := e.version()
	var b catalog.Admin
	if r := e.as(ot, "POST", "/admins", map[string]any{"email": "new@example.com", "role": "viewer", "password": "correct horse battery"}); r.status != 201 {
		t.Fatalf("owner creates admin: %d %s", r.status, r.body)
	} else {
		r.json(t, &b)
	}
	if e.version() != v {
		t.Fatal("creating an admin bumped the catalog version")
	}
	if h, err := e.st.AdminPasswordHash(t.Context(), b.ID); err != nil || !strings.HasPrefix(h, "$2") {
		t.Fatalf("password hash %q %v", h, err)
	}
	var audit items[catalog.AuditEntry]
	e.must(200, "GET", "/audit?limit=1", nil, &audit)
	if a := audit.Items[0]; a.Actor != "root@example.com" || a.Entity != "admin" || a.EntityID != b.ID || a.Version != v {
		t.Fatalf("audit %+v", a)
	}
	// Forged tokens: right prefix, wrong secret; a token's hash itself.
	for _, bad := range []string{TokenPrefix + strings.Repeat("A", 43), hashToken(ot), ot[:len(ot)-1], ot + "x"} {
		if r := e.as(bad, "GET", "/version", nil); r.status != 401 {
			t.Errorf("forged token %q: %d", bad, r.status)
		}
	}
}

// TestAdminBadInput: each bad request is a clear 4xx naming the problem,
// and changes nothing.
func TestAdminBadInput(t *testing.T) {
	e := newEnv(t)
	a, _ := e.newAdmin("a@example.com", catalog.RoleViewer)
	admins := len(e.listAdmins())
	cases := []struct {
		method, path string
		body         any
		status       int
		want         string
	}{
		{"POST", "/admins", map[string]any{"email": "b@example.com", "role": "superuser"}, 400, `"path":"role"`},
		{"POST", "/admins", map[string]any{"email": "b@example.com"}, 400, `"path":"role"`},
		{"POST", "/admins", map[string]any{"email": "A@EXAMPLE.com", "role": "viewer"}, 409, "already exists"},
		{"POST", "/admins", map[string]any{"email": "not an email", "role": "viewer"}, 400, `"path":"email"`},
		{"POST", "/admins", map[string]any{"email": "b@example.com", "role": "viewer", "password": "short"}, 400, "at least 10"},
		{"POST", "/admins", map[string]any{"email": "b@example.com", "role": "viewer", "password": strings.Repeat("p", 73)}, 400, "at most 72"},
		{"POST", "/admins", map[string]any{"email": "b@example.com", "role": "viewer", "admin": true}, 400, "admin"},
		{"POST", "/admins", map[string]any{"id": "../x", "email": "b@example.com", "role": "viewer"}, 400, `"path":"id"`},
		{"PATCH", "/admins/" + a.ID, map[string]any{"role": "god"}, 400, `"path":"role"`},
		{"PATCH", "/admins/" + a.ID, map[string]any{"state": "deleted"}, 400, `"path":"state"`},
		{"PATCH", "/admins/nobody", map[string]any{"role": "viewer"}, 404, "nobody"},
		{"PUT", "/admins/" + a.ID + "/password", map[string]any{"password": "123"}, 400, "at least 10"},
		{"POST", "/admins/" + a.ID + "/tokens", map[string]any{"name": ""}, 400, `"path":"name"`},
		{"POST", "/admins/nobody/tokens", map[string]any{"name": "x"}, 404, "nobody"},
		{"DELETE", "/admins/" + a.ID + "/tokens/nope", nil, 404, "nope"},
		{"DELETE", "/admins/nobody", nil, 404, "nobody"},
	}
	v := e.version()
	var before items[catalog.AuditEntry]
	e.must(200, "GET", "/audit", nil, &before)
	for _, c := range cases {
		r := e.do(c.method, c.path, c.body)
		if r.status != c.status || !strings.Contains(string(r.body), c.want) {
			t.Errorf("%s %s %v: %d %s, want %d with %q", c.method, c.path, c.body, r.status, r.body, c.status, c.want)
		}
	}
	if n := len(e.listAdmins()); n != admins || e.version() != v {
		t.Fatalf("bad input changed things: admins %d -> %d", admins, n)
	}
	var after items[catalog.AuditEntry]
	e.must(200, "GET", "/audit", nil, &after)
	if len(after.Items) != len(before.Items) {
		t.Fatalf("bad input was audited: %d -> %d", len(before.Items), len(after.Items))
	}
	var got catalog.Admin
	e.must(200, "GET", "/admins/"+a.ID, nil, &got)
	if got.Role != catalog.RoleViewer || got.State != catalog.AdminActive {
		t.Fatalf("admin changed: %+v", got)
	}
	if _, err := e.st.AdminPasswordHash(t.Context(), a.ID); err == nil {
		t.Fatal("a refused password was stored")
	}
}
