package gateway

import (
	"bufio"
	"encoding/hex"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Observer receives one record per call the gateway served, after the
// response was written. Observe runs on the request's goroutine: it must
// not block. r is reused after Observe returns: copy what you keep.
type Observer interface {
	Observe(r *CallRecord)
}

// CallRecord describes one served call. Strings are the gateway's own
// (never credentials): the query has sensitive parameters replaced by
// "***", and no header (Authorization, cookies, keys) is recorded.
type CallRecord struct {
	Time                          time.Time // when the request arrived
	RequestID, API, Operation     string
	Product, Subscription, User   string // from the subscription check, when one ran
	ClientIP, Method, Path, Query string
	Status, BackendStatus         int // BackendStatus 0: the backend was not called (or did not answer)
	Total, Backend, Policies      time.Duration
	BytesIn, BytesOut             int64
	CacheHit                      bool
	PolicyError                   string // "source: reason" of a failure that went to on-error
	// With TraceContext: the W3C trace id, the traceparent sent to the
	// backend, and whether the gateway started the trace (no valid
	// incoming traceparent).
	TraceID, TraceParent string
	TraceStarted         bool
	// CacheStatus is what the response cache did (abi.CacheStatus*; ""
	// when no cache policy ran). CacheHit (above) is true when the
	// response came from the cache (hit, stale or revalidated) as the host
	// knows it from the cache calls, never from an X-Cache header.
	CacheStatus string
	// GRPC marks a gRPC call (content-type application/grpc); GRPCStatus
	// is then its final grpc-status (0-16, -1 when the response carried
	// none), for answers the gateway made as converted by the edge.
	GRPC       bool
	GRPCStatus int
}

// Metrics lets a metrics system pre-resolve its per-route and per-stage
// instruments once per snapshot, so that the request path observes into
// them without label lookups. Route is also called with ("", "") once for
// calls that match no route.
type Metrics interface {
	Route(api, operation string) RouteMetrics
	Stage(label string) StageMetrics
}

// RouteMetrics observes one finished call of a route.
type RouteMetrics interface {
	ObserveCall(status int, total time.Duration)
}

// StageMetrics observes one engine call of a stage (label module/policy).
type StageMetrics interface {
	ObserveStage(d time.Duration, failed bool)
}

// DefaultSensitiveQueryParams are redacted from recorded queries whatever
// the configuration (case-insensitive).
var DefaultSensitiveQueryParams = []string{"subscription-key", "access_token", "api_key", "apikey", "key", "token", "sig", "signature", "password"}

// sensitiveParams returns the lower-cased query parameter names an API's
// recorded queries redact: the defaults, the gateway's options and the
// API's own list (the query names its key checks read are learned from
// subscription_check, keyquery.go).
func (g *Gateway) sensitiveParams(a *API) []string {
	out := make([]string, 0, len(DefaultSensitiveQueryParams)+len(g.opts.SensitiveQueryParams)+len(a.SensitiveQuery))
	add := func(s string) {
		s = strings.ToLower(strings.TrimSpace(s))
		if s == "" {
			return
		}
		for _, have := range out {
			if have == s {
				return
			}
		}
		out = append(out, s)
	}
	for _, s := range DefaultSensitiveQueryParams {
		add(s)
	}
	for _, s := range g.opts.SensitiveQueryParams {
		add(s)
	}
	for _, s := range a.SensitiveQuery {
		add(s)
	}
	return out
}

// RedactQuery returns raw with the values of the named parameters
// (lower-case names, compared case-insensitively) replaced by "***". It
// allocates only when something is redacted.
func RedactQuery(raw string, names []string) string {
	if raw == "" || len(names) == 0 {
		return raw
	}
	if !querySensitive(raw, names) {
		return raw
	}
	var b strings.Builder
	b.Grow(len(raw))
	rest := raw
	first := true
	for rest != "" {
		var part string
		part, rest, _ = strings.Cut(rest, "&")
		if !first {
			b.WriteByte('&')
		}
		first = false
		k, _, _ := strings.Cut(part, "=")
		if paramSensitive(k, names) {
			b.WriteString(k)
			b.WriteString("=***")
			continue
		}
		b.WriteString(part)
	}
	return b.String()
}

func querySensitive(raw string, names []string) bool {
	rest := raw
	for rest != "" {
		var part string
		part, rest, _ = strings.Cut(rest, "&")
		k, _, _ := strings.Cut(part, "=")
		if paramSensitive(k, names) {
			return true
		}
	}
	return false
}

func paramSensitive(k string, names []string) bool {
	if k == "" {
		return false
	}
	if strings.ContainsAny(k, "%+") {
		if u, err := url.QueryUnescape(k); err == nil {
			k = u
		}
	}
	for _, n := range names {
		if strings.EqualFold(k, n) {
			return true
		}
	}
	return false
}

// recWriter wraps the client's ResponseWriter to see the status and the
// bytes written (only when an Observer or Metrics is set). It is part of the
// pooled call, so wrapping costs no allocation.
type recWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
	ws     *wsSession // set when the backend accepted a WebSocket upgrade
}

func (w *recWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController (used by ReverseProxy to flush and
// hijack) reach the server's writer.
func (w *recWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush keeps streaming responses streaming for callers that type-assert.
func (w *recWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack supports protocol upgrades through the wrapper.
func (w *recWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.status = http.StatusSwitchingProtocols
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil && w.ws != nil {
		conn, brw = w.ws.hijacked(conn, brw)
	}
	return conn, brw, err
}

// traceparent handling (W3C Trace Context, version 00).

// parseTraceparent validates a traceparent value and returns its trace id.
func parseTraceparent(v string) (traceID string, ok bool) {
	// 00-<32 hex>-<16 hex>-<2 hex>
	if len(v) < 55 || v[2] != '-' || v[35] != '-' || v[52] != '-' {
		return "", false
	}
	if v[0:2] == "ff" || (v[0:2] == "00" && len(v) != 55) {
		return "", false
	}
	if !isLowerHex(v[0:2]) || !isLowerHex(v[3:35]) || !isLowerHex(v[36:52]) || !isLowerHex(v[53:55]) {
		return "", false
	}
	if v[3:35] == "00000000000000000000000000000000" || v[36:52] == "0000000000000000" {
		return "", false
	}
	return v[3:35], true
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// newTraceparent returns a fresh sampled traceparent and its trace id.
func newTraceparent() (header, traceID string) {
	var b [55]byte
	copy(b[:], "00-")
	var id [24]byte
	for i := 0; i < 3; i++ {
		u := rand.Uint64()
		for j := 0; j < 8; j++ {
			id[i*8+j] = byte(u >> (8 * j))
		}
	}
	if id[0]|id[1]|id[2]|id[3]|id[4]|id[5]|id[6]|id[7] == 0 {
		id[0] = 1
	}
	if id[16]|id[17]|id[18]|id[19]|id[20]|id[21]|id[22]|id[23] == 0 {
		id[16] = 1
	}
	hex.Encode(b[3:35], id[:16])
	b[35] = '-'
	hex.Encode(b[36:52], id[16:])
	copy(b[52:], "-01")
	s := string(b[:])
	return s, s[3:35]
}
