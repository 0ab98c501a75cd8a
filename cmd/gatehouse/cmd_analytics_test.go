package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/catalog/adminapi"
	"github.com/gatehouse/gatehouse/catalog/analytics"
	"github.com/gatehouse/gatehouse/catalog/sqlite"
)

// startAnalyticsAdmin serves the real admin API with a real request log
// holding 120 requests of the last two hours.
func startAnalyticsAdmin(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "logs.db")
	w, err := analytics.OpenWriter(analytics.WriterOptions{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for i := range 120 {
		api, st := "echo", 200
		if i%2 == 1 {
			api = "orders"
		}
		if i%10 == 0 {
			st = 503
		}
		w.Log(&analytics.Record{Time: now.Add(-time.Duration(i) * time.Minute), RequestID: fmt.Sprintf("r%d", i), API: api,
			Operation: "get", Subscription: "sub-1", Method: "GET", Path: "/items", Status: st, Total: 12 * time.Millisecond,
			BytesOut: 100, CacheHit: i%4 == 0, GRPC: i == 1, GRPCStatus: 14})
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if w, err = analytics.OpenWriter(analytics.WriterOptions{Path: path}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close(context.Background()) })
	st, err := sqlite.OpenWithMasterKey(filepath.Join(dir, "catalog.db"), bytes.Repeat([]byte{0x42}, 32))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h, err := adminapi.New(adminapi.Options{Store: st, Token: admToken, Analytics: w})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestAnalyticsCLI(t *testing.T) {
	admEnv(t)
	base := startAnalyticsAdmin(t)
	t.Setenv("GATEHOUSE_DATA", admDataDir(t, base, admToken))

	// One total row by default.
	out := admOK(t, "analytics")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "CALLS") || !strings.HasPrefix(lines[1], "120 ") || !strings.Contains(lines[1], "25.0%") {
		t.Fatalf("analytics:\n%s", out)
	}

	// Grouped and bucketed, as JSON.
	out = admOK(t, "analytics", "--group-by", "api", "--bucket", "hour", "--from", "3h", "-o", "json")
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	var calls float64
	for _, r := range rows {
		if r["api"] != "echo" && r["api"] != "orders" || r["bucket"] == nil || r["p50Ms"] == nil {
			t.Errorf("row %v", r)
		}
		calls += r["calls"].(float64)
	}
	if calls != 120 {
		t.Errorf("%v calls", calls)
	}
	out = admOK(t, "analytics", "--group-by", "api,operation", "--api", "orders")
	if !strings.Contains(out, "API") || !strings.Contains(out, "OPERATION") || !strings.Contains(out, "orders") || strings.Contains(out, "echo") {
		t.Errorf("filtered table:\n%s", out)
	}

	// Raw requests.
	out = admOK(t, "analytics", "requests", "--limit", "3")
	lines = strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "TIME") || !strings.Contains(lines[1], "r0") || !strings.Contains(lines[1], "503") {
		t.Errorf("requests:\n%s", out)
	}
	// STATUS then GRPC: "-" for a call that is not gRPC, else its grpc-status.
	if f0, f1 := strings.Fields(lines[1]), strings.Fields(lines[2]); !strings.Contains(lines[0], "STATUS  GRPC") || len(f1) < 6 ||
		strings.Join(f0[4:6], " ") != "503 -" || strings.Join(f1[4:6], " ") != "200 14" {
		t.Errorf("requests, GRPC column:\n%s", out)
	}
	out = admOK(t, "analytics", "requests", "--status", "503", "-o", "json")
	var reqs []map[string]any
	if err := json.Unmarshal([]byte(out), &reqs); err != nil || len(reqs) != 12 {
		t.Errorf("503s: %v %d\n%s", err, len(reqs), out)
	}

	// The server's field errors and local usage errors.
	admFails(t, exitFailure, "groupBy", "analytics", "--group-by", "colour")
	admFails(t, exitFailure, "bucket", "analytics", "--bucket", "week")
	admFails(t, exitUsage, "--from", "analytics", "--from", "yesterday")
	admFails(t, exitUsage, "--limit", "analytics", "requests", "--limit", "0")
	admFails(t, exitUsage, "want no arguments", "analytics", "extra")
}
