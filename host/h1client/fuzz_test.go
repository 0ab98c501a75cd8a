package h1client_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/host/h1client"
)

// pipeBackend dials a net.Pipe whose other end reads one request head and
// answers with the given bytes, then closes.
func pipeBackend(answer []byte) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		client, server := net.Pipe()
		go func() {
			defer server.Close()
			br := bufio.NewReader(server)
			if _, err := http.ReadRequest(br); err != nil {
				return
			}
			server.Write(answer)
		}()
		return client, nil
	}
}

type outcome struct {
	ok      bool
	status  int
	header  http.Header
	body    []byte
	trailer http.Header
}

func roundTrip(rt http.RoundTripper, method string) outcome {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, "http://backend.test/x", nil)
	req.Header.Set("User-Agent", "")
	res, err := rt.RoundTrip(req)
	if err != nil {
		return outcome{}
	}
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	res.Body.Close()
	if err != nil {
		return outcome{}
	}
	return outcome{ok: true, status: res.StatusCode, header: res.Header, body: b, trailer: res.Trailer}
}

// FuzzAnswer sends a GET and a HEAD to a backend answering with arbitrary
// bytes, through h1client and through net/http's Transport: h1client never
// panics or hangs, and when both accept the answer they agree on status,
// headers, body and trailers (net/http's parser is the oracle; h1client
// uses it, this checks the framing and pooling around it).
func FuzzAnswer(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n2\r\nok\r\n0\r\nX-T: 1\r\n\r\n",
		"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\nuntil close",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nokextra",
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n",
		"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nok",
		"garbage\r\n\r\n",
		"",
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, answer []byte, head bool) {
		method := "GET"
		if head {
			method = "HEAD"
		}
		base := &http.Transport{DisableCompression: true, DialContext: pipeBackend(answer)}
		h1 := h1client.New(base)
		h1.ResponseHeaderTimeout = 2 * time.Second
		got := roundTrip(h1, method)
		if h1.IdleConns() > 1 {
			t.Fatalf("%d pooled connections after one call", h1.IdleConns())
		}
		h1.CloseIdleConnections()
		oracle := &http.Transport{DisableCompression: true, DialContext: pipeBackend(answer), ResponseHeaderTimeout: 2 * time.Second}
		want := roundTrip(oracle, method)
		oracle.CloseIdleConnections()
		if !got.ok || !want.ok {
			return
		}
		if got.status != want.status || !bytes.Equal(got.body, want.body) ||
			!reflect.DeepEqual(got.header, want.header) || !reflect.DeepEqual(got.trailer, want.trailer) {
			t.Fatalf("answer %q:\nh1client %d %v %q %v\nnet/http %d %v %q %v", answer,
				got.status, got.header, got.body, got.trailer, want.status, want.header, want.body, want.trailer)
		}
	})
}
