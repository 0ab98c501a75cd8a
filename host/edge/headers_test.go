package edge

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestIsIdentityHeader(t *testing.T) {
	extra := []string{"X-Tenant", "x_api_USER"}
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"X-Forwarded-For", true},
		{"x-forwarded-for", true},
		{"X-FORWARDED-FOR", true},
		{"X_Forwarded_For", true},
		{"X_forwarded_for", true}, // what net/http stores for X_Forwarded_For
		{"x_forwarded-For", true},
		{"X-Forwarded-Host", true},
		{"X-Forwarded-Proto", true},
		{"X-Forwarded-Port", true},
		{"X-Forwarded-Prefix", true},
		{"X-Forwarded-Server", true},
		{"X-Forwarded-", true},
		{"Forwarded", true},
		{"FORWARDED", true},
		{"X-Real-Ip", true},
		{"X-Real-IP", true},
		{"X_Real_IP", true},
		{"X-Client-Ip", true},
		{"x_client_ip", true},
		{"X-Gatehouse-Subscription", true},
		{"x_gatehouse_subscription", true},
		{"X_gatehouse_subscription", true},
		{"X-GATEHOUSE-ANYTHING", true},
		{"X-Tenant", true},
		{"x_tenant", true},
		{"X-Api-User", true},
		{"x-api-user", true},

		{"X-Request-Id", false},
		{"X_Request_Id", false},
		{"X-Forwarded", false},
		{"X-ForwardedFor", false},
		{"X-Forwarded_", true}, // '_' counts as '-'
		{"Forwarded-For", false},
		{"Forwarde", false},
		{"Forwardedx", false},
		{"X-Real-Ip2", false},
		{"X-Real", false},
		{"X-Gatehouse", false},
		{"X-Gatehousex-A", false},
		{"Y-Forwarded-For", false},
		{"Accept", false},
		{"Authorization", false},
		{"X-Tenant-Id", false},
		{"", false},
		{"X-Forwarded-For ", true}, // prefix match; net/http rejects such names anyway
		{" X-Forwarded-For", false},
	} {
		if got := isIdentityHeader(tc.name, extra); got != tc.want {
			t.Errorf("isIdentityHeader(%q) = %v; want %v", tc.name, got, tc.want)
		}
	}
}

func TestStripIdentityHeaders(t *testing.T) {
	h := http.Header{
		"X-Forwarded-For":          {"1.1.1.1"},
		"X_forwarded_for":          {"2.2.2.2"},
		"x-forwarded-proto":        {"https"}, // non-canonical key
		"Forwarded":                {"for=3.3.3.3"},
		"X-Real-Ip":                {"4.4.4.4"},
		"X-Client-Ip":              {"5.5.5.5"},
		"X-Gatehouse-Subscription": {"gold"},
		"X_gatehouse_subscription": {"gold"},
		"X-Tenant":                 {"acme"},
		"X-Request-Id":             {"abc"},
		"Accept":                   {"*/*"},
		"X-Forwarded":              {"kept"},
	}
	StripIdentityHeaders(h, []string{"x_TENANT"})
	got := slices.Sorted(func(yield func(string) bool) {
		for k := range h {
			if !yield(k) {
				return
			}
		}
	})
	want := []string{"Accept", "X-Forwarded", "X-Request-Id"}
	if !slices.Equal(got, want) {
		t.Fatalf("after strip: %q; want %q", got, want)
	}
	if h.Get("X-Request-Id") != "abc" || h.Get("Accept") != "*/*" {
		t.Fatalf("kept headers changed: %v", h)
	}

	// A nil header and nil extra are fine.
	StripIdentityHeaders(nil, nil)
}

// TestStripIdentityHeadersLoopback sends a real request, with header names
// written byte for byte on the wire, to a net/http server over loopback, so
// the test sees the keys Go actually stores for underscore and odd-case
// names, and strips them in the handler.
func TestStripIdentityHeadersLoopback(t *testing.T) {
	type result struct{ before, after http.Header }
	results := make(chan result, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		before := r.Header.Clone()
		StripIdentityHeaders(r.Header, []string{"X-Tenant"})
		results <- result{before, r.Header.Clone()}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	wire := []string{
		"X-Forwarded-For: 1.1.1.1",
		"X_Forwarded_For: 2.2.2.2",
		"x-forwarded-host: evil.example",
		"X-FORWARDED-PROTO: http",
		"X_Forwarded_Port: 1",
		"X-Forwarded-Prefix: /admin",
		"Forwarded: for=3.3.3.3",
		"X-Real-IP: 4.4.4.4",
		"X_Real_IP: 4.4.4.5",
		"x-client-ip: 5.5.5.5",
		"X-Gatehouse-Subscription: gold",
		"x_gatehouse_subscription: platinum",
		"X_GATEHOUSE_USER: admin",
		"X-Tenant: other",
		"x_tenant: other",
		"X-Request-Id: req-1",
		"X_Request_Id: req-2",
		"X-Forwarded: kept",
		"Accept: */*",
		"User-Agent: edge-test",
	}
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	req := "GET /x HTTP/1.1\r\nHost: gatehouse.test\r\n" + strings.Join(wire, "\r\n") + "\r\nConnection: close\r\n\r\n"
	if _, err := conn.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("status %d", resp.StatusCode)
	}
	var res result
	select {
	case res = <-results:
	case <-time.After(10 * time.Second):
		t.Fatal("handler did not run")
	}

	// What net/http stores: hyphenated names canonicalized and merged,
	// underscore names kept as separate keys with only the first letter
	// upper-cased.
	for key, want := range map[string][]string{
		"X-Forwarded-For":          {"1.1.1.1"},
		"X_forwarded_for":          {"2.2.2.2"},
		"X_forwarded_port":         {"1"},
		"X_real_ip":                {"4.4.4.5"},
		"X_gatehouse_subscription": {"platinum"},
		"X_gatehouse_user":         {"admin"},
		"X_tenant":                 {"other"},
		"X_request_id":             {"req-2"},
		"X-Forwarded-Proto":        {"http"},
	} {
		if got := res.before[key]; !slices.Equal(got, want) {
			t.Errorf("net/http stored %q = %q; want %q (stored keys: %q)", key, got, want, sortedKeys(res.before))
		}
	}

	// After stripping, exactly the harmless headers remain, unchanged.
	want := []string{"Accept", "Connection", "User-Agent", "X-Forwarded", "X-Request-Id", "X_request_id"}
	if got := sortedKeys(res.after); !slices.Equal(got, want) {
		t.Fatalf("after strip: keys %q; want %q", got, want)
	}
	for _, k := range want {
		if !slices.Equal(res.after[k], res.before[k]) {
			t.Errorf("kept header %q changed: %q -> %q", k, res.before[k], res.after[k])
		}
	}
}

func sortedKeys(h http.Header) []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func typicalHeader() http.Header {
	return http.Header{
		"Host":            {"api.example.com"},
		"User-Agent":      {"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36"},
		"Accept":          {"application/json"},
		"Accept-Encoding": {"gzip, deflate, br"},
		"Accept-Language": {"en-US,en;q=0.9"},
		"Authorization":   {"Bearer eyJhbGciOiJIUzI1NiJ9.e30.x"},
		"Content-Type":    {"application/json"},
		"Content-Length":  {"123"},
		"Cookie":          {"session=abc"},
		"X-Request-Id":    {"0f8fad5b-d9cb-469f-a165-70867728950e"},
	}
}

func TestStripIdentityHeadersNoMatchNoAlloc(t *testing.T) {
	h := typicalHeader()
	extra := []string{"X-Tenant", "X-Api-User"}
	if n := testing.AllocsPerRun(100, func() { StripIdentityHeaders(h, extra) }); n != 0 {
		t.Errorf("StripIdentityHeaders: %v allocs, want 0", n)
	}
	if len(h) != len(typicalHeader()) {
		t.Errorf("headers removed from a clean request: %q", sortedKeys(h))
	}
}

// refIdentity is the naive reference for isIdentityHeader.
func refIdentity(name string, extra []string) bool {
	norm := func(s string) string {
		b := []byte(s)
		for i, c := range b {
			if 'A' <= c && c <= 'Z' {
				b[i] = c + 32
			} else if c == '_' {
				b[i] = '-'
			}
		}
		return string(b)
	}
	n := norm(name)
	if strings.HasPrefix(n, "x-forwarded-") || strings.HasPrefix(n, "x-gatehouse-") ||
		n == "forwarded" || n == "x-real-ip" || n == "x-client-ip" {
		return true
	}
	for _, e := range extra {
		if norm(e) == n {
			return true
		}
	}
	return false
}

func FuzzStripIdentityHeaders(f *testing.F) {
	f.Add("X-Forwarded-For\nX_forwarded_for\nAccept", "X-Tenant")
	f.Fuzz(func(t *testing.T, names, extras string) {
		var extra []string
		if extras != "" {
			extra = strings.Split(extras, "\n")
		}
		h := http.Header{}
		for i, name := range strings.Split(names, "\n") {
			h[name] = append(h[name], fmt.Sprint(i))
		}
		before := h.Clone()
		StripIdentityHeaders(h, extra)
		for k, v := range before {
			if refIdentity(k, extra) {
				if _, ok := h[k]; ok {
					t.Fatalf("forbidden key %q (extra %q) not removed", k, extra)
				}
			} else if !slices.Equal(h[k], v) {
				t.Fatalf("allowed key %q (extra %q) changed: %q -> %q", k, extra, v, h[k])
			}
		}
		for k := range h {
			if _, ok := before[k]; !ok {
				t.Fatalf("key %q appeared", k)
			}
		}
	})
}

func BenchmarkStripIdentityHeaders(b *testing.B) {
	h := typicalHeader()
	extra := []string{"X-Tenant"}
	b.ReportAllocs()
	for b.Loop() {
		StripIdentityHeaders(h, extra)
	}
}
