package admin_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/portal/admin"
)

// Group membership and user deletion through the users page: forms with
// CSRF, changes through the admin API (audited with the admin), the
// confirmation typed, viewers refused.
func TestUsersPageMembershipAndDelete(t *testing.T) {
	e := newEnv(t, admin.Options{})
	const pw = "correct horse battery"
	e.addAdmin("ed@example.com", catalog.RoleEditor, pw)
	e.addAdmin("vi@example.com", catalog.RoleViewer, pw)
	ctx := context.Background()
	u, err := e.st.CreateUser(ctx, catalog.User{ID: "dev1", Email: "dev1@example.com", Name: "Dev One"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.CreateGroup(ctx, catalog.Group{ID: "partners", Name: "Partners"}); err != nil {
		t.Fatal(err)
	}
	members := func() []string {
		us, err := e.st.ListGroupUsers(ctx, "partners")
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, u := range us {
			ids = append(ids, u.ID)
		}
		return ids
	}

	b := e.browser()
	if code, _ := b.signin("ed@example.com", pw); code != http.StatusSeeOther {
		t.Fatalf("sign in: %d", code)
	}
	if code, body := b.get("/ui/users"); code != 200 || !strings.Contains(body, `action="/ui/groups/partners/members"`) {
		t.Fatalf("users page: %d, no add-member form", code)
	}
	// Without the CSRF token nothing changes.
	if code, _, _ := b.post("/ui/groups/partners/members", url.Values{"user": {u.ID}}, false); code != http.StatusForbidden {
		t.Fatalf("add member without CSRF: %d", code)
	}
	if m := members(); len(m) != 0 {
		t.Fatalf("members after a refused form: %v", m)
	}
	if code, loc, _ := b.post("/ui/groups/partners/members", url.Values{"user": {u.ID}}, true); code != http.StatusSeeOther || !strings.HasPrefix(loc, "/ui/users") {
		t.Fatalf("add member: %d %q", code, loc)
	}
	if m := members(); len(m) != 1 || m[0] != "dev1" {
		t.Fatalf("members = %v", m)
	}
	if _, body := b.get("/ui/users"); !strings.Contains(body, "/ui/groups/partners/members/dev1/remove") {
		t.Fatal("the member is not listed with a remove form")
	}
	// No user chosen, or an unknown user: a clear error, nothing changes.
	if code, _, body := b.post("/ui/groups/partners/members", url.Values{"user": {""}}, true); code != http.StatusBadRequest || !strings.Contains(body, "Choose a user") {
		t.Fatalf("empty user: %d", code)
	}
	if code, _, _ := b.post("/ui/groups/partners/members", url.Values{"user": {"nobody"}}, true); code < 400 {
		t.Fatalf("unknown user: %d", code)
	}

	// A viewer sees the page without the forms and cannot post them.
	v := e.browser()
	v.signin("vi@example.com", pw)
	if _, body := v.get("/ui/users"); strings.Contains(body, "/members/dev1/remove") || strings.Contains(body, "delete-user") {
		t.Fatal("a viewer sees write forms")
	}
	if code, _, _ := v.post("/ui/groups/partners/members/dev1/remove", nil, true); code != http.StatusForbidden {
		t.Fatalf("viewer remove: %d", code)
	}
	if code, _, _ := v.post("/ui/users/dev1/delete", url.Values{"confirm": {"dev1"}}, true); code != http.StatusForbidden {
		t.Fatalf("viewer delete: %d", code)
	}
	if m := members(); len(m) != 1 {
		t.Fatalf("members after the viewer: %v", m)
	}

	if code, _, _ := b.post("/ui/groups/partners/members/dev1/remove", nil, true); code != http.StatusSeeOther {
		t.Fatalf("remove member: %d", code)
	}
	if m := members(); len(m) != 0 {
		t.Fatalf("members after remove = %v", m)
	}

	// Delete needs the ID typed again.
	if code, _, body := b.post("/ui/users/dev1/delete", url.Values{"confirm": {"dev"}}, true); code != http.StatusBadRequest || !strings.Contains(body, "type its ID") {
		t.Fatalf("delete with a wrong confirmation: %d", code)
	}
	if _, err := e.st.GetUser(ctx, "dev1"); err != nil {
		t.Fatalf("user gone after a refused delete: %v", err)
	}
	if code, _, _ := b.post("/ui/users/dev1/delete", url.Values{"confirm": {"dev1"}}, true); code != http.StatusSeeOther {
		t.Fatalf("delete: %d", code)
	}
	if _, err := e.st.GetUser(ctx, "dev1"); err == nil {
		t.Fatal("user still there after delete")
	}
}
