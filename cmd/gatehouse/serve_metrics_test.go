package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestServeMetricsLimitFlags: --metrics-apis and --metrics-operations
// below -1 or not a number are usage errors naming the flag, from the
// command line and from the environment. (--config names no file, so a
// value that got through would fail later with exit 1, not hang.)
func TestServeMetricsLimitFlags(t *testing.T) {
	dir := t.TempDir()
	base := []string{"serve", "--data", dir, "--config", filepath.Join(dir, "none.yaml")}
	cases := []struct {
		args []string
		env  string
		code int
		out  string
	}{
		{[]string{"--metrics-apis", "-2"}, "", exitUsage, "--metrics-apis: -2: want -1 (no cap), 0 or a positive count"},
		{[]string{"--metrics-operations", "-9"}, "", exitUsage, "--metrics-operations: -9"},
		{[]string{"--metrics-apis", "lots"}, "", exitUsage, "metrics-apis"},
		{[]string{"--metrics-apis", "1e3"}, "", exitUsage, "metrics-apis"},
		{nil, "-3", exitUsage, "--metrics-apis: -3"},
		{[]string{"--metrics-apis", "-1"}, "", exitFailure, "no config at"},
		{[]string{"--metrics-apis", "0"}, "", exitFailure, "no config at"},
	}
	for _, c := range cases {
		t.Setenv("GATEHOUSE_METRICS_APIS", c.env)
		if c.env == "" {
			os.Unsetenv("GATEHOUSE_METRICS_APIS")
		}
		var out, errb bytes.Buffer
		code := run(append(append([]string{"gatehouse"}, base...), c.args...), &out, &errb)
		all := out.String() + errb.String()
		if code != c.code || !strings.Contains(all, c.out) {
			t.Errorf("%v env %q: exit %d, want %d with %q:\n%s", c.args, c.env, code, c.code, c.out, all)
		}
	}
}

// TestServeMetricsAPIs runs the real binary with --metrics-apis 1 and three
// APIs: one keeps its api label, the other two are counted under _other,
// and the overflow gauge says so.
func TestServeMetricsAPIs(t *testing.T) {
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer be.Close()
	work := t.TempDir()
	cfg := filepath.Join(work, "gateway.yaml")
	var y strings.Builder
	y.WriteString("apis:\n")
	for _, n := range []string{"a", "b", "c"} {
		fmt.Fprintf(&y, "  - name: %s\n    path: /%s\n    backend: %s\n", n, n, be.URL)
	}
	if err := os.WriteFile(cfg, []byte(y.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, work, "--config", cfg, "--metrics-apis", "1", "--log-requests=false")
	defer s.stop(t)
	for _, p := range []string{"/a/x", "/b/x", "/c/x", "/c/y"} {
		resp, err := http.Get(s.gateway + p)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", p, resp.StatusCode)
		}
	}
	re := regexp.MustCompile(`(?m)^gatehouse_requests_total\{api="([^"]*)",operation="",status_class="2xx"\} (\d+)$`)
	var body string
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get(s.ops + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(b)
		got := map[string]string{}
		for _, g := range re.FindAllStringSubmatch(body, -1) {
			got[g[1]] = g[2]
		}
		// Which API came first depends on the build order: any one of them.
		calls := map[string]int{"a": 1, "b": 1, "c": 2}
		own, other := 0, 0
		for _, n := range []string{"a", "b", "c"} {
			if got[n] == "" {
				other += calls[n]
			} else if got[n] == fmt.Sprint(calls[n]) {
				own++
			}
		}
		if own == 1 && len(got) == 2 && got["_other"] == fmt.Sprint(other) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("want one API labelled and the rest under _other, got %v:\n%s", got, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(body, `gatehouse_metrics_label_overflow{label="api"} 2`) {
		t.Errorf("overflow gauge: want 2 APIs under _other:\n%s", body)
	}
}
