package sdktest

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/abi/egress"
	"github.com/gatehouse/gatehouse/host/counter"
	"github.com/gatehouse/gatehouse/host/edge"
	"github.com/gatehouse/gatehouse/host/semaphore"
	"github.com/gatehouse/gatehouse/host/upstream"
	"github.com/gatehouse/gatehouse/host/vcache"
	"github.com/gatehouse/gatehouse/sdk"
)

// Limits of the host functions (abi/ABI.md §5).
const (
	maxVarName  = 128
	maxVarValue = 64 << 10
	maxLogMsg   = 4 << 10
	maxRandom   = 1024
)

type response struct {
	status int
	header http.Header
	body   []byte
}

// exchange is one request's state in the host, and the imports.Backend the
// SDK calls during its guest calls.
type exchange struct {
	h      *Host
	handle uint32 // the ctx of the running guest call; 0 between calls
	phase  int

	method, path, query string
	originalPath        string
	reqHeader           http.Header
	body                []byte
	bodyRead            bool
	params              map[string]string
	fields              map[int32]string
	vars                map[string]string
	subID, product      string

	// request budgets (ABI.md §8), counted as the host does
	addedHeaders, addedHeaderBytes, varBytes int

	// the backend call (ABI v1.1)
	apiBackend      string
	apiTimeout      time.Duration
	egress          *egress.Scope
	backendURL      string
	timeout         time.Duration
	retry           *upstream.Retry
	followRedirects bool

	answered bool
	answer   response // the early answer being prepared in the request phase
	resp     response
	tooLarge bool
	logs     []Log
	held     []heldSlot  // concurrency slots taken, released when Do returns
	leases   []heldLease // fill leases taken, released when Do returns or on cache_set of the key
	// fillWait is the fill a cache_fill_lease found held (Do waits for it
	// and re-runs the request phase once).
	fillWait  <-chan struct{}
	fillWaitD time.Duration
	reran     bool
}

type heldLease struct {
	t *vcache.Leases
	l *vcache.Lease
}

// releaseLease ends the request's lease on key, if it holds one.
func (x *exchange) releaseLease(key string) {
	for i, h := range x.leases {
		if h.l.Key() == key {
			h.t.Release(h.l)
			x.leases = append(x.leases[:i], x.leases[i+1:]...)
			return
		}
	}
}

// CacheFillLease is cache_fill_lease (ABI v1.1).
func (x *exchange) CacheFillLease(ctx uint32, key []byte, waitMs int64) int32 {
	x.check(ctx)
	if x.h.Leases == nil || x.h.Cache == nil {
		return abi.ErrUnavail
	}
	if len(key) == 0 || len(key) > abi.MaxKey || waitMs < 0 || waitMs > abi.MaxFillLeaseWait {
		return abi.ErrInvalid
	}
	if x.phase != phaseRequest {
		return abi.ErrPhase
	}
	k := string(key)
	for _, h := range x.leases {
		if h.l.Key() == k {
			return abi.OK
		}
	}
	if len(x.leases) >= abi.MaxHeldLeases {
		return abi.ErrTooLarge // the request budget (ABI.md §8)
	}
	l, ok := x.h.Leases.Acquire(k, x.h.Now())
	switch {
	case ok:
		x.leases = append(x.leases, heldLease{x.h.Leases, l})
		return abi.OK
	case l == nil:
		return abi.ErrUnavail
	}
	if x.reran {
		return abi.ErrUnavail // waited once already: go on without a lease
	}
	if waitMs > 0 && x.fillWait == nil {
		x.fillWait, x.fillWaitD = l.Done(), time.Duration(waitMs)*time.Millisecond
	}
	return abi.ErrLimit
}

type heldSlot struct {
	sems *semaphore.Set
	key  string
}

// releaseHeld gives back the concurrency slots the request took (to the
// Set each was taken from, even if the test swapped Host.Semaphores since).
func (x *exchange) releaseHeld() {
	for _, s := range x.held {
		s.sems.Release(s.key)
	}
	x.held = nil
	for _, h := range x.leases {
		h.t.Release(h.l)
	}
	x.leases = nil
}

// ConcurrencyAcquire is concurrency_acquire (ABI v1.1).
func (x *exchange) ConcurrencyAcquire(ctx uint32, key []byte, limit int64) int32 {
	x.check(ctx)
	if x.h.Semaphores == nil {
		return abi.ErrUnavail
	}
	if len(key) == 0 || len(key) > abi.MaxConcurrencyKey || limit < 1 {
		return abi.ErrInvalid
	}
	if len(x.held) >= abi.MaxHeldSlots {
		return abi.ErrTooLarge // the request budget (ABI.md §8)
	}
	k := string(key)
	if !x.h.Semaphores.Acquire(k, limit) {
		return abi.ErrLimit
	}
	x.held = append(x.held, heldSlot{x.h.Semaphores, k})
	return abi.OK
}

func (h *Host) newExchange(req Request) *exchange {
	x := &exchange{h: h}
	x.method = req.Method
	if x.method == "" {
		x.method = http.MethodGet
	}
	x.path, x.query = req.Path, req.Query
	if p, q, ok := strings.Cut(x.path, "?"); ok {
		x.path, x.query = p, q
	}
	if x.path == "" {
		x.path = "/"
	}
	x.originalPath = x.path
	if prefix := strings.TrimSuffix(req.PathPrefix, "/"); prefix != "" {
		x.path = strings.TrimPrefix(x.path, prefix)
		if x.path == "" {
			x.path = "/"
		}
	}
	x.reqHeader = canonical(req.Header)
	x.body = clone(req.Body)
	x.params = req.Params
	x.vars = map[string]string{}
	for k, v := range req.Vars {
		x.vars[k] = v
		x.varBytes += len(k) + len(v)
	}
	def := func(s, d string) string {
		if s == "" {
			return d
		}
		return s
	}
	x.fields = map[int32]string{
		abi.FieldClientIP:      def(req.ClientIP, "192.0.2.1"),
		abi.FieldRequestID:     def(req.RequestID, fmt.Sprintf("req-%d", nextRequest.Add(1))),
		abi.FieldAPI:           req.API,
		abi.FieldOperation:     req.Operation,
		abi.FieldScheme:        def(req.Scheme, "https"),
		abi.FieldHost:          def(req.Host, "api.example.com"),
		abi.FieldRouteTemplate: req.RouteTemplate,
	}
	x.apiBackend = def(req.Backend, "https://backend.example.com")
	x.apiTimeout = req.BackendTimeout
	if x.apiTimeout <= 0 {
		x.apiTimeout = 30 * time.Second
	}
	allow := req.EgressAllow
	if req.AllowPrivateBackend {
		allow = append(slices.Clip(allow), "0.0.0.0/0", "::/0")
	}
	al, err := egress.ParseAllowList(allow)
	if err != nil {
		panic("sdktest: Request.EgressAllow: " + err.Error())
	}
	if x.egress, err = egress.NewScope(x.apiBackend, al); err != nil {
		panic("sdktest: Request.Backend: " + err.Error())
	}
	x.answer.header = http.Header{}
	return x
}

// trap aborts the guest call the way the host traps the guest.
func trap(format string, args ...any) {
	panic(fmt.Sprintf("host trap: "+format, args...))
}

func (x *exchange) check(ctx uint32) {
	if ctx == 0 || ctx != x.handle {
		trap("unknown or stale ctx %d", ctx)
	}
}

func (x *exchange) inRequest() bool { return x.phase == phaseRequest }

// out applies the buffer convention: the needed length, with the bytes
// written only when they fit.
func out(buf, data []byte) int32 {
	if len(data) <= len(buf) {
		copy(buf, data)
	}
	return int32(len(data))
}

func outString(buf []byte, s string) int32 {
	if len(s) <= len(buf) {
		copy(buf, s)
	}
	return int32(len(s))
}

// headers selects the header list of a kind in the current phase.
func (x *exchange) headers(kind int32) (http.Header, int32) {
	switch kind {
	case abi.KindRequest:
		return x.reqHeader, abi.OK
	case abi.KindResponse:
		if x.inRequest() {
			return x.answer.header, abi.OK
		}
		return x.resp.header, abi.OK
	}
	return nil, abi.ErrInvalid
}

func (x *exchange) GetField(ctx uint32, field int32, buf []byte) int32 {
	x.check(ctx)
	switch field {
	case abi.FieldMethod:
		return outString(buf, x.method)
	case abi.FieldPath:
		return outString(buf, x.path)
	case abi.FieldQuery:
		return outString(buf, x.query)
	case abi.FieldOriginalPath:
		return outString(buf, x.originalPath)
	case abi.FieldSubscription:
		return outString(buf, x.subID)
	case abi.FieldProduct:
		return outString(buf, x.product)
	case abi.FieldPhase:
		if x.inRequest() {
			return outString(buf, "request")
		}
		return outString(buf, "response")
	case abi.FieldBackendURL:
		return outString(buf, x.effectiveBackend())
	case abi.FieldBackendTimeout:
		return outString(buf, strconv.FormatInt(x.effectiveTimeout().Milliseconds(), 10))
	case abi.FieldBackendRetry:
		if x.retry == nil {
			return outString(buf, "")
		}
		return out(buf, x.retry.Encode())
	case abi.FieldBackendFollowRedirects:
		return outString(buf, strconv.FormatBool(x.followRedirects))
	}
	if v, ok := x.fields[field]; ok {
		return outString(buf, v)
	}
	return abi.ErrInvalid
}

func (x *exchange) SetField(ctx uint32, field int32, val []byte) int32 {
	x.check(ctx)
	if field == abi.FieldCacheStatus { // ABI v1.2: any phase
		switch v := string(val); v {
		case abi.CacheStatusHit, abi.CacheStatusMiss, abi.CacheStatusStale, abi.CacheStatusRevalidated, abi.CacheStatusBypass:
			x.fields[field] = v
			return abi.OK
		}
		return abi.ErrInvalid
	}
	if !x.inRequest() {
		return abi.ErrPhase
	}
	v := string(val)
	switch field {
	case abi.FieldMethod:
		if !isToken(v) || len(v) > 32 {
			return abi.ErrInvalid
		}
		x.method = strings.ToUpper(v)
	case abi.FieldPath:
		p, ok := canonicalPath(v)
		if !ok {
			return abi.ErrInvalid
		}
		x.path = p
	case abi.FieldQuery:
		if len(v) > 8<<10 {
			return abi.ErrInvalid
		}
		for i := 0; i < len(v); i++ {
			if c := v[i]; c <= ' ' || c == 0x7f || c == '#' {
				return abi.ErrInvalid
			}
		}
		x.query = v
	case abi.FieldBackendURL:
		if len(v) == 0 || len(v) > upstream.MaxURLLen {
			return abi.ErrInvalid
		}
		if _, err := x.egress.CheckURL(v); err != nil {
			x.logs = append(x.logs, Log{Level: sdk.LogWarn, Message: "egress: policy backend URL refused: " + err.Error()})
			return abi.ErrInvalid
		}
		x.backendURL = v
	case abi.FieldBackendTimeout:
		d, err := upstream.ParseTimeout(val)
		if err != nil {
			return abi.ErrInvalid
		}
		x.timeout = d
	case abi.FieldBackendRetry:
		if len(val) == 0 {
			x.retry = nil
			return abi.OK
		}
		r, err := upstream.ParseRetry(val)
		if err != nil {
			return abi.ErrInvalid
		}
		x.retry = r
	case abi.FieldBackendFollowRedirects:
		switch v {
		case "true", "false":
			x.followRedirects = v == "true"
		default:
			return abi.ErrInvalid
		}
	default:
		return abi.ErrInvalid
	}
	return abi.OK
}

func (x *exchange) effectiveBackend() string {
	if x.backendURL != "" {
		return x.backendURL
	}
	return x.apiBackend
}

func (x *exchange) effectiveTimeout() time.Duration {
	if x.timeout > 0 {
		return x.timeout
	}
	return x.apiTimeout
}

func (x *exchange) GetHeader(ctx uint32, kind int32, name, buf []byte) int32 {
	x.check(ctx)
	hs, st := x.headers(kind)
	if st < 0 {
		return st
	}
	if !isToken(string(name)) {
		return abi.ErrInvalid
	}
	vs := hs[textproto.CanonicalMIMEHeaderKey(string(name))]
	if len(vs) == 0 {
		return abi.ErrNotFound
	}
	return outString(buf, strings.Join(vs, "\x00"))
}

func (x *exchange) GetHeaders(ctx uint32, kind int32, buf []byte) int32 {
	x.check(ctx)
	hs, st := x.headers(kind)
	if st < 0 {
		return st
	}
	names := make([]string, 0, len(hs))
	for k := range hs {
		names = append(names, k)
	}
	sort.Strings(names)
	var b []byte
	for _, k := range names {
		for _, v := range hs[k] {
			b = append(b, k...)
			b = append(b, 0)
			b = append(b, v...)
			b = append(b, 0)
		}
	}
	return out(buf, b)
}

// writableHeaders checks a header change and returns the list to change.
func (x *exchange) writableHeaders(kind int32, name []byte, val []byte, checkVal bool) (http.Header, string, int32) {
	hs, st := x.headers(kind)
	if st < 0 {
		return nil, "", st
	}
	if kind == abi.KindRequest && !x.inRequest() {
		return nil, "", abi.ErrPhase
	}
	n := string(name)
	if !isToken(n) {
		return nil, "", abi.ErrInvalid
	}
	ck := textproto.CanonicalMIMEHeaderKey(n)
	if hopByHop[ck] {
		return nil, "", abi.ErrInvalid
	}
	if checkVal {
		for _, c := range val {
			if c == '\r' || c == '\n' || c == 0 {
				return nil, "", abi.ErrInvalid
			}
		}
	}
	return hs, ck, abi.OK
}

func (x *exchange) SetHeader(ctx uint32, kind int32, name, val []byte) int32 {
	x.check(ctx)
	hs, ck, st := x.writableHeaders(kind, name, val, true)
	if st < 0 {
		return st
	}
	if vs := hs[ck]; len(vs) == 1 && vs[0] == string(val) {
		return abi.OK // unchanged: no budget
	}
	if st := x.headerBudget(ck, val); st < 0 {
		return st
	}
	hs[ck] = []string{string(val)}
	return abi.OK
}

// headerBudget counts one header value stored by a policy against the
// request budgets (ABI.md §8), as the host does.
func (x *exchange) headerBudget(name string, val []byte) int32 {
	if x.addedHeaders >= abi.MaxAddedHeaders || x.addedHeaderBytes+len(name)+len(val) > abi.MaxAddedHeaderBytes {
		return abi.ErrTooLarge
	}
	x.addedHeaders++
	x.addedHeaderBytes += len(name) + len(val)
	return abi.OK
}

func (x *exchange) AddHeader(ctx uint32, kind int32, name, val []byte) int32 {
	x.check(ctx)
	hs, ck, st := x.writableHeaders(kind, name, val, true)
	if st < 0 {
		return st
	}
	if st := x.headerBudget(ck, val); st < 0 {
		return st
	}
	hs[ck] = append(hs[ck], string(val))
	return abi.OK
}

func (x *exchange) DelHeader(ctx uint32, kind int32, name []byte) int32 {
	x.check(ctx)
	hs, ck, st := x.writableHeaders(kind, name, nil, false)
	if st < 0 {
		return st
	}
	delete(hs, ck)
	return abi.OK
}

func (x *exchange) GetBody(ctx uint32, kind int32, buf []byte) int32 {
	x.check(ctx)
	switch {
	case kind == abi.KindRequest && x.inRequest():
		if len(x.body) > x.h.BodyLimit {
			x.tooLarge = true
			return abi.ErrTooLarge
		}
		x.bodyRead = true
		return out(buf, x.body)
	case kind == abi.KindRequest:
		if !x.bodyRead {
			return abi.ErrPhase
		}
		return out(buf, x.body)
	case kind == abi.KindResponse && !x.inRequest():
		if len(x.resp.body) > x.h.BodyLimit {
			x.tooLarge = true
			return abi.ErrTooLarge
		}
		return out(buf, x.resp.body)
	case kind == abi.KindResponse:
		return abi.ErrPhase
	}
	return abi.ErrInvalid
}

func (x *exchange) SetBody(ctx uint32, kind int32, body []byte) int32 {
	x.check(ctx)
	if kind != abi.KindRequest && kind != abi.KindResponse {
		return abi.ErrInvalid
	}
	if (kind == abi.KindRequest) != x.inRequest() {
		return abi.ErrPhase
	}
	if len(body) > x.h.OutputLimit {
		return abi.ErrTooLarge
	}
	if kind == abi.KindRequest {
		x.body = clone(body)
		x.bodyRead = true
	} else {
		x.resp.body = clone(body)
	}
	return abi.OK
}

func (x *exchange) GetStatus(ctx uint32) int32 {
	x.check(ctx)
	if x.inRequest() {
		if !x.answered {
			return abi.ErrNotFound
		}
		return int32(x.answer.status)
	}
	return int32(x.resp.status)
}

func (x *exchange) SetStatus(ctx uint32, code int32) int32 {
	x.check(ctx)
	if x.inRequest() {
		return abi.ErrPhase
	}
	if code < 100 || code > 599 {
		return abi.ErrInvalid
	}
	x.resp.status = int(code)
	return abi.OK
}

func (x *exchange) SendResponse(ctx uint32, code int32, body []byte) int32 {
	x.check(ctx)
	if !x.inRequest() {
		return abi.ErrPhase
	}
	if code < 100 || code > 599 {
		return abi.ErrInvalid
	}
	if len(body) > x.h.OutputLimit {
		return abi.ErrTooLarge
	}
	x.answered = true
	x.answer.status = int(code)
	x.answer.body = clone(body)
	return abi.OK
}

func (x *exchange) GetParam(ctx uint32, name, buf []byte) int32 {
	x.check(ctx)
	v, ok := x.params[string(name)]
	if !ok {
		return abi.ErrNotFound
	}
	return outString(buf, v)
}

func (x *exchange) GetVar(ctx uint32, name, buf []byte) int32 {
	x.check(ctx)
	v, ok := x.vars[string(name)]
	if !ok {
		return abi.ErrNotFound
	}
	return outString(buf, v)
}

func (x *exchange) SetVar(ctx uint32, name, val []byte) int32 {
	x.check(ctx)
	switch {
	case len(name) == 0 || len(name) > maxVarName:
		return abi.ErrInvalid
	case len(val) > maxVarValue:
		return abi.ErrTooLarge
	}
	old, ok := x.vars[string(name)]
	if !ok && len(x.vars) >= abi.MaxVars {
		return abi.ErrTooLarge
	}
	n := x.varBytes + len(name) + len(val)
	if ok {
		n -= len(name) + len(old)
	}
	if n > abi.MaxVarBytes {
		return abi.ErrTooLarge // the request budget (ABI.md §8)
	}
	x.varBytes = n
	x.vars[string(name)] = string(val)
	return abi.OK
}

func (x *exchange) GetPlan(ctx uint32, plan uint32, buf []byte) int32 {
	x.check(ctx)
	ids, ok := x.h.planSteps(plan)
	if !ok {
		return abi.ErrNotFound
	}
	b := make([]byte, 4*len(ids))
	for i, id := range ids {
		binary.LittleEndian.PutUint32(b[4*i:], id)
	}
	return out(buf, b)
}

func (x *exchange) GetAttachment(ctx uint32, attachment uint32, item int32, buf []byte) int32 {
	x.check(ctx)
	a, ok := x.h.attachment(attachment)
	if !ok {
		return abi.ErrNotFound
	}
	switch item {
	case abi.AttachPolicy:
		return outString(buf, a.policy)
	case abi.AttachConfig:
		return outString(buf, a.config)
	}
	return abi.ErrInvalid
}

func (x *exchange) Log(ctx uint32, level int32, msg []byte) int32 {
	x.check(ctx)
	if level < abi.LogDebug || level > abi.LogError {
		return abi.ErrInvalid
	}
	if len(msg) > maxLogMsg {
		msg = msg[:maxLogMsg]
	}
	x.logs = append(x.logs, Log{Level: sdk.LogLevel(level), Message: string(msg)})
	return abi.OK
}

func (x *exchange) Now() int64 { return x.h.Now().UnixNano() }

func (x *exchange) Random(buf []byte) int32 {
	if len(buf) > maxRandom {
		return abi.ErrInvalid
	}
	if _, err := x.h.Rand.Read(buf); err != nil {
		trap("random: %v", err)
	}
	return abi.OK
}

func (x *exchange) CounterAdd(ctx uint32, key []byte, delta, limit, windowMs int64, mode int32, o *[16]byte) int32 {
	x.check(ctx)
	if x.h.Counters == nil {
		return abi.ErrUnavail
	}
	if len(key) == 0 || len(key) > abi.MaxKey || windowMs <= 0 || windowMs > int64(counter.MaxWindow/time.Millisecond) {
		return abi.ErrInvalid
	}
	count, reset, ok, err := x.h.Counters.Add(string(key), delta, limit, time.Duration(windowMs)*time.Millisecond, mode, x.h.Now())
	if err != nil {
		return abi.ErrInvalid
	}
	binary.LittleEndian.PutUint64(o[0:8], uint64(count))
	binary.LittleEndian.PutUint64(o[8:16], uint64(reset.UnixMilli()))
	if !ok {
		return abi.ErrLimit
	}
	return abi.OK
}

func (x *exchange) CacheGet(ctx uint32, key, buf []byte) int32 {
	x.check(ctx)
	if x.h.Cache == nil {
		return abi.ErrUnavail
	}
	v, ok := x.h.Cache.Get(string(key), x.h.Now())
	if !ok {
		return abi.ErrNotFound
	}
	return out(buf, v)
}

func (x *exchange) CacheSet(ctx uint32, key, val []byte, ttlMs int64) int32 {
	x.check(ctx)
	if x.h.Cache == nil {
		return abi.ErrUnavail
	}
	if len(key) == 0 || len(key) > abi.MaxKey || ttlMs <= 0 || ttlMs > int64(vcache.MaxTTL/time.Millisecond) {
		return abi.ErrInvalid
	}
	err := x.h.Cache.Set(string(key), val, time.Duration(ttlMs)*time.Millisecond, x.h.Now())
	switch {
	case errors.Is(err, vcache.ErrTooLarge):
		return abi.ErrTooLarge
	case err != nil:
		return abi.ErrInvalid
	}
	x.releaseLease(string(key)) // the fill is stored: its waiters may look it up
	return abi.OK
}

func (x *exchange) CacheDel(ctx uint32, key []byte) int32 {
	x.check(ctx)
	if x.h.Cache == nil {
		return abi.ErrUnavail
	}
	x.h.Cache.Delete(string(key))
	return abi.OK
}

func (x *exchange) JWTVerify(ctx uint32, token, cfg, buf []byte) int32 {
	x.check(ctx)
	if x.h.JWT == nil {
		return abi.ErrUnavail
	}
	claims, st, _ := x.h.JWT.Verify(context.Background(), string(token), cfg)
	if st < 0 {
		return st
	}
	return out(buf, claims)
}

func (x *exchange) SubscriptionLookup(ctx uint32, key, buf []byte) int32 {
	x.check(ctx)
	if x.h.Subscriptions == nil {
		return abi.ErrUnavail
	}
	s, ok := x.h.Subscriptions[string(key)]
	if !ok {
		return abi.ErrNotFound
	}
	b, err := json.Marshal(s)
	if err != nil {
		trap("subscription: %v", err)
	}
	if s.Active() && s.APIAllowed {
		x.subID, x.product = s.ID, s.Product
	}
	return out(buf, b)
}

func (x *exchange) SubscriptionCheck(ctx uint32, header, query []byte, flags int32) int32 {
	x.check(ctx)
	if !x.inRequest() {
		return abi.ErrPhase
	}
	if x.h.Subscriptions == nil {
		return abi.ErrUnavail
	}
	if !isToken(string(header)) {
		return abi.ErrInvalid
	}
	name := http.CanonicalHeaderKey(string(header))
	key := x.reqHeader.Get(name)
	if key == "" && flags&abi.SubAllowQuery != 0 && len(query) > 0 {
		key, _ = edge.QueryValue(x.query, string(query))
	}
	if key == "" {
		return abi.SubMissing
	}
	s, ok := x.h.Subscriptions[key]
	switch {
	case !ok || !s.Active():
		return abi.SubInvalid
	case !s.APIAllowed:
		return abi.SubOutOfScope
	}
	x.subID, x.product = s.ID, s.Product
	if flags&abi.SubKeep == 0 {
		x.reqHeader.Del(name)
		if flags&abi.SubAllowQuery != 0 && len(query) > 0 {
			x.query = edge.RemoveQueryParam(x.query, string(query))
		}
	}
	return abi.SubOK
}

// hopByHop are the headers a policy may not set (plus Content-Length, which
// the host computes).
var hopByHop = map[string]bool{
	"Connection": true, "Proxy-Connection": true, "Keep-Alive": true,
	"Proxy-Authenticate": true, "Proxy-Authorization": true, "Te": true,
	"Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
	"Content-Length": true,
}

// isToken reports whether s is an RFC 9110 token (a valid header name or
// method).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}

// canonicalPath canonicalizes a decoded path set by a policy the way the
// gateway does: it must start with '/', be valid UTF-8 without control bytes
// or '\\', and at most 8192 bytes; runs of '/' are collapsed and "." and ".."
// segments resolved (a ".." above the root is refused). A trailing slash is
// kept.
func canonicalPath(p string) (string, bool) {
	if !strings.HasPrefix(p, "/") || len(p) > 8192 || !utf8.ValidString(p) {
		return "", false
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < ' ' || c == 0x7f || c == '\\' {
			return "", false
		}
	}
	segs := strings.Split(p[1:], "/")
	out := make([]string, 0, len(segs))
	for i, seg := range segs {
		last := i == len(segs)-1
		switch seg {
		case "", ".":
			if last {
				out = append(out, "")
			}
		case "..":
			if len(out) == 0 {
				return "", false
			}
			out = out[:len(out)-1]
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, seg)
		}
	}
	return "/" + strings.Join(out, "/"), true
}
