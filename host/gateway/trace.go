package gateway

// The developer portal console's policy trace (docs/console.md).
//
// A console call may carry a trace token in TraceHeader. The token is
// minted by the Tracer (for the portal's relay, wired by cmd/gatehouse) and
// is an HMAC-SHA256 over {subscription id, API id, expiry, nonce} with a key
// that only this process holds. The gateway reads the header before it
// strips every X-Gatehouse-* header (so no backend sees it), and records a
// trace only when the signature is good, the token has not expired (it
// lives at most TraceTokenTTL), its nonce was never used before, the call
// routes to the token's API, tracing is not switched off for that API, and
// the subscription the chain identified is the token's. The trace is kept
// in memory under the nonce until the relay takes it (Tracer.Take); it is
// never written to the response, so no caller other than the relay that
// minted the token can see it.
//
// A request without the header costs one nil check (no Tracer) or one map
// lookup (a Tracer set); every other hook checks a nil pointer.

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/host/engine"
)

// TraceHeader carries a console trace token (portal/console.TraceHeader).
const TraceHeader = "X-Gatehouse-Console-Trace"

// TraceTokenTTL is how long a trace token is valid.
const TraceTokenTTL = 60 * time.Second

// Bounds of one trace and of the tracer's memory.
const (
	maxTraceStages   = 256
	maxTraceValue    = 1024 // bytes of one recorded header or variable value
	maxTraceChanges  = 64   // header or variable changes recorded per stage
	maxPendingTraces = 1024 // traces recorded and not yet taken
)

// Tracer mints console trace tokens and keeps the traces recorded for them
// until the relay takes them. It is safe for concurrent use.
type Tracer struct {
	key []byte
	now func() time.Time

	mu      sync.Mutex
	used    map[string]time.Time // nonce → expiry: single use
	pending map[string]*traceSlot
	sweep   time.Time
}

type traceSlot struct {
	done  chan struct{}
	trace []byte // nil: no trace for this call
	exp   time.Time
}

// NewTracer returns a Tracer signing with key (at least 32 bytes; a random
// key made at process start: tokens are short-lived and in-process).
func NewTracer(key []byte) (*Tracer, error) {
	if len(key) < 32 {
		return nil, errors.New("gateway: the trace key must be at least 32 bytes")
	}
	return &Tracer{key: append([]byte(nil), key...), now: time.Now, used: map[string]time.Time{}, pending: map[string]*traceSlot{}}, nil
}

// SetClock replaces the tracer's clock (tests; not safe while calls run).
func (t *Tracer) SetClock(now func() time.Time) { t.now = now }

type tokenClaims struct {
	Sub   string `json:"s"`
	API   string `json:"a"`
	Exp   int64  `json:"e"` // unix milliseconds
	Nonce string `json:"n"`
}

// Mint returns a token allowing one traced call of subscription
// subscriptionID to API apiID within TraceTokenTTL, and the id the trace
// will be kept under (the token's nonce).
func (t *Tracer) Mint(subscriptionID, apiID string) (token, id string, err error) {
	var n [16]byte
	if _, err := rand.Read(n[:]); err != nil {
		return "", "", err
	}
	c := tokenClaims{Sub: subscriptionID, API: apiID, Exp: t.now().Add(TraceTokenTTL).UnixMilli(), Nonce: hex.EncodeToString(n[:])}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", "", err
	}
	p := base64.RawURLEncoding.EncodeToString(payload)
	return p + "." + base64.RawURLEncoding.EncodeToString(t.sign(p)), c.Nonce, nil
}

func (t *Tracer) sign(p string) []byte {
	m := hmac.New(sha256.New, t.key)
	m.Write([]byte("gatehouse-console-trace-v1\n"))
	m.Write([]byte(p))
	return m.Sum(nil)
}

// verify checks a token's signature, expiry and nonce (consuming it).
func (t *Tracer) verify(token string) (tokenClaims, bool) {
	var c tokenClaims
	if len(token) > 1024 {
		return c, false
	}
	p, sig, ok := strings.Cut(token, ".")
	if !ok {
		return c, false
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, t.sign(p)) {
		return c, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil || json.Unmarshal(payload, &c) != nil || c.Nonce == "" {
		return c, false
	}
	now := t.now()
	exp := time.UnixMilli(c.Exp)
	if !now.Before(exp) || exp.Sub(now) > TraceTokenTTL+time.Second {
		return c, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sweepLocked(now)
	if _, seen := t.used[c.Nonce]; seen {
		return c, false
	}
	t.used[c.Nonce] = exp
	return c, true
}

// sweepLocked drops used nonces past their expiry (they can no longer
// verify) and traces nobody took.
func (t *Tracer) sweepLocked(now time.Time) {
	if now.Sub(t.sweep) < time.Second {
		return
	}
	t.sweep = now
	for n, exp := range t.used {
		if now.After(exp) {
			delete(t.used, n)
		}
	}
	for id, s := range t.pending {
		if now.After(s.exp) {
			delete(t.pending, id)
		}
	}
}

// open makes the slot a call's trace goes to; false when too many traces
// are pending.
func (t *Tracer) open(id string) (*traceSlot, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.pending) >= maxPendingTraces {
		return nil, false
	}
	s := &traceSlot{done: make(chan struct{}), exp: t.now().Add(2 * TraceTokenTTL)}
	t.pending[id] = s
	return s, true
}

// Take returns, and forgets, the trace recorded under id, waiting until the
// call has finished recording or ctx ends. ok is false when the gateway
// recorded none (a refused token, another subscription's call, tracing off
// for the API, or an id it never saw).
func (t *Tracer) Take(ctx context.Context, id string) (json.RawMessage, bool) {
	t.mu.Lock()
	s := t.pending[id]
	t.mu.Unlock()
	if s == nil {
		return nil, false
	}
	select {
	case <-s.done:
	case <-ctx.Done():
		return nil, false
	}
	t.mu.Lock()
	delete(t.pending, id)
	t.mu.Unlock()
	if s.trace == nil {
		return nil, false
	}
	return s.trace, true
}

// Trace is what a console call's trace shows (JSON).
type Trace struct {
	RequestID    string        `json:"requestId"`
	API          string        `json:"api"`
	Operation    string        `json:"operation,omitempty"`
	Subscription string        `json:"subscription"`
	Status       int           `json:"status"`
	TotalMS      float64       `json:"totalMs"`
	Stages       []TraceStage  `json:"stages"`
	Backend      *TraceBackend `json:"backend"`
	// Failure is why the call went to on-error, if it did.
	Failure   string `json:"failure,omitempty"`
	Truncated bool   `json:"truncated,omitempty"`
}

// TraceStage is one engine call: one or more consecutive policies of one
// module run as one plan.
type TraceStage struct {
	Section  string        `json:"section"` // inbound, backend, outbound, on-error
	Phase    string        `json:"phase"`   // request, response, error
	Policies []TracePolicy `json:"policies"`
	Decision string        `json:"decision"` // continue, answered, ended, failed, skipped
	Reason   string        `json:"reason,omitempty"`
	Status   int           `json:"status,omitempty"` // the answer's status when answered
	TimeMS   float64       `json:"timeMs"`
	Headers  []TraceChange `json:"headers,omitempty"`
	Vars     []TraceChange `json:"variables,omitempty"`
	Body     string        `json:"body,omitempty"` // "replaced" when a policy set the body
}

// TracePolicy is one policy of a stage.
type TracePolicy struct {
	Scope   string `json:"scope"` // global, product, api, operation
	Module  string `json:"module"`
	Version string `json:"version"`
	Policy  string `json:"policy"`
}

// TraceChange is a header or variable a stage set or removed; secret
// values are redacted.
type TraceChange struct {
	Name   string `json:"name"`
	Action string `json:"action"` // set, removed
	Value  string `json:"value,omitempty"`
}

// TraceBackend is the backend call: the path sent (never the backend's
// host), its status and time.
type TraceBackend struct {
	URLPath string  `json:"urlPath"`
	Status  int     `json:"status,omitempty"`
	TimeMS  float64 `json:"timeMs"`
	Error   string  `json:"error,omitempty"`
}

// consoleTrace is a call's trace being recorded.
type consoleTrace struct {
	t       *Tracer
	slot    *traceSlot
	sub     string
	start   time.Time
	be      time.Time
	secrets []string // values never shown
	hdrKeys []string // the subscription key header names
	tr      Trace
	// before is the state a stage starts from.
	hdr  http.Header
	vars map[string]string
	body bool
}

// beginTrace checks a call's token against its route; nil means no trace.
func (c *call) beginTrace(token string) *consoleTrace {
	t := c.g.opts.Tracer
	claims, ok := t.verify(token)
	if !ok || c.rt == nil || c.rt.api.cfg.Name != claims.API || c.rt.api.cfg.ConsoleTraceDisabled {
		return nil
	}
	slot, ok := t.open(claims.Nonce)
	if !ok {
		return nil
	}
	ct := &consoleTrace{t: t, slot: slot, sub: claims.Sub, start: time.Now()}
	ct.tr = Trace{RequestID: c.reqID, API: claims.API, Operation: c.rt.opID, Subscription: claims.Sub, Stages: []TraceStage{}}
	// Values never shown: those of credential headers and of the key
	// header(s) the API's subscription checks read, and of sensitive
	// query parameters.
	keyHeaders := subscriptionKeyHeaders(c.rt.api.cfg)
	for name, vs := range c.r.Header {
		if sensitiveHeader(name, keyHeaders) {
			for _, v := range vs {
				if len(v) >= 4 {
					ct.secrets = append(ct.secrets, v)
				}
			}
		}
	}
	for _, kv := range strings.Split(c.r.URL.RawQuery, "&") {
		k, v, _ := strings.Cut(kv, "=")
		for _, s := range c.rt.api.sensitive {
			if strings.EqualFold(k, s) && len(v) >= 4 {
				ct.secrets = append(ct.secrets, v)
			}
		}
	}
	// Values of secret named values that policies were configured with
	// (a set-header carrying {{backend-token}}, say) are never shown either.
	for _, s := range c.rt.api.secrets {
		if len(s) >= 4 {
			ct.secrets = append(ct.secrets, s)
		}
	}
	ct.hdrKeys = keyHeaders
	return ct
}

// subscriptionKeyHeaders returns the header names the API's subscription
// checks read (their "header" config), plus the default key header.
func subscriptionKeyHeaders(a *API) []string {
	out := []string{"Ocp-Apim-Subscription-Key"}
	add := func(steps []Step) {
		for _, st := range steps {
			if st.Policy != "subscription-key" || len(st.Config) == 0 {
				continue
			}
			var cfg struct {
				Header string `json:"header"`
			}
			if json.Unmarshal(st.Config, &cfg) == nil && cfg.Header != "" {
				out = append(out, cfg.Header)
			}
		}
	}
	add(a.Policies.Inbound)
	for _, o := range a.Operations {
		add(o.Policies.Inbound)
	}
	return out
}

var sensitiveWords = []string{"authorization", "cookie", "key", "token", "secret", "password", "signature", "credential"}

func sensitiveHeader(name string, keyHeaders []string) bool {
	for _, k := range keyHeaders {
		if strings.EqualFold(name, k) {
			return true
		}
	}
	l := strings.ToLower(name)
	for _, w := range sensitiveWords {
		if strings.Contains(l, w) {
			return true
		}
	}
	return false
}

// redact hides a value: whole for a sensitive name, else every secret in it.
func (ct *consoleTrace) redact(name, v string) string {
	if sensitiveHeader(name, ct.hdrKeys) {
		return "***"
	}
	for _, s := range ct.secrets {
		v = strings.ReplaceAll(v, s, "***")
	}
	if len(v) > maxTraceValue {
		v = v[:maxTraceValue] + "…"
	}
	return v
}

// before records the state a stage starts from.
func (ct *consoleTrace) before(ex *engine.Exchange, phase engine.Phase) {
	h := ex.ReqHeader
	body := ex.ReqBody.Replaced()
	if phase != engine.PhaseRequest {
		h, body = ex.RespHeader, ex.RespBody.Replaced()
	}
	ct.hdr = h.Clone()
	ct.vars = maps.Clone(ex.Vars())
	ct.body = body
}

// after records a stage that ran.
func (ct *consoleTrace) after(sec int, st *stage, ex *engine.Exchange, phase engine.Phase, res int32, err error, d time.Duration) {
	if len(ct.tr.Stages) >= maxTraceStages {
		ct.tr.Truncated = true
		return
	}
	ts := TraceStage{Section: sectionNames[sec], Phase: phase.String(), Policies: st.trace, TimeMS: ms(d)}
	switch {
	case err != nil:
		ts.Decision, ts.Reason = "failed", err.Error()
		switch st.failMode {
		case "open":
			ts.Reason += " (fail mode open: skipped)"
		case "fallback":
			ts.Reason += " (fail mode fallback: answered with the fallback)"
		}
	case res == abi.ActionStop && phase == engine.PhaseRequest && ex.Answered:
		ts.Decision, ts.Status = "answered", ex.Status
	case res == abi.ActionStop && phase == engine.PhaseRequest:
		ts.Decision, ts.Reason = "failed", "policy stopped the request without an answer"
	case res == abi.ActionStop:
		ts.Decision, ts.Status = "answered", ex.Status
	default:
		ts.Decision = "continue"
	}
	h := ex.ReqHeader
	body := ex.ReqBody.Replaced()
	if phase != engine.PhaseRequest {
		h, body = ex.RespHeader, ex.RespBody.Replaced()
	}
	ts.Headers = ct.headerChanges(ct.hdr, h)
	ts.Vars = ct.varChanges(ct.vars, ex.Vars())
	if body && !ct.body {
		ts.Body = "replaced"
	}
	ct.tr.Stages = append(ct.tr.Stages, ts)
}

func (ct *consoleTrace) skipped(sec int, st *stage, phase engine.Phase) {
	if len(ct.tr.Stages) >= maxTraceStages {
		ct.tr.Truncated = true
		return
	}
	ct.tr.Stages = append(ct.tr.Stages, TraceStage{Section: sectionNames[sec], Phase: phase.String(), Policies: st.trace,
		Decision: "skipped", Reason: "not for this call's product"})
}

func (ct *consoleTrace) headerChanges(old, cur http.Header) []TraceChange {
	var out []TraceChange
	for k, vs := range cur {
		if ov, ok := old[k]; ok && equalStrings(ov, vs) {
			continue
		}
		out = append(out, TraceChange{Name: k, Action: "set", Value: ct.redact(k, strings.Join(vs, ", "))})
	}
	for k := range old {
		if _, ok := cur[k]; !ok {
			out = append(out, TraceChange{Name: k, Action: "removed"})
		}
	}
	return sortChanges(out)
}

func (ct *consoleTrace) varChanges(old, cur map[string]string) []TraceChange {
	var out []TraceChange
	for k, v := range cur {
		if ov, ok := old[k]; ok && ov == v {
			continue
		}
		out = append(out, TraceChange{Name: k, Action: "set", Value: ct.redact(k, v)})
	}
	for k := range old {
		if _, ok := cur[k]; !ok {
			out = append(out, TraceChange{Name: k, Action: "removed"})
		}
	}
	return sortChanges(out)
}

func sortChanges(c []TraceChange) []TraceChange {
	sort.Slice(c, func(i, j int) bool { return c[i].Name < c[j].Name })
	if len(c) > maxTraceChanges {
		c = append(c[:maxTraceChanges], TraceChange{Name: "…", Action: "truncated"})
	}
	return c
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// backendStart records the backend call's path.
func (ct *consoleTrace) backendStart(path string) {
	ct.be = time.Now()
	ct.tr.Backend = &TraceBackend{URLPath: path}
}

// backendDone records the backend's status (0 with reason on failure).
func (ct *consoleTrace) backendDone(status int, reason string) {
	if ct.tr.Backend == nil {
		return
	}
	ct.tr.Backend.TimeMS = ms(time.Since(ct.be))
	ct.tr.Backend.Status = status
	ct.tr.Backend.Error = reason
}

// finish publishes the trace when the call was the token's subscription's,
// and wakes the relay either way.
func (c *call) finishTrace() {
	ct := c.ctr
	c.ctr = nil
	defer close(ct.slot.done)
	if s := c.ex.Subscription; s == nil || s.ID != ct.sub {
		return
	}
	ct.tr.TotalMS = ms(time.Since(ct.start))
	b, err := json.Marshal(&ct.tr)
	if err != nil {
		return
	}
	ct.slot.trace = b
}

// scoped returns a copy of steps tagged with the scope they were attached
// at (a step with a product condition is a product policy merged into the
// API's section by the catalog source). nil stays nil: MergeSection tells
// an absent section from an empty one.
func scoped(steps []Step, scope string) []Step {
	if steps == nil {
		return nil
	}
	out := make([]Step, len(steps))
	for i, st := range steps {
		st.scope = scope
		if len(st.Products) > 0 {
			st.scope = "product"
		}
		out[i] = st
	}
	return out
}

func tracePolicy(ref *moduleRef, st Step) TracePolicy {
	p := st.Policy
	if p == "" {
		p = ref.name
	}
	return TracePolicy{Scope: st.scope, Module: ref.name, Version: ref.mod.Version, Policy: p}
}

// failed records why the call went to on-error.
func (ct *consoleTrace) failed(f *failure) {
	if ct.tr.Failure != "" {
		return
	}
	reason := f.reason
	if f.source == "backend" {
		// dial and TLS errors name internal addresses: not for consumers
		reason = http.StatusText(f.status)
	}
	ct.tr.Failure = f.source + ": " + reason
}

// backendFailed records a backend call that got no response.
func (ct *consoleTrace) backendFailed(err error) {
	reason := "no response"
	if errors.Is(err, context.DeadlineExceeded) {
		reason = "timeout"
	}
	ct.backendDone(0, reason)
}
