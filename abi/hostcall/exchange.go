package hostcall

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/abi/egress"
	"github.com/gatehouse/gatehouse/abi/upstream"
)

// Phase is where in the chain a call runs.
type Phase uint8

const (
	PhaseRequest Phase = iota
	PhaseResponse
	PhaseError
)

func (p Phase) String() string {
	switch p {
	case PhaseRequest:
		return "request"
	case PhaseResponse:
		return "response"
	}
	return "error"
}

// Param is one path-template parameter.
type Param struct{ Name, Value string }

type bodyState uint8

const (
	bodyUnread   bodyState = iota // not touched by any policy; streams through
	bodyBuffered                  // read into Body, unchanged
	bodyReplaced                  // replaced by a policy
)

// Body is a request or response body as policies see it: streamed unless a
// policy reads or replaces it, then buffered up to Limit. A body a policy
// reads is received by the gateway before the guest call (Load); inside a
// call get_body only reads memory.
type Body struct {
	Src   io.Reader // the original body; nil means empty
	Limit int64     // read cap; above it get_body answers ErrTooLarge
	Bytes []byte
	state bodyState
	// TooLarge is set when a read hit Limit.
	TooLarge bool
}

// Buffered reports whether the body was read or replaced by a policy, in
// which case Bytes is what goes on the wire.
func (b *Body) Buffered() bool { return b.state != bodyUnread }

// Replaced reports whether a policy replaced the body.
func (b *Body) Replaced() bool { return b.state == bodyReplaced }

func (b *Body) read() ([]byte, bool) {
	if b.state != bodyUnread {
		return b.Bytes, true
	}
	if b.TooLarge {
		return nil, false
	}
	if b.Src == nil {
		b.state = bodyBuffered
		b.Bytes = b.Bytes[:0]
		return b.Bytes, true
	}
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(b.Src, b.Limit+1))
	if err != nil || n > b.Limit {
		// Over the limit (MaxBytesReader also errors there), or unreadable:
		// either way the body is not usable.
		b.TooLarge = true
		return nil, false
	}
	b.Bytes = buf.Bytes()
	b.state = bodyBuffered
	return b.Bytes, true
}

// Load makes p the body as received: the gateway reads a body a policy will
// read before it borrows an instance (no client or backend I/O inside a
// guest call), then hands the bytes over here. The body keeps Src (already
// drained) and counts as buffered, unchanged.
func (b *Body) Load(p []byte) {
	b.Bytes = p
	b.state = bodyBuffered
}

// Received reports whether the body is in memory (read, replaced or empty),
// so a guest call may read it without touching a socket.
func (b *Body) Received() bool { return b.state != bodyUnread || b.Src == nil }

// inMemory is what get_body answers from: the body when it is in memory;
// ok is false when it is over its limit (TooLarge) or still on the wire
// (notReceived: the gateway did not expect a policy to read it). It never
// reads Src.
func (b *Body) inMemory() (data []byte, ok, notReceived bool) {
	if b.TooLarge {
		return nil, false, false
	}
	if !b.Received() {
		return nil, false, true
	}
	data, ok = b.read() // Src is nil or the body is buffered: memory only
	return data, ok, false
}

func (b *Body) set(p []byte) {
	b.Bytes = append(b.Bytes[:0], p...)
	b.state = bodyReplaced
}

// Set replaces the body (it then counts as replaced by a policy).
func (b *Body) Set(p []byte) { b.set(p) }

// Reset clears the body for reuse.
func (b *Body) Reset() { *b = Body{Bytes: b.Bytes[:0]} }

// Exchange is the per-request state that host functions may read and change.
// The gateway owns it; the engine touches it only during a phase call.
type Exchange struct {
	Ctx context.Context

	Method, Path, Query, OrigPath string
	ClientIP, RequestID           string
	API, Operation, Template      string
	Scheme, Host                  string
	ClientCert                    *ClientCert // nil: none presented (clientcert.go)
	Params                        []Param
	ReqHeader                     http.Header
	ReqBody                       Body

	Phase      Phase
	Status     int
	RespHeader http.Header
	RespBody   Body
	// Answered is set by send_response in the request phase.
	Answered bool

	Subscription *Subscription

	// APIBackend and APITimeout are the API's backend base URL and timeout
	// (what get_field answers for the backend fields when no policy changed
	// them); Egress is the API's egress rule a backend URL a policy sets
	// must pass (nil: the strict rule, no own backend, no allow-list).
	// Set by the gateway.
	APIBackend string
	APITimeout time.Duration
	Egress     *egress.Scope
	// Backend holds what policies changed about the backend call (ABI v1.1:
	// set-backend-service, forward-request, retry); zero when nothing.
	Backend BackendOverride

	// OutputCap caps set_body and send_response bodies; 0 means 1 MiB. Call
	// sets it from CallOptions.MaxOutput for the length of a call.
	OutputCap int
	// BodyCap caps what get_body returns to the current attachment (0: only
	// the API's body limit applies). Set by Call from CallOptions.MaxBody.
	BodyCap int

	vars map[string]string
	use  usage // what the request took of its budgets
	sub  Subscription
	// held are the concurrency slots taken by concurrency_acquire during
	// this request, released once by ReleaseHeld.
	held []heldSlot
	// leases are the fill leases taken by cache_fill_lease, released once
	// by ReleaseHeld or by a cache_set of their key.
	leases    []heldLease
	fillWait  <-chan struct{}
	fillWaitD time.Duration
	// fillWaited: the request had its fill wait; a lease found held from
	// then on answers ErrUnavail (go on without a lease), never a second
	// wait.
	fillWaited bool
	// cacheStatus is what the guest reported with FieldCacheStatus (ABI
	// v1.2); cacheGetHit is set when a cache_get found an entry.
	cacheStatus string
	cacheGetHit bool
	// keyQuery are the query parameters subscription_check took (or could
	// take) a key from (ABI v1.2): the host redacts them from its logs.
	keyQuery []string
	// rerunAt is 1 + the plan index a guest named with FlagRerunFrom in
	// its last result (0: none).
	rerunAt int

	// strs makes the header names and values set_header stores (kept
	// across Reset: the next request of the same policies finds them); hv
	// backs their one-value slices (valueSlice), one array per request,
	// never reused: the header maps holding them may outlive the request.
	strs *Interner
	hv   []string
}

type heldLease struct {
	t FillLeases
	l Lease
}

// holdLease records a fill lease taken for this request.
func (x *Exchange) holdLease(t FillLeases, l Lease) {
	x.leases = append(x.leases, heldLease{t, l})
}

// holdsLease reports whether the request holds key's fill lease.
func (x *Exchange) holdsLease(key string) bool {
	for _, h := range x.leases {
		if h.l.Key() == key {
			return true
		}
	}
	return false
}

// releaseLease ends the request's fill lease on key, if it holds one (a
// cache_set of the key: the fill is done, waiters may look it up).
func (x *Exchange) releaseLease(key string) {
	for i, h := range x.leases {
		if h.l.Key() == key {
			h.t.Release(h.l)
			last := len(x.leases) - 1
			x.leases[i] = x.leases[last]
			x.leases[last] = heldLease{}
			x.leases = x.leases[:last]
			return
		}
	}
}

// Leases returns the number of fill leases the request holds.
func (x *Exchange) Leases() int { return len(x.leases) }

// TakeFillWait returns, and clears, the fill wait a cache_fill_lease that
// found the key's lease held asked for during the last phase call: the
// channel closed when that fill ends and the longest wait. The gateway waits
// for whichever comes first, outside the guest, then re-runs the stage once.
func (x *Exchange) TakeFillWait() (done <-chan struct{}, wait time.Duration, ok bool) {
	if x.fillWait == nil {
		return nil, 0, false
	}
	done, wait = x.fillWait, x.fillWaitD
	x.fillWait, x.fillWaitD, x.fillWaited = nil, 0, true
	return done, wait, true
}

type heldSlot struct {
	sem Semaphores
	key string
}

// hold records a slot taken for this request.
func (x *Exchange) hold(sem Semaphores, key string) {
	x.held = append(x.held, heldSlot{sem, key})
}

// Held returns the number of concurrency slots the request holds.
func (x *Exchange) Held() int { return len(x.held) }

// ReleaseHeld gives back every concurrency slot the request took with
// concurrency_acquire and ends every fill lease it holds (cache_fill_lease),
// waking the calls waiting on them, and drops a pending fill wait. The
// gateway calls it (through Reset) when the call ends, whatever the outcome;
// a second call does nothing, so each slot and lease is released exactly
// once.
func (x *Exchange) ReleaseHeld() {
	for i := range x.held {
		h := &x.held[i]
		h.sem.Release(h.key)
		*h = heldSlot{}
	}
	x.held = x.held[:0]
	for i := range x.leases {
		h := &x.leases[i]
		h.t.Release(h.l)
		*h = heldLease{}
	}
	x.leases = x.leases[:0]
	x.fillWait, x.fillWaitD = nil, 0
}

// BackendOverride is what policies set about the backend call.
type BackendOverride struct {
	// URL replaces the API's backend base URL (already checked); nil: the API's.
	URL *url.URL
	// RawURL is URL as the policy set it.
	RawURL string
	// Timeout replaces the API's backend timeout (0: the API's).
	Timeout time.Duration
	// Retry asks the host to retry the call (nil: one attempt).
	Retry *upstream.Retry
	// FollowRedirects makes the host follow the backend's redirects.
	FollowRedirects bool
}

// Set reports whether any policy changed the backend call.
func (b *BackendOverride) Set() bool {
	return b.URL != nil || b.Timeout != 0 || b.Retry != nil || b.FollowRedirects
}

// Reset clears the exchange for reuse, keeping allocated maps and buffers.
// It first releases the concurrency slots the request holds (ReleaseHeld).
func (x *Exchange) Reset() {
	x.ReleaseHeld()
	vars := x.vars
	clear(vars)
	rb, sb := x.ReqBody.Bytes[:0], x.RespBody.Bytes[:0]
	params := x.Params[:0]
	held, leases, kq := x.held[:0], x.leases[:0], x.keyQuery[:0]
	*x = Exchange{vars: vars, Params: params, held: held, leases: leases, keyQuery: kq, strs: x.strs}
	x.ReqBody.Bytes, x.RespBody.Bytes = rb, sb
}

// intern returns string(b), made once for bytes asked for again.
func (x *Exchange) intern(b []byte) string {
	if x.strs == nil {
		x.strs = new(Interner)
	}
	return x.strs.Intern(b)
}

// valueSlice returns a header value slice holding only v (length and
// capacity 1: an append copies), carved from this request's array, so
// that the headers a request's policies set cost one allocation for their
// slices, not one each.
func (x *Exchange) valueSlice(v string) []string {
	if len(x.hv) == cap(x.hv) {
		x.hv = make([]string, 0, 4)
	}
	x.hv = append(x.hv, v)
	n := len(x.hv)
	return x.hv[n-1 : n : n]
}

// Var returns a per-request variable.
func (x *Exchange) Var(name string) (string, bool) {
	v, ok := x.vars[name]
	return v, ok
}

// SetVar sets a per-request variable.
func (x *Exchange) SetVar(name, val string) {
	if x.vars == nil {
		x.vars = make(map[string]string, 8)
	}
	if old, ok := x.vars[name]; ok {
		x.use.varBytes -= len(name) + len(old)
	}
	x.vars[name] = val
	x.use.varBytes += len(name) + len(val)
}

// Vars returns the variables map (nil when none were set). Callers must not
// keep it past the request.
func (x *Exchange) Vars() map[string]string { return x.vars }

// Param returns a path parameter.
func (x *Exchange) Param(name string) (string, bool) {
	for _, p := range x.Params {
		if p.Name == name {
			return p.Value, true
		}
	}
	return "", false
}

// Read returns the body's bytes, reading and buffering it (up to Limit) if
// no policy did; ok is false when it is over Limit or unreadable.
func (b *Body) Read() ([]byte, bool) { return b.read() }

// ClearFillWait drops a fill wait a previous call asked for: a fill wait is
// asked for by, and taken after, one call (and so is a re-run index).
func (x *Exchange) ClearFillWait() { x.fillWait, x.rerunAt = nil, 0 }

// NoteResult records what a guest call's result says for the host (ABI
// v1.2): with abi.FlagRerunFrom, the plan index a fill-wait re-run starts at.
func (x *Exchange) NoteResult(res int32) {
	if res >= 0 && res&abi.FlagRerunFrom != 0 {
		x.rerunAt = 1 + int((res>>abi.RerunIndexShift)&abi.RerunIndexMask)
	}
}

// RerunFrom returns the plan index the last call's guest asked a fill-wait
// re-run to start at (ABI v1.2 FlagRerunFrom); ok is false when it named
// none (a v1.0/v1.1 guest: the whole plan runs again).
func (x *Exchange) RerunFrom() (int, bool) { return x.rerunAt - 1, x.rerunAt > 0 }
