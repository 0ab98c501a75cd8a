package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/catalog/adminapi"
	"github.com/gatehouse/gatehouse/catalog/sqlite"
)

// The CLI lists 2,500 subscriptions (and users) through the admin API's
// pages, over loopback against real SQLite, and --limit stops early.
func TestCLIListFollowsPages(t *testing.T) {
	admEnv(t)
	dir := t.TempDir()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", "cli-paging-"); err == nil {
			dir = d
			t.Cleanup(func() { os.RemoveAll(d) })
		}
	}
	st, err := sqlite.OpenWithMasterKey(filepath.Join(dir, "catalog.db"), bytes.Repeat([]byte{0x42}, 32))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := catalog.WithActor(context.Background(), "test")
	const n = 2500
	for u := 0; u < n; u++ {
		if _, err := st.CreateUser(ctx, catalog.User{ID: fmt.Sprintf("u%04d", u), Email: fmt.Sprintf("u%04d@example.com", u), Name: "U"}); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := st.CreateSubscription(ctx, catalog.Subscription{ID: fmt.Sprintf("s%04d", u), UserID: fmt.Sprintf("u%04d", u), Scope: catalog.ScopeAll}); err != nil {
			t.Fatal(err)
		}
	}
	h, err := adminapi.New(adminapi.Options{Store: st, Token: admToken})
	if err != nil {
		t.Fatal(err)
	}
	var pages, unpaged atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && (strings.HasSuffix(r.URL.Path, "/subscriptions") || strings.HasSuffix(r.URL.Path, "/users")) {
			if r.URL.Query().Has("limit") {
				pages.Add(1)
			} else {
				unpaged.Add(1)
			}
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	t.Setenv("GATEHOUSE_ADMIN_URL", srv.URL)
	t.Setenv("GATEHOUSE_ADMIN_TOKEN", admToken)

	var subs []map[string]any
	if err := json.Unmarshal([]byte(admOK(t, "sub", "list", "-o", "json")), &subs); err != nil {
		t.Fatal(err)
	}
	seen := map[any]bool{}
	for _, s := range subs {
		seen[s["id"]] = true
	}
	if len(subs) != n || len(seen) != n {
		t.Fatalf("sub list: %d items, %d distinct; want %d", len(subs), len(seen), n)
	}
	if pages.Load() != 3 || unpaged.Load() != 0 {
		t.Fatalf("sub list made %d paged and %d unpaged requests; want 3 pages of at most 1000", pages.Load(), unpaged.Load())
	}
	// The table: a header and one line per user.
	pages.Store(0)
	if out := admOK(t, "user", "list"); strings.Count(out, "\n") != n+1 {
		t.Fatalf("user list: %d lines, want %d", strings.Count(out, "\n"), n+1)
	}
	if pages.Load() != 3 {
		t.Fatalf("user list made %d page requests", pages.Load())
	}
	// --limit stops early, asking for no more than it needs.
	pages.Store(0)
	if err := json.Unmarshal([]byte(admOK(t, "sub", "list", "--limit", "1500", "-o", "json")), &subs); err != nil {
		t.Fatal(err)
	}
	if len(subs) != 1500 || subs[1499]["id"] != "s1499" || pages.Load() != 2 {
		t.Fatalf("--limit 1500: %d items (last %v) in %d pages", len(subs), subs[len(subs)-1]["id"], pages.Load())
	}
	if err := json.Unmarshal([]byte(admOK(t, "sub", "list", "--limit", "3", "--state", "active", "-o", "json")), &subs); err != nil || len(subs) != 3 {
		t.Fatalf("--limit 3 --state active: %d items (%v)", len(subs), err)
	}
	admFails(t, exitUsage, "--limit must be 0 (all) or more", "sub", "list", "--limit", "-1")
	admFails(t, exitFailure, "state", "sub", "list", "--state", "gone")
}
