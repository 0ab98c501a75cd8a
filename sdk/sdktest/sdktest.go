// Package sdktest runs Gatehouse policies written with package sdk in
// process, against an emulated host, so that a policy's tests are plain
// `go test` without WebAssembly or a gateway.
//
// The emulator runs every host function of abi/ABI.md through the gateway's
// own semantics layer (abi/hostcall: phases, header validation, the buffer
// convention with the exact capacity the SDK passes, size caps, budgets),
// over in-memory stores for counters, the value cache, semaphores and fill
// leases. It imports no host package and links no cgo. jwt_verify needs a
// verifier (Host.JWT; the gateway's is host/jwtverify). The SDK code that
// runs is the real one: plan and config caching, buffer growth and retry,
// result flags.
//
//	h := sdktest.New()
//	res := h.Do(sdktest.Request{Method: "GET", Path: "/pets/1"},
//		sdktest.Attach("set-header", `{"name":"X-A","value":"1"}`))
//	if res.Err != nil || res.Upstream.Header.Get("X-A") != "1" { … }
//
// Policies are looked up by name in the sdk registry, as in a module: register
// them (sdk.Register) in the test package's init. One Host is one gateway
// node and one guest instance's worth of caches; Do serves one request.
// Guest calls of all Hosts are serialized (an instance serves one call at a
// time), so tests may run in parallel.
package sdktest

import (
	"crypto/rand"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/textproto"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/abi/hostcall"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/internal/imports"
)

// Default limits, as in the gateway.
const (
	DefaultBodyLimit   = 1 << 20
	DefaultOutputLimit = 1 << 20
)

// Subscription is a catalog entry for subscription_lookup. The host sends it
// to the guest as the JSON of sdk.Subscription; APIAllowed stands for "the
// subscription's scope covers the request's API".
type Subscription = sdk.Subscription

// Host is an emulated gateway node. Change its fields before the first Do.
type Host struct {
	// Now is the host clock: the now host function, counter windows, cache
	// TTLs and JWT times. New sets time.Now.
	Now func() time.Time
	// Subscriptions is the catalog, by subscription key. Nil means the host
	// has no catalog (subscription_lookup fails with ErrUnavailable).
	Subscriptions map[string]Subscription
	// Counters and Cache are the host's stores; set one to nil to make the
	// capability unavailable.
	Counters *Counters
	Cache    *Cache
	// JWT verifies tokens for jwt_verify; nil (New's default) makes it
	// unavailable. The gateway's verifier is host/jwtverify (give it Now).
	JWT JWTVerifier
	// Semaphores back concurrency_acquire (ABI v1.1); nil makes it
	// unavailable. The slots a request takes are released when Do returns;
	// HoldConcurrency holds slots across requests, standing for requests in
	// flight elsewhere.
	Semaphores *Semaphores
	// Leases back cache_fill_lease (ABI v1.1; nil, or a nil Cache, makes it
	// unavailable). The leases a request takes end when it stores the key
	// or when Do returns; HoldFillLease holds one as a fill in flight
	// elsewhere would. When a request finds a lease held (with a wait), Do
	// waits for it to end or for the wait (real time), then runs the
	// request phase once more, as the gateway re-runs the stage. Unlike the
	// gateway (which re-runs from cache-lookup on), Do re-runs the whole
	// plan: attach the waiting policy first, as the cache-lookup tests do.
	Leases *Leases
	// Rand is the source of the random host function; New sets crypto/rand.
	Rand io.Reader
	// BodyLimit caps the bodies get_body buffers (ErrTooLarge above it), and
	// OutputLimit the bodies set_body accepts.
	BodyLimit, OutputLimit int

	mu    sync.Mutex
	atts  map[attKey]uint32       // attachment ids by content
	info  map[uint32]attKey       // content by attachment id
	plans map[string]uint32       // plan ids by attachment list
	steps map[uint32][]uint32     // attachment ids by plan id
	skip  map[uint32]map[int]bool // phases a plan said it does not handle
}

type attKey struct{ policy, config string }

// New returns an emulated host with empty stores, an empty subscription
// catalog and the real clock.
func New() *Host {
	h := &Host{
		Now:           time.Now,
		Subscriptions: map[string]Subscription{},
		Counters:      NewCounters(),
		Cache:         NewCache(),
		Semaphores:    NewSemaphores(),
		Leases:        NewLeases(),
		Rand:          rand.Reader,
		BodyLimit:     DefaultBodyLimit,
		OutputLimit:   DefaultOutputLimit,
		atts:          map[attKey]uint32{},
		info:          map[uint32]attKey{},
		plans:         map[string]uint32{},
		steps:         map[uint32][]uint32{},
		skip:          map[uint32]map[int]bool{},
	}
	return h
}

// Request is the client's request, as the gateway's router hands it to the
// policy chain.
type Request struct {
	// Method defaults to GET.
	Method string
	// Path is the canonical path the client requested; it defaults to "/".
	// A "?query" suffix is split off into Query.
	Path string
	// PathPrefix is the API's path prefix. Policies see the path relative
	// to it (Request.Path, the part appended to the backend URL) and the
	// full path as OriginalPath, as in the gateway.
	PathPrefix string
	// Query is the raw query string without '?'.
	Query  string
	Header http.Header
	Body   []byte
	// Params are the path parameters of the matched URL template.
	Params map[string]string
	// API, Operation and RouteTemplate describe the matched route.
	API, Operation, RouteTemplate string
	// ClientIP defaults to 192.0.2.1.
	ClientIP string
	// RequestID defaults to a unique "req-N".
	RequestID string
	// Scheme defaults to "https", Host to "api.example.com".
	Scheme, Host string
	// Vars are variables set before the chain runs.
	Vars map[string]string
	// Backend is the API's backend base URL (default
	// https://backend.example.com) and BackendTimeout its timeout (30s):
	// what the backend fields (ABI v1.1) answer until a policy changes them.
	Backend        string
	BackendTimeout time.Duration
	// EgressAllow is the API's egress allow-list (abi/egress entries) and
	// AllowPrivateBackend the YAML config's allow_private_backend (allow
	// every address): what a backend URL a policy sets must pass, checked
	// by the gateway's own validator. A refusal is logged (Result.Logs,
	// level warn, "egress: …") as the gateway logs it.
	EgressAllow         []string
	AllowPrivateBackend bool
}

// Upstream is the request as the backend would receive it; Path is relative
// to the API's path prefix (appended to the backend URL).
type Upstream struct {
	Method, Path, Query string
	Header              http.Header
	Body                []byte
	// BackendURL is the base URL the request goes to (a policy's or the
	// API's); Timeout the backend call's timeout; Retry the encoded retry
	// spec in force ("" for none); FollowRedirects whether the host follows
	// redirects. (ABI v1.1.)
	BackendURL      string
	Timeout         time.Duration
	Retry           string
	FollowRedirects bool
	// Attempt numbers the backend calls of a request from 1; above 1 they
	// are retries (the emulator does not wait between them, and does not
	// emulate timeouts, transport errors or redirects: a Backend func
	// stands for the backend behind the gateway's transport).
	Attempt int
}

// Response is a backend's response.
type Response struct {
	// Status defaults to 200.
	Status int
	Header http.Header
	Body   []byte
}

// Log is a message a guest logged.
type Log struct {
	Level   sdk.LogLevel
	Message string
}

// PhaseCall is one guest call: "request" or "response" and its raw abi
// result (action | flags, or a negative failure).
type PhaseCall struct {
	Phase  string
	Result int32
}

// Result is what happened to a request.
type Result struct {
	// Answered is true when a policy answered in the request phase, so the
	// backend was skipped.
	Answered bool
	// Status, Header and Body are what the client receives.
	Status int
	Header http.Header
	Body   []byte
	// Upstream is what was forwarded to the backend; nil if it was skipped.
	Upstream *Upstream
	// Vars are the request's variables at the end.
	Vars map[string]string
	// Logs are the messages the guest logged, in order.
	Logs []Log
	// Err is a policy failure (*Failure) or a trap (*Trap). The client then
	// gets the gateway's fail-closed answer (the attachment's default fail
	// mode, no on-error section): 500, or 413 when the failure followed a
	// body over the limit, with the gateway's generic JSON body.
	Err error
	// SubscriptionID and Product are the subscription bound to the request.
	SubscriptionID, Product string
	// Calls are the guest calls made, in order. A phase is not called for a
	// plan once a call of it returned abi.FlagNoHandler (on this Host).
	Calls []PhaseCall
	// Attempts is how many times the backend was called: more than one when
	// a retry spec applied (the host's rules: idempotent methods unless the
	// spec allows others, retryable statuses, at most count retries).
	Attempts int
}

// Failure is a guest call that returned a negative result.
type Failure struct {
	Phase  string
	Result int32
	// Message is the last error the guest logged, usually the reason.
	Message string
}

// Error describes the failure with the guest's last error log.
func (f *Failure) Error() string {
	s := fmt.Sprintf("sdktest: %s phase failed with %d (%s)", f.Phase, f.Result, abi.StatusText(f.Result))
	if f.Message != "" {
		s += ": " + f.Message
	}
	return s
}

// Trap is a guest call that trapped: a Go panic in the policy or the SDK, or
// a misuse of the ABI the real host traps on (a stale ctx). As the host
// discards a trapped instance, the SDK's per-instance caches are reset.
type Trap struct {
	Value any
	Stack []byte
}

// Error describes the trap with the panic value.
func (t *Trap) Error() string { return fmt.Sprintf("sdktest: guest trapped: %v", t.Value) }

// Option configures one Do.
type Option interface{ apply(*run) }

type run struct {
	atts    []attKey
	backend func(*Upstream) Response
}

type optionFunc func(*run)

func (f optionFunc) apply(r *run) { f(r) }

// Attach adds an attachment of the policy registered as name with its JSON
// config ("" means "{}"). All attachments of a Do form one plan, run in
// order in both phases. (In the gateway an attachment sits in one section,
// so it is called in one phase only: a policy that must act in both phases
// is attached in the inbound and in the outbound section.) The response
// phase also runs after an early answer, on the answer.
func Attach(policy, config string) Option {
	if config == "" {
		config = "{}"
	}
	return optionFunc(func(r *run) { r.atts = append(r.atts, attKey{policy, config}) })
}

// Backend sets the backend. Without it the backend answers 200 "ok".
func Backend(f func(*Upstream) Response) Option {
	return optionFunc(func(r *run) { r.backend = f })
}

var (
	// guestMu serializes guest calls: the SDK's state is one instance's.
	guestMu sync.Mutex
	// Ids are process-wide because the SDK caches by id for the life of
	// the (one, emulated) instance.
	nextID, nextHandle, nextRequest atomic.Uint32
)

const (
	phaseRequest  = 1
	phaseResponse = 2
)

// Do runs req through the chain of attachments: the request phase, the
// backend unless a policy answered, then the response phase.
func (h *Host) Do(req Request, opts ...Option) *Result {
	var r run
	for _, o := range opts {
		o.apply(&r)
	}
	plan := h.plan(r.atts)
	x := h.newExchange(req)
	// The request is over when Do returns, whatever happened: the host gives
	// back the concurrency slots it took.
	defer x.ex.ReleaseHeld()
	res := &Result{}

	called := func(phase int) bool { return plan != 0 && !h.skipped(plan, phase) }

	if called(phaseRequest) {
		st, err := x.call(phaseRequest, plan)
		res.Calls = append(res.Calls, PhaseCall{"request", st})
		if done, wait, ok := x.ex.TakeFillWait(); err == nil && ok && st >= 0 && st&abi.ActionMask != abi.ActionStop && !x.ex.Answered {
			// A cache fill is in flight elsewhere: wait for it (outside the
			// guest), then run the request phase once more.
			t := time.NewTimer(wait)
			select {
			case <-done:
			case <-t.C:
			}
			t.Stop()
			st, err = x.call(phaseRequest, plan)
			res.Calls = append(res.Calls, PhaseCall{"request", st})
		}
		if err == nil && st >= 0 {
			h.noteFlags(plan, phaseRequest, st)
			if st&abi.ActionMask == abi.ActionStop && !x.ex.Answered {
				err = &Failure{Phase: "request", Result: st, Message: "the guest returned Stop without answering (send_response)"}
			}
		}
		if err != nil {
			return x.fail(res, err)
		}
	}
	e := &x.ex
	retry := e.Backend.Retry
	if e.Answered {
		res.Answered = true
	} else {
		up := &Upstream{Method: e.Method, Path: e.Path, Query: e.Query, Header: e.ReqHeader.Clone(), Body: clone(e.ReqBody.Bytes),
			BackendURL: x.backendURL(), Timeout: x.timeout(), FollowRedirects: e.Backend.FollowRedirects, Attempt: 1}
		if retry != nil {
			up.Retry = string(retry.Encode())
		}
		res.Upstream = up
		back := Response{Status: 200, Header: http.Header{"Content-Type": {"text/plain; charset=utf-8"}}, Body: []byte("ok")}
		res.Attempts = 1
		if r.backend != nil {
			for attempt := 1; ; attempt++ {
				u := *up
				u.Header, u.Body, u.Attempt = up.Header.Clone(), clone(up.Body), attempt
				b := r.backend(&u)
				if b.Status == 0 {
					b.Status = 200
				}
				back = b
				res.Attempts = attempt
				if retry == nil || !retry.Applies(up.Method) || attempt > retry.Count || !retry.Retryable(b.Status) {
					break
				}
			}
		}
		e.Status, e.RespHeader = back.Status, canonical(back.Header)
		e.RespBody = hostcall.Body{}
		e.RespBody.Load(clone(back.Body))
		if len(back.Body) > h.BodyLimit {
			e.RespBody.TooLarge = true
		}
	}
	if !x.bodyRead && !e.ReqBody.Replaced() {
		// No policy read the request body in the request phase: the
		// gateway streamed it to the backend (get_body answers ErrPhase).
		e.ReqBody.Reset()
		e.ReqBody.Src = strings.NewReader("")
	}
	if called(phaseResponse) {
		st, err := x.call(phaseResponse, plan)
		res.Calls = append(res.Calls, PhaseCall{"response", st})
		if err == nil && st >= 0 {
			h.noteFlags(plan, phaseResponse, st)
		}
		if err != nil {
			return x.fail(res, err)
		}
	}
	x.result(res)
	res.Status = e.Status
	res.Header = e.RespHeader
	res.Body = clone(e.RespBody.Bytes)
	if res.Body == nil {
		res.Body = []byte{}
	}
	return res
}

// HoldConcurrency takes one slot of the concurrency semaphore key, of at most
// limit slots, as a request in flight elsewhere would, and reports whether it
// got one; release gives it back (calling it again does nothing). key is
// the host's key: the policy name, a colon, then the key the policy passed
// to AcquireConcurrency (for limit-concurrency: "limit-concurrency:" and
// the counter key, e.g. "limit-concurrency:i:192.0.2.1").
func (h *Host) HoldConcurrency(key string, limit int64) (release func(), ok bool) {
	sems := h.Semaphores
	if sems == nil || !sems.Acquire(key, limit) {
		return func() {}, false
	}
	var once sync.Once
	return func() { once.Do(func() { sems.Release(key) }) }, true
}

// HoldFillLease takes the cache fill lease of key (a cache key, as the
// policy passes it to Cache.FillLease), as a request filling it elsewhere
// would, and reports whether it got it; release ends it (waking requests
// waiting on it; calling it again does nothing). Store the entry with
// Cache.Set before release to emulate a fill that succeeded.
func (h *Host) HoldFillLease(key string) (release func(), ok bool) {
	t := h.Leases
	if t == nil {
		return func() {}, false
	}
	l, ok := t.Acquire(key, h.Now())
	if !ok {
		return func() {}, false
	}
	return func() { t.Release(l) }, true
}

// InFlight returns the slots of the concurrency semaphore key (the host's
// key, as for HoldConcurrency) taken now.
func (h *Host) InFlight(key string) int64 {
	if h.Semaphores == nil {
		return 0
	}
	return h.Semaphores.InFlight(key)
}

// plan returns the plan id for an attachment list, assigning ids to new
// attachments and plans (0: no attachments).
func (h *Host) plan(atts []attKey) uint32 {
	if len(atts) == 0 {
		return 0
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	ids := make([]uint32, len(atts))
	var key strings.Builder
	for i, a := range atts {
		id, ok := h.atts[a]
		if !ok {
			id = nextID.Add(1)
			h.atts[a] = id
			h.info[id] = a
		}
		ids[i] = id
		fmt.Fprintf(&key, "%d,", id)
	}
	p, ok := h.plans[key.String()]
	if !ok {
		p = nextID.Add(1)
		h.plans[key.String()] = p
		h.steps[p] = ids
	}
	return p
}

func (h *Host) skipped(plan uint32, phase int) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.skip[plan][phase]
}

func (h *Host) noteFlags(plan uint32, phase int, st int32) {
	if st&abi.FlagNoHandler == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.skip[plan] == nil {
		h.skip[plan] = map[int]bool{}
	}
	h.skip[plan][phase] = true
}

func (h *Host) attachment(id uint32) (attKey, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	a, ok := h.info[id]
	return a, ok
}

func (h *Host) planSteps(id uint32) ([]uint32, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, ok := h.steps[id]
	return s, ok
}

// call runs one guest call with a fresh ctx handle. A panic is a trap.
func (x *exchange) call(phase int, plan uint32) (st int32, err error) {
	guestMu.Lock()
	defer guestMu.Unlock()
	x.setPhase(phase)
	x.handle = nextHandle.Add(1)
	imports.SetBackend(x)
	defer func() {
		x.handle = 0
		imports.SetBackend(nil)
		if v := recover(); v != nil {
			err = &Trap{Value: v, Stack: debug.Stack()}
			imports.Guest.Reset()
		}
	}()
	entry := imports.Guest.OnRequest
	if phase == phaseResponse {
		entry = imports.Guest.OnResponse
	}
	st = entry(x.handle, plan)
	if st < 0 {
		f := &Failure{Phase: "request", Result: st}
		if phase == phaseResponse {
			f.Phase = "response"
		}
		for i := len(x.logs) - 1; i >= 0; i-- {
			if x.logs[i].Level == sdk.LogError {
				f.Message = x.logs[i].Message
				break
			}
		}
		return st, f
	}
	return st, nil
}

// fail fills res for a failed call: the gateway fails closed.
func (x *exchange) fail(res *Result, err error) *Result {
	x.result(res)
	res.Err = err
	res.Status = http.StatusInternalServerError
	if x.ex.ReqBody.TooLarge || x.ex.RespBody.TooLarge {
		res.Status = http.StatusRequestEntityTooLarge
	}
	res.Header = http.Header{"Content-Type": {"application/json"}}
	msg := "Internal server error"
	if res.Status == http.StatusRequestEntityTooLarge {
		msg = "Request entity too large"
	}
	res.Body = fmt.Appendf(nil, `{"statusCode":%d,"message":%q,"requestId":%q}`, res.Status, msg, x.ex.RequestID)
	return res
}

func (x *exchange) result(res *Result) {
	res.Vars = maps.Clone(x.ex.Vars())
	if res.Vars == nil {
		res.Vars = map[string]string{}
	}
	res.Logs = x.logs
	if s := x.ex.Subscription; s != nil {
		res.SubscriptionID, res.Product = s.ID, s.Product
	}
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}

// canonical copies h with canonical header names.
func canonical(h http.Header) http.Header {
	out := make(http.Header, len(h))
	for k, vs := range h {
		ck := textproto.CanonicalMIMEHeaderKey(k)
		out[ck] = append(out[ck], vs...)
	}
	return out
}

// setPhase sets the phase the next guest call runs in.
func (x *exchange) setPhase(phase int) {
	x.ex.Phase = hostcall.PhaseRequest
	if phase == phaseResponse {
		x.ex.Phase = hostcall.PhaseResponse
	}
}
