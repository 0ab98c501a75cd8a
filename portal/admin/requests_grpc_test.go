package admin_test

import (
	"context"
	"encoding/csv"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/catalog/analytics"
	"github.com/gatehouse/gatehouse/portal/admin"
	"github.com/gatehouse/gatehouse/portal/web/webtest"
)

// grpcLogEnv is the admin portal over a real request log (logs.db written
// by the real writer) holding four gRPC calls of the API ledger (status
// 0, 5, 14 and none) and two plain HTTP calls of the API web.
func grpcLogEnv(t *testing.T) *env {
	t.Helper()
	an, err := analytics.OpenWriter(analytics.WriterOptions{Path: filepath.Join(t.TempDir(), "logs.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { an.Close(context.Background()) })
	now := time.Now()
	recs := []analytics.Record{
		{RequestID: "g-ok", API: "ledger", Method: "POST", Path: "/ledger.Ledger/Get", Status: 200, BackendStatus: 200, GRPC: true, GRPCStatus: 0},
		{RequestID: "g-nf", API: "ledger", Method: "POST", Path: "/ledger.Ledger/Get", Status: 200, BackendStatus: 200, GRPC: true, GRPCStatus: 5},
		{RequestID: "g-unav", API: "ledger", Method: "POST", Path: "/ledger.Ledger/Watch", Status: 200, BackendStatus: 200, GRPC: true, GRPCStatus: 14},
		{RequestID: "g-none", API: "ledger", Method: "POST", Path: "/ledger.Ledger/Get", Status: 502, GRPC: true, GRPCStatus: -1},
		{RequestID: "h-1", API: "web", Method: "GET", Path: "/web/a", Query: "=HYPERLINK(1)", Status: 200, BackendStatus: 200, BytesOut: 12},
		{RequestID: "h-2", API: "web", Method: "GET", Path: "/web/b", Status: 429, PolicyError: "@rate-limit"},
	}
	for i := range recs {
		recs[i].Time = now.Add(-time.Duration(len(recs)-i) * time.Second)
		recs[i].Total = time.Duration(i+1) * time.Millisecond
		if !an.Log(&recs[i]) {
			t.Fatal("the request log refused a record")
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for an.Stats().Written < int64(len(recs)) {
		if time.Now().After(deadline) {
			t.Fatalf("request log: %d of %d written", an.Stats().Written, len(recs))
		}
		time.Sleep(20 * time.Millisecond)
	}
	return newEnv(t, admin.Options{Analytics: an})
}

// readCSV downloads a CSV with the browser's session over HTTP.
func (b *browser) readCSV(path string) (int, http.Header, [][]string) {
	b.e.t.Helper()
	resp, err := b.c.Get(b.e.srv.URL + path)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, resp.Header, nil
	}
	rows, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil {
		b.e.t.Fatalf("%s: %v", path, err)
	}
	return resp.StatusCode, resp.Header, rows
}

// csvColumn returns the column named name of rows (header first), by
// request id.
func csvColumn(t *testing.T, rows [][]string, name string) map[string]string {
	t.Helper()
	if len(rows) == 0 {
		t.Fatal("empty CSV")
	}
	col, idCol := -1, -1
	for i, h := range rows[0] {
		switch h {
		case name:
			col = i
		case "requestId":
			idCol = i
		}
	}
	if col < 0 || idCol < 0 {
		t.Fatalf("CSV header %v lacks %s or requestId", rows[0], name)
	}
	out := map[string]string{}
	for _, r := range rows[1:] {
		out[r[idCol]] = r[col]
	}
	return out
}

// The request log's CSV download: every call with its grpcStatus (empty
// when not gRPC, -1 when the response carried none) and its name, the
// page's filters applied, formula-looking cells neutralized; a bad
// status filter is a 400; signed-out callers are sent to sign in.
func TestRequestsCSVGRPCStatus(t *testing.T) {
	e := grpcLogEnv(t)
	e.addAdmin("viewer@example.com", catalog.RoleViewer, pw)
	b := e.browser()
	b.signin("viewer@example.com", pw)

	code, hdr, rows := b.readCSV("/ui/requests.csv")
	if code != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/csv") || !strings.Contains(hdr.Get("Content-Disposition"), "attachment") {
		t.Fatalf("requests.csv: %d %v", code, hdr)
	}
	if len(rows) != 7 {
		t.Fatalf("rows: %d\n%v", len(rows), rows)
	}
	if rows[1][1] != "h-2" || rows[6][1] != "g-ok" {
		t.Errorf("not newest first: %v", rows)
	}
	wantCode := map[string]string{"g-ok": "0", "g-nf": "5", "g-unav": "14", "g-none": "-1", "h-1": "", "h-2": ""}
	wantName := map[string]string{"g-ok": "OK", "g-nf": "NOT_FOUND", "g-unav": "UNAVAILABLE", "g-none": "none", "h-1": "", "h-2": ""}
	for id, got := range csvColumn(t, rows, "grpcStatus") {
		if got != wantCode[id] {
			t.Errorf("grpcStatus of %s: %q, want %q", id, got, wantCode[id])
		}
	}
	for id, got := range csvColumn(t, rows, "grpcStatusName") {
		if got != wantName[id] {
			t.Errorf("grpcStatusName of %s: %q, want %q", id, got, wantName[id])
		}
	}
	if q := csvColumn(t, rows, "query")["h-1"]; q != "'=HYPERLINK(1)" {
		t.Errorf("a formula-looking query cell: %q", q)
	}
	if pe := csvColumn(t, rows, "policyError")["h-2"]; pe != "'@rate-limit" {
		t.Errorf("a formula-looking policy error cell: %q", pe)
	}
	if bs := csvColumn(t, rows, "backendStatus"); bs["g-ok"] != "200" || bs["g-none"] != "" {
		t.Errorf("backendStatus: %v", bs)
	}

	// The page's filters.
	_, _, rows = b.readCSV("/ui/requests.csv?api=ledger&status=200")
	if got := csvColumn(t, rows, "grpcStatus"); len(got) != 3 || got["g-ok"] != "0" || got["g-nf"] != "5" || got["g-unav"] != "14" {
		t.Errorf("api=ledger&status=200: %v", got)
	}
	_, _, rows = b.readCSV("/ui/requests.csv?requestId=g-unav")
	if got := csvColumn(t, rows, "grpcStatusName"); len(got) != 1 || got["g-unav"] != "UNAVAILABLE" {
		t.Errorf("requestId=g-unav: %v", got)
	}
	if code, _, _ := b.readCSV("/ui/requests.csv?status=abc"); code != http.StatusBadRequest {
		t.Errorf("status=abc: %d", code)
	}
	// Signed out: no CSV.
	if code, _, _ := e.browser().readCSV("/ui/requests.csv"); code != http.StatusSeeOther {
		t.Errorf("signed out: %d", code)
	}
	// The request log off: 503, not an empty file.
	off := newEnv(t, admin.Options{})
	off.addAdmin("viewer@example.com", catalog.RoleViewer, pw)
	ob := off.browser()
	ob.signin("viewer@example.com", pw)
	if code, _, _ := ob.readCSV("/ui/requests.csv"); code != http.StatusServiceUnavailable {
		t.Errorf("log off: %d", code)
	}
}

// In headless Chromium: the request log shows a gRPC column (code and
// name, "none") when a listed call is gRPC and none otherwise; its CSV
// link and the analytics page's keep the page's filters (html/template
// used to escape the query's = and &, so a download lost them).
func TestRequestsPageGRPCBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: not in -short")
	}
	e := grpcLogEnv(t)
	e.addAdmin("viewer@example.com", catalog.RoleViewer, pw)
	ctx, _ := webtest.NewBrowser(t)
	ui := e.srv.URL + "/ui"
	run := func(what string, a ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		webtest.Run(t, sctx, what, a...)
	}
	eval := func(js string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return s
	}
	run("sign in", chromedp.Navigate(ui+"/signin"), chromedp.WaitVisible(chromedp.CSS("#signin-form")),
		chromedp.SendKeys(chromedp.CSS("#email"), "viewer@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), pw),
		chromedp.Click(chromedp.CSS("#signin-submit")),
		chromedp.WaitVisible(chromedp.CSS("#nav-role")))

	// rows reads the table as "request id=gRPC cell" lines, the gRPC cell
	// found by its header's position.
	const rows = `(() => {
		const hs = [...document.querySelectorAll("#requests thead th")].map(h => h.textContent);
		const g = hs.indexOf("gRPC"), id = hs.indexOf("request id");
		return [...document.querySelectorAll("#requests tbody tr")].map(r => r.cells[id].textContent + "=" + (g < 0 ? "(no column)" : r.cells[g].textContent)).join("\n");
	})()`
	run("request log", chromedp.Navigate(ui+"/requests"), chromedp.WaitVisible(chromedp.CSS("#requests-grpc")))
	want := "h-2=\nh-1=\ng-none=none\ng-unav=14 UNAVAILABLE\ng-nf=5 NOT_FOUND\ng-ok=0 OK"
	if got := eval(rows); got != want {
		t.Errorf("request log rows:\n%s\nwant:\n%s", got, want)
	}
	if n := eval(`String(new Set([...document.querySelectorAll("#requests tr")].map(r => r.cells.length)).size)`); n != "1" {
		t.Errorf("rows of different widths: %s sizes", n)
	}

	// Only plain HTTP calls listed: no gRPC column.
	run("request log, api=web", chromedp.Navigate(ui+"/requests?api=web"), chromedp.WaitVisible(chromedp.CSS("#requests")))
	if got := eval(rows); got != "h-2=(no column)\nh-1=(no column)" {
		t.Errorf("api=web rows:\n%s", got)
	}

	// The CSV link carries the filters, and following it (fetch, with the
	// browser's session) gives the filtered rows.
	run("request log, filtered", chromedp.Navigate(ui+"/requests?api=ledger&status=200"), chromedp.WaitVisible(chromedp.CSS("#requests-csv")))
	href := eval(`document.getElementById("requests-csv").getAttribute("href")`)
	if href != "/ui/requests.csv?api=ledger&status=200" {
		t.Errorf("CSV link: %q", href)
	}
	code, body := fetchJS(t, ctx, "GET", href, "", false)
	if code != http.StatusOK {
		t.Fatalf("CSV through the link: %d %s", code, body)
	}
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := csvColumn(t, recs, "grpcStatusName"); len(got) != 3 || got["g-ok"] != "OK" || got["g-nf"] != "NOT_FOUND" || got["g-unav"] != "UNAVAILABLE" {
		t.Errorf("CSV through the link: %v", got)
	}

	run("analytics", chromedp.Navigate(ui+"/analytics?range=1h&group=subscription"), chromedp.WaitVisible(chromedp.CSS("#analytics-csv")))
	href = eval(`document.getElementById("analytics-csv").getAttribute("href")`)
	code, body = fetchJS(t, ctx, "GET", href, "", false)
	if code != http.StatusOK || !strings.HasPrefix(body, "subscription,calls,") || !strings.Contains(href, "group=subscription") {
		t.Errorf("analytics CSV link %q: %d\n%s", href, code, body)
	}
}
