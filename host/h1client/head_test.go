package h1client

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// headCase builds a request of the kind RoundTrip sends itself from fuzzed
// parts; nil when Handles refuses it (not this writer's to write).
func headCase(method, host, path, query, k1, v1, k2, v2 string, ua uint8, body []byte) *http.Request {
	u := &url.URL{Scheme: "http", Host: host, Path: path, RawQuery: query}
	req := &http.Request{Method: method, URL: u, Header: http.Header{}, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
	if k1 != "" {
		req.Header[k1] = append(req.Header[k1], v1)
	}
	if k2 != "" {
		req.Header[k2] = append(req.Header[k2], v2)
	}
	switch ua % 4 {
	case 1:
		req.Header["User-Agent"] = []string{v1}
	case 2:
		req.Header["User-Agent"] = []string{""}
	case 3:
		req.Header["User-Agent"] = nil
	}
	if len(body) > 0 {
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
	}
	if !Handles(req) {
		return nil
	}
	return req
}

// compareHead writes req with writeRequest and with req.Write and fails on
// any difference in bytes or in the error; it reports whether writeHead
// took it (the fast path) rather than leaving it to req.Write.
func compareHead(t *testing.T, mk func() *http.Request) bool {
	t.Helper()
	var ours, theirs bytes.Buffer
	c := &conn{bw: bufio.NewWriter(&ours)}
	req := mk()
	fast := c.writeHead(mk()) // (on a copy: the real write is below)
	c.bw.Reset(&ours)
	ours.Reset()
	err := c.writeRequest(req)
	c.bw.Flush()
	werr := mk().Write(&theirs)
	if (err == nil) != (werr == nil) {
		t.Fatalf("errors differ: ours %v, req.Write %v", err, werr)
	}
	if err == nil && !bytes.Equal(ours.Bytes(), theirs.Bytes()) {
		t.Fatalf("heads differ:\nours:      %q\nreq.Write: %q", ours.String(), theirs.String())
	}
	return fast
}

func TestWriteHeadAsRequestWrite(t *testing.T) {
	cases := []struct {
		name                                      string
		method, host, path, query, k1, v1, k2, v2 string
		ua                                        uint8
		body                                      string
	}{
		{"get", "GET", "backend:8080", "/a/b", "", "Accept", "*/*", "X-Request-Id", "r-1", 0, ""},
		{"empty method is GET", "", "backend", "/", "", "", "", "", "", 0, ""},
		{"post without body says 0", "POST", "backend", "/p", "", "", "", "", "", 0, ""},
		{"delete without body says nothing", "DELETE", "backend", "/p", "", "", "", "", "", 0, ""},
		{"put with body", "PUT", "10.0.0.1:80", "/p", "q=1&r=%20", "Content-Type", "application/json", "", "", 0, `{"a":1}`},
		{"own user agent", "GET", "backend", "/", "", "X-A", "agent/1", "", "", 1, ""},
		{"empty user agent sends none", "GET", "backend", "/", "", "", "", "", "", 2, ""},
		{"user agent without values", "GET", "backend", "/", "", "", "", "", "", 3, ""},
		{"line break in a value", "GET", "backend", "/", "", "X-Evil", "a\r\nInjected: yes", "", "", 0, ""},
		{"blanks around a value", "GET", "backend", "/", "", "X-Pad", " \t v \t", "", "", 0, ""},
		{"invalid name dropped", "GET", "backend", "/", "", "Bad Name", "v", "X-Ok", "1", 0, ""},
		{"excluded names from the map", "GET", "backend", "/", "", "Host", "other", "Content-Length", "99", 0, ""},
		{"trailer and te names", "GET", "backend", "/", "", "Trailer", "X", "Transfer-Encoding", "chunked", 0, ""},
		{"escaped path", "GET", "backend", "/a b/ü", "", "", "", "", "", 0, ""},
		{"ipv6 host", "GET", "[::1]:8080", "/", "", "", "", "", "", 0, ""},
		{"ipv6 zone (req.Write's)", "GET", "[fe80::1%25eth0]:8080", "/", "", "", "", "", "", 0, ""},
		{"unicode host (req.Write's)", "GET", "bücher.example", "/", "", "", "", "", "", 0, ""},
		{"control byte in target (req.Write's error)", "GET", "backend", "/a", "x=\x01", "", "", "", "", 0, ""},
		{"lower-case name kept as is", "GET", "backend", "/", "", "x-lower", "1", "X-Upper", "2", 0, ""},
	}
	fast := 0
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mk := func() *http.Request {
				return headCase(tc.method, tc.host, tc.path, tc.query, tc.k1, tc.v1, tc.k2, tc.v2, tc.ua, []byte(tc.body))
			}
			if mk() == nil {
				t.Fatalf("Handles refuses the case")
			}
			if compareHead(t, mk) {
				fast++
			}
		})
	}
	if fast < len(cases)-3 {
		t.Errorf("writeHead took %d of %d cases; the three marked req.Write's and no others go to req.Write", fast, len(cases))
	}
}

func TestWriteRequestBodyNeverPastLength(t *testing.T) {
	var out bytes.Buffer
	c := &conn{bw: bufio.NewWriter(&out)}
	req := headCase("POST", "backend", "/", "", "", "", "", "", 0, []byte("abc"))
	req.Body = io.NopCloser(strings.NewReader("abcGET /smuggled HTTP/1.1\r\n\r\n"))
	err := c.writeRequest(req)
	c.bw.Flush()
	if err == nil {
		t.Fatal("a body longer than its Content-Length was written without an error")
	}
	if strings.Contains(out.String(), "smuggled") {
		t.Fatalf("bytes past the Content-Length reached the wire: %q", out.String())
	}
}

func FuzzWriteHead(f *testing.F) {
	f.Add("GET", "backend:8080", "/a/b", "q=1", "Accept", "*/*", "X-Request-Id", "r", uint8(0), []byte(nil))
	f.Add("POST", "b", "/", "", "Content-Type", "text/plain", "", "", uint8(1), []byte("body"))
	f.Add("PATCH", "[::1]:1", "/x y", "", "X-A", "a\nb", "x-b", " v ", uint8(2), []byte(nil))
	f.Add("", "h", "", "", "Bad:Name", "v", "Trailer", "t", uint8(3), []byte("x"))
	f.Fuzz(func(t *testing.T, method, host, path, query, k1, v1, k2, v2 string, ua uint8, body []byte) {
		mk := func() *http.Request { return headCase(method, host, path, query, k1, v1, k2, v2, ua, body) }
		if mk() == nil {
			return
		}
		compareHead(t, mk)
	})
}

// A request with many header names is written as req.Write writes it, and
// the connection does not keep a name slice that large for the next one.
func TestWriteHeadManyNames(t *testing.T) {
	mk := func() *http.Request {
		req := headCase("GET", "backend", "/", "", "", "", "", "", 0, nil)
		for i := range 500 {
			req.Header[fmt.Sprintf("X-N%03d", i)] = []string{fmt.Sprint(i)}
		}
		return req
	}
	if !compareHead(t, mk) {
		t.Fatal("writeHead left a plain request with many names to req.Write")
	}
	var out bytes.Buffer
	c := &conn{bw: bufio.NewWriter(&out)}
	c.writeHead(mk())
	if cap(c.keys) > maxKeptKeys {
		t.Errorf("the connection keeps a name slice of capacity %d after a request of 500 names", cap(c.keys))
	}
	c.writeHead(headCase("GET", "backend", "/", "", "Accept", "*/*", "", "", 0, nil))
	if cap(c.keys) == 0 {
		t.Error("a small request's name slice is not kept for the next one")
	}
}
