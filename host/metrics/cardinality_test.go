package metrics

import (
	"fmt"
	"regexp"
	"testing"
	"time"
)

// requestSeries counts the gatehouse_requests_total series per operation
// label in a scrape.
func requestSeries(t *testing.T, m *Metrics) map[string]int {
	t.Helper()
	_, body := scrape(t, m.Handler(), "/metrics")
	re := regexp.MustCompile(`(?m)^gatehouse_requests_total\{api="([^"]*)",operation="([^"]*)",status_class="[^"]*"\} `)
	out := map[string]int{}
	for _, g := range re.FindAllStringSubmatch(body, -1) {
		out[g[1]+"/"+g[2]]++
	}
	return out
}

// TestOperationLimit: past the cap, operations are counted under their
// API's "_other" series; API-level routes (operation "") are never capped;
// a route resolved before keeps its series across snapshots.
func TestOperationLimit(t *testing.T) {
	m := New()
	m.LimitOperations(3)
	for i := 0; i < 4; i++ {
		for _, op := range []string{"a", "b", ""} {
			m.Route(fmt.Sprintf("api%d", i), op).ObserveCall(200, time.Millisecond)
		}
	}
	got := requestSeries(t, m)
	want := map[string]int{"api0/a": 1, "api0/b": 1, "api1/a": 1, "api1/_other": 1,
		"api2/_other": 1, "api3/_other": 1, "api0/": 1, "api1/": 1, "api2/": 1, "api3/": 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("series %v, want %v", got, want)
	}
	// The overflow route is shared by the API's operations; admitted ones
	// stay admitted on a rebuild.
	if m.Route("api2", "a") != m.Route("api2", "b") {
		t.Error("two overflowed operations of one API do not share a route")
	}
	if m.Route("api0", "a") == m.Route("api0", OverflowOperation) {
		t.Error("an admitted operation moved to _other")
	}
	m.Route("api2", "a").ObserveCall(500, time.Millisecond)
	if n := requestSeries(t, m)["api2/_other"]; n != 2 {
		t.Errorf("api2/_other has %d status classes, want 2", n)
	}
}

func TestOperationLimitOffAndZero(t *testing.T) {
	m := New()
	m.LimitOperations(-1)
	for i := 0; i < 2*DefaultOperationLimit; i++ {
		m.Route("big", fmt.Sprintf("op%d", i)).ObserveCall(200, time.Millisecond)
	}
	if n := len(requestSeries(t, m)); n != 2*DefaultOperationLimit {
		t.Errorf("uncapped: %d series, want %d", n, 2*DefaultOperationLimit)
	}
	m = New()
	for i := 0; i < 2*DefaultOperationLimit; i++ {
		m.Route("big", fmt.Sprintf("op%d", i)).ObserveCall(200, time.Millisecond)
	}
	if n := len(requestSeries(t, m)); n != DefaultOperationLimit+1 {
		t.Errorf("default cap: %d series, want %d", n, DefaultOperationLimit+1)
	}
	m = New()
	m.LimitOperations(0)
	m.Route("x", "a").ObserveCall(200, time.Millisecond)
	m.Route("x", "b").ObserveCall(200, time.Millisecond)
	if got := requestSeries(t, m); len(got) != 1 || got["x/_other"] != 1 {
		t.Errorf("limit 0: series %v", got)
	}
}

// BenchmarkRouteResolve50k is what a snapshot build pays to resolve 50,000
// routes (10,000 APIs × 5 operations), first build and rebuild, with and
// without the API and operation caps (apis=1000/ops=1000 is the default).
func BenchmarkRouteResolve50k(b *testing.B) {
	names := make([][2]string, 0, 50000)
	for i := 0; i < 10000; i++ {
		for j := 0; j < 5; j++ {
			names = append(names, [2]string{fmt.Sprintf("api%d", i), fmt.Sprintf("op%d", j)})
		}
	}
	for _, lim := range [][2]int{{-1, -1}, {-1, DefaultOperationLimit}, {DefaultAPILimit, DefaultOperationLimit}} {
		setup := func() *Metrics {
			m := New()
			m.LimitAPIs(lim[0])
			m.LimitOperations(lim[1])
			return m
		}
		b.Run(fmt.Sprintf("first/apis=%d/ops=%d", lim[0], lim[1]), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m := setup()
				for _, n := range names {
					m.Route(n[0], n[1])
				}
			}
		})
		b.Run(fmt.Sprintf("rebuild/apis=%d/ops=%d", lim[0], lim[1]), func(b *testing.B) {
			m := setup()
			for _, n := range names {
				m.Route(n[0], n[1])
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				for _, n := range names {
					m.Route(n[0], n[1])
				}
			}
		})
	}
}
