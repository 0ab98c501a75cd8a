package gateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/mux"

	"github.com/gatehouse/gatehouse/abi"
	rule "github.com/gatehouse/gatehouse/abi/egress"
	"github.com/gatehouse/gatehouse/host/edge"
	"github.com/gatehouse/gatehouse/host/engine"
)

// call is the per-request state, pooled: the exchange policies see, the
// matched route, and a reverse proxy whose hooks are bound to this call once.
type call struct {
	g      *Gateway
	rt     *route
	w      http.ResponseWriter
	rawW   http.ResponseWriter // the server's writer (read deadlines)
	r      *http.Request
	ex     engine.Exchange
	rp     httputil.ReverseProxy
	match  mux.RouteMatch
	failed *failure
	reqID  string
	// ran counts, per section, the stages whose request phase ran: only
	// those get their response phase.
	ran [numSections]int
	// cancel releases the last backend attempt's timeout when the call
	// resent its request (resend.go); nil otherwise.
	cancel context.CancelFunc
	// clientIP is the client address the edge resolved (trusted proxies);
	// host is the configured gateway hostname the request came in under
	// ("" when no list is configured).
	clientIP, host string
	// bodyHeld is this call's share of the received-body budget (body.go).
	bodyHeld int64
	// hv backs the one-value header slices the gateway sets on this
	// request (hdrValue); reqIDHdr is the X-Request-Id one, shared by the
	// backend request and the answer. Dropped, never reused, when the call
	// ends: the header maps holding them may outlive it (the server's and
	// the transport's).
	hv, reqIDHdr []string

	// Observation state, used only when the gateway observes (an Observer
	// or Metrics is set); reset per call, never reallocated.
	rw            recWriter
	path          string
	start         time.Time
	backendAt     time.Duration // since start, when backendOn (one clock reading, not time.Now's two)
	backendOn     bool
	backendDur    time.Duration
	policyDur     time.Duration
	backendStatus int
	policyErr     string
	traceID       string
	traceParent   string
	traceStarted  bool
	rec           CallRecord

	// ctr is the console trace being recorded (trace.go); nil for every
	// call without a valid trace token.
	ctr *consoleTrace

	// wsUpgrade: the client asked for a WebSocket upgrade (websocket.go);
	// ws is the spliced connection once the backend accepted it.
	wsUpgrade bool
	ws        *wsSession

	// The backend round trip's 1xx hook (forward.go), bound once per pooled
	// call; rtDone (under rtMu) ends forwarding of 1xx.
	got1xxFn func(int, textproto.MIMEHeader) error
	rtMu     sync.Mutex
	rtDone   bool

	// The outbound request, its URL and header map, kept with the pooled
	// call while only h1client has sent them (forward.go, reusableOut);
	// forward sets them nil when another transport gets them, and putCall
	// empties what is left.
	outReq *http.Request
	outURL *url.URL
	outHdr http.Header
}

// failure is why a request goes to on-error.
type failure struct {
	status int
	source string
	reason string
}

func (g *Gateway) newCall() *call {
	c := &call{g: g}
	c.rp = httputil.ReverseProxy{
		Rewrite:        c.rewrite,
		Transport:      g.transport,
		BufferPool:     &g.bufs,
		ModifyResponse: c.modifyResponse,
		ErrorHandler:   c.proxyError,
		ErrorLog:       g.errLog,
	}
	c.got1xxFn = c.got1xx
	return c
}

func (g *Gateway) putCall(c *call) {
	// The call is over (answered, failed, or the client went away): give
	// back the concurrency slots its policies took (limit-concurrency).
	// putCall is deferred first in ServeHTTP, so this runs last, also when
	// the handler panics; Reset below would do it too, and it is idempotent.
	c.ex.ReleaseHeld()
	if c.ctr != nil {
		c.finishTrace()
	}
	c.releaseBody()
	c.rt, c.w, c.r, c.failed, c.rawW = nil, nil, nil, nil, nil
	c.clientIP, c.host = "", ""
	c.hv, c.reqIDHdr = nil, nil
	c.rp.Transport = g.transport
	if c.cancel != nil {
		c.cancel()
		c.cancel = nil
	}
	c.ran = [numSections]int{}
	c.rw = recWriter{}
	if c.ws != nil {
		c.ws.close("") // stops its watcher (finish did, when observing)
	}
	c.wsUpgrade, c.ws = false, nil
	c.path, c.policyErr, c.traceID, c.traceParent, c.traceStarted = "", "", "", "", false
	c.backendAt, c.backendOn, c.backendDur, c.policyDur, c.backendStatus = 0, false, 0, 0, 0
	c.rec = CallRecord{}
	// Nothing of this request (its context, body, strings) stays
	// reachable from the pooled call.
	if c.outReq != nil {
		*c.outReq, *c.outURL = http.Request{}, url.URL{}
	}
	clear(c.outHdr)
	c.ex.Reset()
	c.match = mux.RouteMatch{}
	g.calls.Put(c)
}

// ServeHTTP is the request path: edge hygiene, routing, the policy chain,
// the backend, and back.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := g.calls.Get().(*call)
	defer g.putCall(c)
	c.w, c.r, c.rawW = w, r, w
	if g.observing {
		c.start = time.Now()
		c.rw.ResponseWriter = w
		w = &c.rw
		c.w = w
		defer c.finish()
	}
	c.reqID = g.nextRequestID()

	path, err := edge.CanonicalPath(r.URL.EscapedPath())
	c.path = path
	if err != nil {
		c.writeGeneric(http.StatusBadRequest, "Bad request: "+strings.TrimPrefix(err.Error(), edge.ErrBadPath.Error()+": "))
		return
	}
	switch upgradeKind(r) {
	case "websocket":
		c.wsUpgrade = true
	case "refuse":
		c.writeGeneric(http.StatusBadRequest, "Bad request: only WebSocket upgrades (HTTP/1.1 GET) are supported")
		return
	}
	removeConnectionHeaders(r.Header)
	var traceToken []string
	if g.opts.Tracer != nil {
		traceToken = r.Header[TraceHeader] // read before the strip below removes it
	}
	// The edge model (edge.go): the client address, resolved once through
	// the trusted proxies before their headers are stripped, and the
	// gateway hostname the request came in under.
	es := g.edge.Load()
	c.clientIP = es.proxies.Client(r.RemoteAddr, r.Header)
	edge.StripIdentityHeaders(r.Header, nil)
	if es.hostnames.Enabled() {
		name, ok := es.hostnames.Match(r.Host)
		if !ok {
			c.writeGeneric(http.StatusMisdirectedRequest, "Misdirected request: unknown host")
			return
		}
		c.host = name
	}
	if g.opts.TraceContext {
		// W3C Trace Context: a valid incoming traceparent passes to the
		// backend as it is; otherwise the gateway starts a trace.
		if v := r.Header["Traceparent"]; len(v) == 1 {
			if c.traceID, _ = parseTraceparent(v[0]); c.traceID != "" {
				c.traceParent = v[0]
			}
		}
		if c.traceID == "" {
			c.traceParent, c.traceID = newTraceparent()
			c.traceStarted = true
			r.Header["Traceparent"] = c.hdrValue(c.traceParent)
			delete(r.Header, "Tracestate")
		}
	}

	snap := g.acquire()
	if snap == nil {
		c.writeGeneric(http.StatusServiceUnavailable, "Service unavailable")
		return
	}
	defer snap.release()
	r.URL.Path, r.URL.RawPath = path, ""
	var rt *route
	if snap.routes.match(r, &c.match) {
		rt, _ = c.match.Handler.(*route)
	} else if isPreflight(r) {
		// No operation declares OPTIONS: the API's own policy (its cors
		// policy) answers the preflight.
		rt = snap.preflightRoute(path)
		c.match.Vars = nil
	}
	if rt == nil {
		if errors.Is(c.match.MatchErr, mux.ErrMethodMismatch) {
			c.writeGeneric(http.StatusMethodNotAllowed, "Method not allowed")
			return
		}
		c.writeGeneric(http.StatusNotFound, "Resource not found")
		return
	}
	c.rt = rt
	if len(traceToken) == 1 {
		c.ctr = c.beginTrace(traceToken[0])
	}
	api := rt.api
	if api.clientCert != nil && !c.checkClientCert(api.clientCert) {
		return
	}
	if r.ContentLength > api.bodyLimit {
		c.writeGeneric(http.StatusRequestEntityTooLarge, "Request entity too large")
		return
	}
	ex := &c.ex
	ex.Ctx = r.Context()
	ex.Method = r.Method
	ex.OrigPath = path
	ex.Path = relPath(path, api.prefix)
	ex.Query = r.URL.RawQuery
	ex.ClientIP = c.clientIP
	ex.RequestID = c.reqID
	ex.API = api.cfg.Name
	ex.Operation = rt.opID
	ex.Template = rt.tmpl
	ex.Scheme = "http"
	if r.TLS != nil {
		ex.Scheme = "https"
		if len(r.TLS.PeerCertificates) > 0 {
			ex.ClientCert = clientCertInfo(r.TLS.PeerCertificates[0]) // clientcert.go
		}
	}
	ex.Host = r.Host
	if c.host != "" {
		ex.Host = c.host
	}
	ex.APIBackend, ex.APITimeout, ex.Egress = api.cfg.Backend, api.timeout, api.egress
	c.rp.Transport = api.transport
	for k, v := range c.match.Vars {
		ex.Params = append(ex.Params, engine.Param{Name: k, Value: v})
	}
	ex.ReqHeader = r.Header
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = http.MaxBytesReader(w, r.Body, api.bodyLimit)
		ex.ReqBody = engine.Body{Src: r.Body, Limit: api.bodyLimit, Bytes: ex.ReqBody.Bytes[:0]}
		// A body a policy will read is received now, before any instance
		// is borrowed (body.go); other bodies stream to the backend.
		if rt.chain.readsBody(readsRequestBody, secInbound, secBackend, secOnError) && !c.receiveRequestBody() {
			return
		}
	} else {
		ex.ReqBody = engine.Body{Limit: api.bodyLimit, Bytes: ex.ReqBody.Bytes[:0]}
	}

	for _, sec := range [...]int{secInbound, secBackend} {
		stopped, f := c.runSection(sec, engine.PhaseRequest)
		if f != nil {
			c.fail(f)
			return
		}
		if stopped {
			c.answer()
			return
		}
	}
	if ex.Backend.Retry != nil || ex.Backend.FollowRedirects {
		if !c.prepareResend() {
			return
		}
	}
	if c.wsUpgrade {
		if c.g.wsReg.isClosing() { // shutting down (wsshutdown.go)
			c.writeGeneric(http.StatusServiceUnavailable, "Shutting down: no new WebSocket connections")
			return
		}
		// Removed at the edge with the other hop-by-hop headers; sent
		// again by the gateway itself, after the chain (websocket.go).
		r.Header["Connection"] = []string{"Upgrade"}
		r.Header["Upgrade"] = []string{"websocket"}
		if !c.g.observing {
			// The wrapper sees the hijack, to count the client's bytes
			// for the idle limit (websocket.go).
			c.rw.ResponseWriter = w
			w = &c.rw
			c.w = w
		}
		c.rp.ServeHTTP(w, r)
		return
	}
	c.forward(w, r)
}

// finish records the call for the Observer and the route's metrics.
func (c *call) finish() {
	g := c.g
	total := time.Since(c.start)
	status := c.rw.status
	if status == 0 {
		status = 499 // the client went away before an answer
	}
	if c.ws != nil {
		c.endWebSocket()
	}
	// A gRPC call's final status, worked out once for the metrics and the
	// call record.
	isGRPC, grpcCode := edge.IsGRPC(c.r), 0
	if isGRPC {
		grpcCode = grpcStatus(c.rw.Header(), status)
	}
	if g.opts.Metrics != nil {
		if c.rt != nil && c.rt.met != nil {
			c.rt.met.ObserveCall(status, total)
			observeCache(c.rt.met, &c.ex)
			if isGRPC {
				observeGRPC(c.rt.met, grpcCode)
			}
		} else if g.noRoute != nil {
			g.noRoute.ObserveCall(status, total)
			if isGRPC {
				observeGRPC(g.noRoute, grpcCode)
			}
		}
	}
	if g.opts.Observer == nil {
		return
	}
	ex := &c.ex
	rec := &c.rec
	r := c.r
	sensitive := g.sensitive
	var learned *learnedKeys
	api, op := "", ""
	if c.rt != nil {
		sensitive, learned = c.rt.api.sensitive, &c.rt.api.keys
		api, op = c.rt.api.cfg.Name, c.rt.opID
	}
	var in int64
	out := c.rw.bytes
	if ex.ReqBody.Buffered() {
		in = int64(len(ex.ReqBody.Bytes))
	} else if r.ContentLength > 0 {
		in = r.ContentLength
	}
	if c.ws != nil {
		in, out = c.ws.up.Load(), c.ws.down.Load()
	}
	path := c.path
	if path == "" {
		path = r.URL.Path
	}
	ip := c.clientIP
	if ip == "" {
		ip = edge.ClientIP(r.RemoteAddr)
	}
	*rec = CallRecord{
		Time: c.start, RequestID: c.reqID, API: api, Operation: op,
		ClientIP: ip, Method: r.Method, Path: path,
		Query:  redactCallQuery(r.URL.RawQuery, sensitive, learned, ex),
		Status: status, BackendStatus: c.backendStatus,
		Total: total, Backend: c.backendDur, Policies: c.policyDur,
		BytesIn: in, BytesOut: out, CacheHit: ex.CacheServed(), CacheStatus: ex.CacheStatus(),
		PolicyError: c.policyErr, TraceID: c.traceID, TraceParent: c.traceParent, TraceStarted: c.traceStarted,
	}
	if s := ex.Subscription; s != nil {
		rec.Product, rec.Subscription, rec.User = s.Product, s.ID, s.User
	}
	if isGRPC {
		rec.GRPC, rec.GRPCStatus = true, grpcCode
	}
	g.opts.Observer.Observe(rec)
}

// isPreflight reports whether r is a CORS preflight request.
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != ""
}

// relPath is the path relative to the API's prefix: what is appended to the
// backend URL (the API's URL suffix is not forwarded, as in APIM). prefix
// has no trailing slash.
func relPath(path, prefix string) string {
	if prefix == "" {
		return path
	}
	rest := strings.TrimPrefix(path, prefix)
	if rest == "" {
		return "/"
	}
	return rest
}

// responsePhase runs on_response for the inbound and backend stages whose
// request phase ran (an attachment acts in both phases, like a Kong plugin),
// then for the outbound section.
func (c *call) responsePhase() (stopped bool, f *failure) {
	for _, sec := range [...]int{secInbound, secBackend} {
		if stopped, f = c.runStages(sec, c.rt.chain[sec][:c.ran[sec]], engine.PhaseResponse); stopped || f != nil {
			return stopped, f
		}
	}
	return c.runStages(secOutbound, c.rt.chain[secOutbound], engine.PhaseResponse)
}

// runSection runs a section's stages. stopped means a policy answered (or,
// in the response phase, ended the section).
func (c *call) runSection(sec int, phase engine.Phase) (stopped bool, f *failure) {
	return c.runStages(sec, c.rt.chain[sec], phase)
}

func (c *call) runStages(sec int, stages []*stage, phase engine.Phase) (stopped bool, f *failure) {
	ex := &c.ex
	for _, st := range stages {
		if phase == engine.PhaseRequest {
			c.ran[sec]++
		}
		if st.skip(ex) {
			if c.ctr != nil {
				c.ctr.skipped(sec, st, phase)
			}
			continue
		}
		plan, rerun := st.plan, false
	again:
		var tt time.Time
		if c.ctr != nil {
			c.ctr.before(ex, phase)
			tt = time.Now()
		}
		// The engine times the call (its clock readings): no reading here.
		res, d, err := st.mod.CallTimed(ex, phase, plan, st.opts)
		if c.ctr != nil {
			c.ctr.after(sec, st, ex, phase, res, err, time.Since(tt))
		}
		if c.g.observing {
			c.policyDur += d
			if st.met != nil {
				st.met.ObserveStage(d, err != nil)
			}
		}
		if err != nil {
			c.g.log.Warn("policy failed", "request_id", c.reqID, "api", ex.API, "section", sectionNames[sec], "policy", st.label, "fail_mode", st.failMode, "err", err)
			// Pool exhaustion fails closed whatever the fail mode: skipping
			// an attachment because others held every instance would let
			// load decide which policies run (an auth bypass).
			exhausted := errors.Is(err, engine.ErrNoInstance)
			switch {
			case st.failMode == "open" && !exhausted:
				continue
			case st.failMode == "fallback":
				c.setFallback(st.fallback, phase != engine.PhaseResponse)
				return true, nil
			}
			status := http.StatusInternalServerError
			if ex.ReqBody.TooLarge {
				status = http.StatusRequestEntityTooLarge
			} else if exhausted {
				status = http.StatusServiceUnavailable
			}
			return false, &failure{status: status, source: st.label, reason: err.Error()}
		}
		if res == abi.ActionStop {
			if phase != engine.PhaseResponse && !ex.Answered {
				return false, &failure{status: http.StatusInternalServerError, source: st.label, reason: "policy stopped the request without an answer"}
			}
			return true, nil
		}
		if done, wait, ok := ex.TakeFillWait(); ok && !rerun {
			// cache_fill_lease found the key being filled by another call:
			// wait here, holding no guest instance, for that fill (or the
			// policy's wait, or the client going away), then run the stage
			// again, once, to find what the filler stored.
			plan, rerun = st.rerun, true
			if i, ok := ex.RerunFrom(); ok { // ABI v1.2: the guest names where
				if p, err := st.mod.SuffixPlan(st.plan, i); err == nil {
					plan = p
				}
			}
			if !c.waitFill(done, wait) {
				return false, &failure{status: 499, source: st.label, reason: "client went away while waiting for a cache fill"}
			}
			goto again
		}
	}
	return false, nil
}

// waitFill waits for a cache fill to end (done closed) or for wait,
// whichever comes first; it reports false if the request's context ended
// first.
func (c *call) waitFill(done <-chan struct{}, wait time.Duration) bool {
	t := time.NewTimer(wait)
	defer t.Stop()
	var ctxDone <-chan struct{}
	if ctx := c.ex.Ctx; ctx != nil {
		ctxDone = ctx.Done()
	}
	select {
	case <-done:
	case <-t.C:
	case <-ctxDone:
		return false
	}
	return true
}

// setFallback makes the fallback the answer: an early answer in the request
// phase, or a replacement of the backend's response in the response phase
// (its headers are cleared in place: they are the response's own map).
func (c *call) setFallback(fb *Fallback, early bool) {
	ex := &c.ex
	if ex.RespHeader == nil {
		ex.RespHeader = make(http.Header)
	} else {
		clear(ex.RespHeader)
	}
	ct := fb.ContentType
	if ct == "" {
		ct = "application/json"
	}
	ex.RespHeader.Set("Content-Type", ct)
	ex.Status = fb.Status
	ex.Answered = early
	ex.RespBody.Set([]byte(fb.Body))
}

// answer sends an early answer through the outbound section.
func (c *call) answer() {
	ex := &c.ex
	if ex.RespHeader == nil {
		ex.RespHeader = make(http.Header)
	}
	if _, f := c.responsePhase(); f != nil {
		c.fail(f)
		return
	}
	body, _ := ex.RespBody.Read()
	c.write(ex.Status, ex.RespHeader, body)
}

func (c *call) write(status int, h http.Header, body []byte) {
	dst := c.w.Header()
	for k, v := range h {
		dst[k] = v
	}
	dst["Content-Length"] = c.hdrValue(strconv.Itoa(len(body)))
	dst["X-Request-Id"] = c.requestIDHeader()
	if status < 100 || status > 599 {
		status = http.StatusInternalServerError
	}
	if c.ctr != nil {
		c.ctr.tr.Status = status
	}
	c.w.WriteHeader(status)
	if c.r.Method != http.MethodHead && len(body) > 0 {
		_, _ = c.w.Write(body)
	}
}

var genericMessages = map[int]string{
	400: "Bad request", 404: "Resource not found", 405: "Method not allowed",
	413: "Request entity too large", 500: "Internal server error",
	502: "Bad gateway", 503: "Service unavailable", 504: "Gateway timeout",
}

// writeGeneric writes the gateway's own error body: one JSON shape, no
// internal detail (that goes to the log with the request id).
func (c *call) writeGeneric(status int, msg string) {
	if msg == "" {
		msg = genericMessages[status]
		if msg == "" {
			msg = http.StatusText(status)
		}
	}
	var b bytes.Buffer
	b.WriteString(`{"statusCode":`)
	b.WriteString(strconv.Itoa(status))
	b.WriteString(`,"message":`)
	b.WriteString(strconv.Quote(msg))
	b.WriteString(`,"requestId":"`)
	b.WriteString(c.reqID)
	b.WriteString(`"}`)
	h := http.Header{"Content-Type": {"application/json"}}
	c.write(status, h, b.Bytes())
}

// fail runs the on-error section; without an answer from it the client
// gets the generic body for the failure's status.
func (c *call) fail(f *failure) {
	ex := &c.ex
	if c.g.opts.Observer != nil && c.policyErr == "" {
		c.policyErr = f.source + ": " + f.reason
	}
	if c.ctr != nil {
		c.ctr.failed(f)
	}
	if c.rt != nil && len(c.rt.chain[secOnError]) > 0 {
		ex.SetVar("gatehouse.error.source", f.source)
		ex.SetVar("gatehouse.error.reason", f.reason)
		ex.SetVar("gatehouse.error.status", strconv.Itoa(f.status))
		ex.Answered, ex.Status = false, 0
		ex.RespHeader = make(http.Header)
		ex.RespBody = engine.Body{}
		stopped, f2 := c.runSection(secOnError, engine.PhaseError)
		if f2 == nil && stopped && ex.Answered {
			body, _ := ex.RespBody.Read()
			c.write(ex.Status, ex.RespHeader, body)
			return
		}
		if f2 != nil {
			c.g.log.Error("on-error section failed", "request_id", c.reqID, "err", f2.reason)
		}
	}
	c.writeGeneric(f.status, "")
}

// rewrite builds the outbound request of a WebSocket handshake, which
// keeps httputil.ReverseProxy (never Director: hop-by-hop removal runs
// before Rewrite, so what we set here stays).
func (c *call) rewrite(pr *httputil.ProxyRequest) {
	pr.SetXForwarded()
	c.prepareOut(pr.In, pr.Out)
}

// prepareOut points the outbound request at the backend and sets what the
// gateway sends itself (forward.go and rewrite).
func (c *call) prepareOut(in, out *http.Request) {
	ex := &c.ex
	b := c.rt.api.backend
	if ex.Backend.URL != nil {
		b = ex.Backend.URL
	}
	out.URL.Scheme = b.Scheme
	out.URL.Host = b.Host
	out.URL.Path = joinPath(b.Path, ex.Path)
	out.URL.RawPath = ""
	out.URL.RawQuery = ex.Query
	out.Method = ex.Method
	out.Host = ""
	if in.Trailer != nil {
		// The client's trailer values arrive at the end of its body, into
		// in.Trailer; a clone taken before would stay empty, so share it.
		out.Trailer = in.Trailer
	}
	// Rebuilt, not appended: the client the edge resolved, and the host
	// only when it is a configured gateway hostname.
	c.setHeader1(out.Header, "X-Forwarded-For", c.clientIP)
	c.setHeader1(out.Header, "X-Forwarded-Host", c.host)
	out.Header["X-Request-Id"] = c.requestIDHeader()
	if c.g.observing {
		c.backendAt, c.backendOn = time.Since(c.start), true
	}
	if c.ctr != nil {
		c.ctr.backendStart(out.URL.Path)
	}
	if ex.ReqBody.Buffered() {
		body := ex.ReqBody.Bytes
		out.Body = io.NopCloser(bytes.NewReader(body))
		out.ContentLength = int64(len(body))
		out.GetBody = nil
		out.Header.Del("Transfer-Encoding")
	}
	if _, ok := c.rp.Transport.(*resender); ok {
		// resend (retry, redirects) applies the timeout per attempt
		return
	}
	t := c.rt.api.timeout
	if ex.Backend.Timeout > 0 {
		t = ex.Backend.Timeout
	}
	if t > 0 && t != defaultBackendTimeout && !c.wsUpgrade {
		// (A WebSocket's request context lives as long as the connection:
		// its limits are websocket.go's; the transport still bounds the
		// wait for the handshake's answer.)
		ctx, cancel := context.WithTimeout(out.Context(), t)
		_ = cancel // released when the request context ends
		*out = *out.WithContext(ctx)
	}
}

const defaultBackendTimeout = 30 * 1e9

// hdrValue returns a header value slice holding only v (length and
// capacity 1: an append copies), carved from this request's small array,
// so that the few values the gateway sets per request cost one allocation.
func (c *call) hdrValue(v string) []string {
	if len(c.hv) == cap(c.hv) {
		c.hv = make([]string, 0, 4)
	}
	c.hv = append(c.hv, v)
	n := len(c.hv)
	return c.hv[n-1 : n : n]
}

// requestIDHeader is the X-Request-Id value slice of this request (read
// only: the backend request and the answer share it).
func (c *call) requestIDHeader() []string {
	if c.reqIDHdr == nil {
		c.reqIDHdr = c.hdrValue(c.reqID)
	}
	return c.reqIDHdr
}

// setHeader1 is setHeader1 (edge.go) with a value slice from hdrValue.
func (c *call) setHeader1(h http.Header, key, v string) {
	if cur := h[key]; v != "" && len(cur) != 1 {
		h[key] = c.hdrValue(v)
		return
	}
	setHeader1(h, key, v)
}

func joinPath(base, p string) string {
	if base == "" || base == "/" {
		return p
	}
	return strings.TrimSuffix(base, "/") + p
}

// modifyResponse runs the outbound section on the backend's response.
func (c *call) modifyResponse(resp *http.Response) error {
	// The gateway's request id replaces any the backend sent: one id per
	// request, the one in the gateway's logs. (Set after the policies: a
	// fallback may have replaced the headers.)
	defer func() { resp.Header["X-Request-Id"] = c.requestIDHeader() }()
	if c.g.observing {
		c.backendDur = time.Since(c.start) - c.backendAt
		c.backendStatus = resp.StatusCode
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		if !c.wsUpgrade {
			return errors.New("backend switched protocols without an upgrade request")
		}
		// The outbound section does not run on a 101 (websocket.go).
		c.startWebSocket(resp)
		return nil
	}
	if c.ctr != nil {
		c.ctr.backendDone(resp.StatusCode, "")
		defer func() { c.ctr.tr.Status = resp.StatusCode }()
	}
	if len(c.rt.chain[secOutbound]) == 0 && c.ran[secInbound] == 0 && c.ran[secBackend] == 0 {
		return nil
	}
	ex := &c.ex
	ex.Status = resp.StatusCode
	ex.RespHeader = resp.Header
	if c.rt.chain.readsBody(readsResponseBody, secInbound, secBackend, secOutbound) {
		// Received before the response phase borrows an instance (body.go).
		if err := c.receiveResponseBody(resp); err != nil {
			c.backendBodyFailure(err)
			return errPolicy
		}
	} else {
		ex.RespBody = engine.Body{Src: resp.Body, Limit: c.g.opts.ResponseBodyLimit, Bytes: ex.RespBody.Bytes[:0]}
	}
	_, f := c.responsePhase()
	if f != nil {
		c.failed = f
		return errPolicy
	}
	if ex.Status != resp.StatusCode {
		resp.StatusCode = ex.Status
		resp.Status = ""
	}
	if ex.RespBody.Buffered() {
		_ = resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(ex.RespBody.Bytes))
		resp.ContentLength = int64(len(ex.RespBody.Bytes))
		resp.Header.Set("Content-Length", strconv.Itoa(len(ex.RespBody.Bytes)))
		resp.Header.Del("Transfer-Encoding")
		resp.TransferEncoding = nil
	}
	return nil
}

var errPolicy = errors.New("outbound policy failed")

// proxyError handles backend and outbound-policy failures.
func (c *call) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	if c.g.observing && c.backendDur == 0 && c.backendOn {
		c.backendDur = time.Since(c.start) - c.backendAt
	}
	if c.ctr != nil && c.failed == nil {
		c.ctr.backendFailed(err)
	}
	if c.failed != nil {
		c.fail(c.failed)
		return
	}
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		c.fail(&failure{status: http.StatusRequestEntityTooLarge, source: "gateway", reason: "request body over the API's limit"})
	case r.Context().Err() != nil && errors.Is(err, context.Canceled):
		// the client went away; nobody to answer
		c.g.log.Debug("client canceled", "request_id", c.reqID)
	case errors.Is(err, rule.ErrRefused):
		// The reason goes to the log, never to the caller.
		c.g.log.Warn("backend egress refused", "request_id", c.reqID, "api", c.ex.API, "err", err)
		c.fail(&failure{status: http.StatusBadGateway, source: "backend", reason: err.Error()})
	case errors.Is(err, context.DeadlineExceeded):
		c.g.log.Warn("backend timeout", "request_id", c.reqID, "api", c.ex.API, "err", err)
		c.fail(&failure{status: http.StatusGatewayTimeout, source: "backend", reason: err.Error()})
	default:
		c.g.log.Warn("backend error", "request_id", c.reqID, "api", c.ex.API, "err", err)
		c.fail(&failure{status: http.StatusBadGateway, source: "backend", reason: err.Error()})
	}
}

// removeConnectionHeaders drops headers a client names in Connection before
// any policy runs, so a client cannot make the proxy strip headers that
// policies set (the Director hop-by-hop pitfall).
func removeConnectionHeaders(h http.Header) {
	cs, ok := h["Connection"]
	if !ok {
		return
	}
	for _, f := range cs {
		for _, sf := range strings.Split(f, ",") {
			if sf = strings.TrimSpace(sf); sf != "" {
				h.Del(sf)
			}
		}
	}
	delete(h, "Connection")
}
