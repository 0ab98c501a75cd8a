package adminapi

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/catalog/analytics"
	"github.com/gatehouse/gatehouse/catalog/sqlite"
)

// newAnalyticsEnv is newEnv with a real request log holding records, all
// written (the writer is flushed by closing it and reopening the file).
func newAnalyticsEnv(t *testing.T, recs []analytics.Record) *env {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "logs.db")
	w, err := analytics.OpenWriter(analytics.WriterOptions{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		if !w.Log(&recs[i]) {
			t.Fatal("record dropped")
		}
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if w, err = analytics.OpenWriter(analytics.WriterOptions{Path: path}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close(context.Background()) })

	st, err := sqlite.OpenWithMasterKey(filepath.Join(dir, "catalog.db"), testMaster)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h, err := New(Options{Store: st, Token: testToken, ValidateModule: testValidateModule, Analytics: w,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &env{t: t, st: st, srv: srv}
}

type rowList struct {
	Items []analytics.Row `json:"items"`
}

func TestAnalyticsRoutes(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Minute)
	var recs []analytics.Record
	for i := range 300 {
		api, sub := "echo", "sub-a"
		if i%3 == 0 {
			api, sub = "orders", "sub-b"
		}
		st := 200
		switch {
		case i%10 == 0:
			st = 500
		case i%10 == 1:
			st = 404
		}
		recs = append(recs, analytics.Record{
			Time: now.Add(-time.Duration(i) * time.Minute), RequestID: fmt.Sprintf("r%d", i), API: api, Operation: "get",
			Product: "starter", Subscription: sub, User: "dev", Method: "GET", Path: "/x", Status: st, BackendStatus: st,
			Total: time.Duration(i+1) * time.Millisecond, BytesIn: 10, BytesOut: 100, CacheHit: i%4 == 0,
		})
	}
	e := newAnalyticsEnv(t, recs)
	e.seed()
	e.must(201, "POST", "/subscriptions", map[string]any{"id": "sub-a", "userId": "dev", "scope": "product", "scopeId": "starter"}, nil)

	// Default: the last 24 hours, one total row.
	var l rowList
	e.must(200, "GET", "/analytics", nil, &l)
	if len(l.Items) != 1 || l.Items[0].Calls != 300 || l.Items[0].Errors5xx != 30 || l.Items[0].Errors4xx != 30 || l.Items[0].CacheHits != 75 {
		t.Fatalf("total: %+v", l.Items)
	}
	if p := l.Items[0].P50; p < 100*time.Millisecond || p > 220*time.Millisecond {
		t.Errorf("p50 %v (exact 150ms)", p)
	}

	// Grouped, bucketed and filtered.
	q := url.Values{"from": {now.Add(-2 * time.Hour).Format(time.RFC3339)}, "to": {now.Add(time.Minute).Format(time.RFC3339)},
		"groupBy": {"api,operation"}, "bucket": {"hour"}, "product": {"starter"}}
	e.must(200, "GET", "/analytics?"+q.Encode(), nil, &l)
	var calls int64
	for _, r := range l.Items {
		if r.API == "" || r.Operation == "" || r.Bucket.IsZero() || r.Subscription != "" {
			t.Errorf("row %+v", r)
		}
		calls += r.Calls
	}
	if calls != 121 { // minutes now-120 … now
		t.Errorf("2h: %d calls", calls)
	}
	raw := e.must(200, "GET", "/analytics?groupBy=api", nil, nil)
	var generic struct{ Items []map[string]any }
	raw.json(t, &generic)
	for _, k := range []string{"api", "calls", "errors4xx", "errors5xx", "bytesIn", "bytesOut", "cacheHits", "cacheHitRatio", "p50Ms", "p95Ms", "p99Ms"} {
		if _, ok := generic.Items[0][k]; !ok {
			t.Errorf("row lacks %q: %s", k, raw.body)
		}
	}
	if _, ok := generic.Items[0]["bucket"]; ok {
		t.Errorf("unbucketed row has a bucket: %s", raw.body)
	}

	// Bad parameters: 400 naming the field.
	for path, field := range map[string]string{
		"/analytics?groupBy=api,colour":                                              "groupBy",
		"/analytics?bucket=week":                                                     "bucket",
		"/analytics?from=yesterday":                                                  "from",
		"/analytics?to=2026-13-01T00:00:00Z":                                         "to",
		"/analytics?from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z":               "to",
		"/analytics?bucket=minute&from=2026-10-01T00:00:00Z&to=2026-11-01T00:00:00Z": "bucket",
		"/analytics/requests?limit=0":                                                "limit",
		"/analytics/requests?limit=x":                                                "limit",
		"/analytics/requests?status=99":                                              "status",
		"/analytics/requests?from=x":                                                 "from",
		"/subscriptions/sub-a/usage?groupBy=user":                                    "groupBy",
		"/subscriptions/sub-a/usage?bucket=year":                                     "bucket",
		"/subscriptions/sub-a/usage?subscription=x":                                  "subscription",
	} {
		r := e.do("GET", path, nil)
		b := r.err(t)
		if r.status != 400 || b.Error.Code != "invalid" || len(b.Error.Fields) != 1 || b.Error.Fields[0].Path != field {
			t.Errorf("%s: %d %s, want 400 on %s", path, r.status, r.body, field)
		}
	}

	// Raw requests, newest first, filtered and limited.
	var reqs struct{ Items []analytics.Record }
	e.must(200, "GET", "/analytics/requests?limit=5&subscription=sub-b&api=orders", nil, &reqs)
	if len(reqs.Items) != 5 || reqs.Items[0].RequestID != "r0" || reqs.Items[1].RequestID != "r3" {
		t.Fatalf("requests: %+v", reqs.Items)
	}
	for _, r := range reqs.Items {
		if r.Subscription != "sub-b" || r.Total == 0 {
			t.Errorf("request %+v", r)
		}
	}
	e.must(200, "GET", "/analytics/requests?status=500", nil, &reqs)
	if len(reqs.Items) != 30 {
		t.Errorf("status 500: %d", len(reqs.Items))
	}

	// The per-subscription view.
	var u struct {
		SubscriptionID string
		From, To       time.Time
		Items          []analytics.Row
	}
	e.must(200, "GET", "/subscriptions/sub-a/usage?bucket=day&groupBy=api", nil, &u)
	calls = 0
	for _, r := range u.Items {
		if r.API != "echo" {
			t.Errorf("sub-a row %+v", r)
		}
		calls += r.Calls
	}
	if u.SubscriptionID != "sub-a" || calls != 200 || u.To.Sub(u.From) != 24*time.Hour {
		t.Errorf("usage: %+v (%d calls)", u, calls)
	}
	if r := e.do("GET", "/subscriptions/nope/usage", nil); r.status != 404 {
		t.Errorf("usage of a missing subscription: %d %s", r.status, r.body)
	}
}

func TestAnalyticsDisabled(t *testing.T) {
	e := newEnv(t)
	// A nil *analytics.Writer counts as no request log.
	var nilWriter *analytics.Writer
	h, err := New(Options{Store: e.st, Token: testToken, Analytics: nilWriter})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	e2 := &env{t: t, st: e.st, srv: srv}
	for _, p := range []string{"/analytics", "/analytics/requests", "/subscriptions/x/usage"} {
		r := e2.do("GET", p, nil)
		if b := r.err(t); r.status != 503 || b.Error.Code != "unavailable" {
			t.Errorf("%s with a nil writer: %d %s", p, r.status, r.body)
		}
	}
	for _, p := range []string{"/analytics", "/analytics/requests", "/subscriptions/x/usage"} {
		r := e.do("GET", p, nil)
		if b := r.err(t); r.status != 503 || b.Error.Code != "unavailable" {
			t.Errorf("%s without analytics: %d %s", p, r.status, r.body)
		}
	}
}
