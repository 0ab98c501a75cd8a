package h1client_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/host/h1client"
)

func newTransport() *h1client.Transport {
	return h1client.New(&http.Transport{DisableCompression: true})
}

// countingServer is an httptest server that counts the connections it
// accepted.
func countingServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var conns atomic.Int64
	s := httptest.NewUnstartedServer(h)
	s.Config.ConnState = func(c net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s, &conns
}

func get(t *testing.T, rt http.RoundTripper, method, url string, hdr http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	res, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatalf("%s %s: body: %v", method, url, err)
	}
	return res, string(b)
}

// Sequential calls reuse one connection, whatever the answer's framing.
func TestReuseAcrossFramings(t *testing.T) {
	s, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/len":
			w.Header().Set("Content-Length", "5")
			io.WriteString(w, "hello")
		case "/chunked":
			w.Header().Set("Trailer", "X-Sum")
			io.WriteString(w, "chu")
			w.(http.Flusher).Flush()
			io.WriteString(w, "nked")
			w.Header().Set("X-Sum", "42")
		case "/204":
			w.WriteHeader(http.StatusNoContent)
		case "/304":
			w.WriteHeader(http.StatusNotModified)
		default:
			io.WriteString(w, r.Method+" "+r.URL.RequestURI()+" ua="+r.Header.Get("User-Agent"))
		}
	})
	tr := newTransport()
	for i := 0; i < 3; i++ {
		if _, b := get(t, tr, "GET", s.URL+"/len", nil); b != "hello" {
			t.Fatalf("/len: %q", b)
		}
		res, b := get(t, tr, "GET", s.URL+"/chunked", nil)
		if b != "chunked" || res.Trailer.Get("X-Sum") != "42" {
			t.Fatalf("/chunked: %q trailer %v", b, res.Trailer)
		}
		if res, _ := get(t, tr, "GET", s.URL+"/204", nil); res.StatusCode != 204 {
			t.Fatalf("/204: %d", res.StatusCode)
		}
		if res, _ := get(t, tr, "GET", s.URL+"/304", nil); res.StatusCode != 304 {
			t.Fatalf("/304: %d", res.StatusCode)
		}
		if res, b := get(t, tr, "HEAD", s.URL+"/len", nil); res.StatusCode != 200 || b != "" {
			t.Fatalf("HEAD: %d %q", res.StatusCode, b)
		}
		if _, b := get(t, tr, "DELETE", s.URL+"/x?a=1", http.Header{"User-Agent": {""}}); b != "DELETE /x?a=1 ua=" {
			t.Fatalf("DELETE: %q", b)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections for 18 sequential calls, want 1", n)
	}
	if n := tr.IdleConns(); n != 1 {
		t.Fatalf("%d idle connections, want 1", n)
	}
	tr.CloseIdleConnections()
	if n := tr.IdleConns(); n != 0 {
		t.Fatalf("%d idle after CloseIdleConnections", n)
	}
}

// rawServer accepts connections and runs serve on each (a backend that
// does what net/http's server would not).
func rawServer(t *testing.T, serve func(c net.Conn, br *bufio.Reader)) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns atomic.Int64
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				serve(c, bufio.NewReader(c))
			}()
		}
	}()
	return "http://" + ln.Addr().String(), &conns
}

// readRequest reads one request head (no bodies here).
func readRequest(br *bufio.Reader) (*http.Request, error) {
	return http.ReadRequest(br)
}

// A backend that closes every connection after its answer while promising
// keep-alive: a replayable request is sent again on a new connection, a
// non-replayable one finds the close by the peek first. No call fails.
func TestStalePooledConnection(t *testing.T) {
	url, conns := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		if _, err := readRequest(br); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		// and close (deferred) without Connection: close
	})
	tr := newTransport()
	for i, m := range []string{"GET", "GET", "POST", "DELETE", "GET", "PATCH"} {
		if i > 0 {
			time.Sleep(20 * time.Millisecond) // the FIN arrives
		}
		if _, b := get(t, tr, m, url+"/", nil); b != "ok" {
			t.Fatalf("%s: %q", m, b)
		}
	}
	if n := conns.Load(); n != 6 {
		t.Fatalf("%d connections, want 6 (each closed by the backend)", n)
	}
}

// A request that is not replayable is never sent twice: the backend reads
// it and closes without answering.
func TestNonReplayableNotResent(t *testing.T) {
	var seen atomic.Int64
	url, _ := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		for {
			req, err := readRequest(br)
			if err != nil {
				return
			}
			if req.Method == "POST" {
				seen.Add(1)
				return // closes without an answer
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	tr := newTransport()
	get(t, tr, "GET", url+"/", nil) // pools the connection
	req, _ := http.NewRequest("POST", url+"/", nil)
	if _, err := tr.RoundTrip(req); err == nil {
		t.Fatal("POST answered by a backend that closed without answering")
	}
	if n := seen.Load(); n != 1 {
		t.Fatalf("the backend saw the POST %d times, want 1", n)
	}
}

// What follows an answer on the connection (bytes nobody asked for) keeps
// the connection out of the pool; so does an answer with Connection: close
// and an HTTP/1.0 answer delimited by the close.
func TestNotPooledAfterBadOrClosingAnswer(t *testing.T) {
	for _, tc := range []struct {
		name, answer, body string
	}{
		{"trailing garbage", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokGARBAGE", "ok"},
		{"connection close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", "ok"},
		{"http/1.0 until close", "HTTP/1.0 200 OK\r\n\r\nuntil close", "until close"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, conns := rawServer(t, func(c net.Conn, br *bufio.Reader) {
				if _, err := readRequest(br); err != nil {
					return
				}
				io.WriteString(c, tc.answer)
				if strings.HasPrefix(tc.answer, "HTTP/1.1") && !strings.Contains(tc.answer, "close") {
					// keep the connection open: only the client can decide not to reuse it
					readRequest(br)
				}
			})
			tr := newTransport()
			tr.ResponseHeaderTimeout = 5 * time.Second // a wrongly reused connection fails fast
			if _, b := get(t, tr, "GET", url+"/", nil); b != tc.body {
				t.Fatalf("body %q, want %q", b, tc.body)
			}
			if n := tr.IdleConns(); n != 0 {
				t.Fatalf("%d pooled connections, want 0", n)
			}
			get(t, tr, "GET", url+"/", nil)
			if n := conns.Load(); n != 2 {
				t.Fatalf("%d connections, want 2", n)
			}
		})
	}
}

// An answer whose body is closed before its end closes the connection.
func TestEarlyCloseNotPooled(t *testing.T) {
	s, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write(make([]byte, 1<<20))
	})
	tr := newTransport()
	req, _ := http.NewRequest("GET", s.URL, nil)
	res, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	io.ReadFull(res.Body, make([]byte, 100))
	res.Body.Close()
	if n := tr.IdleConns(); n != 0 {
		t.Fatalf("%d pooled after an early close", n)
	}
	get(t, tr, "GET", s.URL, nil)
	if n := conns.Load(); n != 2 {
		t.Fatalf("%d connections, want 2", n)
	}
}

// The request's context ending while the backend thinks closes the
// connection: the call returns the context's error and the backend sees
// its client go.
func TestCancellationReachesBackend(t *testing.T) {
	gone := make(chan struct{})
	s, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
			close(gone)
		case <-time.After(10 * time.Second):
		}
	})
	tr := newTransport()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", s.URL, nil)
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := tr.RoundTrip(req)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("returned after %s", d)
	}
	select {
	case <-gone:
	case <-time.After(5 * time.Second):
		t.Fatal("the backend did not see the client go")
	}
	// and while the body streams
	s2, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("first"))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	ctx2, cancel2 := context.WithCancel(context.Background())
	req2, _ := http.NewRequestWithContext(ctx2, "GET", s2.URL, nil)
	res, err := tr.RoundTrip(req2)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(res.Body, buf); err != nil || string(buf) != "first" {
		t.Fatalf("%q %v", buf, err)
	}
	cancel2()
	if _, err := io.ReadAll(res.Body); !errors.Is(err, context.Canceled) {
		t.Fatalf("body err %v, want context.Canceled", err)
	}
	res.Body.Close()
}

// The response header timeout is a context.DeadlineExceeded (the gateway
// answers 504), as net/http's is.
func TestResponseHeaderTimeout(t *testing.T) {
	s, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	tr := newTransport()
	tr.ResponseHeaderTimeout = 100 * time.Millisecond
	req, _ := http.NewRequest("GET", s.URL, nil)
	_, err := tr.RoundTrip(req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want a DeadlineExceeded", err)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err %v is not a timeout net.Error", err)
	}
}

// Response heads are bounded; a backend sending endless headers gets an
// error, not the gateway's memory.
func TestResponseHeadersBounded(t *testing.T) {
	url, _ := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		if _, err := readRequest(br); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\n")
		line := "X-Filler: " + strings.Repeat("a", 1000) + "\r\n"
		for i := 0; i < 2000; i++ {
			if _, err := io.WriteString(c, line); err != nil {
				return
			}
		}
	})
	tr := newTransport()
	tr.MaxResponseHeaderBytes = 64 << 10
	req, _ := http.NewRequest("GET", url, nil)
	_, err := tr.RoundTrip(req)
	if err == nil || !strings.Contains(err.Error(), "exceed") {
		t.Fatalf("err %v, want headers too large", err)
	}
}

// 1xx answers reach the request's ClientTrace, then the final answer; more
// than five are an error; 101 without an upgrade request is refused.
func TestInformational(t *testing.T) {
	url, _ := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		for {
			req, err := readRequest(br)
			if err != nil {
				return
			}
			switch req.URL.Path {
			case "/hints":
				io.WriteString(c, "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			case "/many":
				io.WriteString(c, strings.Repeat("HTTP/1.1 103 Early Hints\r\n\r\n", 6)+"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			case "/101":
				io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n")
			}
		}
	})
	tr := newTransport()
	var got []string
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		got = append(got, fmt.Sprintf("%d %s", code, h.Get("Link")))
		return nil
	}}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", url+"/hints", nil)
	res, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(b) != "ok" || len(got) != 1 || got[0] != "103 </a.css>; rel=preload" {
		t.Fatalf("status %d body %q 1xx %v", res.StatusCode, b, got)
	}
	req, _ = http.NewRequest("GET", url+"/many", nil)
	if _, err := tr.RoundTrip(req); err == nil || !strings.Contains(err.Error(), "1xx") {
		t.Fatalf("six 1xx: err %v", err)
	}
	req, _ = http.NewRequest("GET", url+"/101", nil)
	if _, err := tr.RoundTrip(req); err == nil || !strings.Contains(err.Error(), "switched protocols") {
		t.Fatalf("101: err %v", err)
	}
}

// Requests Transport does not handle go to the Fallback: bodies, Expect,
// Upgrade, https.
func TestFallback(t *testing.T) {
	var fb atomic.Int64
	s, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		io.WriteString(w, r.Method+":"+string(b))
	})
	base := &http.Transport{DisableCompression: true}
	base.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	tr := h1client.New(base)
	// Count the Fallback's dials by wrapping after New took the dialer.
	base.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		fb.Add(1)
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	// A body of unknown length, and one over MaxBody, stream through the
	// Fallback; a small one with a length does not.
	big := strings.Repeat("b", h1client.MaxBody+1)
	for i, tc := range []struct {
		body   io.Reader
		want   string
		dialed int64
	}{
		{io.MultiReader(strings.NewReader("chunked")), "POST:chunked", 1},
		{strings.NewReader(big), "POST:" + big, 1},
		{strings.NewReader("small"), "POST:small", 0},
	} {
		tr.CloseIdleConnections() // a Fallback call dials again
		fb.Store(0)
		req, _ := http.NewRequest("POST", s.URL, tc.body)
		res, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if string(b) != tc.want || fb.Load() != tc.dialed {
			t.Fatalf("POST %d: %.20q, fallback dials %d, want %d", i, b, fb.Load(), tc.dialed)
		}
	}
	for _, h := range []http.Header{{"Expect": {"100-continue"}}, {"Upgrade": {"websocket"}}, {"Connection": {"close"}}} {
		req, _ := http.NewRequest("GET", s.URL, nil)
		for k, v := range h {
			req.Header[k] = v
		}
		if h1client.Handles(req) {
			t.Fatalf("Handles(%v) = true", h)
		}
	}
	req, _ := http.NewRequest("GET", "ftp://example.com/", nil)
	if h1client.Handles(req) {
		t.Fatal("Handles(ftp) = true")
	}
	req, _ = http.NewRequest("GET", s.URL, nil)
	if !h1client.Handles(req) {
		t.Fatal("Handles(GET http) = false")
	}
}

// Connections idle past IdleTimeout (up to 1.5×) are closed by the sweeper.
func TestIdleTimeout(t *testing.T) {
	s, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	tr := newTransport()
	tr.IdleTimeout = 100 * time.Millisecond
	get(t, tr, "GET", s.URL, nil)
	if tr.IdleConns() != 1 {
		t.Fatal("not pooled")
	}
	deadline := time.Now().Add(3 * time.Second)
	for tr.IdleConns() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("idle connection not closed after 3 s with IdleTimeout 100ms")
		}
		time.Sleep(20 * time.Millisecond)
	}
	get(t, tr, "GET", s.URL, nil)
	if n := conns.Load(); n != 2 {
		t.Fatalf("%d connections, want 2", n)
	}
}

// Concurrent calls each get their own connection and their own answer.
func TestConcurrent(t *testing.T) {
	s, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.URL.Query().Get("i"))
	})
	tr := newTransport()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				want := fmt.Sprint(g*1000 + i)
				req, _ := http.NewRequest("GET", s.URL+"/?i="+want, nil)
				res, err := tr.RoundTrip(req)
				if err != nil {
					errs <- err
					return
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if string(b) != want {
					errs <- fmt.Errorf("got %q want %q", b, want)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := conns.Load(); n > 16 {
		t.Fatalf("%d connections for 16 concurrent callers", n)
	}
}

// Small bodies with a length go out with the head, on pooled connections;
// the client's body errors come back as they are; a short body is refused.
func TestSmallBodies(t *testing.T) {
	s, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %d %s", r.Method, r.ContentLength, b)
	})
	tr := newTransport()
	for i, m := range []string{"POST", "PUT", "PATCH", "POST"} {
		body := strings.Repeat(fmt.Sprint(i), 100*(i+1))
		req, _ := http.NewRequest(m, s.URL, strings.NewReader(body))
		res, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if want := fmt.Sprintf("%s %d %s", m, len(body), body); string(b) != want {
			t.Fatalf("got %.40q, want %.40q", b, want)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections for 4 sequential calls with bodies", n)
	}
	// The client sends more than the API allows: the limiter's error, as is.
	req, _ := http.NewRequest("POST", s.URL, nil)
	req.Body = http.MaxBytesReader(nil, io.NopCloser(strings.NewReader(strings.Repeat("x", 100))), 10)
	req.ContentLength = 100
	_, err := tr.RoundTrip(req)
	var mbe *http.MaxBytesError
	if !errors.As(err, &mbe) {
		t.Fatalf("err %v (%T), want a *http.MaxBytesError", err, err)
	}
	// The body is shorter than its Content-Length.
	req, _ = http.NewRequest("POST", s.URL, nil)
	req.Body = io.NopCloser(strings.NewReader("abc"))
	req.ContentLength = 10
	if _, err := tr.RoundTrip(req); err == nil || !strings.Contains(err.Error(), "ContentLength=10 with Body length 3") {
		t.Fatalf("short body: err %v", err)
	}
}

// failSecondWrite fails every write after the first: the request's head
// (and the first part of the body) leave, the rest does not.
type failSecondWrite struct {
	net.Conn
	writes int
}

func (f *failSecondWrite) Write(p []byte) (int, error) {
	f.writes++
	if f.writes > 1 {
		return 0, errors.New("simulated: connection reset by peer")
	}
	return f.Conn.Write(p)
}

// A backend that answers before reading the body: when writing the rest of
// the request then fails, the answer is what the caller gets (net/http's
// rule), not the write error.
func TestEarlyAnswer(t *testing.T) {
	url, _ := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		if _, err := readRequest(br); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\nContent-Length: 3\r\n\r\nbig")
		time.Sleep(time.Second)
	})
	base := &http.Transport{DisableCompression: true, DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &failSecondWrite{Conn: c}, nil
	}}
	tr := h1client.New(base)
	tr.EarlyAnswerWait = 3 * time.Second
	req, _ := http.NewRequest("POST", url, strings.NewReader(strings.Repeat("z", h1client.MaxBody)))
	res, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("early answer lost: %v", err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 413 || string(b) != "big" {
		t.Fatalf("%d %q", res.StatusCode, b)
	}
	if n := tr.IdleConns(); n != 0 {
		t.Fatalf("%d pooled after a failed write", n)
	}
}

// https backends: the Fallback's TLS settings (roots, server name), one
// pooled connection for sequential calls, a wrong name refused, and a
// connection the backend closed while idle found (peek under TLS, or the
// replay of a GET).
func TestTLSBackend(t *testing.T) {
	var conns atomic.Int64
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s %s", r.Method, r.TLS.ServerName, b)
	}))
	s.Config.ConnState = func(c net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	s.Config.IdleTimeout = 150 * time.Millisecond
	s.StartTLS()
	t.Cleanup(s.Close)
	roots := s.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	tr := h1client.New(&http.Transport{DisableCompression: true, TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "example.com"}})
	for i, m := range []string{"GET", "POST", "GET"} {
		req, _ := http.NewRequest(m, s.URL, strings.NewReader(fmt.Sprint(i)))
		if m == "GET" {
			req, _ = http.NewRequest(m, s.URL, nil)
		}
		if !h1client.Handles(req) {
			t.Fatalf("Handles(%s https) = false", m)
		}
		res, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		want := m + " example.com "
		if m == "POST" {
			want += fmt.Sprint(i)
		}
		if string(b) != want {
			t.Fatalf("%q, want %q", b, want)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d TLS connections for 3 sequential calls", n)
	}
	// The backend closes the idle connection; a POST and a GET still work.
	for _, m := range []string{"POST", "GET"} {
		time.Sleep(400 * time.Millisecond)
		req, _ := http.NewRequest(m, s.URL, strings.NewReader("after idle"))
		if m == "GET" {
			req, _ = http.NewRequest(m, s.URL, nil)
		}
		res, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatalf("%s after the backend closed the idle connection: %v", m, err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	if n := conns.Load(); n != 3 {
		t.Fatalf("%d TLS connections, want 3", n)
	}
	bad := h1client.New(&http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "wrong.example"}})
	req, _ := http.NewRequest("GET", s.URL, nil)
	if _, err := bad.RoundTrip(req); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("wrong server name: err %v", err)
	}
	untrusted := h1client.New(&http.Transport{})
	if _, err := untrusted.RoundTrip(req); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusted certificate: err %v", err)
	}
}

// A backend that sends an answer nobody asked for on an idle connection
// (a second answer to one request): the next request never takes it for
// its own — the connection is not used again.
func TestUnsolicitedAnswerNotDelivered(t *testing.T) {
	url, conns := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		if _, err := readRequest(br); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst")
		time.Sleep(20 * time.Millisecond)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil")
		for {
			if _, err := readRequest(br); err != nil {
				return
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond")
		}
	})
	tr := newTransport()
	t.Cleanup(tr.CloseIdleConnections) // before the server waits for its connections
	if _, b := get(t, tr, "GET", url, nil); b != "first" {
		t.Fatalf("first call: %q", b)
	}
	time.Sleep(100 * time.Millisecond)
	if _, b := get(t, tr, "GET", url, nil); b != "first" {
		t.Fatalf("second call got %q, want its own answer (\"first\" on a new connection)", b)
	}
	if n := conns.Load(); n != 2 {
		t.Fatalf("%d connections, want 2", n)
	}
}

// Close while a Read is blocked in another goroutine (the gateway's body
// deadline does this) ends the Read with an error, closes the connection
// (the backend sees the client go), pools nothing, and races with nothing
// (run with -race).
func TestCloseDuringRead(t *testing.T) {
	gone := make(chan struct{})
	s, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("first"))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		close(gone)
	})
	tr := newTransport()
	req, _ := http.NewRequest("GET", s.URL, nil)
	res, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(res.Body, buf); err != nil {
		t.Fatal(err)
	}
	readErr := make(chan error, 1)
	go func() {
		_, err := res.Body.Read(make([]byte, 64))
		readErr <- err
	}()
	time.Sleep(50 * time.Millisecond) // the Read is blocked on the backend
	if err := res.Body.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-readErr:
		if err == nil {
			t.Fatal("the blocked Read returned no error after Close")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end the blocked Read")
	}
	select {
	case <-gone:
	case <-time.After(5 * time.Second):
		t.Fatal("the backend did not see the connection close")
	}
	if n := tr.IdleConns(); n != 0 {
		t.Fatalf("%d pooled after a Close during a Read", n)
	}
	if err := res.Body.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// RoundTrip1xx's hook gets the 1xx answers; the context's ClientTrace is
// then not called.
func TestRoundTrip1xxHook(t *testing.T) {
	url, _ := rawServer(t, func(c net.Conn, br *bufio.Reader) {
		for {
			if _, err := readRequest(br); err != nil {
				return
			}
			io.WriteString(c, "HTTP/1.1 103 Early Hints\r\nLink: </b.js>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	tr := newTransport()
	var fromTrace, fromHook []string
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		fromTrace = append(fromTrace, h.Get("Link"))
		return nil
	}}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", url+"/", nil)
	res, err := tr.RoundTrip1xx(req, func(code int, h textproto.MIMEHeader) error {
		fromHook = append(fromHook, fmt.Sprintf("%d %s", code, h.Get("Link")))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(res.Body)
	res.Body.Close()
	if len(fromHook) != 1 || fromHook[0] != "103 </b.js>" || len(fromTrace) != 0 {
		t.Fatalf("hook %v, trace %v", fromHook, fromTrace)
	}
	// A hook's error ends the round trip.
	_, err = tr.RoundTrip1xx(req, func(int, textproto.MIMEHeader) error { return errors.New("no hints") })
	if err == nil || !strings.Contains(err.Error(), "no hints") {
		t.Fatalf("err %v", err)
	}
}
