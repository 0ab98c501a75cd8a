package portal

import (
	"fmt"
	"html/template"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/catalog/analytics"
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
	pts := fillBuckets(rows, from, to, rg.Step)
	data["Totals"] = tot
	data["Recent"] = recent
	data["CallsChart"] = barChart("Calls", pts, func(r analytics.Row) float64 { return float64(r.Calls) }, "calls", rg.Step)
	data["ErrorsChart"] = barChart("Errors (4xx + 5xx)", pts, func(r analytics.Row) float64 { return float64(r.Errors4xx + r.Errors5xx) }, "errors", rg.Step)
	data["LatencyChart"] = lineChart("Latency (ms): p50 and p99", pts, rg.Step)
	s.render(w, r, http.StatusOK, "usage", data)
	return nil
}

// fillBuckets returns one row per step in [from, to), zero where there
// were no calls.
func fillBuckets(rows []analytics.Row, from, to time.Time, step time.Duration) []analytics.Row {
	by := map[int64]analytics.Row{}
	for _, r := range rows {
		by[r.Bucket.Truncate(step).Unix()] = r
	}
	var out []analytics.Row
	for t := from; t.Before(to); t = t.Add(step) {
		r := by[t.Unix()]
		r.Bucket = t
		out = append(out, r)
	}
	return out
}

// Chart geometry (SVG user units).
const (
	chartW, chartH = 720, 180
	padL, padB     = 48, 22
	padT, padR     = 22, 8
)

func niceMax(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func label(t time.Time, step time.Duration) string {
	if step >= 24*time.Hour {
		return t.Format("Jan 2")
	}
	return t.Format("15:04")
}

// axes draws the frame, the y scale and a few x labels.
func axes(b *strings.Builder, title string, pts []analytics.Row, max float64, step time.Duration, unit string) {
	fmt.Fprintf(b, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg">`, chartW, chartH, template.HTMLEscapeString(title))
	fmt.Fprintf(b, `<text x="%d" y="14" class="chart-title">%s</text>`, padL, template.HTMLEscapeString(title))
	for i := 0; i <= 2; i++ {
		y := float64(chartH-padB) - float64(i)*float64(chartH-padB-padT)/2
		val := max * float64(i) / 2
		fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" class="grid"/>`, padL, chartW-padR, y, y)
		fmt.Fprintf(b, `<text x="%d" y="%.1f" class="tick" text-anchor="end">%s%s</text>`, padL-4, y+4, trimFloat(val), unit)
	}
	n := len(pts)
	every := max1(n / 6)
	for i := 0; i < n; i += every {
		x := xAt(i, n)
		fmt.Fprintf(b, `<text x="%.1f" y="%d" class="tick" text-anchor="middle">%s</text>`, x, chartH-6, label(pts[i].Bucket.UTC(), step))
	}
}

func max1(n int) int {
	if n < 1 {
		return 1
	}
	return n
}

func xAt(i, n int) float64 {
	w := float64(chartW - padL - padR)
	return float64(padL) + (float64(i)+0.5)*w/float64(max1(n))
}

func trimFloat(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

func barChart(title string, pts []analytics.Row, val func(analytics.Row) float64, class string, step time.Duration) template.HTML {
	peak := 0.0
	for _, p := range pts {
		peak = math.Max(peak, val(p))
	}
	max := niceMax(peak)
	var b strings.Builder
	axes(&b, title, pts, max, step, "")
	n := len(pts)
	bw := math.Max(1, float64(chartW-padL-padR)/float64(max1(n))*0.7)
	h := float64(chartH - padB - padT)
	for i, p := range pts {
		v := val(p)
		if v <= 0 {
			continue
		}
		bh := v / max * h
		fmt.Fprintf(&b, `<rect class="%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s: %s</title></rect>`,
			class, xAt(i, n)-bw/2, float64(chartH-padB)-bh, bw, bh, label(p.Bucket.UTC(), step), trimFloat(v))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func lineChart(title string, pts []analytics.Row, step time.Duration) template.HTML {
	peak := 0.0
	for _, p := range pts {
		peak = math.Max(peak, float64(p.P99)/float64(time.Millisecond))
	}
	max := niceMax(peak)
	var b strings.Builder
	axes(&b, title, pts, max, step, "")
	n := len(pts)
	h := float64(chartH - padB - padT)
	for _, s := range []struct {
		class string
		get   func(analytics.Row) time.Duration
	}{{"p50", func(r analytics.Row) time.Duration { return r.P50 }}, {"p99", func(r analytics.Row) time.Duration { return r.P99 }}} {
		var pl []string
		for i, p := range pts {
			if p.Calls == 0 {
				continue
			}
			v := float64(s.get(p)) / float64(time.Millisecond)
			x, y := xAt(i, n), float64(chartH-padB)-v/max*h
			pl = append(pl, fmt.Sprintf("%.1f,%.1f", x, y))
			fmt.Fprintf(&b, `<circle class="%s" cx="%.1f" cy="%.1f" r="2.5"><title>%s %s: %.1f ms</title></circle>`, s.class, x, y, label(p.Bucket.UTC(), step), s.class, v)
		}
		if len(pl) > 1 {
			fmt.Fprintf(&b, `<polyline class="%s" fill="none" points="%s"/>`, s.class, strings.Join(pl, " "))
		}
	}
	fmt.Fprintf(&b, `<text x="%d" y="14" class="legend p50" text-anchor="end">p50</text><text x="%d" y="14" class="legend p99" text-anchor="end">p99</text>`, chartW-padR-40, chartW-padR)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
