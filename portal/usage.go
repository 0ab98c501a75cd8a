package portal

import (
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/catalog/analytics"
	"github.com/gatehouse/gatehouse/portal/web"
)

// usageRanges are the ranges "My usage" offers, with their bucket.
var usageRanges = []struct {
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

// usage shows the viewer's calls, errors and latency over time, per
// subscription and API, and the newest calls. Every query is filtered by
// the viewer's user ID; a subscription filter must be the viewer's own.
func (s *Server) usage(w http.ResponseWriter, r *http.Request) error {
	v := viewerFrom(r)
	q := r.URL.Query()
	rg := usageRanges[0]
	for _, x := range usageRanges {
		if x.Key == q.Get("range") {
			rg = x
		}
	}
	cv, err := s.published(r.Context())
	if err != nil {
		return err
	}
	subs, err := s.mySubscriptions(r.Context(), v.user.ID, cv)
	if err != nil {
		return err
	}
	subName := map[string]string{}
	for _, it := range subs {
		subName[it.Sub.ID] = it.Sub.Name
	}
	subID, apiID := q.Get("subscription"), q.Get("api")
	if subID != "" {
		if _, ok := subName[subID]; !ok {
			return errNotFound
		}
	}
	if apiID != "" {
		if _, ok := cv.apiByID[apiID]; !ok {
			return errNotFound
		}
	}
	data := map[string]any{"Title": "My usage", "Ranges": usageRanges, "Range": rg.Key, "Subs": subs,
		"APIs": cv.apis, "SubID": subID, "APIID": apiID}
	if s.an == nil {
		data["Disabled"] = true
		s.render(w, r, http.StatusOK, "usage", data)
		return nil
	}
	now := s.now().UTC()
	to := now.Truncate(rg.Step).Add(rg.Step)
	from := to.Add(-rg.Span)
	base := analytics.Query{From: from, To: to, User: v.user.ID, Subscription: subID, API: apiID}
	series := base
	series.Bucket = rg.Bucket
	rows, err := s.an.Query(r.Context(), series)
	if err != nil {
		return err
	}
	byKey := base
	byKey.GroupBy = []string{"subscription", "api"}
	totals, err := s.an.Query(r.Context(), byKey)
	if err != nil {
		return err
	}
	recent, err := s.an.Requests(r.Context(), analytics.RequestFilter{Limit: 25, User: v.user.ID, Subscription: subID, API: apiID})
	if err != nil {
		return err
	}
	type total struct {
		analytics.Row
		SubName, APIName string
	}
	var tot []total
	for _, t := range totals {
		x := total{Row: t, SubName: subName[t.Subscription], APIName: t.API}
		if a, ok := cv.apiByID[t.API]; ok {
			x.APIName = a.Name
		}
		tot = append(tot, x)
	}
	pts := web.FillBuckets(rows, from, to, rg.Step)
	data["Totals"] = tot
	data["Recent"] = recent
	data["CallsChart"] = web.BarChart("Calls", pts, func(r analytics.Row) float64 { return float64(r.Calls) }, "calls", rg.Step)
	data["ErrorsChart"] = web.BarChart("Errors (4xx + 5xx)", pts, func(r analytics.Row) float64 { return float64(r.Errors4xx + r.Errors5xx) }, "errors", rg.Step)
	data["LatencyChart"] = web.LineChart("Latency (ms): p50 and p99", pts, rg.Step, "p50", "p99")
	s.render(w, r, http.StatusOK, "usage", data)
	return nil
}
