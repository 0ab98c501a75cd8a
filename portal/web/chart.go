package web

import (
	"fmt"
	"html/template"
	"math"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/catalog/analytics"
)

// Server-rendered SVG charts of request-log rollups (no JavaScript): the
// developer portal's "My usage" and the admin dashboard.

// FillBuckets returns one row per step in [from, to), zero where there
// were no calls.
func FillBuckets(rows []analytics.Row, from, to time.Time, step time.Duration) []analytics.Row {
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

// BarChart draws val of each point as a bar, in CSS class class.
func BarChart(title string, pts []analytics.Row, val func(analytics.Row) float64, class string, step time.Duration) template.HTML {
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

// quantile returns a row's latency quantile by name (p50, p95, p99).
func quantile(r analytics.Row, q string) time.Duration {
	switch q {
	case "p50":
		return r.P50
	case "p95":
		return r.P95
	}
	return r.P99
}

// LineChart draws the latency quantiles named (any of p50, p95, p99;
// CSS classes of the same names) of the points that had calls.
func LineChart(title string, pts []analytics.Row, step time.Duration, quantiles ...string) template.HTML {
	peak := 0.0
	for _, p := range pts {
		for _, q := range quantiles {
			peak = math.Max(peak, float64(quantile(p, q))/float64(time.Millisecond))
		}
	}
	max := niceMax(peak)
	var b strings.Builder
	axes(&b, title, pts, max, step, "")
	n := len(pts)
	h := float64(chartH - padB - padT)
	for _, q := range quantiles {
		var pl []string
		for i, p := range pts {
			if p.Calls == 0 {
				continue
			}
			v := float64(quantile(p, q)) / float64(time.Millisecond)
			x, y := xAt(i, n), float64(chartH-padB)-v/max*h
			pl = append(pl, fmt.Sprintf("%.1f,%.1f", x, y))
			fmt.Fprintf(&b, `<circle class="%s" cx="%.1f" cy="%.1f" r="2.5"><title>%s %s: %.1f ms</title></circle>`, q, x, y, label(p.Bucket.UTC(), step), q, v)
		}
		if len(pl) > 1 {
			fmt.Fprintf(&b, `<polyline class="%s" fill="none" points="%s"/>`, q, strings.Join(pl, " "))
		}
	}
	for i, q := range quantiles {
		fmt.Fprintf(&b, `<text x="%d" y="14" class="legend %s" text-anchor="end">%s</text>`, chartW-padR-40*(len(quantiles)-1-i), q, q)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
