package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/catalog/analytics"
)

func getStatus(url string) (int, string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

// TestGracefulShutdown: serve a YAML config in front of a slow backend,
// start calls, SIGTERM: /readyz turns 503 while they are in flight, they
// finish with 200, the process exits 0, and the request log holds them.
func TestGracefulShutdown(t *testing.T) {
	const inflight = 5
	const slow = 1500 * time.Millisecond
	var seen atomic.Int64
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Add(1)
		if strings.HasPrefix(r.URL.Path, "/slow") {
			time.Sleep(slow)
		}
		fmt.Fprintf(w, "done %s traceparent=%s", r.URL.Path, r.Header.Get("Traceparent"))
	}))
	defer be.Close()

	work := t.TempDir()
	cfg := fmt.Sprintf("apis:\n  - name: slowapi\n    path: /api\n    backend: %s\n", be.URL)
	if err := os.WriteFile(filepath.Join(work, "gw.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, work, "--config", "gw.yaml", "--shutdown-timeout", "10s")
	defer s.cmd.Process.Kill()
	if s.ops == "" {
		t.Fatalf("no ops_url in the ready log: %v", s.readyLog)
	}
	if code, _, err := getStatus(s.ops + "/readyz"); err != nil || code != 200 {
		t.Fatalf("readyz before shutdown: %d %v", code, err)
	}
	if code, _, err := getStatus(s.ops + "/healthz"); err != nil || code != 200 {
		t.Fatalf("healthz: %d %v", code, err)
	}
	// a fast call first: a traceparent reaches the backend
	code, body, err := getStatus(s.gateway + "/api/fast?subscription-key=secret-in-query")
	if err != nil || code != 200 || !strings.Contains(body, "traceparent=00-") {
		t.Fatalf("fast call: %d %q %v", code, body, err)
	}

	type result struct {
		code int
		err  error
		at   time.Time
	}
	results := make(chan result, inflight)
	var wg sync.WaitGroup
	for i := 0; i < inflight; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, _, err := getStatus(fmt.Sprintf("%s/api/slow/%d", s.gateway, i))
			results <- result{code, err, time.Now()}
		}()
	}
	if !eventually(5*time.Second, func() bool { return seen.Load() == 1+inflight }) {
		t.Fatalf("the backend saw %d calls", seen.Load())
	}
	sigAt := time.Now()
	s.cmd.Process.Signal(syscall.SIGTERM)
	var notReadyAt time.Time
	if !eventually(time.Second, func() bool {
		code, _, err := getStatus(s.ops + "/readyz")
		if err == nil && code == 503 {
			notReadyAt = time.Now()
			return true
		}
		return false
	}) {
		t.Fatal("readyz did not turn 503 within 1s of SIGTERM")
	}
	t.Logf("readyz 503 %v after SIGTERM", notReadyAt.Sub(sigAt).Round(time.Millisecond))
	wg.Wait()
	close(results)
	for r := range results {
		if r.err != nil || r.code != 200 {
			t.Errorf("in-flight call: %d %v", r.code, r.err)
		}
		if !r.at.After(notReadyAt) {
			t.Errorf("a call finished at %v, before readyz turned 503 at %v: not in flight", r.at, notReadyAt)
		}
	}
	deadline := time.Now().Add(15 * time.Second)
	for s.cmd.ProcessState == nil && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if s.cmd.ProcessState == nil {
		t.Fatalf("no exit after SIGTERM\n%s", s.stderr.String())
	}
	if !s.cmd.ProcessState.Success() {
		t.Fatalf("exit after SIGTERM: %v\n%s", s.cmd.ProcessState, s.stderr.String())
	}
	if !strings.Contains(s.stderr.String(), `"request log flushed"`) {
		t.Errorf("no flush logged:\n%s", s.stderr.String())
	}

	// The request log holds all the calls, the key redacted.
	w, err := analytics.OpenWriter(analytics.WriterOptions{Path: filepath.Join(work, "data", requestLogFile)})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(context.Background())
	recs, err := w.Requests(context.Background(), analytics.RequestFilter{API: "slowapi"})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1+inflight {
		t.Fatalf("request log has %d rows, want %d: %+v", len(recs), 1+inflight, recs)
	}
	slowRows := 0
	for _, r := range recs {
		if strings.HasPrefix(r.Path, "/api/slow/") {
			slowRows++
			if r.Status != 200 || r.BackendStatus != 200 || r.Total < slow || r.Backend < slow {
				t.Errorf("slow row: %+v", r)
			}
		} else if r.Query != "subscription-key=***" {
			t.Errorf("fast row query %q, want the key redacted", r.Query)
		}
	}
	if slowRows != inflight {
		t.Errorf("%d slow rows", slowRows)
	}
}

// TestOpsEndpointsOnAdminListener: in catalog mode /metrics, /healthz and
// /readyz are on the admin listener without the token; the admin API still
// wants it.
func TestOpsEndpointsOnAdminListener(t *testing.T) {
	work := t.TempDir()
	s := startServe(t, work, "--demo")
	defer s.cmd.Process.Kill()
	if s.ops != s.admin {
		t.Errorf("ops_url %q, admin_url %q: want the same listener", s.ops, s.admin)
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if code, body, err := getStatus(s.admin + p); err != nil || code != 200 {
			t.Errorf("%s: %d %q %v", p, code, body, err)
		}
	}
	code, body, err := getStatus(s.admin + "/metrics")
	if err != nil || code != 200 {
		t.Fatalf("/metrics: %d %v", code, err)
	}
	for _, want := range []string{"gatehouse_config_version ", "gatehouse_engine_calls_total ", "gatehouse_module_pool_instances{module=\"builtin\"", "gatehouse_request_log_queue_capacity ", "go_goroutines "} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if code, _, _ := getStatus(s.admin + "/admin/v1/apis"); code != 401 {
		t.Errorf("admin API without the token: %d, want 401", code)
	}
	if code := s.adminDo(t, "GET", "/apis", nil, nil); code != 200 {
		t.Errorf("admin API with the token: %d", code)
	}
	// the request log is wired to the admin API's analytics (503 without)
	if code := s.adminDo(t, "GET", "/analytics/requests", nil, nil); code != 200 {
		t.Errorf("GET /analytics/requests: %d, want 200 (the request log passed to the admin API)", code)
	}
	s.stop(t)
}

// TestOTLPExport: with OTEL_EXPORTER_OTLP_ENDPOINT set, serve exports a span
// per call over OTLP/HTTP (flushed at shutdown at the latest), in the trace
// whose traceparent the backend received.
func TestOTLPExport(t *testing.T) {
	var mu sync.Mutex
	var posts [][]byte
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/v1/traces" {
			mu.Lock()
			posts = append(posts, b)
			mu.Unlock()
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer collector.Close()
	var tp atomic.Value
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tp.Store(r.Header.Get("Traceparent"))
		io.WriteString(w, "ok")
	}))
	defer be.Close()
	work := t.TempDir()
	cfg := fmt.Sprintf("apis:\n  - name: tracedapi\n    path: /api\n    backend: %s\n", be.URL)
	if err := os.WriteFile(filepath.Join(work, "gw.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	s := startServe(t, work, "--config", "gw.yaml", "--log-requests=false")
	defer s.cmd.Process.Kill()
	if code, _, err := getStatus(s.gateway + "/api/x"); err != nil || code != 200 {
		t.Fatalf("call: %d %v", code, err)
	}
	s.stop(t)
	sent, _ := tp.Load().(string)
	if len(sent) != 55 {
		t.Fatalf("backend traceparent %q", sent)
	}
	traceID, spanID := sent[3:35], sent[36:52]
	raw := func(h string) []byte { b, _ := hexDecode(h); return b }
	mu.Lock()
	defer mu.Unlock()
	var all []byte
	for _, p := range posts {
		all = append(all, p...)
	}
	if len(posts) == 0 || !bytes.Contains(all, []byte("tracedapi")) || !bytes.Contains(all, raw(traceID)) || !bytes.Contains(all, raw(spanID)) {
		t.Errorf("%d OTLP posts (%d bytes); want a span of tracedapi with trace %s and span id %s", len(posts), len(all), traceID, spanID)
	}
}

func hexDecode(s string) ([]byte, error) { return hex.DecodeString(s) }

// TestDrainDelay: with --drain-delay, /readyz is 503 at once after SIGTERM
// while new calls are still served until the delay ends; then the process
// exits 0.
func TestDrainDelay(t *testing.T) {
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer be.Close()
	work := t.TempDir()
	cfg := fmt.Sprintf("apis:\n  - name: a\n    path: /api\n    backend: %s\n", be.URL)
	if err := os.WriteFile(filepath.Join(work, "gw.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, work, "--config", "gw.yaml", "--drain-delay", "1500ms", "--log-requests=false")
	defer s.cmd.Process.Kill()
	sigAt := time.Now()
	s.cmd.Process.Signal(syscall.SIGTERM)
	if !eventually(time.Second, func() bool { code, _, err := getStatus(s.ops + "/readyz"); return err == nil && code == 503 }) {
		t.Fatal("readyz did not turn 503 within 1s of SIGTERM")
	}
	// Still serving during the delay.
	if code, body, err := getStatus(s.gateway + "/api/x"); err != nil || code != 200 || body != "ok" {
		t.Fatalf("call during the drain delay: %d %q %v", code, body, err)
	}
	if time.Since(sigAt) >= 1500*time.Millisecond {
		t.Skip("the machine was too slow to call within the delay")
	}
	deadline := time.Now().Add(15 * time.Second)
	for s.cmd.ProcessState == nil && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if s.cmd.ProcessState == nil || !s.cmd.ProcessState.Success() {
		t.Fatalf("exit after SIGTERM: %v\n%s", s.cmd.ProcessState, s.stderr.String())
	}
	if took := time.Since(sigAt); took < 1500*time.Millisecond {
		t.Errorf("exited %v after SIGTERM, before the 1.5 s drain delay", took)
	}
}
