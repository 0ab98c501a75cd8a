package admin

import (
	"bytes"
	"encoding/csv"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/catalog/analytics"
)

// The request log's CSV rows carry text callers chose (path, query,
// request id): a row is one CSV record of the header's width whatever
// they hold (quotes, commas, newlines), no caller text starts a cell
// with a formula character, and the gRPC cells follow the record.
func FuzzRequestCSVRow(f *testing.F) {
	f.Add("req-1", "GET", "/orders/1", "a=1&b=2", "@SUM(A1)", 200, 0, false)
	f.Add("=cmd|' /C calc'!A0", "POST", "/ledger.Ledger/Get", "+1", "-2", 200, 5, true)
	f.Add("id\"with,quotes\r\nand lines", "\tGET", "/x\n=1", "\r=2", "", 502, -1, true)
	f.Add("", "", "", "", "", 0, 99, true)
	f.Fuzz(func(t *testing.T, id, method, path, query, policyErr string, status, grpcStatus int, grpc bool) {
		rec := analytics.Record{Time: time.Unix(1700000000, 0), RequestID: id, Method: method, Path: path, Query: query, PolicyError: policyErr,
			API: query, Subscription: path, ClientIP: id, Status: status, GRPC: grpc, GRPCStatus: grpcStatus}
		row := requestCSVRow(rec)
		if len(row) != len(requestCSVHeader) {
			t.Fatalf("%d cells, header %d", len(row), len(requestCSVHeader))
		}
		var buf bytes.Buffer
		cw := csv.NewWriter(&buf)
		cw.Write(row)
		cw.Flush()
		got, err := csv.NewReader(&buf).ReadAll()
		if err != nil || len(got) != 1 {
			t.Fatalf("read back: %v, %d records", err, len(got))
		}
		want := make([]string, len(row))
		for i, c := range row {
			want[i] = strings.ReplaceAll(c, "\r\n", "\n") // encoding/csv reads \r\n in a quoted field as \n
		}
		if !slices.Equal(got[0], want) {
			t.Fatalf("round trip:\n%q\n%q", got[0], want)
		}
		col := func(name string) string { return row[slices.Index(requestCSVHeader, name)] }
		for _, name := range []string{"requestId", "method", "path", "query", "api", "subscription", "clientIp", "policyError"} {
			if c := col(name); c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
				t.Fatalf("%s cell %q starts a formula", name, c)
			}
		}
		if (col("grpcStatus") == "") == grpc || (col("grpcStatusName") == "") == grpc {
			t.Fatalf("gRPC cells %q %q for grpc=%v", col("grpcStatus"), col("grpcStatusName"), grpc)
		}
		if n := grpcCell(rec); grpc && grpcStatus >= 0 && grpcStatus <= 16 && !strings.HasSuffix(n, grpcCodeNames[grpcStatus]) {
			t.Fatalf("page cell %q for %d", n, grpcStatus)
		}
	})
}
