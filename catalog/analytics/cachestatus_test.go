package analytics

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// The request log keeps what the response cache did for each call, and
// rows written before statuses existed (cache_hit 0 or 1) read back as
// they were.
func TestCacheStatusRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logs.db")
	w := openTest(t, WriterOptions{Path: path, FlushInterval: 10 * time.Millisecond})
	base := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		status string
		hit    bool // what the gateway reported
		// read back
		wantHit    bool
		wantStatus string
	}{
		{"", false, false, ""},         // no cache policy ran
		{"", true, true, "hit"},        // a record without a status (older gateway)
		{"hit", true, true, "hit"},     //
		{"miss", false, false, "miss"}, //
		{"stale", true, true, "stale"}, //
		{"revalidated", true, true, "revalidated"},
		{"bypass", false, false, "bypass"},
	}
	for i, c := range cases {
		r := Record{Time: base.Add(time.Duration(i) * time.Second), RequestID: string(rune('a' + i)), API: "api", Method: "GET",
			Path: "/x", Status: 200, CacheHit: c.hit, CacheStatus: c.status}
		if !w.Log(&r) {
			t.Fatal("dropped")
		}
	}
	closeTest(t, w)
	w = openTest(t, WriterOptions{Path: path})
	got, err := w.Requests(context.Background(), RequestFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(cases) {
		t.Fatalf("%d rows, want %d", len(got), len(cases))
	}
	for _, r := range got {
		c := cases[r.RequestID[0]-'a']
		if r.CacheHit != c.wantHit || r.CacheStatus != c.wantStatus {
			t.Errorf("case %+v: read back hit=%v status=%q", c, r.CacheHit, r.CacheStatus)
		}
	}
}
