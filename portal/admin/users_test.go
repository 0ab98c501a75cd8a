package admin_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
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
	if code, _, body := b.post("/ui/groups/partners/members", url.Values{"user": {""}}, true); code != http.StatusBadRequest || !strings.Contains(body, "Give the ID or e-mail of a user") {
		t.Fatalf("empty user: %d", code)
	}
	if code, _, _ := b.post("/ui/groups/partners/members", url.Values{"user": {"nobody"}}, true); code < 400 {
		t.Fatalf("unknown user: %d", code)
	}
	if code, _, body := b.post("/ui/groups/partners/members", url.Values{"user": {"nobody@example.com"}}, true); code != http.StatusBadRequest || !strings.Contains(body, "No user with the e-mail nobody@example.com") {
		t.Fatalf("unknown e-mail: %d", code)
	}
	if m := members(); len(m) != 1 {
		t.Fatalf("members after refused forms: %v", m)
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

// The users page shows 100 developers by e-mail with next/previous links,
// filters by e-mail prefix and state (the links keep the filter), refuses
// a forged cursor, and adds a group member by e-mail.
func TestUsersPagePaged(t *testing.T) {
	e := newEnv(t, admin.Options{})
	const pw = "correct horse battery"
	e.addAdmin("ed@example.com", catalog.RoleEditor, pw)
	ctx := catalog.WithActor(context.Background(), "test")
	for i := 0; i < 230; i++ {
		u := catalog.User{ID: fmt.Sprintf("u%03d", i), Email: fmt.Sprintf("dev%03d@example.com", i), Name: "Dev"}
		if i >= 200 {
			u.Email = fmt.Sprintf("ops%03d@example.com", i)
		}
		if _, err := e.st.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	blocked, err := e.st.GetUser(ctx, "u205")
	if err != nil {
		t.Fatal(err)
	}
	blocked.State = "blocked"
	if _, err := e.st.UpdateUser(ctx, blocked); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.CreateGroup(ctx, catalog.Group{ID: "partners", Name: "Partners"}); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.signin("ed@example.com", pw)
	rowRe := regexp.MustCompile(`<td><code>(u\d+)</code></td>`)
	ids := func(body string) []string {
		var out []string
		for _, m := range rowRe.FindAllStringSubmatch(body, -1) {
			out = append(out, m[1])
		}
		return out
	}
	_, body := b.get("/ui/users")
	if got := ids(body); len(got) != 100 || got[0] != "u000" || subPrevRe.MatchString(body) {
		t.Fatalf("first page: %d users (%v…), previous link %v", len(got), got[:min(3, len(got))], subPrevRe.MatchString(body))
	}
	if strings.Contains(body, "<option value=\"u") {
		t.Fatal("the page still lists every user in a select")
	}
	seen := map[string]bool{}
	for page := 0; ; page++ {
		for _, id := range ids(body) {
			if seen[id] {
				t.Fatalf("%s on two pages", id)
			}
			seen[id] = true
		}
		m := subNextRe.FindStringSubmatch(body)
		if m == nil {
			break
		}
		if page > 5 {
			t.Fatal("more pages than users")
		}
		_, body = b.get(html.UnescapeString(m[1]))
	}
	if len(seen) != 230 {
		t.Fatalf("%d users over all pages, want 230", len(seen))
	}
	code, body := b.get("/ui/users?email=OPS&state=")
	if got := ids(body); code != 200 || len(got) != 30 || got[0] != "u200" || subNextRe.MatchString(body) {
		t.Fatalf("email prefix ops: %d, %d users", code, len(got))
	}
	if _, body := b.get("/ui/users?email=ops&state=blocked"); len(ids(body)) != 1 || ids(body)[0] != "u205" {
		t.Fatalf("blocked ops: %v", ids(body))
	}
	if code, body := b.get("/ui/users?email=nobody"); code != 200 || !strings.Contains(body, "No user matches.") {
		t.Fatalf("no match: %d", code)
	}
	if code, _ := b.get("/ui/users?state=weird"); code != http.StatusBadRequest {
		t.Fatalf("unknown state: %d", code)
	}
	if code, _ := b.get("/ui/users?after=AAAA"); code != http.StatusBadRequest {
		t.Fatalf("forged cursor: %d", code)
	}
	// A cursor made for one filter is refused under another.
	_, body = b.get("/ui/users?email=dev")
	m := subNextRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no next link for email=dev")
	}
	u, _ := url.Parse(html.UnescapeString(m[1]))
	if code, _ := b.get("/ui/users?email=ops&after=" + url.QueryEscape(u.Query().Get("after"))); code != http.StatusBadRequest {
		t.Fatalf("cursor of another filter: %d", code)
	}
	if code, _, _ := b.post("/ui/groups/partners/members", url.Values{"user": {"DEV150@example.com"}}, true); code != http.StatusSeeOther {
		t.Fatalf("add member by e-mail: %d", code)
	}
	if us, _ := e.st.ListGroupUsers(ctx, "partners"); len(us) != 1 || us[0].ID != "u150" {
		t.Fatalf("members: %v", us)
	}
}
