package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeEdgeFlags runs the real binary with the edge flags and a YAML
// config: the client address behind a trusted proxy reaches the backend,
// an unknown Host gets 421; then the YAML edge section replaces the flags.
// Bad flag values are usage errors (exit 2) naming the flag.
func TestServeEdgeFlags(t *testing.T) {
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "xff=%s xfh=%s", r.Header.Get("X-Forwarded-For"), r.Header.Get("X-Forwarded-Host"))
	}))
	defer be.Close()
	work := t.TempDir()
	cfg := filepath.Join(work, "gateway.yaml")
	write := func(extra string) {
		if err := os.WriteFile(cfg, []byte("apis:\n  - name: a\n    path: /a\n    backend: "+be.URL+"\n"+extra), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("")
	s := startServe(t, work, "--config", cfg, "--trusted-proxies", "127.0.0.1,10.0.0.0/8", "--hostnames", "api.example.com")
	defer s.stop(t)
	get := func(host, xff string) (int, string) {
		req, _ := http.NewRequest("GET", s.gateway+"/a/x", nil)
		req.Host = host
		req.Header.Set("X-Forwarded-For", xff)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("api.example.com", "6.6.6.6, 203.0.113.7"); code != 200 || body != "xff=203.0.113.7 xfh=api.example.com" {
		t.Errorf("known host behind a trusted proxy: %d %q", code, body)
	}
	if code, _ := get("other.example", "203.0.113.7"); code != http.StatusMisdirectedRequest {
		t.Errorf("unknown host: %d; want 421", code)
	}

	bin := gatehouseBinary(t)
	for _, args := range [][]string{
		{"--trusted-proxies", "10.0.0.0/40"},
		{"--forwarded-header", "X-Real-IP"},
		{"--hostnames", "http://api.example.com"},
	} {
		cmd := exec.Command(bin, append([]string{"serve", "--config", cfg, "--data", filepath.Join(work, "d2")}, args...)...)
		out, err := cmd.CombinedOutput()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), args[0]) {
			t.Errorf("serve %v: %v\n%s", args, err, out)
		}
	}
}
