package gateway_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Through the gateway: a backend that closes idle connections quickly
// (keep-alive timeout 100 ms, as Node's 5 s but shorter) costs no call —
// GET, a bodiless DELETE, a POST with a small body and one with a body
// over the inline limit, each after the backend dropped the pooled
// connection — and the backend sees every request exactly once.
func TestBackendClosesIdleConnections(t *testing.T) {
	var reqs, conns atomic.Int64
	be := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqs.Add(1)
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %d", r.Method, len(b))
	}), IdleTimeout: 100 * time.Millisecond, ConnState: func(c net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go be.Serve(ln)
	t.Cleanup(func() { be.Close() })
	gw := yamlGateway(t, t.TempDir(), "apis:\n  - name: idle\n    path: /idle\n    backend: http://"+ln.Addr().String()+"\n    allow_private_backend: true\n")
	client := &http.Client{Timeout: 20 * time.Second}
	calls := []struct {
		method string
		body   int
	}{{"GET", 0}, {"DELETE", 0}, {"POST", 100}, {"POST", 40 << 10}, {"GET", 0}, {"PUT", 16 << 10}}
	for i, c := range calls {
		if i > 0 {
			time.Sleep(300 * time.Millisecond) // the backend closes the idle connection
		}
		req, _ := http.NewRequest(c.method, gw+"/idle/x", strings.NewReader(strings.Repeat("b", c.body)))
		if c.body == 0 {
			req.Body = nil
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if want := fmt.Sprintf("%s %d", c.method, c.body); res.StatusCode != 200 || string(b) != want {
			t.Fatalf("call %d after the backend closed its idle connection: %d %q, want 200 %q", i, res.StatusCode, b, want)
		}
	}
	if n := reqs.Load(); n != int64(len(calls)) {
		t.Fatalf("the backend saw %d requests for %d calls", n, len(calls))
	}
	if n := conns.Load(); n < int64(len(calls)) {
		t.Fatalf("%d backend connections for %d calls spaced past its idle timeout", n, len(calls))
	}
}
