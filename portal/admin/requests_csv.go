package admin

import (
	"encoding/csv"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/catalog/analytics"
)

// The request log's filters (shared by the page and its CSV), its gRPC
// column and its CSV download.

// requestsQuery reads the request log's filters: status, api,
// subscription and request id. bad is a message for a status that is not
// a status code (the filter is then not applied).
func requestsQuery(r *http.Request, limit int) (f analytics.RequestFilter, id, bad string) {
	q := r.URL.Query()
	f = analytics.RequestFilter{Limit: limit, API: q.Get("api"), Subscription: q.Get("subscription")}
	if v := q.Get("status"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 100 || n > 599 {
			bad = "status: a status code such as 429"
		} else {
			f.Status = n
		}
	}
	id = strings.TrimSpace(q.Get("requestId"))
	if id != "" {
		f.Limit = analytics.MaxRequestLimit // the id is matched among the newest 1,000
	}
	return f, id, bad
}

// matchRequestID keeps the records of one request id ("" keeps all).
func matchRequestID(recs []analytics.Record, id string) []analytics.Record {
	if id == "" {
		return recs
	}
	var hit []analytics.Record
	for _, rec := range recs {
		if rec.RequestID == id {
			hit = append(hit, rec)
		}
	}
	return hit
}

// anyGRPC reports whether a record is a gRPC call: the page shows its
// gRPC column only then (most APIs never carry gRPC; a column of blanks
// would crowd a twelve-column table). The CSV always has the column.
func anyGRPC(recs []analytics.Record) bool {
	for _, r := range recs {
		if r.GRPC {
			return true
		}
	}
	return false
}

// grpcCodeNames are the canonical gRPC status codes' names.
var grpcCodeNames = [...]string{"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
	"PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL",
	"UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"}

// grpcStatusName names a record's gRPC status: "" for a call that is not
// gRPC, "none" when the response carried no grpc-status, the canonical
// name for codes 0–16, else "code N".
func grpcStatusName(r analytics.Record) string {
	switch {
	case !r.GRPC:
		return ""
	case r.GRPCStatus < 0:
		return "none"
	case r.GRPCStatus < len(grpcCodeNames):
		return grpcCodeNames[r.GRPCStatus]
	}
	return "code " + strconv.Itoa(r.GRPCStatus)
}

// grpcCell is the page's gRPC cell: "5 NOT_FOUND", "none", or "".
func grpcCell(r analytics.Record) string {
	switch n := grpcStatusName(r); {
	case n == "" || n == "none" || strings.HasPrefix(n, "code "):
		return n
	default:
		return strconv.Itoa(r.GRPCStatus) + " " + n
	}
}

// csvLink is the href of a page's CSV download with the page's filters:
// the query re-encoded from its parsed values (html/template would
// otherwise escape its = and &, and the download would lose the
// filters).
func csvLink(path string, q url.Values) template.URL {
	if len(q) == 0 {
		return template.URL(path)
	}
	return template.URL(path + "?" + q.Encode())
}

// requestsCSV downloads the request log with the page's filters: up to
// the newest 1,000 matching calls, every field the admin API's
// /analytics/requests gives, grpcStatus among them (empty when the call
// is not gRPC, -1 when its response carried no grpc-status, as in the
// admin API's JSON) and its name.
func (s *Server) requestsCSV(w http.ResponseWriter, r *http.Request) error {
	if s.an == nil {
		return &statusError{http.StatusServiceUnavailable, "The request log is off on this server."}
	}
	f, id, bad := requestsQuery(r, analytics.MaxRequestLimit)
	if bad != "" {
		return &statusError{http.StatusBadRequest, bad}
	}
	recs, err := s.an.Requests(r.Context(), f)
	if err != nil {
		return err
	}
	recs = matchRequestID(recs, id)
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="gatehouse-requests.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	cw := csv.NewWriter(w)
	cw.Write(requestCSVHeader)
	for _, rec := range recs {
		cw.Write(requestCSVRow(rec))
	}
	cw.Flush()
	return cw.Error()
}

var requestCSVHeader = []string{"time", "requestId", "method", "path", "query", "status", "backendStatus", "grpcStatus", "grpcStatusName",
	"api", "operation", "product", "subscription", "user", "clientIp", "totalMs", "backendMs", "policiesMs",
	"bytesIn", "bytesOut", "cacheStatus", "policyError"}

// requestCSVRow is one call's CSV row. The text cells come from callers
// (path, query, request id) and the catalog: each goes through csvSafe.
func requestCSVRow(rec analytics.Record) []string {
	msf := func(d time.Duration) string {
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 3, 64)
	}
	grpc := ""
	if rec.GRPC {
		grpc = strconv.Itoa(rec.GRPCStatus)
	}
	backend := ""
	if rec.BackendStatus != 0 {
		backend = strconv.Itoa(rec.BackendStatus)
	}
	return []string{rec.Time.UTC().Format(time.RFC3339Nano), csvSafe(rec.RequestID), csvSafe(rec.Method), csvSafe(rec.Path), csvSafe(rec.Query),
		strconv.Itoa(rec.Status), backend, grpc, grpcStatusName(rec),
		csvSafe(rec.API), csvSafe(rec.Operation), csvSafe(rec.Product), csvSafe(rec.Subscription), csvSafe(rec.User), csvSafe(rec.ClientIP),
		msf(rec.Total), msf(rec.Backend), msf(rec.Policies), strconv.FormatInt(rec.BytesIn, 10), strconv.FormatInt(rec.BytesOut, 10),
		csvSafe(rec.CacheStatus), csvSafe(rec.PolicyError)}
}
