package adminapi

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/gatehouse/gatehouse/catalog/sqlite"
)

// BenchmarkListSubscriptions100k lists a catalog of 100,000 subscriptions
// (1,000 users, 10 products; every tenth suspended) through the admin API
// over loopback: the whole list in one unpaged request, every page at
// limit 1000 and 100, and one filtered page (state=active) at limit 100.
// It reports ms per full listing and the p50/p99 of single page requests.
//
//	go test -run '^$' -bench BenchmarkListSubscriptions100k -benchtime 3x ./catalog/adminapi/
func BenchmarkListSubscriptions100k(b *testing.B) {
	dir := b.TempDir()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", "paging-bench-"); err == nil {
			dir = d
			defer os.RemoveAll(d)
		}
	}
	path := filepath.Join(dir, "catalog.db")
	st, err := sqlite.OpenWithMasterKey(path, testMaster)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	// Rows are written in one transaction on a second connection to the
	// same file (100,000 store writes of one transaction each take
	// minutes); the reads below go through the store.
	raw, err := sql.Open("sqlite3", path+"?_foreign_keys=on&_busy_timeout=5000")
	if err != nil {
		b.Fatal(err)
	}
	tx, err := raw.Begin()
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UnixNano()
	for p := 0; p < 10; p++ {
		if _, err := tx.Exec(`INSERT INTO products (id, name) VALUES (?, ?)`, fmt.Sprintf("p%d", p), fmt.Sprintf("P%d", p)); err != nil {
			b.Fatal(err)
		}
	}
	for u := 0; u < 1000; u++ {
		if _, err := tx.Exec(`INSERT INTO users (id, email, name, state) VALUES (?, ?, 'U', 'active')`, fmt.Sprintf("u%04d", u), fmt.Sprintf("u%04d@example.com", u)); err != nil {
			b.Fatal(err)
		}
	}
	ins, err := tx.Prepare(`INSERT INTO subscriptions (id, user_id, name, scope, product_id, state, created_at, updated_at) VALUES (?, ?, ?, 'product', ?, ?, ?, ?)`)
	if err != nil {
		b.Fatal(err)
	}
	const n = 100_000
	for i := 0; i < n; i++ {
		state := "active"
		if i%10 == 0 {
			state = "suspended"
		}
		if _, err := ins.Exec(fmt.Sprintf("s%06d", i), fmt.Sprintf("u%04d", i%1000), fmt.Sprintf("sub %d", i), fmt.Sprintf("p%d", i%10), state, now+int64(i), now+int64(i)); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	raw.Close()
	h, err := New(Options{Store: st, Token: testToken, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	get := func(q string) (items int, next string) {
		req, _ := http.NewRequest("GET", srv.URL+Prefix+"/subscriptions"+q, nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		res, err := srv.Client().Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer res.Body.Close()
		var p struct {
			Items []json.RawMessage `json:"items"`
			Next  string            `json:"next"`
		}
		if res.StatusCode != 200 {
			body, _ := io.ReadAll(res.Body)
			b.Fatalf("%s: %d %s", q, res.StatusCode, body)
		}
		if err := json.NewDecoder(res.Body).Decode(&p); err != nil {
			b.Fatal(err)
		}
		return len(p.Items), p.Next
	}
	b.Run("unpaged", func(b *testing.B) {
		for range b.N {
			if got, next := get(""); got != n || next != "" {
				b.Fatalf("%d items, next %q", got, next)
			}
		}
	})
	walk := func(b *testing.B, limit int, filter string, want int) {
		var lat []time.Duration
		for range b.N {
			total, q := 0, fmt.Sprintf("?limit=%d%s", limit, filter)
			for {
				t0 := time.Now()
				got, next := get(q)
				lat = append(lat, time.Since(t0))
				total += got
				if next == "" {
					break
				}
				q = fmt.Sprintf("?limit=%d%s&after=%s", limit, filter, next)
			}
			if total != want {
				b.Fatalf("walked %d items, want %d", total, want)
			}
		}
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "page-p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "page-p99-ms")
	}
	b.Run("pages-of-1000", func(b *testing.B) { walk(b, 1000, "", n) })
	b.Run("pages-of-100", func(b *testing.B) { walk(b, 100, "", n) })
	b.Run("pages-of-100-state-active", func(b *testing.B) { walk(b, 100, "&state=active", n*9/10) })
	b.Run("pages-of-100-user", func(b *testing.B) { walk(b, 100, "&userId=u0042", n/1000) })
}
