// Package h1client is the gateway's HTTP/1.1 round trip to plain-http
// backends, run in the caller's goroutine.
//
// net/http's Transport runs every round trip on three goroutines: the
// caller's, a write loop that sends the request and a read loop that parses
// the answer, handing the request and the response over channels. For a
// reverse proxy whose handler goroutine only waits meanwhile, those hand-offs
// (goroutine switches, channel operations, the per-call structs behind them)
// are a measurable part of a request's CPU on a loaded core (RATIONALE.md,
// "The backend round trip in the handler's goroutine"). Transport here
// writes the request and parses the answer itself, on a pooled connection,
// and leaves every request it does not handle to net/http's Transport:
//
//   - http:// and https:// URLs in HTTP/1.1 (h2 and h2c backends keep
//     net/http's Transport; TLS is dialed as the Fallback is configured:
//     its TLSClientConfig or its DialTLSContext);
//   - only requests without a body or with a Content-Length body of at
//     most MaxBody (16 KiB), read from the client first and written with
//     the head (a larger or chunked body streams while the answer may
//     already come: net/http's write loop exists for that); none with
//     Expect, Upgrade, a Connection header, trailers or Close;
//
// What it keeps exact, as net/http's Transport does it: the request on the
// wire (byte for byte what Request.Write writes, so header order and
// framing are net/http's: head.go), response parsing (http.ReadResponse:
// chunked, trailers, HTTP/1.0, Connection: close), 1xx answers reported to
// the request's httptrace.ClientTrace (Got1xxResponse, or the hook given to
// RoundTrip1xx; at most 5, then an error),
// response headers bounded (MaxResponseHeaderBytes), a response header
// timeout that is a context.DeadlineExceeded, cancellation by the request's
// context (the connection is closed: the backend sees the client go), and
// connection reuse only after a complete answer with nothing left over.
//
// What net/http's read loop sees on an idle connection is found without
// one: every pooled connection is looked at with a non-blocking peek
// before it is used (Linux; elsewhere every request goes to the Fallback),
// and one the backend closed, or sent bytes on that no request asked for,
// is closed and not used. A replayable request (GET, HEAD, OPTIONS, TRACE,
// or an Idempotency-Key) that still gets no byte of answer on a reused
// connection (the backend closed it just then) is sent again once on a new
// one (net/http's rule). A backend that answers before it
// read the whole request (a 413) and closes: when writing the rest fails,
// the answer is returned, not the write error (net/http's rule).
package h1client

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Defaults, as the gateway's tuned net/http Transport has them.
const (
	DefaultMaxIdlePerHost         = 256
	DefaultIdleTimeout            = 90 * time.Second
	DefaultResponseHeaderTimeout  = 30 * time.Second
	DefaultMaxResponseHeaderBytes = 10 << 20 // net/http's default
	bufSize                       = 16 << 10
	max1xx                        = 5
	// MaxBody is the largest request body (with a Content-Length) sent
	// in the caller's goroutine; larger or chunked bodies stream through
	// the Fallback.
	// 16 KiB fits in any TCP window in flight, so writing it never waits
	// on a backend that answers without reading it.
	MaxBody = 16 << 10
	// DefaultEarlyAnswerWait is how long a failed write of a request waits
	// for an answer the backend may have sent before closing (a 413, a
	// 401): net/http's Transport returns that answer rather than the write
	// error, and so does Transport.
	DefaultEarlyAnswerWait = 50 * time.Millisecond
)

// bodyBufs holds MaxBody-sized buffers for request bodies read ahead.
var bodyBufs = sync.Pool{New: func() any { b := make([]byte, MaxBody); return &b }}

// Transport is an http.RoundTripper. The zero value is not usable: use New.
type Transport struct {
	// Fallback serves every request Transport does not handle, and its
	// dialer (DialContext) is the one Transport dials with.
	Fallback *http.Transport

	MaxIdlePerHost         int
	IdleTimeout            time.Duration // a connection idle this long (up to 1.5×) is closed
	ResponseHeaderTimeout  time.Duration // 0: none; also bounds writing the request
	MaxResponseHeaderBytes int64
	EarlyAnswerWait        time.Duration

	dial func(ctx context.Context, network, addr string) (net.Conn, error)

	mu      sync.Mutex
	idle    map[poolKey][]*conn // most recently used last
	nidle   int
	epoch   uint64 // advanced by the sweeper every IdleTimeout/2
	sweeper *time.Timer
	armed   bool
}

// New returns a Transport in front of fb, dialing with fb.DialContext
// (the egress guard's dialer in the gateway), with the defaults above or
// fb's values where fb sets them.
func New(fb *http.Transport) *Transport {
	t := &Transport{
		Fallback:               fb,
		MaxIdlePerHost:         DefaultMaxIdlePerHost,
		IdleTimeout:            DefaultIdleTimeout,
		ResponseHeaderTimeout:  DefaultResponseHeaderTimeout,
		MaxResponseHeaderBytes: DefaultMaxResponseHeaderBytes,
		EarlyAnswerWait:        DefaultEarlyAnswerWait,
		dial:                   fb.DialContext,
	}
	if fb.MaxIdleConnsPerHost > 0 {
		t.MaxIdlePerHost = fb.MaxIdleConnsPerHost
	}
	if fb.IdleConnTimeout > 0 {
		t.IdleTimeout = fb.IdleConnTimeout
	}
	if fb.ResponseHeaderTimeout > 0 {
		t.ResponseHeaderTimeout = fb.ResponseHeaderTimeout
	}
	if fb.MaxResponseHeaderBytes > 0 {
		t.MaxResponseHeaderBytes = fb.MaxResponseHeaderBytes
	}
	if t.dial == nil {
		d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
		t.dial = d.DialContext
	}
	return t
}

// Handles reports whether RoundTrip sends req itself (true) or hands it to
// the Fallback. Without the peek (not Linux) it never does: a pooled
// connection could not be looked at before use.
func Handles(req *http.Request) bool {
	if !peekSupported {
		return false
	}
	if req.URL == nil || (req.URL.Scheme != "http" && req.URL.Scheme != "https") || req.URL.Host == "" || req.Close || req.Method == http.MethodConnect {
		return false
	}
	if req.Body != nil && req.Body != http.NoBody {
		// A body of a known, small length is read first and written with
		// the head (MaxBody); any other body streams: the Fallback's.
		if req.ContentLength <= 0 || req.ContentLength > MaxBody {
			return false
		}
	} else if req.ContentLength > 0 {
		return false
	}
	if len(req.TransferEncoding) > 0 || len(req.Trailer) > 0 {
		return false
	}
	h := req.Header
	if _, ok := h["Expect"]; ok {
		return false
	}
	if _, ok := h["Upgrade"]; ok {
		return false
	}
	if _, ok := h["Connection"]; ok {
		return false
	}
	return true
}

// replayable is net/http's Request.isReplayable for a request without a
// body: sending it again cannot do what sending it once would not.
func replayable(req *http.Request) bool {
	if req.Body != nil && req.Body != http.NoBody {
		return false // read once, from the client
	}
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	_, a := req.Header["Idempotency-Key"]
	_, b := req.Header["X-Idempotency-Key"]
	return a || b
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.RoundTrip1xx(req, nil)
}

// Got1xx is httptrace.ClientTrace's Got1xxResponse.
type Got1xx = func(code int, header textproto.MIMEHeader) error

// RoundTrip1xx is RoundTrip with the hook for 1xx answers given directly
// rather than in the request's context (a ClientTrace there costs the
// caller a context and a copy of the request per call). With got1xx nil,
// the context's ClientTrace is used, as RoundTrip does. A request Handles
// refuses goes to the Fallback, which reads only the context's.
func (t *Transport) RoundTrip1xx(req *http.Request, got1xx Got1xx) (*http.Response, error) {
	if !Handles(req) {
		return t.Fallback.RoundTrip(req)
	}
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	key := poolKey{tls: req.URL.Scheme == "https", addr: hostPort(req.URL.Host, req.URL.Scheme)}
	again := replayable(req)
	send := req
	if req.Body != nil && req.Body != http.NoBody {
		// Read the body first (a client's error is the call's error, as
		// is: *http.MaxBytesError stays one), then write it with the head.
		bp := bodyBufs.Get().(*[]byte)
		defer bodyBufs.Put(bp)
		b := (*bp)[:req.ContentLength]
		n, err := io.ReadFull(req.Body, b)
		req.Body.Close()
		if err != nil {
			if err == io.ErrUnexpectedEOF || err == io.EOF {
				err = fmt.Errorf("h1client: ContentLength=%d with Body length %d", req.ContentLength, n)
			}
			return nil, err
		}
		cp := *req // RoundTrip must not modify req
		cp.Body = io.NopCloser(bytes.NewReader(b))
		send = &cp
	}
	for try := 0; ; try++ {
		c, reused, err := t.get(ctx, key, try > 0)
		if err != nil {
			return nil, err
		}
		res, err := c.roundTrip(ctx, send, got1xx)
		if err == nil {
			return res, nil
		}
		if reused && again && try == 0 && c.nothingRead() && ctx.Err() == nil {
			continue // the backend closed the pooled connection: once more on a new one
		}
		return nil, err
	}
}

// CloseIdleConnections closes the pooled connections (and the Fallback's).
func (t *Transport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle, t.nidle = nil, 0
	t.mu.Unlock()
	for _, cs := range idle {
		for _, c := range cs {
			c.nc.Close()
		}
	}
	t.Fallback.CloseIdleConnections()
}

// IdleConns reports how many connections are pooled (tests, metrics).
func (t *Transport) IdleConns() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.nidle
}

func hostPort(h, scheme string) string {
	port := "80"
	if scheme == "https" {
		port = "443"
	}
	if host, p, err := net.SplitHostPort(h); err == nil {
		if p == "" { // "host:" is the default port, as net/http reads it
			return net.JoinHostPort(host, port)
		}
		return h
	}
	if len(h) > 0 && h[0] == '[' && h[len(h)-1] == ']' { // [::1] without a port
		return h + ":" + port
	}
	return net.JoinHostPort(h, port)
}

// dialTLS dials addr and makes the TLS handshake as the Fallback would:
// its DialTLSContext when set (the gateway's SNI override), else its
// TLSClientConfig with the host as server name, offering only HTTP/1.1
// (ALPN), bounded by TLSHandshakeTimeout.
func (t *Transport) dialTLS(ctx context.Context, addr string) (net.Conn, error) {
	fb := t.Fallback
	if fb.DialTLSContext != nil {
		return fb.DialTLSContext(ctx, "tcp", addr)
	}
	raw, err := t.dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	var cfg *tls.Config
	if fb.TLSClientConfig != nil {
		cfg = fb.TLSClientConfig.Clone()
	} else {
		cfg = &tls.Config{}
	}
	if cfg.ServerName == "" {
		host, _, _ := net.SplitHostPort(addr)
		cfg.ServerName = host
	}
	cfg.NextProtos = []string{"http/1.1"}
	if d := fb.TLSHandshakeTimeout; d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	tc := tls.Client(raw, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, err
	}
	if p := tc.ConnectionState().NegotiatedProtocol; p != "" && p != "http/1.1" {
		tc.Close()
		return nil, fmt.Errorf("h1client: the backend negotiated %q, not HTTP/1.1", p)
	}
	return tc, nil
}

// get returns a pooled connection to key (reused) or, when there is none
// or fresh is set, a new one. A pooled connection is peeked first: one the
// backend closed, or sent bytes on while nobody asked (an answer to no
// request: reading it as the next request's answer would hand one client
// another's response), is closed and the next one tried.
func (t *Transport) get(ctx context.Context, key poolKey, fresh bool) (*conn, bool, error) {
	for !fresh {
		t.mu.Lock()
		cs := t.idle[key]
		if len(cs) == 0 {
			t.mu.Unlock()
			break
		}
		c := cs[len(cs)-1]
		cs[len(cs)-1] = nil
		t.idle[key] = cs[:len(cs)-1]
		t.nidle--
		t.mu.Unlock()
		if !c.alive() {
			c.nc.Close()
			continue
		}
		return c, true, nil
	}
	var nc net.Conn
	var err error
	if key.tls {
		nc, err = t.dialTLS(ctx, key.addr)
	} else {
		nc, err = t.dial(ctx, "tcp", key.addr)
	}
	if err != nil {
		return nil, false, err
	}
	c := &conn{t: t, key: key, nc: nc}
	c.lr.c = nc
	c.br = bufio.NewReaderSize(&c.lr, bufSize)
	c.bw = bufio.NewWriterSize(nc, bufSize)
	c.cancelFn = c.cancel
	sock := nc
	if tc, ok := nc.(*tls.Conn); ok {
		// The peek looks at the socket under TLS: a close_notify or a FIN
		// from the backend while idle both make the connection unusable.
		sock = tc.NetConn()
	}
	if sc, ok := sock.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			c.raw = rc
			c.peekFn = c.peek
		}
	}
	return c, false, nil
}

// put pools c, or closes it when the host has MaxIdlePerHost already.
func (t *Transport) put(c *conn) {
	t.mu.Lock()
	if t.idle == nil {
		t.idle = map[poolKey][]*conn{}
	}
	cs := t.idle[c.key]
	if len(cs) >= t.MaxIdlePerHost {
		t.mu.Unlock()
		c.nc.Close()
		return
	}
	c.epoch = t.epoch
	t.idle[c.key] = append(cs, c)
	t.nidle++
	if !t.armed {
		t.armed = true
		if t.sweeper == nil {
			t.sweeper = time.AfterFunc(t.IdleTimeout/2, t.sweep)
		} else {
			t.sweeper.Reset(t.IdleTimeout / 2)
		}
	}
	t.mu.Unlock()
}

// sweep closes the connections pooled for two sweeps (IdleTimeout to
// 1.5×IdleTimeout idle): no clock is read per request for idleness.
func (t *Transport) sweep() {
	var stale []*conn
	t.mu.Lock()
	t.epoch++
	for k, cs := range t.idle {
		keep := cs[:0]
		for _, c := range cs {
			if t.epoch-c.epoch >= 2 {
				stale = append(stale, c)
			} else {
				keep = append(keep, c)
			}
		}
		clear(cs[len(keep):])
		if len(keep) == 0 {
			delete(t.idle, k)
		} else {
			t.idle[k] = keep
		}
	}
	t.nidle -= len(stale)
	if t.nidle > 0 {
		t.sweeper.Reset(t.IdleTimeout / 2)
	} else {
		t.armed = false
	}
	t.mu.Unlock()
	for _, c := range stale {
		c.nc.Close()
	}
}

// poolKey names where a pooled connection goes: host:port and TLS or not.
type poolKey struct {
	addr string
	tls  bool
}

// conn is one backend connection.
type conn struct {
	t     *Transport
	key   poolKey
	nc    net.Conn
	lr    limitReader
	br    *bufio.Reader
	bw    *bufio.Writer
	epoch uint64

	raw    syscall.RawConn // nil when nc is not a socket
	peekFn func(fd uintptr) bool
	peekOK bool

	peekBuf  [1]byte
	keys     []string // writeHead's sorted header names, reused
	cancelFn func()
	canceled atomic.Bool // set by cancel during a round trip
}

// limitReader counts what was read in a round trip and refuses to read
// more than max while the answer's head is read (max < 0: no limit).
type limitReader struct {
	c    net.Conn
	read int64
	max  int64
}

var errHeaderTooLarge = errors.New("h1client: the backend's response headers are too large")

func (l *limitReader) Read(p []byte) (int, error) {
	if l.max >= 0 {
		left := l.max - l.read
		if left <= 0 {
			return 0, errHeaderTooLarge
		}
		if int64(len(p)) > left {
			p = p[:left]
		}
	}
	n, err := l.c.Read(p)
	l.read += int64(n)
	return n, err
}

func (c *conn) nothingRead() bool { return c.lr.read == 0 }

// cancel runs (context.AfterFunc) when the request's context ends during
// the round trip: closing the connection ends a blocked read or write and
// tells the backend the client is gone.
//
// A connection whose cancel ran is never pooled again (finish), so the flag
// is only reset by the next round trip on a connection whose AfterFunc was
// stopped before it ran.
func (c *conn) cancel() {
	c.canceled.Store(true)
	c.nc.Close()
}

func (c *conn) wasCanceled() bool { return c.canceled.Load() }

// timeoutError is the response header timeout; like net/http's, it is a
// context.DeadlineExceeded (the gateway answers 504).
type timeoutError struct{ d time.Duration }

func (e *timeoutError) Error() string {
	return fmt.Sprintf("h1client: timeout awaiting response headers (%s)", e.d)
}
func (e *timeoutError) Timeout() bool   { return true }
func (e *timeoutError) Temporary() bool { return true }
func (e *timeoutError) Is(err error) bool {
	return err == context.DeadlineExceeded
}

var errTooMany1xx = errors.New("h1client: too many 1xx informational responses")

// roundTrip sends req on c and reads the answer's head. On an error c is
// closed and not pooled.
func (c *conn) roundTrip(ctx context.Context, req *http.Request, got1xx Got1xx) (*http.Response, error) {
	c.lr.read, c.lr.max = 0, c.t.MaxResponseHeaderBytes
	c.canceled.Store(false)
	var stop func() bool
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, c.cancelFn)
	}
	fail := func(err error) (*http.Response, error) {
		if stop != nil {
			stop()
		}
		c.nc.Close()
		if c.wasCanceled() {
			if cerr := ctx.Err(); cerr != nil {
				return nil, cerr
			}
		}
		return nil, err
	}
	if d := c.t.ResponseHeaderTimeout; d > 0 {
		c.nc.SetDeadline(time.Now().Add(d)) // the write and the head
	}
	err := c.writeRequest(req)
	if err == nil {
		err = c.bw.Flush()
	}
	if err != nil {
		if res := c.earlyAnswer(ctx, req, stop); res != nil {
			return res, nil
		}
		return fail(err)
	}
	n1xx := 0
	var res *http.Response
	for {
		var err error
		res, err = http.ReadResponse(c.br, req)
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() && !c.wasCanceled() {
				err = &timeoutError{c.t.ResponseHeaderTimeout}
			}
			if err == errHeaderTooLarge || errors.Is(err, errHeaderTooLarge) {
				err = fmt.Errorf("h1client: the backend's response headers exceed %d bytes", c.t.MaxResponseHeaderBytes)
			}
			return fail(err)
		}
		code := res.StatusCode
		if code < 100 || code > 199 || code == http.StatusSwitchingProtocols {
			break
		}
		n1xx++
		if n1xx > max1xx {
			return fail(errTooMany1xx)
		}
		if got1xx == nil {
			if trace := httptrace.ContextClientTrace(ctx); trace != nil {
				got1xx = trace.Got1xxResponse
			}
		}
		if got1xx != nil {
			if err := got1xx(code, textproto.MIMEHeader(res.Header)); err != nil {
				return fail(err)
			}
		}
		c.lr.max = c.t.MaxResponseHeaderBytes + c.lr.read // the limit is per head, as net/http's
	}
	c.lr.max = -1
	if c.t.ResponseHeaderTimeout > 0 {
		c.nc.SetDeadline(time.Time{})
	}
	if res.StatusCode == http.StatusSwitchingProtocols {
		// Only an upgrade request may switch, and those go to the Fallback.
		return fail(errors.New("h1client: the backend switched protocols without an upgrade request"))
	}
	reuse := !res.Close
	if res.Body == http.NoBody || res.Body == nil {
		c.finish(stop, reuse)
		res.Body = http.NoBody
		return res, nil
	}
	// One per answer: the holder of an old answer's body must never reach
	// the next answer on the same (pooled) connection.
	res.Body = &body{c: c, rc: res.Body, stop: stop, reuse: reuse, ctx: ctx}
	return res, nil
}

// earlyAnswer reads an answer the backend sent before our request was
// written whole (and then closed), within earlyAnswerWait; the connection
// is not reused. nil when there is none.
func (c *conn) earlyAnswer(ctx context.Context, req *http.Request, stop func() bool) *http.Response {
	if c.wasCanceled() || ctx.Err() != nil {
		return nil
	}
	c.nc.SetReadDeadline(time.Now().Add(c.t.EarlyAnswerWait))
	res, err := http.ReadResponse(c.br, req)
	if err != nil || (res.StatusCode >= 100 && res.StatusCode <= 199) {
		return nil // the caller closes
	}
	c.nc.SetReadDeadline(time.Time{})
	if res.Body == http.NoBody || res.Body == nil {
		c.finish(stop, false)
		res.Body = http.NoBody
		return res
	}
	res.Body = &body{c: c, rc: res.Body, stop: stop, reuse: false, ctx: ctx}
	return res
}

// finish ends a round trip: the connection goes back to the pool when the
// answer was complete, nothing follows it and the context did not end.
func (c *conn) finish(stop func() bool, reuse bool) {
	if stop != nil && !stop() {
		reuse = false // cancel ran (or runs): the connection is closed
	}
	if reuse && c.br.Buffered() == 0 && !c.wasCanceled() {
		c.t.put(c)
		return
	}
	c.nc.Close()
}

// body is the answer's body: at EOF it gives the connection back.
//
// Close may be called while a Read is blocked in another goroutine (the
// gateway's body deadline does, to end the read; net/http's bodies allow
// it): whichever of the two ends the body first — Read at its end or on an
// error, or Close — finishes the round trip, exactly once (ended). A Close
// that wins closes the connection, so the blocked Read returns an error and
// the connection is never pooled.
type body struct {
	c     *conn
	rc    io.ReadCloser
	stop  func() bool
	reuse bool
	ctx   context.Context
	ended atomic.Bool
}

func (b *body) Read(p []byte) (int, error) {
	if b.ended.Load() {
		return 0, io.EOF
	}
	n, err := b.rc.Read(p)
	if err == nil {
		return n, nil
	}
	if !b.ended.CompareAndSwap(false, true) {
		// Closed meanwhile: Close finished the round trip.
		return n, err
	}
	if err == io.EOF {
		b.c.finish(b.stop, b.reuse)
		return n, io.EOF
	}
	canceled := b.c.wasCanceled()
	b.c.finish(b.stop, false)
	if canceled {
		if cerr := b.ctx.Err(); cerr != nil {
			return n, cerr
		}
	}
	return n, err
}

// Close before EOF closes the connection (the rest of the answer is not
// read, as net/http's Transport does).
func (b *body) Close() error {
	if b.ended.CompareAndSwap(false, true) {
		b.c.finish(b.stop, false)
	}
	return nil
}

// alive reports whether the backend has not closed a pooled connection:
// one non-blocking peek. A connection that cannot be peeked (not a socket:
// a dialer's wrapper) is not trusted: a new one is dialed.
func (c *conn) alive() bool {
	if c.raw == nil {
		return false
	}
	c.peekOK = true
	if err := c.raw.Read(c.peekFn); err != nil {
		return false
	}
	return c.peekOK
}
