package adminapi

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/catalog/sqlite"
)

// newPagingEnv is newEnv on a tmpfs directory when there is one: seeding
// thousands of rows with synchronous=FULL on a disk takes long, and the
// paging reads do not care where the file is.
func newPagingEnv(t testing.TB) *env {
	t.Helper()
	dir := t.TempDir()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", "paging-test-"); err == nil {
			dir = d
			t.Cleanup(func() { os.RemoveAll(d) })
		}
	}
	st, err := sqlite.OpenWithMasterKey(filepath.Join(dir, "catalog.db"), testMaster)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h, err := New(Options{Store: st, Token: testToken, ValidateModule: testValidateModule,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &env{t: t, st: st, srv: srv}
}

// seedSubs creates users u00..u(users-1) and perUser subscriptions each,
// alternating between products p0 and p1, through the store; it returns
// the subscription IDs in creation order.
func seedSubs(t testing.TB, st *sqlite.Store, users, perUser int) []string {
	t.Helper()
	ctx := catalog.WithActor(context.Background(), "test")
	for p := 0; p < 2; p++ {
		if _, err := st.CreateProduct(ctx, catalog.Product{ID: fmt.Sprintf("p%d", p), Name: fmt.Sprintf("P%d", p)}); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	for u := 0; u < users; u++ {
		uid := fmt.Sprintf("u%02d", u)
		if _, err := st.CreateUser(ctx, catalog.User{ID: uid, Email: uid + "@example.com", Name: uid}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < users*perUser; i++ {
		sub, _, _, err := st.CreateSubscription(ctx, catalog.Subscription{ID: fmt.Sprintf("s%05d", i), UserID: fmt.Sprintf("u%02d", i%users),
			Name: fmt.Sprintf("sub %d", i), Scope: catalog.ScopeProduct, ScopeID: fmt.Sprintf("p%d", i%2)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, sub.ID)
	}
	return ids
}

type subPage struct {
	Items []catalog.Subscription `json:"items"`
	Next  *string                `json:"next"`
}

// walk reads every page of path (with query q) at limit, calling between
// after each page; it returns the IDs in the order read and the pages.
func (e *env) walk(path string, q url.Values, limit int, between func(page int)) (ids []string, pages int) {
	e.t.Helper()
	q.Set("limit", fmt.Sprint(limit))
	for {
		var p subPage
		e.must(200, "GET", path+"?"+q.Encode(), nil, &p)
		pages++
		if len(p.Items) > limit {
			e.t.Fatalf("page %d has %d items, limit %d", pages, len(p.Items), limit)
		}
		for _, s := range p.Items {
			ids = append(ids, s.ID)
		}
		if p.Next == nil {
			return ids, pages
		}
		if *p.Next == "" {
			e.t.Fatalf("page %d: next is present but empty", pages)
		}
		if between != nil {
			between(pages)
		}
		q.Set("after", *p.Next)
		if pages > 10000 {
			e.t.Fatal("no end of pages")
		}
	}
}

func TestPagingSubscriptions(t *testing.T) {
	e := newPagingEnv(t)
	ids := seedSubs(t, e.st, 25, 100) // 2,500

	t.Run("every item once", func(t *testing.T) {
		e.t = t
		got, pages := e.walk("/subscriptions", url.Values{}, 100, nil)
		if pages != 25 || len(got) != len(ids) {
			t.Fatalf("%d pages, %d items; want 25 pages of 2500 items", pages, len(got))
		}
		for i := range ids {
			if got[i] != ids[i] {
				t.Fatalf("item %d = %s, want %s (oldest first)", i, got[i], ids[i])
			}
		}
	})

	t.Run("unpaged answer unchanged", func(t *testing.T) {
		e.t = t
		var p subPage
		e.must(200, "GET", "/subscriptions", nil, &p)
		if len(p.Items) != len(ids) || p.Next != nil {
			t.Fatalf("unpaged: %d items, next %v; want all %d and no next", len(p.Items), p.Next, len(ids))
		}
	})

	t.Run("filters with paging", func(t *testing.T) {
		e.t = t
		ctx := catalog.WithActor(context.Background(), "test")
		past := time.Now().Add(-time.Hour)
		future := time.Now().Add(time.Hour)
		want := map[string]map[string]bool{"suspended": {}, "expired": {}, "cancelled": {}}
		for i := 0; i < len(ids); i += 7 {
			id := ids[i]
			switch i % 4 {
			case 0:
				if _, err := e.st.SetSubscriptionState(ctx, id, catalog.StateSuspended); err != nil {
					t.Fatal(err)
				}
				want["suspended"][id] = true
			case 1:
				if _, err := e.st.SetSubscriptionExpiry(ctx, id, &past); err != nil {
					t.Fatal(err)
				}
				want["expired"][id] = true
			case 2:
				// Cancelled and past expiry: cancelled wins.
				if _, err := e.st.SetSubscriptionState(ctx, id, catalog.StateCancelled); err != nil {
					t.Fatal(err)
				}
				if _, err := e.st.SetSubscriptionExpiry(ctx, id, &past); err != nil {
					t.Fatal(err)
				}
				want["cancelled"][id] = true
			case 3:
				if _, err := e.st.SetSubscriptionExpiry(ctx, id, &future); err != nil { // still active
					t.Fatal(err)
				}
			}
		}
		all, err := e.st.ListSubscriptions(ctx, catalog.SubscriptionFilter{})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		// The oracle: the whole list filtered in Go.
		oracle := func(keep func(catalog.Subscription) bool) []string {
			var out []string
			for _, s := range all {
				if keep(s) {
					out = append(out, s.ID)
				}
			}
			return out
		}
		cases := []struct {
			q    url.Values
			keep func(catalog.Subscription) bool
		}{
			{url.Values{"state": {"active"}}, func(s catalog.Subscription) bool { return s.EffectiveState(now) == catalog.StateActive }},
			{url.Values{"state": {"expired"}}, func(s catalog.Subscription) bool { return want["expired"][s.ID] }},
			{url.Values{"state": {"cancelled"}}, func(s catalog.Subscription) bool { return want["cancelled"][s.ID] }},
			{url.Values{"state": {"suspended"}, "productId": {"p0"}}, func(s catalog.Subscription) bool {
				return want["suspended"][s.ID] && s.ScopeID == "p0"
			}},
			{url.Values{"userId": {"u07"}, "scope": {"product"}, "scopeId": {"p1"}}, func(s catalog.Subscription) bool { return s.UserID == "u07" && s.ScopeID == "p1" }},
			{url.Values{"namePrefix": {"sub 12"}}, func(s catalog.Subscription) bool { return strings.HasPrefix(s.Name, "sub 12") }},
		}
		for _, c := range cases {
			exp := oracle(c.keep)
			if len(exp) == 0 {
				t.Fatalf("%v: the oracle matches nothing; the case tests nothing", c.q)
			}
			got, _ := e.walk("/subscriptions", c.q, 37, nil)
			if strings.Join(got, ",") != strings.Join(exp, ",") {
				t.Fatalf("%v: paged %d items, oracle %d (first difference in %v vs %v)", c.q, len(got), len(exp), head(got), head(exp))
			}
		}
	})

	t.Run("inserts and deletes between pages", func(t *testing.T) {
		e.t = t
		ctx := catalog.WithActor(context.Background(), "test")
		all, err := e.st.ListSubscriptions(ctx, catalog.SubscriptionFilter{})
		if err != nil {
			t.Fatal(err)
		}
		originals := map[string]bool{}
		for _, s := range all {
			originals[s.ID] = true
		}
		deleted := map[string]bool{}
		seen := map[string]int{}
		rng := rand.New(rand.NewPCG(1, 2))
		n := 0
		got, _ := e.walk("/subscriptions", url.Values{}, 100, func(page int) {
			// Delete two originals at random (read or not yet read) and
			// insert two new subscriptions.
			for k := 0; k < 2; k++ {
				for {
					id := all[rng.IntN(len(all))].ID
					if deleted[id] {
						continue
					}
					if err := e.st.DeleteSubscription(ctx, id); err != nil {
						t.Fatal(err)
					}
					deleted[id] = true
					break
				}
				n++
				if _, _, _, err := e.st.CreateSubscription(ctx, catalog.Subscription{ID: fmt.Sprintf("new%04d", n), UserID: "u01", Scope: catalog.ScopeAll}); err != nil {
					t.Fatal(err)
				}
			}
		})
		for _, id := range got {
			seen[id]++
		}
		for id := range originals {
			c := seen[id]
			if !deleted[id] && c != 1 {
				t.Fatalf("surviving original %s read %d times", id, c)
			}
			if c > 1 {
				t.Fatalf("%s read %d times", id, c)
			}
		}
		for id, c := range seen {
			if c != 1 {
				t.Fatalf("%s read %d times", id, c)
			}
		}
		if len(deleted) < 40 {
			t.Fatalf("only %d deletes happened; the walk was too short to test anything", len(deleted))
		}
	})

	t.Run("bad cursors", func(t *testing.T) {
		e.t = t
		var p subPage
		e.must(200, "GET", "/subscriptions?limit=10", nil, &p)
		c := *p.Next
		var up subPage
		e.must(200, "GET", "/users?limit=3", nil, &up)
		var fp subPage
		e.must(200, "GET", "/subscriptions?limit=10&state=active", nil, &fp)
		forged := catalog.EncodeCursor([]byte("not the server's key"), kindSubscriptions, catalog.FilterHash("", "userId=", "scope=", "scopeId=", "productId=", "apiId=", "state=", "namePrefix="), catalog.PageKey{T: "s00100"})
		flipped := []byte(c)
		flipped[len(flipped)/2] ^= 1
		if flipped[len(flipped)/2] == '-' || flipped[len(flipped)/2] == '_' {
			flipped[len(flipped)/2] = 'A'
		}
		for name, q := range map[string]string{
			"garbled":            "after=" + url.QueryEscape(string(flipped)),
			"truncated":          "after=" + c[:len(c)-3],
			"one char short":     "after=" + c[:len(c)-1],
			"forged":             "after=" + forged,
			"another endpoint":   "after=" + *up.Next,
			"other filters":      "after=" + *fp.Next,
			"filters dropped":    "after=" + c + "&state=active",
			"junk":               "after=%27%3B%20DROP%20TABLE%20subscriptions%3B--",
			"not base64":         "after=!!!!",
			"padding":            "after=" + c + "%3D%3D",
			"empty":              "after=",
			"huge":               "after=" + strings.Repeat("A", catalog.MaxCursorLen+1),
			"twice":              "after=" + c + "&after=" + c,
			"another parent api": "",
		} {
			if q == "" {
				continue
			}
			r := e.do("GET", "/subscriptions?"+q, nil)
			if r.status != 400 || !strings.Contains(string(r.body), `"after"`) {
				t.Errorf("%s: status %d %.200s; want 400 naming after", name, r.status, r.body)
			}
		}
		// The cursor itself still works.
		e.must(200, "GET", "/subscriptions?after="+c, nil, nil)
	})

	t.Run("bad limits and filters", func(t *testing.T) {
		e.t = t
		for _, q := range []string{"limit=0", "limit=-1", "limit=1001", "limit=99999999999999999999", "limit=abc", "limit=1.5",
			"limit=+5", "limit=%205", "limit=", "limit=1&limit=2", "limit=0x10"} {
			r := e.do("GET", "/subscriptions?"+q, nil)
			if r.status != 400 || !strings.Contains(string(r.body), `"limit"`) {
				t.Errorf("%s: status %d %s; want 400 naming limit", q, r.status, r.body)
			}
		}
		for q, field := range map[string]string{"color=red": "color", "state=gone": "state", "scope=world": "scope",
			"productId=p1&scope=api": "productId", "productId=p1&apiId=a": "apiId", "Limit=5": "Limit"} {
			r := e.do("GET", "/subscriptions?"+q, nil)
			if r.status != 400 || !strings.Contains(string(r.body), `"`+field+`"`) {
				t.Errorf("%s: status %d %s; want 400 naming %s", q, r.status, r.body, field)
			}
		}
		for _, path := range []string{"/apis?tag=x", "/users?state=gone", "/products?name=x", "/audit?since=yesterday", "/modules?x=1", "/named-values?limit=0"} {
			if r := e.do("GET", path, nil); r.status != 400 {
				t.Errorf("%s: status %d %s; want 400", path, r.status, r.body)
			}
		}
		var p subPage
		e.must(200, "GET", "/subscriptions?limit=1000", nil, &p)
		if len(p.Items) != 1000 || p.Next == nil {
			t.Fatalf("limit=1000: %d items, next %v", len(p.Items), p.Next)
		}
	})
}

func head(ids []string) []string { return ids[:min(len(ids), 5)] }

// Users page by e-mail: rows inserted before and after the cursor and
// rows deleted on both sides never make another be skipped or repeated.
func TestPagingUsersStable(t *testing.T) {
	e := newPagingEnv(t)
	ctx := catalog.WithActor(context.Background(), "test")
	var originals []string
	for i := 0; i < 300; i++ {
		id := fmt.Sprintf("u%03d", i)
		if _, err := e.st.CreateUser(ctx, catalog.User{ID: id, Email: fmt.Sprintf("m%03d@example.com", i), Name: id}); err != nil {
			t.Fatal(err)
		}
		originals = append(originals, id)
	}
	deleted := map[string]bool{}
	n := 0
	got, pages := e.walk("/users", url.Values{}, 20, func(page int) {
		// Insert one user that sorts first, one in the middle, one last;
		// delete one already read and one not yet read.
		for _, email := range []string{"a%03d@example.com", "m150x%03d@example.com", "z%03d@example.com"} {
			n++
			if _, err := e.st.CreateUser(ctx, catalog.User{ID: fmt.Sprintf("new%03d", n), Email: fmt.Sprintf(email, n), Name: "new"}); err != nil {
				t.Fatal(err)
			}
		}
		for _, id := range []string{originals[page*20-7], originals[(page*20+31)%300]} {
			if !deleted[id] {
				if err := e.st.DeleteUser(ctx, id); err != nil {
					t.Fatal(err)
				}
				deleted[id] = true
			}
		}
	})
	if pages < 15 {
		t.Fatalf("%d pages", pages)
	}
	seen := map[string]int{}
	for _, id := range got {
		seen[id]++
	}
	for _, id := range originals {
		if !deleted[id] && seen[id] != 1 {
			t.Fatalf("surviving %s read %d times", id, seen[id])
		}
	}
	for id, c := range seen {
		if c != 1 {
			t.Fatalf("%s read %d times", id, c)
		}
	}
	// Filters: e-mail prefix ignoring case, state.
	blocked := 0
	for i := 0; i < 300; i += 9 {
		if deleted[originals[i]] {
			continue
		}
		u, _ := e.st.GetUser(ctx, originals[i])
		u.State = catalog.UserBlocked
		if _, err := e.st.UpdateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		blocked++
	}
	if got, _ := e.walk("/users", url.Values{"state": {"blocked"}}, 7, nil); len(got) != blocked {
		t.Fatalf("state=blocked: %d users, want %d", len(got), blocked)
	}
	got, _ = e.walk("/users", url.Values{"emailPrefix": {"M10"}}, 3, nil)
	for _, id := range got {
		if !strings.HasPrefix(id, "u10") {
			t.Fatalf("emailPrefix=M10 gave %s", id)
		}
	}
	if len(got) == 0 {
		t.Fatal("emailPrefix=M10 matched nothing (case should be ignored)")
	}
}

// The small listings page in memory with the same contract.
func TestPagingSmallListings(t *testing.T) {
	e := newEnv(t)
	for i := 0; i < 5; i++ {
		e.must(201, "POST", "/products", map[string]any{"id": fmt.Sprintf("p%d", i), "name": fmt.Sprintf("Product %d", 4-i)}, nil)
		e.must(201, "POST", "/named-values", map[string]any{"name": fmt.Sprintf("nv%d", i), "value": "v"}, nil)
	}
	got, pages := e.walk("/products", url.Values{}, 2, nil)
	if pages != 3 || strings.Join(got, ",") != "p4,p3,p2,p1,p0" {
		t.Fatalf("products: %d pages %v; want 3 pages by name", pages, got)
	}
	var nv struct {
		Items []catalog.NamedValue `json:"items"`
		Next  string               `json:"next"`
	}
	e.must(200, "GET", "/named-values?limit=4", nil, &nv)
	if len(nv.Items) != 4 || nv.Next == "" {
		t.Fatalf("named values page 1: %+v", nv)
	}
	after := nv.Next
	nv.Items, nv.Next = nil, ""
	e.must(200, "GET", "/named-values?limit=4&after="+after, nil, &nv)
	if len(nv.Items) != 1 || nv.Items[0].Name != "nv4" || nv.Next != "" {
		t.Fatalf("named values page 2: %+v", nv)
	}
	// A products cursor on named values: refused.
	var pp subPage
	e.must(200, "GET", "/products?limit=2", nil, &pp)
	if r := e.do("GET", "/named-values?after="+*pp.Next, nil); r.status != 400 {
		t.Fatalf("products cursor on named values: %d %s", r.status, r.body)
	}
	// Operations: a cursor of one API's operations is refused on another's.
	for _, a := range []string{"a", "b"} {
		e.must(201, "POST", "/apis", map[string]any{"id": a, "name": a, "pathPrefix": "/" + a, "backendUrl": "http://127.0.0.1:9/"}, nil)
		for i := 0; i < 3; i++ {
			e.must(201, "POST", "/apis/"+a+"/operations", map[string]any{"name": fmt.Sprint("op", i), "method": "GET", "urlTemplate": fmt.Sprint("/x", i)}, nil)
		}
	}
	var op subPage
	e.must(200, "GET", "/apis/a/operations?limit=2", nil, &op)
	if op.Next == nil {
		t.Fatal("operations of a: no next")
	}
	if r := e.do("GET", "/apis/b/operations?after="+*op.Next, nil); r.status != 400 {
		t.Fatalf("cursor of a's operations on b: %d %s", r.status, r.body)
	}
	var op2 subPage
	e.must(200, "GET", "/apis/a/operations?after="+*op.Next, nil, &op2)
	if len(op2.Items) != 1 || op2.Next != nil {
		t.Fatalf("operations of a page 2: %+v", op2)
	}
}

// The audit log pages newest first and filters by entity, actor, since.
func TestPagingAudit(t *testing.T) {
	e := newEnv(t)
	for i := 0; i < 12; i++ {
		e.must(201, "POST", "/products", map[string]any{"id": fmt.Sprintf("p%02d", i), "name": fmt.Sprintf("P%02d", i)}, nil)
		e.must(201, "POST", "/groups", map[string]any{"id": fmt.Sprintf("g%02d", i), "name": fmt.Sprintf("G%02d", i)}, nil)
	}
	var ids []int64
	q := url.Values{"entity": {"product"}, "limit": {"5"}}
	for {
		var p struct {
			Items []catalog.AuditEntry `json:"items"`
			Next  string               `json:"next"`
		}
		e.must(200, "GET", "/audit?"+q.Encode(), nil, &p)
		for _, a := range p.Items {
			if a.Entity != "product" {
				t.Fatalf("entity filter let through %+v", a)
			}
			if len(ids) > 0 && a.ID >= ids[len(ids)-1] {
				t.Fatalf("not newest first: %d after %d", a.ID, ids[len(ids)-1])
			}
			ids = append(ids, a.ID)
		}
		if p.Next == "" {
			break
		}
		q.Set("after", p.Next)
	}
	if len(ids) != 12 {
		t.Fatalf("%d product audit entries, want 12", len(ids))
	}
	var p struct {
		Items []catalog.AuditEntry `json:"items"`
	}
	e.must(200, "GET", "/audit?since="+url.QueryEscape(time.Now().Add(time.Hour).Format(time.RFC3339)), nil, &p)
	if len(p.Items) != 0 {
		t.Fatalf("since an hour ahead: %d entries", len(p.Items))
	}
	e.must(200, "GET", "/audit?actor=nobody", nil, &p)
	if len(p.Items) != 0 {
		t.Fatalf("actor=nobody: %d entries", len(p.Items))
	}
	// The documented cap of the audit limit stays a cap.
	e.must(200, "GET", "/audit?limit=5000", nil, &p)
	if len(p.Items) != 24 {
		t.Fatalf("limit=5000: %d entries, want all 24", len(p.Items))
	}
}
