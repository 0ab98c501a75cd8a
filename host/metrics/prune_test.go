package metrics

import (
	"fmt"
	"testing"
	"time"
)

// TestRetainRoutes: routes of deleted APIs and operations leave the cache
// and the scrape, and give their slot under the cap back; the routes kept,
// an API's "_other" while the API lives, and the no-route route stay.
func TestRetainRoutes(t *testing.T) {
	m := New()
	m.LimitOperations(2)
	m.Route("", "").ObserveCall(404, time.Millisecond)
	for _, k := range [][2]string{{"a", "x"}, {"a", "y"}, {"a", "z"}, {"a", ""}, {"b", ""}} {
		m.Route(k[0], k[1]).ObserveCall(200, time.Millisecond)
	}
	if got := fmt.Sprint(requestSeries(t, m)); got != "map[/:1 a/:1 a/_other:1 a/x:1 a/y:1 b/:1]" {
		t.Fatalf("before: %s", got)
	}
	// y is deleted, b too.
	m.RetainRoutes(map[[2]string]bool{{"a", ""}: true, {"a", "x"}: true, {"a", "z"}: true})
	if got := fmt.Sprint(requestSeries(t, m)); got != "map[/:1 a/:1 a/_other:1 a/x:1]" {
		t.Fatalf("after retain: %s", got)
	}
	// y's slot is free: a new operation gets its own label.
	m.Route("a", "w").ObserveCall(200, time.Millisecond)
	if n := requestSeries(t, m)["a/w"]; n != 1 {
		t.Fatalf("a new operation after a delete: %v", requestSeries(t, m))
	}
	m.RetainRoutes(map[[2]string]bool{})
	if got := fmt.Sprint(requestSeries(t, m)); got != "map[/:1]" {
		t.Fatalf("every API deleted: %s", got)
	}
}
