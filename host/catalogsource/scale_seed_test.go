package catalogsource_test

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	strconvpkg "strconv"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/catalog"
)

// scaleSubs is the number of subscriptions TestRevocationAtScale adds to
// its catalog (issue 15: 100,000 at 10,000 APIs); GATEHOUSE_SCALE_SUBS
// overrides it.
func scaleSubs() int {
	if v, err := strconvpkg.Atoi(os.Getenv("GATEHOUSE_SCALE_SUBS")); err == nil && v >= 0 {
		return v
	}
	return 10000
}

// seedScale writes n APIs × 5 operations with a set-header policy each
// (api00000 … at /svc0/v1 …, subscription required) and subs active
// all-APIs subscriptions of one user into the catalog file at path, in one
// transaction of plain SQL on the real schema: the same rows the store's
// writes make (TestRevocationAtScale wrote them one store write at a time,
// 85 s at 10,000 APIs). The subscriptions' keys are random hashes nobody
// holds: they make the key table as large as the issue asks, and the
// test's own keys are created through the store. The catalog version is
// bumped once, with an audit entry, as a write would.
func seedScale(t testing.TB, path, backend string, n, subs int) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?_foreign_keys=on&_busy_timeout=5000&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	now := time.Now().UnixNano()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := tx.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	prep := func(q string) *sql.Stmt {
		t.Helper()
		st, err := tx.Prepare(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return st
	}
	api := prep(`INSERT INTO apis (id, name, path_prefix, backend_url, version, revision, subscription_required, key_header, key_query,
		allow_query_key, egress_allow, console_trace_disabled, openapi_doc, created_at, updated_at)
		VALUES (?, ?, ?, ?, '', 1, 1, ?, ?, 0, '', 0, NULL, ?, ?)`)
	op := prep(`INSERT INTO operations (id, api_id, name, method, url_template) VALUES (?, ?, ?, ?, ?)`)
	pol := prep(`INSERT INTO policies (scope, scope_id, doc, updated_at) VALUES ('api', ?, ?, ?)`)
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("api%05d", i)
		if _, err := api.Exec(id, id, fmt.Sprintf("/svc%d/v1", i), backend, catalog.DefaultKeyHeader, catalog.DefaultKeyQuery, now, now); err != nil {
			t.Fatal(err)
		}
		for j, tm := range []string{"/items", "/items/{id}", "/items/{id}/tags", "/orders", "/orders/{id}"} {
			if _, err := op.Exec(fmt.Sprintf("%s-op%d", id, j), id, fmt.Sprintf("op%d", j), []string{"GET", "GET", "GET", "POST", "DELETE"}[j], tm); err != nil {
				t.Fatal(err)
			}
		}
		doc := fmt.Sprintf(`{"inbound":[{"base":true},{"module":"builtin","policy":"set-header","config":{"name":"X-API","value":"%d"}}],"backend":null,"outbound":null,"onError":null}`, i)
		if _, err := pol.Exec(id, doc, now); err != nil {
			t.Fatal(err)
		}
	}
	if subs > 0 {
		exec(`INSERT INTO users (id, email, name, state) VALUES ('seed-user', 'seed@example.com', 'Seed', 'active')`)
		sub := prep(`INSERT INTO subscriptions (id, user_id, name, scope, state, created_at, updated_at) VALUES (?, 'seed-user', '', 'all', 'active', ?, ?)`)
		key := prep(`INSERT INTO subscription_keys (subscription_id, slot, key_hash, key_sealed, created_at) VALUES (?, ?, ?, ?, ?)`)
		b := make([]byte, 32)
		for i := 0; i < subs; i++ {
			id := fmt.Sprintf("seed%07d", i)
			if _, err := sub.Exec(id, now, now); err != nil {
				t.Fatal(err)
			}
			for _, slot := range []string{"primary", "secondary"} {
				rand.Read(b)
				if _, err := key.Exec(id, slot, hex.EncodeToString(b), b, now); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	var v int64
	if err := tx.QueryRow(`UPDATE catalog_version SET version = version + 1 WHERE id = 1 RETURNING version`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	exec(`INSERT INTO audit_log (at, actor, action, entity, entity_id, detail, version) VALUES (?, 'seed', 'create', 'api', 'seed', ?, ?)`,
		now, fmt.Sprintf("%d APIs, %d subscriptions", n, subs), v)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}
