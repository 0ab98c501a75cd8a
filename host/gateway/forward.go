package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"net/url"
	"strings"
	"sync"

	"github.com/gatehouse/gatehouse/host/h1client"
)

// The request loop to the backend (every call but WebSocket handshakes,
// which keep httputil.ReverseProxy for its protocol switch).
//
// It does what httputil.ReverseProxy with our Rewrite did, in the same
// order and with the same HTTP semantics, without what the gateway does not
// need (see RATIONALE.md, "The request loop"):
//   - the outbound request shares the inbound request's header slices in a
//     map of its own (no Header.Clone: the slab copy of every value), and
//     hop-by-hop and forwarding headers are skipped while copying, by
//     canonical name, instead of a Del (canonicalisation) per name after;
//   - the 1xx hook is one ClientTrace per pooled call, not three closures
//     per request; one Request copy (WithContext) instead of Clone plus
//     WithContext plus a ProxyRequest;
//   - the response's header slices are moved to the client's header map
//     (no Add per value);
//   - the flush decision reads Content-Length and the media type without
//     mime.ParseMediaType.
// What stays exact: hop-by-hop removal both ways (RFC 9110 7.6.1, plus the
// names a Connection header lists), Te: trailers, trailers both ways
// (announced and unannounced), 1xx (103 Early Hints) forwarded, Expect:
// 100-continue (the transport waits for the backend's 100; the server sends
// the client's when the body is first read), immediate flushing of
// text/event-stream and of bodies of unknown length, cancellation (the
// outbound request carries the client's context), the transport's
// connection reuse, and the error mapping of proxyError (502/504, the
// gateway's error bodies, on-error).

// Shared, read-only header values (the transport only reads them).
var (
	hdrTrailers = []string{"trailers"}
	hdrEmpty    = []string{""}
	hdrHTTP     = []string{"http"}
	hdrHTTPS    = []string{"https"}
)

// skipOutbound reports whether a request header (canonical name) is not
// copied to the backend request: hop-by-hop headers, and the forwarding
// headers the gateway sets itself.
func skipOutbound(k string) bool {
	switch k {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
		"Te", "Trailer", "Transfer-Encoding", "Upgrade",
		"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto":
		return true
	}
	return false
}

// removeHopByHop deletes a response's hop-by-hop headers: those its
// Connection header lists, and the fixed list.
func removeHopByHop(h http.Header) {
	if cs, ok := h["Connection"]; ok {
		for _, f := range cs {
			for f != "" {
				var name string
				name, f, _ = strings.Cut(f, ",")
				if name = strings.TrimSpace(name); name != "" {
					h.Del(name)
				}
			}
		}
		delete(h, "Connection")
	}
	for _, k := range [...]string{"Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
		"Te", "Trailer", "Transfer-Encoding", "Upgrade"} {
		delete(h, k)
	}
}

// closeGuard keeps the transport from reading the client's body after the
// handler returned (httputil's noopCloseReader, Go issue 46866): Close only
// marks it closed. One per request with a body, never pooled (a transport
// goroutine may hold it after the call is reused).
type closeGuard struct {
	mu     sync.Mutex
	rc     io.ReadCloser
	closed bool
}

func (g *closeGuard) Read(p []byte) (int, error) {
	g.mu.Lock()
	closed := g.closed
	g.mu.Unlock()
	if closed {
		return 0, errBodyAfterHandler
	}
	return g.rc.Read(p)
}

func (g *closeGuard) Close() error {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	return nil
}

var errBodyAfterHandler = errors.New("gateway: read of the request body after the handler returned")

// got1xx forwards an informational answer (103 Early Hints, 100 Continue
// from the backend) to the client, as ReverseProxy does, unless the round
// trip is already over.
func (c *call) got1xx(code int, header textproto.MIMEHeader) error {
	c.rtMu.Lock()
	defer c.rtMu.Unlock()
	if c.rtDone {
		return nil
	}
	h := c.w.Header()
	for k, vv := range header {
		h[k] = append(h[k], vv...)
	}
	c.w.WriteHeader(code)
	clear(h)
	return nil
}

// outRequest returns the outbound request and URL, and outHeader its
// header map: the pooled call's own when h1client sent the last request
// (emptied by putCall), else new ones; forward gives them up (sets them
// nil) when it hands the request to another transport.
func (c *call) outRequest() (*http.Request, *url.URL) {
	if c.outReq == nil {
		c.outReq, c.outURL = new(http.Request), new(url.URL)
	}
	return c.outReq, c.outURL
}

func (c *call) outHeader(n int) http.Header {
	if c.outHdr == nil {
		c.outHdr = make(http.Header, n)
	}
	return c.outHdr
}

// maxReusedHeaders: an outbound header map that grew past this many names
// is not kept with the pooled call (a rare large request does not make
// every later one carry its table).
const maxReusedHeaders = 32

// reusableOut reports whether out, its URL and header map (the call's own)
// can serve the pooled call's next request once this one is over: only
// when h1client sends out itself. It reads them in this goroutine and keeps
// none of them once the answer's body is closed. net/http's transports
// (the fallback for what h1client does not handle, h2) may read a request
// from another goroutine after RoundTrip returns, and the resender keeps
// copies for its attempts: their requests are their own.
func (c *call) reusableOut(out *http.Request) bool {
	return h1client.Handles(out) && len(out.Header) <= maxReusedHeaders
}

// handedOut is what a request to net/http's transports carries that the
// pooled call cannot lend: an h2 stream's writer goroutine reads the
// request's URL and 1xx trace (traceWroteRequest) after RoundTrip has
// returned. With the trace in the call, that read raced with the call's
// next use (found by make test's race pass,
// TestGRPCThroughTLSGatewayToH2CBackend). One allocation for both.
// h1client's own path needs neither (RoundTrip1xx, the call's URL).
type handedOut struct {
	trace httptrace.ClientTrace
	url   url.URL
}

// traceContext is ctx with the call's 1xx hook in x's trace.
func (c *call) traceContext(ctx context.Context, x *handedOut) context.Context {
	x.trace.Got1xxResponse = c.got1xxFn
	return httptrace.WithClientTrace(ctx, &x.trace)
}

// forward sends the call's request to the backend and copies the answer
// back (ReverseProxy.ServeHTTP's steps; see the top of this file).
func (c *call) forward(w http.ResponseWriter, r *http.Request) {
	c.rtDone = false
	h1, isH1 := c.rp.Transport.(*h1client.Transport)
	var out *http.Request
	if isH1 {
		// The call's own request and URL, in r's context: the 1xx hook
		// goes to h1client directly (or in a trace context, below, when
		// it hands the request to its fallback).
		var u *url.URL
		out, u = c.outRequest()
		*out = *r
		*u = *r.URL
		out.URL = u
	} else {
		x := &handedOut{url: *r.URL}
		out = r.WithContext(c.traceContext(r.Context(), x))
		out.URL = &x.url
	}
	out.RequestURI = ""
	out.Close = false
	if r.ContentLength == 0 {
		out.Body = nil // Go issue 16036: nil Body for transport retries
	}
	if out.Body != nil {
		guard := &closeGuard{rc: out.Body}
		out.Body = guard
		defer guard.Close()
	}
	h := c.outHeader(len(r.Header) + 4)
	for k, v := range r.Header {
		if !skipOutbound(k) {
			h[k] = v
		}
	}
	if headerHasToken(r.Header["Te"], "trailers") {
		h["Te"] = hdrTrailers
	}
	if r.TLS != nil {
		h["X-Forwarded-Proto"] = hdrHTTPS
	} else {
		h["X-Forwarded-Proto"] = hdrHTTP
	}
	out.Header = h
	c.prepareOut(r, out)
	if _, ok := h["User-Agent"]; !ok {
		h["User-Agent"] = hdrEmpty // no Go default User-Agent
	}

	var res *http.Response
	var err error
	switch {
	case isH1 && c.reusableOut(out):
		res, err = h1.RoundTrip1xx(out, c.got1xxFn)
	case isH1:
		// To h1client's fallback, which may keep the request, its URL and
		// header map after RoundTrip returns: they leave the call.
		c.outReq, c.outURL, c.outHdr = nil, nil, nil
		res, err = h1.RoundTrip(out.WithContext(c.traceContext(out.Context(), &handedOut{})))
	default:
		c.outHdr = nil // the transport's now
		res, err = c.rp.Transport.RoundTrip(out)
	}
	c.rtMu.Lock()
	c.rtDone = true
	c.rtMu.Unlock()
	if err != nil {
		c.proxyError(w, out, err)
		return
	}
	if res.StatusCode == http.StatusSwitchingProtocols {
		// Only a WebSocket handshake may switch, and those do not come here.
		res.Body.Close()
		c.proxyError(w, out, errors.New("backend switched protocols without an upgrade request"))
		return
	}
	removeHopByHop(res.Header)
	if err := c.modifyResponse(res); err != nil {
		res.Body.Close()
		c.proxyError(w, out, err)
		return
	}

	dst := w.Header()
	for k, vv := range res.Header {
		if have, ok := dst[k]; ok {
			dst[k] = append(have, vv...)
		} else {
			dst[k] = vv
		}
	}
	announced := len(res.Trailer)
	if announced > 0 {
		keys := make([]string, 0, announced)
		for k := range res.Trailer {
			keys = append(keys, k)
		}
		dst.Add("Trailer", strings.Join(keys, ", "))
	}
	w.WriteHeader(res.StatusCode)

	if err := c.copyBody(w, res); err != nil {
		defer res.Body.Close()
		if r.Context().Value(http.ServerContextKey) != nil {
			// Streaming: all that can be done is to abort the answer.
			panic(http.ErrAbortHandler)
		}
		return
	}
	res.Body.Close() // now, to populate res.Trailer

	if len(res.Trailer) > 0 {
		// Force chunking, so that net/http does not compute a length for
		// a short body and send no trailers.
		flush(w)
	}
	if len(res.Trailer) == announced {
		for k, vv := range res.Trailer {
			dst[k] = append(dst[k], vv...)
		}
		return
	}
	for k, vv := range res.Trailer {
		k = http.TrailerPrefix + k
		for _, v := range vv {
			dst.Add(k, v)
		}
	}
}

// streams reports whether the answer is flushed as it arrives:
// text/event-stream, or a body of unknown length (ReverseProxy's
// flushInterval -1; the gateway sets no positive interval).
func streams(res *http.Response) bool {
	if res.ContentLength == -1 {
		return true
	}
	ct := res.Header["Content-Type"]
	if len(ct) == 0 {
		return false
	}
	mt, _, _ := strings.Cut(ct[0], ";")
	return strings.EqualFold(strings.TrimSpace(mt), "text/event-stream")
}

// flush flushes w (the recWriter or the server's writer).
func flush(w http.ResponseWriter) {
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
		return
	}
	_ = http.NewResponseController(w).Flush()
}

// copyBody copies the answer's body to the client with a pooled buffer,
// flushing after every write when the answer streams.
func (c *call) copyBody(w http.ResponseWriter, res *http.Response) error {
	stream := streams(res)
	if stream {
		flush(w) // the head now, even if the first byte is late
	}
	buf := c.g.bufs.Get()
	defer c.g.bufs.Put(buf)
	for {
		nr, rerr := res.Body.Read(buf)
		if nr > 0 {
			nw, werr := w.Write(buf[:nr])
			if werr != nil {
				return werr
			}
			if nw != nr {
				return io.ErrShortWrite
			}
			if stream {
				flush(w)
			}
		}
		if rerr != nil {
			if rerr == io.EOF {
				return nil
			}
			if !errors.Is(rerr, context.Canceled) {
				c.g.log.Debug("backend body read error", "request_id", c.reqID, "err", rerr)
			}
			return rerr
		}
	}
}
