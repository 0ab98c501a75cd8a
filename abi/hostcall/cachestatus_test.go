package hostcall

import (
	"testing"

	"github.com/gatehouse/gatehouse/abi"
)

// TestCacheStatusNeedsAHit: a served-from-cache status counts only when a
// cache_get of the request found a response-cache entry; anything else a
// guest reports stands as it is; unknown values are refused.
func TestCacheStatusNeedsAHit(t *testing.T) {
	for _, tc := range []struct {
		reported string
		getHit   bool
		want     string
		served   bool
	}{
		{"", false, "", false},
		{abi.CacheStatusHit, true, abi.CacheStatusHit, true},
		{abi.CacheStatusHit, false, abi.CacheStatusMiss, false},
		{abi.CacheStatusStale, true, abi.CacheStatusStale, true},
		{abi.CacheStatusStale, false, abi.CacheStatusMiss, false},
		{abi.CacheStatusRevalidated, true, abi.CacheStatusRevalidated, true},
		{abi.CacheStatusRevalidated, false, abi.CacheStatusMiss, false},
		{abi.CacheStatusMiss, true, abi.CacheStatusMiss, false},
		{abi.CacheStatusBypass, false, abi.CacheStatusBypass, false},
	} {
		var x Exchange
		if tc.reported != "" {
			if st := x.setCacheStatus([]byte(tc.reported)); st != abi.OK {
				t.Fatalf("set %q: %d", tc.reported, st)
			}
		}
		x.cacheGetHit = tc.getHit
		if got := x.CacheStatus(); got != tc.want || x.CacheServed() != tc.served {
			t.Errorf("reported %q, cache_get hit %v: status %q served %v, want %q %v", tc.reported, tc.getHit, got, x.CacheServed(), tc.want, tc.served)
		}
		x.Reset()
		if x.CacheStatus() != "" {
			t.Error("Reset kept the cache status")
		}
	}
	var x Exchange
	for _, bad := range []string{"", "HIT", "hit ", "served", "hit\x00"} {
		if st := x.setCacheStatus([]byte(bad)); st != abi.ErrInvalid {
			t.Errorf("set %q: %d, want ErrInvalid", bad, st)
		}
	}
}
