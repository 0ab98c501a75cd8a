package metrics

import (
	"fmt"
	"strings"
	"testing"
	"time"
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

// TestSeriesAt50kOperations (issue 15): 10,000 APIs × 5 operations, every
// operation and every API-level route called with two status classes. The
// operation label adds at most the capped operations' series
// (--metrics-operations, default 1,000) to the per-API ones (each API's
// API-level route and its "_other"), where one set per operation would add
// 50,000 routes' worth (≈ 1.9 million sample lines with the duration
// histogram's buckets). The per-API series themselves grow with the number
// of APIs (logged; docs/operations.md).
func TestSeriesAt50kOperations(t *testing.T) {
	if testing.Short() {
		t.Skip("scrapes 50,000 operations' series")
	}
	const apis, ops = 10000, 5
	observe := func(m *Metrics) {
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
	perAPI := New()
	perAPI.LimitOperations(0)
	observe(perAPI)
	capped := New()
	observe(capped)
	nAPI, nCapped := sampleLines(t, perAPI), sampleLines(t, capped)
	// One API's worth of series per route: what one admitted operation adds.
	one := New()
	one.LimitOperations(0)
	one.Route("x", "").ObserveCall(200, time.Millisecond)
	one.Route("x", "").ObserveCall(503, 2*time.Millisecond)
	perRoute := sampleLines(t, one) - sampleLines(t, New()) // without the process and Go series
	t.Logf("series: per-API only %d, default cap %d, one route %d", nAPI, nCapped, perRoute)
	if nCapped > nAPI+DefaultOperationLimit*perRoute {
		t.Errorf("capped: %d series, more than per-API %d + %d admitted operations × %d", nCapped, nAPI, DefaultOperationLimit, perRoute)
	}
	if uncapped := nAPI + apis*ops*perRoute; nCapped*2 > uncapped {
		t.Errorf("capped: %d series, not far from the %d of one set per operation", nCapped, uncapped)
	}
}
