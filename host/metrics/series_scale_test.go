package metrics

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/host/gateway"
)

// sampleLines counts the series of a scrape: every sample line (histogram
// buckets, sums and counts included), as Prometheus stores them.
func sampleLines(t *testing.T, m *Metrics) int {
	t.Helper()
	_, body := scrape(t, m.Handler(), "/metrics")
	n := 0
	for _, l := range strings.Split(body, "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			n++
		}
	}
	return n
}

// TestSeriesAt50kOperations (issue 15): N APIs × 5 operations, every
// operation and every API-level route called with two status classes, with
// the default caps (--metrics-apis 1000, --metrics-operations 1000). The
// series do not grow with N past the API cap: at 10,000 APIs there are only
// the "_other" API's two routes more than at 1,000, and the whole scrape
// stays under (2 × API cap + operation cap + 2) routes' worth, where one
// set per API (the previous default) made ≈ 790,000 sample lines at 10,000
// APIs and one per operation ≈ 2.7 million.
func TestSeriesAt50kOperations(t *testing.T) {
	if testing.Short() {
		t.Skip("resolves and scrapes 60,000 routes")
	}
	const ops = 5
	observe := func(m *Metrics, apis int) {
		for i := 0; i < apis; i++ {
			api := fmt.Sprintf("api%05d", i)
			for j := -1; j < ops; j++ {
				op := ""
				if j >= 0 {
					op = fmt.Sprintf("op%d", j)
				}
				r := m.Route(api, op)
				r.ObserveCall(200, time.Millisecond)
				r.ObserveCall(503, 2*time.Millisecond)
			}
		}
	}
	lines := func(apis int) int {
		m := New()
		observe(m, apis)
		return sampleLines(t, m)
	}
	n1k, n10k := lines(1000), lines(10000)
	// One route's worth of series (two status classes), and the scrape of
	// a registry without routes (the Go and process series, the gauges).
	one := New()
	one.Route("x", "").ObserveCall(200, time.Millisecond)
	one.Route("x", "").ObserveCall(503, 2*time.Millisecond)
	base := sampleLines(t, New())
	perRoute := sampleLines(t, one) - base
	perAPIOnly := 10000 * 2 * perRoute // every API's API-level and "_other" routes, no cap
	t.Logf("sample lines, 5 operations per API, default caps: 1,000 APIs %d, 10,000 APIs %d (one route %d; one set per API at 10,000 APIs would be ≥ %d)",
		n1k, n10k, perRoute, perAPIOnly)
	if d := n10k - n1k; d < 0 || d > 2*perRoute {
		t.Errorf("10,000 APIs make %d sample lines more than 1,000: the series grow with the catalog", d)
	}
	if bound := base + (2*DefaultAPILimit+DefaultOperationLimit+2)*perRoute; n10k > bound {
		t.Errorf("10,000 APIs: %d sample lines, more than the bound %d", n10k, bound)
	}
	if n10k > 500000 {
		t.Errorf("10,000 APIs: %d sample lines (issue 15: 50,000 operations must not make 500,000 series)", n10k)
	}
}

// TestSeriesWorstCaseAt50kOperations: every route of 10,000 APIs × 5
// operations answers every status class, every cache result and every gRPC
// status, with the default caps: the most sample lines the per-API metrics
// can make, whatever the traffic, stays under 500,000.
func TestSeriesWorstCaseAt50kOperations(t *testing.T) {
	if testing.Short() {
		t.Skip("resolves and scrapes 60,000 routes")
	}
	m := New()
	for i := 0; i < 10000; i++ {
		api := fmt.Sprintf("api%05d", i)
		for j := -1; j < 5; j++ {
			op := ""
			if j >= 0 {
				op = fmt.Sprintf("op%d", j)
			}
			r := m.Route(api, op)
			for _, st := range []int{0, 101, 200, 302, 404, 503} {
				r.ObserveCall(st, time.Millisecond)
			}
			for _, c := range cacheResults {
				r.(gateway.CacheObserver).ObserveCache(c)
			}
			for code := 0; code <= grpcCodes; code++ {
				r.(gateway.GRPCMetrics).ObserveGRPC(code)
			}
		}
	}
	m.Route("", "").ObserveCall(404, time.Millisecond)
	n := sampleLines(t, m)
	t.Logf("sample lines, 10,000 APIs × 5 operations, every status class, cache result and gRPC status, default caps: %d", n)
	if n > 500000 {
		t.Errorf("%d sample lines (issue 15: 50,000 operations must not make 500,000 series)", n)
	}
}
