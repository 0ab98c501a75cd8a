package admin

import (
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/catalog/analytics"
	"github.com/gatehouse/gatehouse/portal/web"
)

// Analytics (range, API, product and subscription filters; charts, table,
// CSV) and the request-log browser.

func (s *Server) trafficRoutes(m *http.ServeMux) {
	m.HandleFunc("GET "+Prefix+"/analytics", s.auth(s.analyticsPage))
	m.HandleFunc("GET "+Prefix+"/analytics.csv", s.auth(s.analyticsCSV))
	m.HandleFunc("GET "+Prefix+"/requests", s.auth(s.requests))
	m.HandleFunc("GET "+Prefix+"/requests.csv", s.auth(s.requestsCSV)) // requests_csv.go
}

// analyticsQuery reads the page's filters: range, api, product,
// subscription, and the grouping of the table.
func (s *Server) analyticsQuery(r *http.Request) (series, table analytics.Query, rg string, step time.Duration) {
	q := r.URL.Query()
	x := ranges[1]
	for _, c := range ranges {
		if c.Key == q.Get("range") {
			x = c
		}
	}
	now := s.now().UTC()
	to := now.Truncate(x.Step).Add(x.Step)
	base := analytics.Query{From: to.Add(-x.Span), To: to, API: q.Get("api"), Product: q.Get("product"), Subscription: q.Get("subscription")}
	series, table = base, base
	series.Bucket = x.Bucket
	group := q.Get("group")
	switch group {
	case "api", "operation", "product", "subscription", "user":
	default:
		group = "api"
	}
	table.GroupBy = []string{group}
	return series, table, x.Key, x.Step
}

func (s *Server) analyticsPage(w http.ResponseWriter, r *http.Request) error {
	series, table, rg, step := s.analyticsQuery(r)
	data := map[string]any{"Title": "Analytics", "Ranges": ranges, "Range": rg, "API": series.API, "Product": series.Product,
		"Subscription": series.Subscription, "Group": table.GroupBy[0], "CSV": csvLink(Prefix+"/analytics.csv", r.URL.Query())}
	apis, err := s.st.ListAPIs(r.Context())
	if err != nil {
		return err
	}
	products, err := s.st.ListProducts(r.Context())
	if err != nil {
		return err
	}
	data["APIs"], data["Products"] = apis, products
	if s.an == nil {
		data["Disabled"] = true
		s.render(w, r, http.StatusOK, "analytics", data)
		return nil
	}
	rows, err := s.an.Query(r.Context(), series)
	if err != nil {
		return err
	}
	pts := web.FillBuckets(rows, series.From, series.To, step)
	trows, err := s.an.Query(r.Context(), table)
	if err != nil {
		return err
	}
	data["Rows"] = trows
	data["Dim"] = func(row analytics.Row) string { return dim(row, table.GroupBy[0]) }
	data["CallsChart"] = web.BarChart("Calls", pts, func(r analytics.Row) float64 { return float64(r.Calls) }, "calls", step)
	data["ErrorsChart"] = web.BarChart("Errors (4xx + 5xx)", pts, func(r analytics.Row) float64 { return float64(r.Errors4xx + r.Errors5xx) }, "errors", step)
	data["LatencyChart"] = web.LineChart("Latency (ms): p50, p95, p99", pts, step, "p50", "p95", "p99")
	s.render(w, r, http.StatusOK, "analytics", data)
	return nil
}

func dim(r analytics.Row, d string) string {
	switch d {
	case "operation":
		return r.Operation
	case "product":
		return r.Product
	case "subscription":
		return r.Subscription
	case "user":
		return r.User
	}
	return r.API
}

// analyticsCSV downloads the table of the analytics page (same filters).
func (s *Server) analyticsCSV(w http.ResponseWriter, r *http.Request) error {
	if s.an == nil {
		return &statusError{http.StatusServiceUnavailable, "The request log is off on this server."}
	}
	_, table, rg, _ := s.analyticsQuery(r)
	rows, err := s.an.Query(r.Context(), table)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="gatehouse-analytics-`+rg+`.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	cw := csv.NewWriter(w)
	g := table.GroupBy[0]
	cw.Write([]string{g, "calls", "errors4xx", "errors5xx", "bytesIn", "bytesOut", "cacheHits", "p50Ms", "p95Ms", "p99Ms", "from", "to"})
	msf := func(d time.Duration) string {
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 3, 64)
	}
	for _, row := range rows {
		cw.Write([]string{csvSafe(dim(row, g)), strconv.FormatInt(row.Calls, 10), strconv.FormatInt(row.Errors4xx, 10), strconv.FormatInt(row.Errors5xx, 10),
			strconv.FormatInt(row.BytesIn, 10), strconv.FormatInt(row.BytesOut, 10), strconv.FormatInt(row.CacheHits, 10),
			msf(row.P50), msf(row.P95), msf(row.P99), table.From.Format(time.RFC3339), table.To.Format(time.RFC3339)})
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe keeps a cell from being read as a formula by a spreadsheet
// (IDs are the catalog's, but a subscription name or ID could start
// with =, +, - or @).
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

// requests browses the request log, newest first: by status, API,
// subscription and request id (the id is matched among the newest 1,000
// rows the other filters select). A gRPC column shows when a listed call
// is gRPC; the CSV download (requests_csv.go) takes the same filters.
func (s *Server) requests(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f, id, bad := requestsQuery(r, 100)
	data := map[string]any{"Title": "Request log", "API": f.API, "Subscription": f.Subscription, "Status": q.Get("status"), "RequestID": q.Get("requestId"),
		"CSV": csvLink(Prefix+"/requests.csv", q)}
	if bad != "" {
		data["Error"] = bad
	}
	apis, err := s.st.ListAPIs(r.Context())
	if err != nil {
		return err
	}
	data["APIs"] = apis
	if s.an == nil {
		data["Disabled"] = true
		s.render(w, r, http.StatusOK, "requests", data)
		return nil
	}
	recs, err := s.an.Requests(r.Context(), f)
	if err != nil {
		return err
	}
	recs = matchRequestID(recs, id)
	data["Records"] = recs
	data["GRPC"] = anyGRPC(recs)
	data["GRPCCell"] = grpcCell
	s.render(w, r, http.StatusOK, "requests", data)
	return nil
}
