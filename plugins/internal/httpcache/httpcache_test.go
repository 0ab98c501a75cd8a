package httpcache

import (
	"net/http"
	"reflect"
	"testing"
	"time"
)

func TestParseCacheControl(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want Directives
	}{
		{nil, Directives{MaxAge: -1, SMaxAge: -1, MaxStale: -1, MinFresh: -1, StaleWhileRevalidate: -1, StaleIfError: -1}},
		{[]string{"Max-Age=60, s-maxage=\"120\", PUBLIC"}, Directives{Public: true, MaxAge: 60, SMaxAge: 120, MaxStale: -1, MinFresh: -1, StaleWhileRevalidate: -1, StaleIfError: -1}},
		{[]string{`no-cache="Set-Cookie, X-A", private="x-b"`, "no-store"}, Directives{NoStore: true, NoCacheFields: []string{"Set-Cookie", "X-A"}, PrivateFields: []string{"X-B"}, MaxAge: -1, SMaxAge: -1, MaxStale: -1, MinFresh: -1, StaleWhileRevalidate: -1, StaleIfError: -1}},
		{[]string{"max-stale, min-fresh=5, only-if-cached, no-cache"}, Directives{NoCache: true, OnlyIfCached: true, MaxStaleAny: true, MaxAge: -1, SMaxAge: -1, MaxStale: -1, MinFresh: 5, StaleWhileRevalidate: -1, StaleIfError: -1}},
		{[]string{"max-age=abc, must-revalidate, proxy-revalidate"}, Directives{MustRevalidate: true, ProxyRevalidate: true, Invalid: true, MaxAge: -1, SMaxAge: -1, MaxStale: -1, MinFresh: -1, StaleWhileRevalidate: -1, StaleIfError: -1}},
		{[]string{"max-age=10, max-age=20, stale-while-revalidate=30, stale-if-error=99999999999"}, Directives{MaxAge: 10, SMaxAge: -1, MaxStale: -1, MinFresh: -1, StaleWhileRevalidate: 30, StaleIfError: 1 << 31}},
		{[]string{"max-age=", ",,, ,", "x-custom=\"a,b\""}, Directives{Invalid: true, MaxAge: -1, SMaxAge: -1, MaxStale: -1, MinFresh: -1, StaleWhileRevalidate: -1, StaleIfError: -1}},
	} {
		if got := ParseCacheControl(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q:\n got %+v\nwant %+v", tc.in, got, tc.want)
		}
	}
}

func TestLifetime(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	d := func(off time.Duration) string { return FormatDate(now.Add(off)) }
	for _, tc := range []struct {
		name                string
		status              int
		h                   http.Header
		want                time.Duration
		explicit, heuristic bool
	}{
		{"s-maxage first", 200, http.Header{"Cache-Control": {"max-age=10, s-maxage=20"}, "Expires": {d(time.Hour)}}, 20 * time.Second, true, false},
		{"max-age over Expires", 200, http.Header{"Cache-Control": {"max-age=10"}, "Expires": {d(time.Hour)}}, 10 * time.Second, true, false},
		{"Expires - Date", 200, http.Header{"Expires": {d(time.Hour)}, "Date": {d(-time.Minute)}}, 61 * time.Minute, true, false},
		{"Expires in the past", 200, http.Header{"Expires": {d(-time.Hour)}}, 0, true, false},
		{"invalid Expires", 200, http.Header{"Expires": {"0"}}, 0, true, false},
		{"two Expires", 200, http.Header{"Expires": {d(time.Hour), d(time.Hour)}}, 0, true, false},
		{"invalid max-age", 200, http.Header{"Cache-Control": {"max-age=x"}, "Expires": {d(time.Hour)}}, 0, true, false},
		{"heuristic", 200, http.Header{"Last-Modified": {d(-1000 * time.Second)}}, 100 * time.Second, false, true},
		{"heuristic capped", 404, http.Header{"Last-Modified": {d(-100 * 24 * time.Hour)}}, 24 * time.Hour, false, true},
		{"no heuristic for 302", 302, http.Header{"Last-Modified": {d(-time.Hour)}}, 0, false, false},
		{"heuristic for public 302", 302, http.Header{"Cache-Control": {"public"}, "Last-Modified": {d(-1000 * time.Second)}}, 100 * time.Second, false, true},
		{"Last-Modified in the future", 200, http.Header{"Last-Modified": {d(time.Hour)}}, 0, false, false},
		{"nothing", 200, http.Header{}, 0, false, false},
	} {
		cc := ParseCacheControl(tc.h.Values("Cache-Control"))
		got, ex, he := Lifetime(tc.status, tc.h, cc, now)
		if got != tc.want || ex != tc.explicit || he != tc.heuristic {
			t.Errorf("%s: %v %v %v, want %v %v %v", tc.name, got, ex, he, tc.want, tc.explicit, tc.heuristic)
		}
	}
}

func TestInitialAge(t *testing.T) {
	req := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	resp := req.Add(2 * time.Second)
	for _, tc := range []struct {
		h    http.Header
		want time.Duration
	}{
		{http.Header{}, 2 * time.Second},                                            // the round trip
		{http.Header{"Age": {"30"}}, 32 * time.Second},                              // Age + delay
		{http.Header{"Date": {FormatDate(resp.Add(-time.Minute))}}, time.Minute},    // apparent age
		{http.Header{"Date": {FormatDate(resp.Add(time.Minute))}}, 2 * time.Second}, // a Date in the future counts 0
		{http.Header{"Age": {"-5"}}, 2 * time.Second},                               // an invalid Age is ignored
		{http.Header{"Age": {"99999999999999"}}, (1<<31)*time.Second + 2*time.Second},
	} {
		if got := InitialAge(tc.h, req, resp); got != tc.want {
			t.Errorf("%v: %v, want %v", tc.h, got, tc.want)
		}
	}
}

func TestConditionals(t *testing.T) {
	lm := "Sat, 05 Dec 2026 10:00:00 GMT"
	for _, tc := range []struct {
		inm  []string
		ims  string
		etag string
		want bool
	}{
		{[]string{`"a"`}, "", `"a"`, true},
		{[]string{`W/"a"`}, "", `"a"`, true},
		{[]string{`"b", W/"a"`}, "", `W/"a"`, true},
		{[]string{`*`}, "", `"a"`, true},
		{[]string{`"b"`}, lm, `"a"`, false}, // If-None-Match takes precedence
		{nil, lm, `"a"`, true},
		{nil, "Sat, 05 Dec 2026 09:59:59 GMT", "", false},
		{nil, "garbage", "", false},
		{[]string{`"a"`}, "", "", false},
	} {
		if got := NotModified(tc.inm, tc.ims, tc.etag, lm, ""); got != tc.want {
			t.Errorf("INM %q IMS %q ETag %q: %v, want %v", tc.inm, tc.ims, tc.etag, got, tc.want)
		}
	}
}

func TestVary(t *testing.T) {
	names, star := VaryNames([]string{"accept-language, Accept", "ACCEPT", ""})
	if !reflect.DeepEqual(names, []string{"Accept", "Accept-Language"}) || star {
		t.Errorf("names %q star %v", names, star)
	}
	if _, star := VaryNames([]string{"Accept, *"}); !star {
		t.Error("* not seen")
	}
	if got := string(NormalizeValues(nil, []string{" en , fr", "de"})); got != "en,fr,de" {
		t.Errorf("normalized %q", got)
	}
}

func TestDates(t *testing.T) {
	want := time.Date(1994, 11, 6, 8, 49, 37, 0, time.UTC)
	for _, s := range []string{"Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994"} {
		if got, ok := ParseDate(s); !ok || !got.Equal(want) {
			t.Errorf("%q: %v %v", s, got, ok)
		}
	}
	if _, ok := ParseDate("yesterday"); ok {
		t.Error("parsed garbage")
	}
}

// FuzzCacheControl: any header value parses without panicking, and the
// lifetime and age derived from it are never negative.
func FuzzCacheControl(f *testing.F) {
	for _, s := range []string{"max-age=60", `no-cache="Set-Cookie", private`, "s-maxage=\"10\", max-stale", "max-age=-1", "max-age=99999999999999999999", `x="\"`, "stale-if-error=5,,"} {
		f.Add(s, "Sat, 05 Dec 2026 10:00:00 GMT", "5")
	}
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, cc, date, age string) {
		d := ParseCacheControl([]string{cc})
		if d.MaxAge < -1 || d.SMaxAge < -1 || d.MaxStale < -1 || d.MinFresh < -1 || d.MaxAge > 1<<31 {
			t.Fatalf("%q: %+v", cc, d)
		}
		h := http.Header{"Cache-Control": {cc}, "Date": {date}, "Expires": {date}, "Last-Modified": {date}, "Age": {age}}
		if life, _, _ := Lifetime(200, h, d, now); life < 0 {
			t.Fatalf("negative lifetime %v for %q %q", life, cc, date)
		}
		if a := InitialAge(h, now.Add(-time.Second), now); a < 0 {
			t.Fatalf("negative age %v", a)
		}
	})
}
