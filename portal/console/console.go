// Package console is the server side of the developer portal's interactive
// console: the relay behind POST /console/api/send.
//
// A signed-in developer picks one of their own subscriptions and an
// operation; the relay checks that the subscription is theirs, active and
// covers the operation's API, builds the gateway URL from the operation's
// template (BuildURL), injects the subscription key itself, sends the call
// to the gateway (and only there: its transport dials the gateway's
// address whatever URL it is handed, and follows no redirects), and answers
// with the response, bounded, plus code samples with the key elided. With
// "trace": true and a Tracer wired, the call carries a single-use trace
// token and the answer carries the gateway's trace of every policy stage.
//
// The package reads the catalog and never imports the gateway (host/):
// cmd/gatehouse wires the gateway's tracer in through the Tracer interface.
package console

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/catalog"
)

// TraceHeader carries the trace token from the relay to the gateway. The
// gateway reads it before it strips every X-Gatehouse-* header from the
// request (so no backend sees it); the relay drops it from what a developer
// sends. host/gateway.TraceHeader has the same value (checked by a test in
// cmd/gatehouse, which imports both).
const TraceHeader = "X-Gatehouse-Console-Trace"

// Store is what the relay reads from the catalog.
type Store interface {
	GetSubscription(ctx context.Context, id string) (catalog.Subscription, error)
	ShowKeys(ctx context.Context, id string) (catalog.Keys, error)
	GetOperation(ctx context.Context, id string) (catalog.Operation, error)
	GetAPI(ctx context.Context, id string) (catalog.API, error)
	ListProductAPIs(ctx context.Context, productID string) ([]catalog.ProductAPI, error)
}

// Tracer mints trace tokens and hands back the traces the gateway recorded
// for them. host/gateway.Tracer implements it; cmd/gatehouse wires it.
type Tracer interface {
	// Mint returns a single-use token allowing one call of subscription
	// subscriptionID to API apiID to be traced, and the id its trace will
	// be kept under.
	Mint(subscriptionID, apiID string) (token, id string, err error)
	// Take returns, and forgets, the trace recorded under id as JSON,
	// waiting for the call to finish recording until ctx ends. ok is false
	// when there is none (the gateway refused the token, or the call was
	// not the token's subscription).
	Take(ctx context.Context, id string) (trace json.RawMessage, ok bool)
}

// Options configure a Console.
type Options struct {
	Store Store
	// GatewayURL is where the relay sends calls, e.g. http://127.0.0.1:8080
	// (scheme and host:port only). It is the only address the relay dials.
	GatewayURL string
	// PublicGatewayURL is the gateway URL shown in code samples (default
	// GatewayURL).
	PublicGatewayURL string
	// Tracer, if set, lets console calls ask for a policy trace.
	Tracer Tracer
	// MaxRequestBody bounds the body a developer sends (1 MiB).
	MaxRequestBody int64
	// MaxResponseBody bounds the response body relayed back (2 MiB); a
	// longer body is cut and flagged "truncated".
	MaxResponseBody int64
	// Timeout bounds one relayed call, response body included (30 s).
	Timeout time.Duration
	// PerMinute is how many calls one developer may relay per minute (60).
	PerMinute int
	// Transport is a template for the relay's transport (TLS settings for
	// an https GatewayURL, pool sizes); nil: a default. Its proxy and dial
	// functions are replaced: the relay dials only the gateway.
	Transport *http.Transport
	Logger    *slog.Logger
	// Now is the clock (time.Now).
	Now func() time.Time
}

// Console is the relay. It is safe for concurrent use.
type Console struct {
	o       Options
	gateway *url.URL
	public  *url.URL
	client  *http.Client
	limit   *rateLimiter
	log     *slog.Logger
}

// New checks o and returns a Console.
func New(o Options) (*Console, error) {
	if o.Store == nil {
		return nil, errors.New("console: Store is required")
	}
	gw, err := parseBase("GatewayURL", o.GatewayURL)
	if err != nil {
		return nil, err
	}
	pub := gw
	if o.PublicGatewayURL != "" {
		if pub, err = parseBase("PublicGatewayURL", o.PublicGatewayURL); err != nil {
			return nil, err
		}
	}
	if o.MaxRequestBody <= 0 {
		o.MaxRequestBody = 1 << 20
	}
	if o.MaxResponseBody <= 0 {
		o.MaxResponseBody = 2 << 20
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.PerMinute <= 0 {
		o.PerMinute = 60
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	c := &Console{o: o, gateway: gw, public: pub, log: o.Logger, limit: newRateLimiter(o.PerMinute, o.Now)}
	c.client = &http.Client{
		Transport: pinnedTransport(o.Transport, gw),
		// A redirect could point anywhere: the developer sees the 3xx.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       o.Timeout,
	}
	return c, nil
}

func parseBase(name, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("console: %s %q must be an absolute http(s) URL without credentials", name, raw)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("console: %s %q must have no path, query or fragment", name, raw)
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host}, nil
}

// pinnedTransport dials the gateway's address for every request, whatever
// host the request names, uses no proxy from the environment and does not
// decompress (the developer sees what the gateway sent).
func pinnedTransport(base *http.Transport, gw *url.URL) *http.Transport {
	var t *http.Transport
	if base != nil {
		t = base.Clone()
	} else {
		t = &http.Transport{MaxIdleConnsPerHost: 16, IdleConnTimeout: 90 * time.Second, TLSHandshakeTimeout: 10 * time.Second}
	}
	addr := gw.Host
	if gw.Port() == "" {
		port := "80"
		if gw.Scheme == "https" {
			port = "443"
		}
		addr = net.JoinHostPort(gw.Hostname(), port)
	}
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	t.Proxy = nil
	t.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
		return d.DialContext(ctx, "tcp", addr)
	}
	t.DialTLSContext = nil
	t.DisableCompression = true
	return t
}

// Request is the JSON body of POST /console/api/send.
type Request struct {
	SubscriptionID string            `json:"subscriptionId"`
	OperationID    string            `json:"operationId"`
	PathParams     map[string]string `json:"pathParams"`
	Query          map[string]multi  `json:"query"`
	Headers        map[string]multi  `json:"headers"`
	Body           string            `json:"body"`
	Trace          bool              `json:"trace"`
}

// multi is a JSON string or array of strings.
type multi []string

func (m *multi) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*m = multi{s}
		return nil
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return errors.New("a query or header value must be a string or an array of strings")
	}
	*m = l
	return nil
}

// Response is the 200 answer of POST /console/api/send.
type Response struct {
	Status       int                 `json:"status"`
	Headers      map[string][]string `json:"headers"`
	Body         string              `json:"body"`
	BodyEncoding string              `json:"bodyEncoding"` // "utf-8" or "base64"
	SizeBytes    int                 `json:"sizeBytes"`
	Truncated    bool                `json:"truncated,omitempty"`
	TimeMS       float64             `json:"timeMs"`
	Trace        json.RawMessage     `json:"trace"`
	// TraceNote says why a requested trace is null.
	TraceNote string `json:"traceNote,omitempty"`
	// DroppedHeaders lists the request headers the relay did not send
	// (hop-by-hop, Host, the key header, gateway-internal ones).
	DroppedHeaders []string `json:"droppedHeaders,omitempty"`
	Samples        Samples  `json:"samples"`
}

// Handler returns the console API. user reports the signed-in developer
// (portal-core's session; its CSRF check runs before this handler).
func (c *Console) Handler(user func(*http.Request) (userID string, ok bool)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if p != "send" && !strings.HasSuffix(p, "/send") {
			writeErr(w, http.StatusNotFound, "no such console API; use POST /console/api/send")
			return
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeErr(w, http.StatusMethodNotAllowed, "use POST")
			return
		}
		uid, ok := user(r)
		if !ok || uid == "" {
			writeErr(w, http.StatusUnauthorized, "sign in to use the console")
			return
		}
		if wait, ok := c.limit.allow(uid); !ok {
			secs := int(wait/time.Second) + 1
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			writeErr(w, http.StatusTooManyRequests, fmt.Sprintf("console rate limit: %d calls a minute per developer; try again in %d s", c.o.PerMinute, secs))
			return
		}
		var req Request
		// JSON escaping can grow a body up to 6×; the body's own bound is
		// checked after decoding.
		r.Body = http.MaxBytesReader(w, r.Body, 6*c.o.MaxRequestBody+64<<10)
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				writeErr(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body is over the console's limit of %d bytes", c.o.MaxRequestBody))
				return
			}
			writeErr(w, http.StatusBadRequest, "the request is not valid JSON: "+err.Error())
			return
		}
		resp, status, err := c.Send(r.Context(), uid, &req)
		if err != nil {
			writeErr(w, status, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, resp)
	})
}

// httpError is an error with the status the handler answers.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func fail(status int, format string, a ...any) error {
	return &httpError{status, fmt.Sprintf(format, a...)}
}

// Send relays one console call of user uid. On error it returns the HTTP
// status to answer with.
func (c *Console) Send(ctx context.Context, uid string, req *Request) (*Response, int, error) {
	resp, err := c.send(ctx, uid, req)
	if err != nil {
		var he *httpError
		switch {
		case errors.As(err, &he):
			return nil, he.status, he
		case errors.Is(err, ErrBadInput):
			return nil, http.StatusBadRequest, err
		}
		c.log.Error("console relay", "user", uid, "err", err)
		return nil, http.StatusInternalServerError, errors.New("the console could not relay the call")
	}
	return resp, 0, nil
}

func (c *Console) send(ctx context.Context, uid string, req *Request) (*Response, error) {
	if int64(len(req.Body)) > c.o.MaxRequestBody {
		return nil, fail(http.StatusRequestEntityTooLarge, "the request body is %d bytes, over the console's limit of %d", len(req.Body), c.o.MaxRequestBody)
	}
	if req.SubscriptionID == "" || req.OperationID == "" {
		return nil, badInput("subscriptionId and operationId are required")
	}
	// Every lookup by owner: another developer's subscription is "not
	// found", exactly like one that does not exist.
	sub, err := c.o.Store.GetSubscription(ctx, req.SubscriptionID)
	if errors.Is(err, catalog.ErrNotFound) || (err == nil && sub.UserID != uid) {
		return nil, fail(http.StatusNotFound, "subscription %q not found", req.SubscriptionID)
	}
	if err != nil {
		return nil, err
	}
	op, err := c.o.Store.GetOperation(ctx, req.OperationID)
	if errors.Is(err, catalog.ErrNotFound) {
		return nil, fail(http.StatusNotFound, "operation %q not found", req.OperationID)
	}
	if err != nil {
		return nil, err
	}
	api, err := c.o.Store.GetAPI(ctx, op.APIID)
	if errors.Is(err, catalog.ErrNotFound) {
		return nil, fail(http.StatusNotFound, "operation %q not found", req.OperationID)
	}
	if err != nil {
		return nil, err
	}
	if st := sub.EffectiveState(c.o.Now()); st != catalog.StateActive {
		return nil, fail(http.StatusForbidden, "subscription %q is %s, not active", sub.ID, st)
	}
	covers, err := catalog.SubscriptionCovers(ctx, &sub, api.ID, c.o.Store)
	if err != nil {
		return nil, err
	}
	if !covers {
		return nil, fail(http.StatusForbidden, "subscription %q does not cover the API of operation %q", sub.ID, req.OperationID)
	}

	query := make(map[string][]string, len(req.Query))
	for k, v := range req.Query {
		query[k] = v
	}
	u, err := BuildURL(c.gateway, api.PathPrefix, op.URLTemplate, req.PathParams, query, api.KeyQuery, catalog.DefaultKeyQuery)
	if err != nil {
		return nil, err
	}
	hdr, dropped, err := clientHeaders(req.Headers, api.KeyHeader)
	if err != nil {
		return nil, err
	}
	keys, err := c.o.Store.ShowKeys(ctx, sub.ID)
	if err != nil {
		return nil, err
	}
	keyHeader := api.KeyHeader
	if keyHeader == "" {
		keyHeader = catalog.DefaultKeyHeader
	}
	out := &Response{DroppedHeaders: dropped}
	out.Samples = MakeSamples(op.Method, c.public.String()+u.RequestURI(), hdr, keyHeader, req.Body)

	traceID := ""
	if req.Trace {
		switch {
		case c.o.Tracer == nil:
			out.TraceNote = "tracing is not available on this server"
		case api.ConsoleTraceDisabled:
			out.TraceNote = "the administrator switched tracing off for this API"
		default:
			tok, id, err := c.o.Tracer.Mint(sub.ID, api.ID)
			if err != nil {
				return nil, err
			}
			hdr.Set(TraceHeader, tok)
			traceID = id
		}
	}
	hdr.Set(keyHeader, keys.Primary)

	ctx, cancel := context.WithTimeout(ctx, c.o.Timeout)
	defer cancel()
	var body io.Reader
	if req.Body != "" {
		body = strings.NewReader(req.Body)
	}
	hr, err := http.NewRequestWithContext(ctx, op.Method, u.String(), body)
	if err != nil {
		return nil, badInput("cannot build the request: %v", err)
	}
	hr.Header = hdr
	start := time.Now()
	res, err := c.client.Do(hr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fail(http.StatusGatewayTimeout, "the gateway did not answer within %s", c.o.Timeout)
		}
		c.log.Warn("console relay: gateway unreachable", "err", err)
		return nil, fail(http.StatusBadGateway, "the gateway could not be reached")
	}
	b, err := io.ReadAll(io.LimitReader(res.Body, c.o.MaxResponseBody+1))
	res.Body.Close()
	if err != nil && ctx.Err() != nil {
		return nil, fail(http.StatusGatewayTimeout, "the gateway's response did not finish within %s", c.o.Timeout)
	}
	out.TimeMS = float64(time.Since(start).Microseconds()) / 1000
	if int64(len(b)) > c.o.MaxResponseBody {
		b, out.Truncated = b[:c.o.MaxResponseBody], true
	}
	out.Status = res.StatusCode
	out.Headers = responseHeaders(res.Header)
	out.SizeBytes = len(b)
	if utf8.Valid(b) {
		out.Body, out.BodyEncoding = string(b), "utf-8"
	} else {
		out.Body, out.BodyEncoding = base64.StdEncoding.EncodeToString(b), "base64"
	}
	if traceID != "" {
		tctx, tcancel := context.WithTimeout(context.Background(), 2*time.Second)
		tr, ok := c.o.Tracer.Take(tctx, traceID)
		tcancel()
		if ok {
			out.Trace = tr
		} else {
			out.TraceNote = "the gateway recorded no trace for this call"
		}
	}
	return out, nil
}

// hop-by-hop headers (RFC 9110 7.6.1) and others the relay sets itself.
var dropHeaders = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Proxy-Authenticate": true,
	"Proxy-Authorization": true, "Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
	"Host": true, "Content-Length": true, "Forwarded": true, "X-Real-Ip": true, "X-Client-Ip": true,
}

// clientHeaders validates the developer's headers and returns what the
// relay sends: hop-by-hop headers, Host, Content-Length, the subscription
// key header (the relay injects the key), forwarding and X-Gatehouse-*
// headers (the trace token among them) are dropped and listed. A name that
// is not an HTTP token or a value with a control character (CR, LF, NUL…)
// is refused.
func clientHeaders(in map[string]multi, keyHeader string) (http.Header, []string, error) {
	h := make(http.Header, len(in)+2)
	var dropped []string
	for name, vs := range in {
		if !validHeaderName(name) {
			return nil, nil, badInput("header name %q is not a valid HTTP header name", name)
		}
		for _, v := range vs {
			if !validHeaderValue(v) {
				return nil, nil, badInput("header %q: the value contains a control character (CR, LF, NUL…)", name)
			}
		}
		ck := http.CanonicalHeaderKey(strings.ReplaceAll(name, "_", "-"))
		lk := strings.ToLower(ck)
		if dropHeaders[ck] || strings.HasPrefix(lk, "x-gatehouse-") || strings.HasPrefix(lk, "x-forwarded-") ||
			strings.EqualFold(ck, keyHeader) || strings.EqualFold(ck, catalog.DefaultKeyHeader) {
			dropped = append(dropped, name)
			continue
		}
		h[http.CanonicalHeaderKey(name)] = append(h[http.CanonicalHeaderKey(name)], vs...)
	}
	sortStrings(dropped)
	return h, dropped, nil
}

func validHeaderName(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func validHeaderValue(s string) bool {
	if len(s) > 8<<10 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// responseHeaders copies the gateway's response headers without hop-by-hop
// ones and the trace header.
func responseHeaders(h http.Header) map[string][]string {
	out := make(map[string][]string, len(h))
	for k, v := range h {
		if dropHeaders[k] && k != "Content-Length" || strings.EqualFold(k, TraceHeader) {
			continue
		}
		out[k] = v
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"the console could not encode its answer"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(b)
}

func writeErr(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
