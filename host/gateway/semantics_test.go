package gateway_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/host/gateway"
)

// HTTP semantics of the request path, each over real loopback HTTP through
// a gateway running a built-in policy chain (set-header on the request and
// on the response), so that the chain never buffers what must stream.

// semEnv is a gateway in front of handler with the two-step chain.
func semEnv(t *testing.T, handler http.HandlerFunc) (*edgeEnv, *httptest.Server) {
	t.Helper()
	be := httptest.NewServer(handler)
	t.Cleanup(be.Close)
	cfg := &gateway.Config{APIs: []gateway.API{{Name: "s", PathPrefix: "/s", Backend: be.URL, Policies: gateway.Policy{
		Inbound:  []gateway.Step{step("set-header", `{"name":"X-In","value":"1"}`)},
		Outbound: []gateway.Step{step("set-header", `{"name":"X-Out","value":"1","phase":"response"}`)},
	}}}}
	return newEdgeEnv(t, cfg, gateway.Options{}), be
}

// streamTest: the backend writes a first piece, flushes, then waits for the
// test to release it; the client must read the first piece before that.
func streamTest(t *testing.T, contentType, first, rest string) {
	release := make(chan struct{})
	var finished atomic.Bool
	en, _ := semEnv(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-In") != "1" {
			http.Error(w, "inbound policy did not run", 500)
			return
		}
		w.Header().Set("Content-Type", contentType)
		io.WriteString(w, first)
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-time.After(10 * time.Second):
		}
		io.WriteString(w, rest)
		finished.Store(true)
	})
	defer close(release)
	resp, err := http.Get(en.srv.URL + "/s/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("X-Out") != "1" {
		t.Fatalf("outbound policy did not run: %v", resp.Header)
	}
	got := make([]byte, len(first))
	done := make(chan error, 1)
	go func() { _, err := io.ReadFull(resp.Body, got); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: first piece not received within 5 s while the backend waits (buffered?)", contentType)
	}
	if string(got) != first || finished.Load() {
		t.Fatalf("first piece %q (backend finished: %v)", got, finished.Load())
	}
	release <- struct{}{}
	tail, err := io.ReadAll(resp.Body)
	if err != nil || string(tail) != rest {
		t.Fatalf("rest %q %v", tail, err)
	}
}

func TestServerSentEventsStreamThroughChain(t *testing.T) {
	streamTest(t, "text/event-stream", "event: one\ndata: first\n\n", "event: two\ndata: second\n\n")
}

func TestChunkedResponseStreamsThroughChain(t *testing.T) {
	streamTest(t, "application/octet-stream", "chunk-1;", "chunk-2;chunk-3")
}

// Expect: 100-continue: the client gets 100 Continue before it sends the
// body, and the body reaches the backend whole.
func TestExpectContinue(t *testing.T) {
	en, _ := semEnv(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "got %d bytes: %s", len(b), b)
	})
	conn, err := net.Dial("tcp", en.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	body := "hello-continue"
	fmt.Fprintf(conn, "POST /s/up HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", len(body))
	br := bufio.NewReader(conn)
	tp := textproto.NewReader(br)
	line, err := tp.ReadLine()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(line, "HTTP/1.1 100") {
		t.Fatalf("first answer line %q, want 100 Continue before the body", line)
	}
	if _, err := tp.ReadMIMEHeader(); err != nil {
		t.Fatal(err)
	}
	io.WriteString(conn, body)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(b) != "got 14 bytes: hello-continue" {
		t.Fatalf("%d %q", resp.StatusCode, b)
	}
}

// Trailers pass both ways: a chunked request's trailer reaches the
// backend; the backend's announced trailer reaches the client.
func TestTrailers(t *testing.T) {
	en, _ := semEnv(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Trailer", "X-Resp-Trailer")
		fmt.Fprintf(w, "body %s, request trailer %q", b, r.Trailer.Get("X-Req-Trailer"))
		w.Header().Set("X-Resp-Trailer", "resp-value")
	})
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", en.srv.URL+"/s/t", pr)
	req.ContentLength = -1
	req.Trailer = http.Header{"X-Req-Trailer": nil}
	go func() {
		io.WriteString(pw, "abc")
		req.Trailer.Set("X-Req-Trailer", "req-value")
		pw.Close()
	}()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != `body abc, request trailer "req-value"` {
		t.Errorf("backend answered %q: the request trailer did not arrive", b)
	}
	if got := resp.Trailer.Get("X-Resp-Trailer"); got != "resp-value" {
		t.Errorf("response trailer %q, want resp-value (trailers %v)", got, resp.Trailer)
	}
}

// 103 Early Hints reach the client before the final answer.
func TestEarlyHints(t *testing.T) {
	en, _ := semEnv(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload; as=style")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		io.WriteString(w, "final")
	})
	var hints []string
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		hints = append(hints, fmt.Sprintf("%d %s", code, h.Get("Link")))
		return nil
	}}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", en.srv.URL+"/s/hints", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if len(hints) != 1 || hints[0] != "103 </style.css>; rel=preload; as=style" || string(b) != "final" || resp.StatusCode != 200 {
		t.Fatalf("hints %q, final %d %q", hints, resp.StatusCode, b)
	}
}

// A client that goes away cancels the backend request.
func TestClientCancelReachesBackend(t *testing.T) {
	arrived, canceled := make(chan struct{}), make(chan struct{})
	en, _ := semEnv(t, func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		select {
		case <-r.Context().Done():
			close(canceled)
		case <-time.After(10 * time.Second):
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", en.srv.URL+"/s/wait", nil)
	errc := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("request never reached the backend")
	}
	cancel()
	select {
	case <-canceled:
	case <-time.After(5 * time.Second):
		t.Fatal("backend did not see the cancellation within 5 s")
	}
	<-errc
}

// Sequential calls reuse the gateway's connection to the backend.
func TestBackendConnectionReuse(t *testing.T) {
	var conns atomic.Int64
	be := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	be.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	be.Start()
	t.Cleanup(be.Close)
	en := newEdgeEnv(t, &gateway.Config{APIs: []gateway.API{{Name: "r", PathPrefix: "/r", Backend: be.URL,
		Policies: gateway.Policy{Inbound: []gateway.Step{step("set-header", `{"name":"X-In","value":"1"}`)}}}}}, gateway.Options{})
	for i := range 30 {
		if code, body := en.get(t, fmt.Sprintf("/r/%d", i), nil); code != 200 || body != "ok" {
			t.Fatalf("call %d: %d %q", i, code, body)
		}
	}
	if n := conns.Load(); n > 2 {
		t.Fatalf("30 sequential calls opened %d backend connections, want reuse (≤ 2)", n)
	}
}

// Hop-by-hop headers stop at the gateway both ways, including those named
// in Connection; forwarding headers are the gateway's own.
func TestHopByHopHeaders(t *testing.T) {
	en, _ := semEnv(t, func(w http.ResponseWriter, r *http.Request) {
		var seen []string
		for _, k := range []string{"Keep-Alive", "Proxy-Connection", "X-Client-Hop", "Te", "Upgrade", "Proxy-Authorization"} {
			if _, ok := r.Header[k]; ok {
				seen = append(seen, k)
			}
		}
		w.Header().Set("Connection", "X-Backend-Hop")
		w.Header().Set("X-Backend-Hop", "secret")
		w.Header().Set("Keep-Alive", "timeout=5")
		w.Header().Set("X-Backend-End", "kept")
		fmt.Fprintf(w, "seen=%s xff=%s proto=%s", strings.Join(seen, ","), r.Header.Get("X-Forwarded-For"), r.Header.Get("X-Forwarded-Proto"))
	})
	conn, err := net.Dial("tcp", en.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(conn, "GET /s/h HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, X-Client-Hop\r\nX-Client-Hop: v\r\nKeep-Alive: timeout=9\r\n"+
		"Proxy-Connection: keep-alive\r\nTe: gzip\r\nProxy-Authorization: Basic eA==\r\nX-Forwarded-Proto: https\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "seen= xff=127.0.0.1 proto=http" {
		t.Errorf("backend saw %q; want no hop-by-hop header and the gateway's forwarding headers", b)
	}
	for _, k := range []string{"X-Backend-Hop", "Keep-Alive"} {
		if v := resp.Header.Get(k); v != "" {
			t.Errorf("client got hop-by-hop %s: %q", k, v)
		}
	}
	if resp.Header.Get("X-Backend-End") != "kept" || resp.Header.Get("X-Out") != "1" {
		t.Errorf("end-to-end headers lost: %v", resp.Header)
	}
}
