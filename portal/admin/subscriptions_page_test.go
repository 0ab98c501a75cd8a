package admin_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/portal/admin"
)

var (
	subRowRe  = regexp.MustCompile(`<tr id="sub-([^"]+)">`)
	subNextRe = regexp.MustCompile(`<a href="([^"]+)" rel="next"`)
	subPrevRe = regexp.MustCompile(`<a href="([^"]+)" rel="prev"`)
)

// TestSubscriptionsPagePaged: the subscriptions page shows 100 at a time
// read in SQL, next and previous links walk every subscription once in
// both directions, filters hold across pages, and a forged page link is
// refused with a message (first page shown).
func TestSubscriptionsPagePaged(t *testing.T) {
	e := newEnv(t, admin.Options{})
	e.addAdmin("viewer@example.com", catalog.RoleViewer, pw)
	ctx := catalog.WithActor(context.Background(), "test")
	for u := 0; u < 3; u++ {
		if _, err := e.st.CreateUser(ctx, catalog.User{ID: fmt.Sprintf("u%d", u), Email: fmt.Sprintf("u%d@example.com", u), Name: "U"}); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	for i := 0; i < 250; i++ {
		sub, _, _, err := e.st.CreateSubscription(ctx, catalog.Subscription{ID: fmt.Sprintf("s%03d", i), UserID: fmt.Sprintf("u%d", i%3), Scope: catalog.ScopeAll})
		if err != nil {
			t.Fatal(err)
		}
		if i%5 == 0 {
			if _, err := e.st.SetSubscriptionState(ctx, sub.ID, catalog.StateSuspended); err != nil {
				t.Fatal(err)
			}
		}
		ids = append(ids, sub.ID)
	}
	b := e.browser()
	b.signin("viewer@example.com", pw)

	page := func(path string) (rows []string, next, prev string) {
		t.Helper()
		code, body := b.get(path)
		if code != http.StatusOK {
			t.Fatalf("%s: %d\n%s", path, code, body)
		}
		for _, m := range subRowRe.FindAllStringSubmatch(body, -1) {
			rows = append(rows, m[1])
		}
		if m := subNextRe.FindStringSubmatch(body); m != nil {
			next = html.UnescapeString(m[1])
		}
		if m := subPrevRe.FindStringSubmatch(body); m != nil {
			prev = html.UnescapeString(m[1])
		}
		return rows, next, prev
	}
	// Forward.
	var fwd [][]string
	path := "/ui/subscriptions"
	var prev string
	for path != "" {
		rows, next, p := page(path)
		if len(fwd) == 0 && p != "" {
			t.Fatal("the first page has a previous link")
		}
		fwd, path, prev = append(fwd, rows), next, p
	}
	if len(fwd) != 3 || len(fwd[0]) != 100 || len(fwd[2]) != 50 {
		t.Fatalf("pages of %d, %d, %d rows (%d pages); want 100, 100, 50", len(fwd[0]), len(fwd[1]), len(fwd[len(fwd)-1]), len(fwd))
	}
	if got := strings.Join(append(append(fwd[0], fwd[1]...), fwd[2]...), ","); got != strings.Join(ids, ",") {
		t.Fatal("the pages do not hold every subscription once, oldest first")
	}
	// Backward from the last page.
	rows, next, prev2 := page(prev)
	if strings.Join(rows, ",") != strings.Join(fwd[1], ",") || next == "" || prev2 == "" {
		t.Fatalf("previous of the last page: %d rows (next %q prev %q), want the second page", len(rows), next, prev2)
	}
	rows, _, prev3 := page(prev2)
	if strings.Join(rows, ",") != strings.Join(fwd[0], ",") || prev3 != "" {
		t.Fatalf("previous of the second page: %d rows, prev %q; want the first page and no previous", len(rows), prev3)
	}
	// A filter holds across pages.
	want := 0
	for i := range ids {
		if i%5 != 0 {
			want++
		}
	}
	var all []string
	for path := "/ui/subscriptions?state=active"; path != ""; {
		if len(all) > 0 && !strings.Contains(path, "state=active") {
			t.Fatalf("next link lost the filter: %s", path)
		}
		rows, next, _ := page(path)
		all, path = append(all, rows...), next
	}
	if len(all) != want {
		t.Fatalf("active: %d rows, want %d", len(all), want)
	}
	// A cursor of one filter used with another, or forged: 400, a message,
	// the first page of the filter asked for.
	_, next, _ = page("/ui/subscriptions")
	for _, bad := range []string{strings.Replace(next, "/ui/subscriptions?", "/ui/subscriptions?state=active&", 1),
		"/ui/subscriptions?after=AQEAAAAAAAAAAAAAAAAAAAAAAA", "/ui/subscriptions?before=%27%3B--", "/ui/subscriptions?state=bogus"} {
		code, body := b.get(bad)
		if code != http.StatusBadRequest || !strings.Contains(body, `id="form-error"`) || len(subRowRe.FindAllString(body, -1)) == 0 {
			t.Fatalf("%s: %d, want 400 with a message and rows", bad, code)
		}
	}
}

// TestAPIsPagePaged: the APIs page shows 100 by name with next/previous
// links and each API's operation count.
func TestAPIsPagePaged(t *testing.T) {
	e := newEnv(t, admin.Options{})
	e.addAdmin("viewer@example.com", catalog.RoleViewer, pw)
	ctx := catalog.WithActor(context.Background(), "test")
	for i := 0; i < 130; i++ {
		id := fmt.Sprintf("api%03d", i)
		if _, err := e.st.CreateAPI(ctx, catalog.API{ID: id, Name: "API " + id, PathPrefix: "/" + id, BackendURL: "http://127.0.0.1:1"}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 3; i++ {
		if _, err := e.st.CreateOperation(ctx, catalog.Operation{APIID: "api120", Name: fmt.Sprint("op", i), Method: "GET", URLTemplate: fmt.Sprint("/x", i)}); err != nil {
			t.Fatal(err)
		}
	}
	b := e.browser()
	b.signin("viewer@example.com", pw)
	rowRe := regexp.MustCompile(`<a href="/ui/apis/(api\d+)">`)
	_, body := b.get("/ui/apis")
	if n := len(rowRe.FindAllString(body, -1)); n != 100 || subPrevRe.MatchString(body) {
		t.Fatalf("first page: %d APIs, previous link %v", n, subPrevRe.MatchString(body))
	}
	m := subNextRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no next link")
	}
	code, body := b.get(html.UnescapeString(m[1]))
	rows := rowRe.FindAllStringSubmatch(body, -1)
	if code != 200 || len(rows) != 30 || rows[0][1] != "api100" || subNextRe.MatchString(body) || !subPrevRe.MatchString(body) {
		t.Fatalf("second page: %d, %d APIs", code, len(rows))
	}
	if !regexp.MustCompile(`api120</code></td><td><code>/api120</code></td><td><code>[^<]*</code></td><td>3</td>`).MatchString(body) {
		t.Fatal("api120's operation count is not 3")
	}
	if code, _ := b.get("/ui/apis?after=AAAA"); code != http.StatusBadRequest {
		t.Fatalf("forged cursor: %d", code)
	}
}
