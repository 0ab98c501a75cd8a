package analytics

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The request log keeps the grpc-status of gRPC calls (OK included, and
// -1 for none) and none for other calls, through the database and JSON;
// a log database made before the column existed gets it when opened, its
// old rows reading back as not gRPC.
func TestGRPCStatusRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logs.db")
	// An old log database: the requests table without grpc_status.
	old, err := sql.Open(driverName, dsn(path))
	if err != nil {
		t.Fatal(err)
	}
	// (schema still creates it without the column: addGRPCStatusColumn adds it)
	if _, err := old.Exec("PRAGMA journal_mode=WAL;" + schema); err != nil {
		t.Fatal(err)
	}
	if _, err := old.Exec(`INSERT INTO requests (ts, request_id, api, operation, product, subscription, user, client_ip, method, path, query,
		status, backend_status, total_us, backend_us, policies_us, bytes_in, bytes_out, cache_hit, policy_error)
		VALUES (1, 'old', 'api', '', '', '', '', '', 'GET', '/', '', 200, 200, 1, 1, 1, 0, 0, 0, '')`); err != nil {
		t.Fatal(err)
	}
	old.Close()

	w := openTest(t, WriterOptions{Path: path, FlushInterval: 10 * time.Millisecond})
	base := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		id     string
		grpc   bool
		status int
	}{{"plain", false, 0}, {"ok", true, 0}, {"notfound", true, 5}, {"unauth", true, 16}, {"none", true, -1}}
	for i, c := range cases {
		r := Record{Time: base.Add(time.Duration(i) * time.Second), RequestID: c.id, API: "api", Method: "POST", Path: "/x", Status: 200,
			GRPC: c.grpc, GRPCStatus: c.status}
		if !w.Log(&r) {
			t.Fatal("dropped")
		}
	}
	closeTest(t, w)
	w = openTest(t, WriterOptions{Path: path})
	got, err := w.Requests(context.Background(), RequestFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(cases)+1 {
		t.Fatalf("%d rows, want %d", len(got), len(cases)+1)
	}
	for _, r := range got {
		b, _ := json.Marshal(r)
		if r.RequestID == "old" || r.RequestID == "plain" {
			if r.GRPC || strings.Contains(string(b), "grpcStatus") {
				t.Errorf("%s: read back as gRPC: %s", r.RequestID, b)
			}
			continue
		}
		for _, c := range cases {
			if c.id == r.RequestID && (!r.GRPC || r.GRPCStatus != c.status) {
				t.Errorf("%s: read back grpc=%v status=%d, want %d", c.id, r.GRPC, r.GRPCStatus, c.status)
			}
		}
		var back Record
		if err := json.Unmarshal(b, &back); err != nil || !back.GRPC || back.GRPCStatus != r.GRPCStatus {
			t.Errorf("%s: JSON %s → %+v (%v)", r.RequestID, b, back, err)
		}
	}
}
