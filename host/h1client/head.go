package h1client

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// writeHead writes req's request line and header block — byte for byte
// what req.Write writes for the requests RoundTrip sends itself (Handles:
// no Transfer-Encoding, no trailers, no Connection: close, a body of known
// length or none) — and reports false, having written nothing, for the
// rare request it leaves to req.Write (a host that needs punycode, a zone
// or is not a plain host[:port]; a control byte in the target).
//
// req.Write costs a transferWriter, a sorted copy of the header's names
// and values, two fmt.Fprintf and, for every request, the same checks on
// values that almost never need them; here the names are sorted in the
// connection's reused slice, values are written as they are unless they
// hold a line break or surrounding blanks (then cleaned as net/http
// cleans them), and nothing is allocated but the request target.
// FuzzWriteHead compares the two.
func (c *conn) writeHead(req *http.Request) bool {
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	if !plainHost(host) || (outgoingLength(req) == 0 && req.ContentLength != 0) {
		return false // (the latter is req.Write's error to give)
	}
	ruri := req.URL.RequestURI()
	if req.Method == http.MethodConnect || hasCTL(ruri) {
		return false
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	w := c.bw
	w.WriteString(method)
	w.WriteByte(' ')
	w.WriteString(ruri)
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.WriteString(host)
	w.WriteString("\r\n")
	ua := defaultUserAgent
	if vs, ok := req.Header["User-Agent"]; ok {
		ua = ""
		if len(vs) > 0 {
			ua = vs[0]
		}
	}
	if ua != "" {
		writeField(w, "User-Agent", ua)
	}
	if n := outgoingLength(req); n > 0 || (n == 0 && (method == "POST" || method == "PUT" || method == "PATCH")) {
		w.WriteString("Content-Length: ")
		var b [20]byte
		w.Write(strconv.AppendInt(b[:0], n, 10))
		w.WriteString("\r\n")
	}
	keys := c.keys[:0]
	for k := range req.Header {
		if !excludedHead(k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !httpguts.ValidHeaderFieldName(k) {
			continue // dropped, as net/http drops it
		}
		for _, v := range req.Header[k] {
			writeField(w, k, v)
		}
	}
	clear(keys)
	if cap(keys) > maxKeptKeys {
		keys = nil // a request with very many names does not stay with the connection
	}
	c.keys = keys[:0]
	w.WriteString("\r\n")
	return true
}

// writeRequest writes req as req.Write does: the head by writeHead when it
// can, then the body (of req.ContentLength bytes: RoundTrip has read it
// already), which it closes.
func (c *conn) writeRequest(req *http.Request) error {
	if !c.writeHead(req) {
		return req.Write(c.bw)
	}
	if req.Body == nil || req.Body == http.NoBody {
		return nil
	}
	// Never more than the length the head announced (what follows would
	// be read as another request): the rest is read, counted, refused.
	n, err := io.Copy(c.bw, io.LimitReader(req.Body, req.ContentLength))
	if err == nil {
		var extra int64
		extra, err = io.Copy(io.Discard, req.Body)
		n += extra
	}
	if cerr := req.Body.Close(); err == nil {
		err = cerr
	}
	if err == nil && n != req.ContentLength {
		err = fmt.Errorf("http: ContentLength=%d with Body length %d", req.ContentLength, n)
	}
	return err
}

// maxKeptKeys bounds the name slice a connection keeps between requests.
const maxKeptKeys = 64

// defaultUserAgent is net/http's, sent when the header has no User-Agent.
const defaultUserAgent = "Go-http-client/1.1"

// outgoingLength is http.Request's: the body's length, 0 without one.
func outgoingLength(req *http.Request) int64 {
	if req.Body == nil || req.Body == http.NoBody {
		return 0
	}
	return req.ContentLength
}

// excludedHead: the names req.Write writes from the request's fields, not
// from the header map.
func excludedHead(k string) bool {
	switch k {
	case "Host", "User-Agent", "Content-Length", "Transfer-Encoding", "Trailer":
		return true
	}
	return false
}

var newlineToSpace = strings.NewReplacer("\n", " ", "\r", " ")

// writeField writes "k: v\r\n" with v cleaned as net/http cleans header
// values (line breaks to spaces, then blanks trimmed); a clean value is
// written as it is.
func writeField(w *bufio.Writer, k, v string) {
	if strings.ContainsAny(v, "\r\n") {
		v = newlineToSpace.Replace(v)
	}
	v = textproto.TrimString(v)
	w.WriteString(k)
	w.WriteString(": ")
	w.WriteString(v)
	w.WriteString("\r\n")
}

// plainHost reports whether h is sent as it is by req.Write: ASCII letters,
// digits and . - _ : [ ] only (no punycode to apply, no IPv6 zone to strip,
// a valid Host header).
func plainHost(h string) bool {
	for i := 0; i < len(h); i++ {
		b := h[i]
		switch {
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		case b == '.', b == '-', b == '_', b == ':', b == '[', b == ']':
		default:
			return false
		}
	}
	return true
}

// hasCTL reports whether s holds an ASCII control byte (req.Write refuses
// such a target).
func hasCTL(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < ' ' || b == 0x7f {
			return true
		}
	}
	return false
}
