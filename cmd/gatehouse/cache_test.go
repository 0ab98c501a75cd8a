package main

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestCacheOperations runs `serve --demo` with a response cache on the
// Echo API: /metrics counts hits and misses per API from the gateway's
// own cache calls and shows the cache's entries and bytes; the admin API
// and `gatehouse cache purge` remove entries by URL and by API; bad purge
// requests get a 4xx naming the problem.
func TestCacheOperations(t *testing.T) {
	work := t.TempDir()
	s := startServe(t, work, "--demo")
	defer s.cmd.Process.Kill()
	curlRe := regexp.MustCompile(`Ocp-Apim-Subscription-Key: (gh_[A-Za-z0-9_-]+)'`)
	var m []string
	eventually(2*time.Second, func() bool { m = curlRe.FindStringSubmatch(s.stdout.String()); return m != nil })
	if m == nil {
		t.Fatalf("no key in the welcome text:\n%s", s.stdout.String())
	}
	key := m[1]
	// More calls than the demo's 5 per 10 s; the echo backend sends no
	// freshness, so APIM's fixed mode caches it.
	if code := s.adminDo(t, "PUT", "/policies/product/starter", map[string]any{"scope": "product", "scopeId": "starter", "inbound": []any{
		map[string]any{"base": true},
		map[string]any{"module": "builtin", "policy": "rate-limit", "config": map[string]any{"calls": 1000, "renewal_period": 10}},
	}}, &map[string]any{}); code != 200 {
		t.Fatalf("PUT product policy: %d", code)
	}
	if code := s.adminDo(t, "PUT", "/policies/api/echo", map[string]any{"scope": "api", "scopeId": "echo",
		"inbound":  []any{map[string]any{"base": true}, map[string]any{"module": "builtin", "policy": "cache-lookup", "config": map[string]any{}}},
		"outbound": []any{map[string]any{"base": true}, map[string]any{"module": "builtin", "policy": "cache-store", "config": map[string]any{"duration": 300, "mode": "fixed"}}},
	}, &map[string]any{}); code != 200 {
		t.Fatalf("PUT API policy: %d", code)
	}
	xcache := func(path string) string {
		resp, _ := callGateway(t, s.gateway, path, key)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
		return resp.Header.Get("X-Cache")
	}
	if !eventually(5*time.Second, func() bool {
		resp, _ := callGateway(t, s.gateway, "/echo/items/1", key)
		return resp.StatusCode == 200 && resp.Header.Get("X-Cache") == "HIT"
	}) {
		t.Fatalf("no cache hit within 5 s of the policy change\n%s", s.stderr.String())
	}
	xcache("/echo/items/2")
	metrics := func() string {
		resp, err := http.Get(s.ops + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	body := metrics()
	for _, re := range []string{
		`gatehouse_cache_requests_total\{api="echo",result="hit"\} [1-9]`,
		`gatehouse_cache_requests_total\{api="echo",result="miss"\} [1-9]`,
		`gatehouse_cache_entries [1-9]`,
		`gatehouse_cache_bytes [1-9]`,
	} {
		if !regexp.MustCompile(re).MatchString(body) {
			t.Errorf("/metrics lacks %s", re)
		}
	}

	// Purge one URL through the admin API: that URL misses, the other hits.
	var out struct{ Purged int }
	if code := s.adminDo(t, "POST", "/cache/purge", map[string]any{"url": s.gateway + "/echo/items/1"}, &out); code != 200 || out.Purged < 2 {
		t.Errorf("purge by URL: %d, purged %d (want the URL's record and its entry)", code, out.Purged)
	}
	if got := xcache("/echo/items/1"); got != "MISS" {
		t.Errorf("after the URL purge: X-Cache %q, want MISS", got)
	}
	if got := xcache("/echo/items/2"); got != "HIT" {
		t.Errorf("another URL after the URL purge: X-Cache %q, want HIT", got)
	}
	// Purge the API with the CLI.
	admEnv(t)
	dir := admDataDir(t, s.admin, s.token)
	outCLI := admOK(t, "cache", "purge", "--api", "echo", "--data", dir)
	if !strings.Contains(outCLI, "purged 2 cache entries") {
		t.Errorf("CLI purge said %q", outCLI)
	}
	if got := xcache("/echo/items/2"); got != "MISS" {
		t.Errorf("after the API purge: X-Cache %q, want MISS", got)
	}
	// Bad input.
	admFails(t, exitUsage, "give --api ID or --url URL", "cache", "purge", "--data", dir)
	admFails(t, exitUsage, "not both", "cache", "purge", "--api", "echo", "--url", "http://x/y", "--data", dir)
	for _, tc := range []struct {
		body map[string]any
		code int
	}{
		{map[string]any{}, 400},
		{map[string]any{"api": "echo", "url": "http://x/y"}, 400},
		{map[string]any{"url": "/echo/items/1"}, 400},
		{map[string]any{"url": "ftp://h/echo"}, 400},
		{map[string]any{"url": "http://h/a/%2F/b"}, 400},
		{map[string]any{"api": "nope"}, 404},
		{map[string]any{"api": 5}, 400},
		{map[string]any{"API": "echo", "extra": 1}, 400},
	} {
		if code := s.adminDo(t, "POST", "/cache/purge", tc.body, nil); code != tc.code {
			t.Errorf("purge %v: %d, want %d", tc.body, code, tc.code)
		}
	}
	s.stop(t)
}
