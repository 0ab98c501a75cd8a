package admin

import (
	"bytes"
	"cmp"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/catalog"
	"github.com/gatehouse/gatehouse/catalog/analytics"
	"github.com/gatehouse/gatehouse/portal/web"
)

// ranges are the ranges the dashboard and analytics offer, with their
// bucket.
var ranges = []struct {
	Key    string
	Label  string
	Span   time.Duration
	Bucket string
	Step   time.Duration
}{
	{"1h", "Last hour", time.Hour, "minute", time.Minute},
	{"24h", "Last 24 hours", 24 * time.Hour, "hour", time.Hour},
	{"7d", "Last 7 days", 7 * 24 * time.Hour, "day", 24 * time.Hour},
}

// named is a row of a "top" table.
type named struct {
	analytics.Row
	ID, Name string
}

// dashboard shows calls, errors and latency over time, the top APIs and
// products, and the newest failed calls.
func (s *Server) dashboard(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	rg := ranges[0]
	for _, x := range ranges {
		if x.Key == q.Get("range") {
			rg = x
		}
	}
	data := map[string]any{"Title": "Dashboard", "Ranges": ranges, "Range": rg.Key}
	if s.an == nil {
		data["Disabled"] = true
		s.render(w, r, http.StatusOK, "dashboard", data)
		return nil
	}
	ctx := r.Context()
	now := s.now().UTC()
	to := now.Truncate(rg.Step).Add(rg.Step)
	from := to.Add(-rg.Span)
	rows, err := s.an.Query(ctx, analytics.Query{From: from, To: to, Bucket: rg.Bucket})
	if err != nil {
		return err
	}
	pts := web.FillBuckets(rows, from, to, rg.Step)
	var total analytics.Row
	for _, p := range pts {
		total.Calls += p.Calls
		total.Errors4xx += p.Errors4xx
		total.Errors5xx += p.Errors5xx
	}
	top := func(dim string, name func(id string) string) ([]named, error) {
		rows, err := s.an.Query(ctx, analytics.Query{From: from, To: to, GroupBy: []string{dim}})
		if err != nil {
			return nil, err
		}
		out := make([]named, 0, len(rows))
		for _, r := range rows {
			id := r.API
			if dim == "product" {
				id = r.Product
			}
			if id == "" {
				continue
			}
			out = append(out, named{Row: r, ID: id})
		}
		slices.SortFunc(out, func(a, b named) int { return cmp.Or(cmp.Compare(b.Calls, a.Calls), strings.Compare(a.ID, b.ID)) })
		out = out[:min(len(out), 10)]
		for i := range out {
			out[i].Name = name(out[i].ID) // the ten shown only
		}
		return out, nil
	}
	apiName := func(id string) string {
		if a, err := s.st.GetAPI(ctx, id); err == nil {
			return a.Name
		}
		return id
	}
	productName := func(id string) string {
		if p, err := s.st.GetProduct(ctx, id); err == nil {
			return p.Name
		}
		return id
	}
	topAPIs, err := top("api", apiName)
	if err != nil {
		return err
	}
	topProducts, err := top("product", productName)
	if err != nil {
		return err
	}
	recent, err := s.an.Requests(ctx, analytics.RequestFilter{Limit: 500, From: from, To: to})
	if err != nil {
		return err
	}
	var failures []analytics.Record
	for _, rec := range recent {
		if rec.Status >= 400 && len(failures) < 15 {
			failures = append(failures, rec)
		}
	}
	data["Total"] = total
	data["TopAPIs"] = topAPIs
	data["TopProducts"] = topProducts
	data["Failures"] = failures
	data["CallsChart"] = web.BarChart("Calls", pts, func(r analytics.Row) float64 { return float64(r.Calls) }, "calls", rg.Step)
	data["ErrorsChart"] = web.BarChart("Errors (4xx + 5xx)", pts, func(r analytics.Row) float64 { return float64(r.Errors4xx + r.Errors5xx) }, "errors", rg.Step)
	data["LatencyChart"] = web.LineChart("Latency (ms): p50, p95, p99", pts, rg.Step, "p50", "p95", "p99")
	s.render(w, r, http.StatusOK, "dashboard", data)
	return nil
}

// account shows the signed-in admin's sessions and tokens, with the
// password form.
func (s *Server) account(w http.ResponseWriter, r *http.Request) error {
	return s.renderAccount(w, r, http.StatusOK, "", "")
}

func (s *Server) renderAccount(w http.ResponseWriter, r *http.Request, status int, newToken, errMsg string) error {
	v := viewerFrom(r)
	sessions, err := s.st.ListAdminSessions(r.Context(), v.admin.ID, s.o.IdleTimeout)
	if err != nil {
		return err
	}
	tokens, err := s.st.ListAdminTokens(r.Context(), v.admin.ID)
	if err != nil {
		return err
	}
	s.render(w, r, status, "account", map[string]any{"Title": "My account", "Sessions": sessions, "Current": v.idHash,
		"Tokens": tokens, "NewToken": newToken, "Error": errMsg, "Idle": s.o.IdleTimeout, "MaxAge": s.o.MaxAge})
	return nil
}

// changePassword sets a new password (checked against the current one)
// through the admin API, then signs out every other session.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) error {
	v := viewerFrom(r)
	acct := "acct:" + strings.ToLower(v.admin.Email)
	if d := s.limiter.Blocked(acct, web.MaxAccountFails); d > 0 {
		return s.renderAccount(w, r, http.StatusTooManyRequests, "", "Too many wrong passwords. Try again in "+web.Minutes(d.Seconds())+".")
	}
	hash, err := s.st.AdminPasswordHash(r.Context(), v.admin.ID)
	if err != nil {
		return err
	}
	if len(r.PostFormValue("current")) > catalog.MaxPassword || bcryptCompare(hash, r.PostFormValue("current")) != nil {
		s.limiter.Fail(acct, "ip:"+web.ClientIP(r))
		return s.renderAccount(w, r, http.StatusUnauthorized, "", "The current password is wrong.")
	}
	if r.PostFormValue("password") != r.PostFormValue("confirm") {
		return s.renderAccount(w, r, http.StatusBadRequest, "", "The new passwords do not match.")
	}
	if err := s.callJSON(r, http.MethodPut, "/admins/"+v.admin.ID+"/password", map[string]string{"password": r.PostFormValue("password")}, nil); err != nil {
		if ae, ok := err.(*apiError); ok && ae.Status == http.StatusBadRequest {
			return s.renderAccount(w, r, http.StatusBadRequest, "", ae.Error())
		}
		return err
	}
	if _, err := s.st.DeleteAdminSessions(catalog.WithActor(r.Context(), v.admin.Email), v.admin.ID, v.idHash); err != nil {
		return err
	}
	redirect(w, r, Prefix+"/account", "password")
	return nil
}

// createToken issues a personal API token through the admin API and shows
// it once.
func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	v := viewerFrom(r)
	var out struct {
		Token string `json:"token"`
	}
	if err := s.callJSON(r, http.MethodPost, "/admins/"+v.admin.ID+"/tokens", map[string]string{"name": r.PostFormValue("name")}, &out); err != nil {
		if ae, ok := err.(*apiError); ok && ae.Status == http.StatusBadRequest {
			return s.renderAccount(w, r, http.StatusBadRequest, "", ae.Error())
		}
		return err
	}
	return s.renderAccount(w, r, http.StatusCreated, out.Token, "")
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) error {
	v := viewerFrom(r)
	if err := s.callJSON(r, http.MethodDelete, "/admins/"+v.admin.ID+"/tokens/"+r.PathValue("id"), nil, nil); err != nil {
		return err
	}
	redirect(w, r, Prefix+"/account", "token")
	return nil
}

// endSession ends one of the admin's own sessions (by its ID hash, which
// is no credential).
func (s *Server) endSession(w http.ResponseWriter, r *http.Request) error {
	v := viewerFrom(r)
	id := r.PathValue("id")
	if err := s.st.DeleteAdminSession(r.Context(), v.admin.ID, id); err != nil {
		return err
	}
	if id == v.idHash {
		s.clearCookie(w, r, sessionCookie)
		redirect(w, r, Prefix+"/signin", "signedout")
		return nil
	}
	redirect(w, r, Prefix+"/account", "session")
	return nil
}

// endOtherSessions signs the admin out everywhere but here.
func (s *Server) endOtherSessions(w http.ResponseWriter, r *http.Request) error {
	v := viewerFrom(r)
	if _, err := s.st.DeleteAdminSessions(catalog.WithActor(r.Context(), v.admin.Email), v.admin.ID, v.idHash); err != nil {
		return err
	}
	redirect(w, r, Prefix+"/account", "sessions")
	return nil
}

// policyEditor renders the policy editor's page for one scope: the mount
// point the editor's script (static/policy-editor.js, written by the
// policy-editor branch) fills, and the stored document as JSON for a
// reader without the script.
func (s *Server) policyEditor(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	scope, id := catalog.Scope(r.PathValue("scope")), r.PathValue("scopeId")
	if strings.HasSuffix(r.URL.Path, "/policies/global") {
		scope, id = catalog.ScopeGlobal, ""
	} else if api := r.PathValue("apiId"); api != "" {
		scope = catalog.ScopeOperation
		if op, err := s.st.GetOperation(ctx, id); err != nil || op.APIID != api {
			return errNotFound
		}
	}
	title := "Global policy"
	back := ""
	pageID := id
	switch scope {
	case catalog.ScopeGlobal:
	case catalog.ScopeProduct:
		p, err := s.st.GetProduct(ctx, id)
		if err != nil {
			return err
		}
		title, back = "Policy of product "+p.Name, Prefix+"/products/"+p.ID
	case catalog.ScopeAPI:
		a, err := s.st.GetAPI(ctx, id)
		if err != nil {
			return err
		}
		title, back = "Policy of API "+a.Name, Prefix+"/apis/"+a.ID
	case catalog.ScopeOperation:
		op, err := s.st.GetOperation(ctx, id)
		if err != nil {
			return err
		}
		title, back = "Policy of operation "+op.Method+" "+op.URLTemplate, Prefix+"/apis/"+op.APIID
		// The editor's data-scope-id for an operation is "<apiId>/<operationId>"
		// (contract), so it can load the operation's effective policy.
		pageID = op.APIID + "/" + op.ID
	default:
		return errNotFound
	}
	// Through the admin API: it masks secrets written inline in configs.
	path := "/policies/global"
	if scope != catalog.ScopeGlobal {
		path = "/policies/" + string(scope) + "/" + url.PathEscape(id)
	}
	var doc json.RawMessage
	raw := []byte("(no policy at this scope yet)")
	if err := s.callJSON(r, http.MethodGet, path, nil, &doc); err == nil {
		var buf bytes.Buffer
		json.Indent(&buf, doc, "", "  ")
		raw = buf.Bytes()
	} else if ae, ok := err.(*apiError); !ok || ae.Status != http.StatusNotFound {
		return err
	}
	s.render(w, r, http.StatusOK, "policy", map[string]any{"Title": title, "Nav": "policies", "Scope": string(scope), "ScopeID": pageID, "Back": back, "Raw": string(raw)})
	return nil
}
