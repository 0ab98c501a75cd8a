package engine

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/abi/egress"
	"github.com/gatehouse/gatehouse/abi/respcache"
	"github.com/gatehouse/gatehouse/host/edge"
	"github.com/gatehouse/gatehouse/host/upstream"
)

// Trap is the panic value host functions use for guest misuse; wazero turns
// it into an error from the call, and the instance is discarded.
type Trap struct{ Reason string }

func (t Trap) Error() string { return "gatehouse: guest misuse: " + t.Reason }

func trap(format string, a ...any) { panic(Trap{fmt.Sprintf(format, a...)}) }

const (
	maxVarName  = 128
	maxVarValue = 64 << 10
	maxLogMsg   = 4 << 10
)

func u32(v uint64) uint32         { return uint32(v) }
func i32(v uint64) int32          { return int32(uint32(v)) }
func ret(stack []uint64, v int32) { stack[0] = uint64(uint32(v)) }

// call resolves the ctx handle to the instance serving it; any mismatch traps.
func (e *Engine) call(mod api.Module, h uint32) (*instance, *Exchange) {
	inst := e.slot(h & 0xfffff)
	if h == 0 || inst == nil || inst.handle != h || inst.mod != mod || inst.ex == nil {
		trap("invalid context handle %#x", h)
	}
	return inst, inst.ex
}

func read(mod api.Module, ptr, n uint32) []byte {
	b, ok := mod.Memory().Read(ptr, n)
	if !ok {
		trap("out of range memory access: ptr=%d len=%d (memory %d bytes)", ptr, n, mod.Memory().Size())
	}
	return b
}

// out implements the buffer convention: return the needed length; write the
// bytes when they fit.
func out(mod api.Module, buf, capacity uint32, data []byte) int32 {
	dst := read(mod, buf, capacity) // validates the buffer even when it is too small
	if len(data) > math.MaxInt32 {
		return abi.ErrTooLarge
	}
	if len(data) <= len(dst) {
		copy(dst, data)
	}
	return int32(len(data))
}

func outString(mod api.Module, buf, capacity uint32, s string) int32 {
	dst := read(mod, buf, capacity)
	if len(s) <= len(dst) {
		copy(dst, s)
	}
	return int32(len(s))
}

func headerFor(ex *Exchange, kind int32) (http.Header, int32) {
	switch kind {
	case abi.KindRequest:
		return ex.ReqHeader, abi.OK
	case abi.KindResponse:
		if ex.RespHeader == nil {
			ex.RespHeader = make(http.Header)
		}
		return ex.RespHeader, abi.OK
	}
	return nil, abi.ErrInvalid
}

// canonicalKey canonicalizes a header name without allocating for the
// common already-canonical case.
func canonicalKey(name []byte) (string, bool) {
	if len(name) == 0 || len(name) > 256 {
		return "", false
	}
	for _, c := range name {
		if !isTokenByte(c) {
			return "", false
		}
	}
	return textproto.CanonicalMIMEHeaderKey(string(name)), true
}

var forbiddenSet = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Transfer-Encoding": true,
	"Upgrade": true, "Te": true, "Trailer": true, "Content-Length": true, "Host": true,
}

func validValue(v []byte) bool {
	if len(v) > 16<<10 {
		return false
	}
	for _, c := range v {
		if (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

func (e *Engine) instantiateHost(ctx context.Context, rt wazero.Runtime) error {
	b := rt.NewHostModuleBuilder(abi.HostModule)
	fns := map[string]api.GoModuleFunc{
		abi.FnGetField:           e.hGetField,
		abi.FnSetField:           e.hSetField,
		abi.FnGetHeader:          e.hGetHeader,
		abi.FnGetHeaders:         e.hGetHeaders,
		abi.FnSetHeader:          e.hSetHeader(false),
		abi.FnAddHeader:          e.hSetHeader(true),
		abi.FnDelHeader:          e.hDelHeader,
		abi.FnGetBody:            e.hGetBody,
		abi.FnSetBody:            e.hSetBody,
		abi.FnGetStatus:          e.hGetStatus,
		abi.FnSetStatus:          e.hSetStatus,
		abi.FnSendResponse:       e.hSendResponse,
		abi.FnGetParam:           e.hGetParam,
		abi.FnGetVar:             e.hGetVar,
		abi.FnSetVar:             e.hSetVar,
		abi.FnGetPlan:            e.hGetPlan,
		abi.FnGetAttachment:      e.hGetAttachment,
		abi.FnLog:                e.hLog,
		abi.FnNow:                e.hNow,
		abi.FnRandom:             e.hRandom,
		abi.FnCounterAdd:         e.hCounterAdd,
		abi.FnCacheGet:           e.hCacheGet,
		abi.FnCacheSet:           e.hCacheSet,
		abi.FnCacheDel:           e.hCacheDel,
		abi.FnJWTVerify:          e.hJWTVerify,
		abi.FnSubscriptionLookup: e.hSubscriptionLookup,
		abi.FnSubscriptionCheck:  e.hSubscriptionCheck,
		abi.FnConcurrencyAcquire: e.hConcurrencyAcquire,
		abi.FnCacheFillLease:     e.hCacheFillLease,
		abi.FnBodyConvert:        e.hBodyConvert, // hostfuncs_body.go
	}
	for _, hf := range abi.HostFuncs() {
		fn, ok := fns[hf.Name]
		if !ok {
			return fmt.Errorf("host function %s not implemented", hf.Name)
		}
		params := make([]api.ValueType, len(hf.Sig.Params))
		for i, t := range hf.Sig.Params {
			params[i] = api.ValueType(t)
		}
		results := make([]api.ValueType, len(hf.Sig.Results))
		for i, t := range hf.Sig.Results {
			results[i] = api.ValueType(t)
		}
		b = b.NewFunctionBuilder().WithGoModuleFunction(fn, params, results).Export(hf.Name)
	}
	_, err := b.Instantiate(ctx)
	return err
}

func (e *Engine) hGetField(_ context.Context, mod api.Module, s []uint64) {
	_, ex := e.call(mod, u32(s[0]))
	buf, capacity := u32(s[2]), u32(s[3])
	var v string
	switch i32(s[1]) {
	case abi.FieldMethod:
		v = ex.Method
	case abi.FieldPath:
		v = ex.Path
	case abi.FieldQuery:
		v = ex.Query
	case abi.FieldClientIP:
		v = ex.ClientIP
	case abi.FieldRequestID:
		v = ex.RequestID
	case abi.FieldAPI:
		v = ex.API
	case abi.FieldOperation:
		v = ex.Operation
	case abi.FieldScheme:
		v = ex.Scheme
	case abi.FieldHost:
		v = ex.Host
	case abi.FieldOriginalPath:
		v = ex.OrigPath
	case abi.FieldSubscription:
		if ex.Subscription != nil {
			v = ex.Subscription.ID
		}
	case abi.FieldProduct:
		if ex.Subscription != nil {
			v = ex.Subscription.Product
		}
	case abi.FieldRouteTemplate:
		v = ex.Template
	case abi.FieldPhase:
		v = ex.Phase.String()
	case abi.FieldBackendURL:
		v = ex.APIBackend
		if ex.Backend.URL != nil {
			v = ex.Backend.RawURL
		}
	case abi.FieldBackendTimeout:
		d := ex.APITimeout
		if ex.Backend.Timeout > 0 {
			d = ex.Backend.Timeout
		}
		v = strconv.FormatInt(d.Milliseconds(), 10)
	case abi.FieldBackendRetry:
		if ex.Backend.Retry != nil {
			v = string(ex.Backend.Retry.Encode())
		}
	case abi.FieldBackendFollowRedirects:
		v = strconv.FormatBool(ex.Backend.FollowRedirects)
	case abi.FieldCacheStatus:
		v = ex.cacheStatus
	default:
		if cv, ok := ex.clientCertField(i32(s[1])); ok { // clientcert.go
			ret(s, outString(mod, buf, capacity, cv))
			return
		}
		read(mod, buf, capacity)
		ret(s, abi.ErrInvalid)
		return
	}
	ret(s, outString(mod, buf, capacity, v))
}

func (e *Engine) hSetField(_ context.Context, mod api.Module, s []uint64) {
	_, ex := e.call(mod, u32(s[0]))
	val := read(mod, u32(s[2]), u32(s[3]))
	if i32(s[1]) == abi.FieldCacheStatus { // ABI v1.2: any phase
		ret(s, ex.setCacheStatus(val))
		return
	}
	if ex.Phase == PhaseResponse {
		ret(s, abi.ErrPhase)
		return
	}
	switch i32(s[1]) {
	case abi.FieldMethod:
		if len(val) == 0 || len(val) > 32 || !isToken(val) {
			ret(s, abi.ErrInvalid)
			return
		}
		ex.Method = strings.ToUpper(string(val))
	case abi.FieldPath:
		// The same canonical form the edge enforces: a policy cannot
		// smuggle dot-segments, backslashes or NULs to the backend.
		p, err := edge.CanonicalPath(edge.EscapePath(string(val)))
		if err != nil {
			ret(s, abi.ErrInvalid)
			return
		}
		ex.Path = p
	case abi.FieldQuery:
		if len(val) > 8<<10 || strings.ContainsAny(string(val), "\x00\r\n #") {
			ret(s, abi.ErrInvalid)
			return
		}
		ex.Query = string(val)
	case abi.FieldBackendURL, abi.FieldBackendTimeout, abi.FieldBackendRetry, abi.FieldBackendFollowRedirects:
		rc := SetBackendField(ex, i32(s[1]), val)
		if rc == abi.ErrInvalid && i32(s[1]) == abi.FieldBackendURL && len(val) <= upstream.MaxURLLen {
			if _, err := CheckBackendOverride(ex, string(val)); err != nil {
				e.log.Warn("policy backend URL refused", "request_id", ex.RequestID, "api", ex.API, "err", err)
			}
		}
		ret(s, rc)
		return
	default:
		ret(s, abi.ErrInvalid)
		return
	}
	ret(s, abi.OK)
}

// strictEgress is the rule of an exchange without one: no own backend, no
// allow-list.
var strictEgress, _ = egress.NewScope("", egress.AllowList{})

// CheckBackendOverride checks a backend URL a policy sets against the
// exchange's egress rule (abi/egress): the syntax, literal addresses and
// reserved names now; the addresses a name resolves to when the gateway
// connects (host/egress).
func CheckBackendOverride(ex *Exchange, raw string) (*url.URL, error) {
	s := ex.Egress
	if s == nil {
		s = strictEgress
	}
	return s.CheckURL(raw)
}

// SetBackendField applies set_field for the backend fields (ABI v1.1):
// request phase only, values checked by the host.
func SetBackendField(ex *Exchange, field int32, val []byte) int32 {
	if ex.Phase != PhaseRequest {
		return abi.ErrPhase
	}
	switch field {
	case abi.FieldBackendURL:
		if len(val) == 0 || len(val) > upstream.MaxURLLen {
			return abi.ErrInvalid
		}
		raw := string(val)
		u, err := CheckBackendOverride(ex, raw)
		if err != nil {
			return abi.ErrInvalid
		}
		ex.Backend.URL, ex.Backend.RawURL = u, raw
	case abi.FieldBackendTimeout:
		d, err := upstream.ParseTimeout(val)
		if err != nil {
			return abi.ErrInvalid
		}
		ex.Backend.Timeout = d
	case abi.FieldBackendRetry:
		if len(val) == 0 {
			ex.Backend.Retry = nil
			return abi.OK
		}
		r, err := upstream.ParseRetry(val)
		if err != nil {
			return abi.ErrInvalid
		}
		ex.Backend.Retry = r
	case abi.FieldBackendFollowRedirects:
		switch string(val) {
		case "true":
			ex.Backend.FollowRedirects = true
		case "false":
			ex.Backend.FollowRedirects = false
		default:
			return abi.ErrInvalid
		}
	default:
		return abi.ErrInvalid
	}
	return abi.OK
}

func isToken(b []byte) bool {
	for _, c := range b {
		if !isTokenByte(c) {
			return false
		}
	}
	return true
}

func (e *Engine) hGetHeader(_ context.Context, mod api.Module, s []uint64) {
	_, ex := e.call(mod, u32(s[0]))
	name := read(mod, u32(s[2]), u32(s[3]))
	buf, capacity := u32(s[4]), u32(s[5])
	h, st := headerFor(ex, i32(s[1]))
	if st != abi.OK {
		read(mod, buf, capacity)
		ret(s, abi.ErrInvalid)
		return
	}
	// A canonical name (what the SDK sends) is found without allocating.
	vs, found := h[string(name)]
	if !found {
		key, ok := canonicalKey(name)
		if !ok {
			read(mod, buf, capacity)
			ret(s, abi.ErrInvalid)
			return
		}
		vs = h[key]
	}
	if len(vs) == 0 {
		read(mod, buf, capacity)
		ret(s, abi.ErrNotFound)
		return
	}
	if len(vs) == 1 {
		ret(s, outString(mod, buf, capacity, vs[0]))
		return
	}
	ret(s, outString(mod, buf, capacity, strings.Join(vs, "\x00")))
}

func (e *Engine) hGetHeaders(_ context.Context, mod api.Module, s []uint64) {
	_, ex := e.call(mod, u32(s[0]))
	buf, capacity := u32(s[2]), u32(s[3])
	h, st := headerFor(ex, i32(s[1]))
	if st != abi.OK {
		read(mod, buf, capacity)
		ret(s, st)
		return
	}
	n := 0
	for k, vs := range h {
		n += (len(k) + 1) * len(vs)
		for _, v := range vs {
			n += len(v) + 1
		}
	}
	enc := make([]byte, 0, n)
	for k, vs := range h {
		for _, v := range vs {
			enc = append(enc, k...)
			enc = append(enc, 0)
			enc = append(enc, v...)
			enc = append(enc, 0)
		}
	}
	ret(s, out(mod, buf, capacity, enc))
}

func (e *Engine) hSetHeader(add bool) api.GoModuleFunc {
	fname := abi.FnSetHeader
	if add {
		fname = abi.FnAddHeader
	}
	return func(_ context.Context, mod api.Module, s []uint64) {
		inst, ex := e.call(mod, u32(s[0]))
		kind := i32(s[1])
		name := read(mod, u32(s[2]), u32(s[3]))
		val := read(mod, u32(s[4]), u32(s[5]))
		if kind == abi.KindRequest && ex.Phase == PhaseResponse {
			ret(s, abi.ErrPhase)
			return
		}
		h, st := headerFor(ex, kind)
		key, ok := canonicalKey(name)
		if st != abi.OK || !ok || forbiddenSet[key] || !validValue(val) {
			ret(s, abi.ErrInvalid)
			return
		}
		if vs := h[key]; !add && len(vs) == 1 && vs[0] == string(val) {
			ret(s, abi.OK) // unchanged: no allocation, no budget
			return
		}
		b := &e.opts.Budgets
		if ex.use.headers >= b.AddedHeaders {
			ret(s, inst.refuse(ex, budgetHeaders, fname, ex.use.headers, b.AddedHeaders))
			return
		}
		if n := ex.use.headerBytes + len(key) + len(val); n > b.AddedHeaderBytes {
			ret(s, inst.refuse(ex, budgetHeaderBytes, fname, n, b.AddedHeaderBytes))
			return
		}
		ex.use.headers++
		ex.use.headerBytes += len(key) + len(val)
		if add {
			h[key] = append(h[key], string(val))
		} else {
			h[key] = []string{string(val)}
		}
		ret(s, abi.OK)
	}
}

func (e *Engine) hDelHeader(_ context.Context, mod api.Module, s []uint64) {
	_, ex := e.call(mod, u32(s[0]))
	kind := i32(s[1])
	name := read(mod, u32(s[2]), u32(s[3]))
	if kind == abi.KindRequest && ex.Phase == PhaseResponse {
		ret(s, abi.ErrPhase)
		return
	}
	h, st := headerFor(ex, kind)
	key, ok := canonicalKey(name)
	if st != abi.OK || !ok || forbiddenSet[key] {
		ret(s, abi.ErrInvalid)
		return
	}
	delete(h, key)
	ret(s, abi.OK)
}

func (e *Engine) hGetBody(_ context.Context, mod api.Module, s []uint64) {
	_, ex := e.call(mod, u32(s[0]))
	kind := i32(s[1])
	buf, capacity := u32(s[2]), u32(s[3])
	read(mod, buf, capacity)
	var b *Body
	switch {
	case kind == abi.KindRequest:
		b = &ex.ReqBody
		if ex.Phase == PhaseResponse && !b.Buffered() {
			ret(s, abi.ErrPhase) // streamed to the backend already
			return
		}
	case kind == abi.KindResponse:
		if ex.Phase != PhaseResponse {
			ret(s, abi.ErrPhase)
			return
		}
		b = &ex.RespBody
	default:
		ret(s, abi.ErrInvalid)
		return
	}
	data, ok, notReceived := b.inMemory()
	if notReceived {
		// Never read a client or backend socket inside a guest call: the
		// gateway receives the bodies of the policies declared to read
		// them before the call (host/gateway body.go).
		ret(s, abi.ErrUnavail)
		return
	}
	if !ok || (ex.BodyCap > 0 && len(data) > ex.BodyCap) {
		ret(s, abi.ErrTooLarge)
		return
	}
	ret(s, out(mod, buf, capacity, data))
}

func (e *Engine) hSetBody(_ context.Context, mod api.Module, s []uint64) {
	_, ex := e.call(mod, u32(s[0]))
	kind := i32(s[1])
	data := read(mod, u32(s[2]), u32(s[3]))
	limit := ex.OutputCap
	if limit == 0 {
		limit = 1 << 20
	}
	switch {
	case kind == abi.KindRequest && ex.Phase != PhaseResponse:
		if len(data) > limit {
			ret(s, abi.ErrTooLarge)
			return
		}
		ex.ReqBody.set(data)
	case kind == abi.KindResponse && ex.Phase == PhaseResponse:
		if len(data) > limit {
			ret(s, abi.ErrTooLarge)
			return
		}
		ex.RespBody.set(data)
	case kind == abi.KindRequest || kind == abi.KindResponse:
		ret(s, abi.ErrPhase)
		return
	default:
		ret(s, abi.ErrInvalid)
		return
	}
	ret(s, abi.OK)
}

func (e *Engine) hGetStatus(_ context.Context, mod api.Module, s []uint64) {
	_, ex := e.call(mod, u32(s[0]))
	if ex.Phase != PhaseResponse && !ex.Answered {
		ret(s, abi.ErrNotFound)
		return
	}
	ret(s, int32(ex.Status))
}

func (e *Engine) hSetStatus(_ context.Context, mod api.Module, s []uint64) {
	_, ex := e.call(mod, u32(s[0]))
	code := i32(s[1])
	if ex.Phase != PhaseResponse {
		ret(s, abi.ErrPhase)
		return
	}
	if code < 100 || code > 599 {
		ret(s, abi.ErrInvalid)
		return
	}
	ex.Status = int(code)
	ret(s, abi.OK)
}

func (e *Engine) hSendResponse(_ context.Context, mod api.Module, s []uint64) {
	_, ex := e.call(mod, u32(s[0]))
	code := i32(s[1])
	body := read(mod, u32(s[2]), u32(s[3]))
	if ex.Phase == PhaseResponse {
		ret(s, abi.ErrPhase)
		return
	}
	if code < 100 || code > 599 {
		ret(s, abi.ErrInvalid)
		return
	}
	limit := ex.OutputCap
	if limit == 0 {
		limit = 1 << 20
	}
	if len(body) > limit {
		ret(s, abi.ErrTooLarge)
		return
	}
	ex.Answered = true
	ex.Status = int(code)
	ex.RespBody.set(body)
	if ex.RespHeader == nil {
		ex.RespHeader = make(http.Header)
	}
	ret(s, abi.OK)
}

func (e *Engine) hGetParam(_ context.Context, mod api.Module, s []uint64) {
	_, ex := e.call(mod, u32(s[0]))
	name := read(mod, u32(s[1]), u32(s[2]))
	buf, capacity := u32(s[3]), u32(s[4])
	for _, p := range ex.Params {
		if p.Name == string(name) {
			ret(s, outString(mod, buf, capacity, p.Value))
			return
		}
	}
	read(mod, buf, capacity)
	ret(s, abi.ErrNotFound)
}

func (e *Engine) hGetVar(_ context.Context, mod api.Module, s []uint64) {
	_, ex := e.call(mod, u32(s[0]))
	name := read(mod, u32(s[1]), u32(s[2]))
	buf, capacity := u32(s[3]), u32(s[4])
	v, ok := ex.vars[string(name)]
	if !ok {
		read(mod, buf, capacity)
		ret(s, abi.ErrNotFound)
		return
	}
	ret(s, outString(mod, buf, capacity, v))
}

func (e *Engine) hSetVar(_ context.Context, mod api.Module, s []uint64) {
	inst, ex := e.call(mod, u32(s[0]))
	name := read(mod, u32(s[1]), u32(s[2]))
	val := read(mod, u32(s[3]), u32(s[4]))
	switch {
	case len(name) == 0 || len(name) > maxVarName:
		ret(s, abi.ErrInvalid)
		return
	case len(val) > maxVarValue:
		ret(s, abi.ErrTooLarge)
		return
	}
	old, exists := ex.vars[string(name)]
	if exists && old == string(val) {
		ret(s, abi.OK)
		return
	}
	b := &e.opts.Budgets
	if !exists && len(ex.vars) >= b.Vars {
		ret(s, inst.refuse(ex, budgetVars, abi.FnSetVar, len(ex.vars), b.Vars))
		return
	}
	n := ex.use.varBytes + len(name) + len(val)
	if exists {
		n -= len(name) + len(old)
	}
	if n > b.VarBytes {
		ret(s, inst.refuse(ex, budgetVarBytes, abi.FnSetVar, n, b.VarBytes))
		return
	}
	ex.SetVar(string(name), string(val))
	ret(s, abi.OK)
}

func (e *Engine) hGetPlan(_ context.Context, mod api.Module, s []uint64) {
	inst, _ := e.call(mod, u32(s[0]))
	buf, capacity := u32(s[2]), u32(s[3])
	p := inst.m.plan(u32(s[1]))
	if p == nil {
		read(mod, buf, capacity)
		ret(s, abi.ErrNotFound)
		return
	}
	ret(s, out(mod, buf, capacity, p.enc))
}

func (e *Engine) hGetAttachment(_ context.Context, mod api.Module, s []uint64) {
	inst, _ := e.call(mod, u32(s[0]))
	buf, capacity := u32(s[3]), u32(s[4])
	a := inst.m.attachment(u32(s[1]))
	if a == nil {
		read(mod, buf, capacity)
		ret(s, abi.ErrNotFound)
		return
	}
	switch i32(s[2]) {
	case abi.AttachPolicy:
		ret(s, outString(mod, buf, capacity, a.Policy))
	case abi.AttachConfig:
		ret(s, out(mod, buf, capacity, a.Config))
	default:
		read(mod, buf, capacity)
		ret(s, abi.ErrInvalid)
	}
}

func (e *Engine) hLog(_ context.Context, mod api.Module, s []uint64) {
	inst, ex := e.call(mod, u32(s[0]))
	msg := read(mod, u32(s[2]), u32(s[3]))
	if len(msg) > maxLogMsg {
		msg = msg[:maxLogMsg]
	}
	var level slog.Level
	switch i32(s[1]) {
	case abi.LogDebug:
		level = slog.LevelDebug
	case abi.LogInfo:
		level = slog.LevelInfo
	case abi.LogWarn:
		level = slog.LevelWarn
	case abi.LogError:
		level = slog.LevelError
	default:
		ret(s, abi.ErrInvalid)
		return
	}
	if e.log.Enabled(context.Background(), level) {
		inst.m.log.line(level, "log", string(msg), ex.RequestID)
	}
	ret(s, abi.OK)
}

func (e *Engine) hNow(_ context.Context, _ api.Module, s []uint64) {
	s[0] = uint64(e.opts.Services.now().UnixNano())
}

func (e *Engine) hRandom(_ context.Context, mod api.Module, s []uint64) {
	n := u32(s[1])
	if n > 1024 {
		read(mod, u32(s[0]), n)
		ret(s, abi.ErrInvalid)
		return
	}
	b := read(mod, u32(s[0]), n)
	_, _ = rand.Read(b)
	ret(s, abi.OK)
}

func (e *Engine) hCounterAdd(_ context.Context, mod api.Module, s []uint64) {
	inst, _ := e.call(mod, u32(s[0]))
	key := read(mod, u32(s[1]), u32(s[2]))
	delta, limit, windowMs := int64(s[3]), int64(s[4]), int64(s[5])
	mode := i32(s[6])
	outb := read(mod, u32(s[7]), abi.CounterOutSize)
	c := e.opts.Services.Counters
	if c == nil {
		ret(s, abi.ErrUnavail)
		return
	}
	k, kok := inst.storedKey(key)
	if !kok || windowMs <= 0 || delta < 0 {
		ret(s, abi.ErrInvalid)
		return
	}
	count, reset, ok, err := c.Add(k, delta, limit, time.Duration(windowMs)*time.Millisecond, mode, e.opts.Services.now())
	if err != nil {
		ret(s, abi.ErrInvalid)
		return
	}
	binary.LittleEndian.PutUint64(outb[0:], uint64(count))
	binary.LittleEndian.PutUint64(outb[8:], uint64(reset.UnixMilli()))
	if !ok {
		ret(s, abi.ErrLimit)
		return
	}
	ret(s, abi.OK)
}

// hConcurrencyAcquire is concurrency_acquire (ABI v1.1): one slot of the
// key's semaphore, held by the exchange until the call ends.
func (e *Engine) hConcurrencyAcquire(_ context.Context, mod api.Module, s []uint64) {
	inst, ex := e.call(mod, u32(s[0]))
	key := read(mod, u32(s[1]), u32(s[2]))
	limit := int64(s[3])
	sem := e.opts.Services.Semaphores
	if sem == nil {
		ret(s, abi.ErrUnavail)
		return
	}
	k, kok := inst.storedKey(key)
	if !kok || len(key) > abi.MaxConcurrencyKey || limit < 1 {
		ret(s, abi.ErrInvalid)
		return
	}
	if b := e.opts.Budgets.HeldSlots; len(ex.held) >= b {
		ret(s, inst.refuse(ex, budgetSlots, abi.FnConcurrencyAcquire, len(ex.held), b))
		return
	}
	if !sem.Acquire(k, limit) {
		ret(s, abi.ErrLimit)
		return
	}
	ex.hold(sem, k)
	ret(s, abi.OK)
}

func (e *Engine) hCacheGet(_ context.Context, mod api.Module, s []uint64) {
	inst, ex := e.call(mod, u32(s[0]))
	key := read(mod, u32(s[1]), u32(s[2]))
	buf, capacity := u32(s[3]), u32(s[4])
	c := e.opts.Services.Cache
	if c == nil {
		read(mod, buf, capacity)
		ret(s, abi.ErrUnavail)
		return
	}
	k, kok := inst.storedKey(key)
	if !kok {
		// An empty or over-long key was never stored: a miss, as before.
		read(mod, buf, capacity)
		ret(s, abi.ErrNotFound)
		return
	}
	v, ok := c.Get(k, e.opts.Services.now())
	if !ok {
		read(mod, buf, capacity)
		ret(s, abi.ErrNotFound)
		return
	}
	if respcache.IsVariant(key) {
		ex.cacheGetHit = true // a stored response: backs a reported cache hit
	}
	ret(s, out(mod, buf, capacity, v))
}

func (e *Engine) hCacheSet(_ context.Context, mod api.Module, s []uint64) {
	inst, ex := e.call(mod, u32(s[0]))
	key := read(mod, u32(s[1]), u32(s[2]))
	val := read(mod, u32(s[3]), u32(s[4]))
	ttl := int64(s[5])
	c := e.opts.Services.Cache
	if c == nil {
		ret(s, abi.ErrUnavail)
		return
	}
	k, kok := inst.storedKey(key)
	if !kok || ttl <= 0 || ttl > int64(24*time.Hour/time.Millisecond) {
		ret(s, abi.ErrInvalid)
		return
	}
	if err := c.Set(k, val, time.Duration(ttl)*time.Millisecond, e.opts.Services.now()); err != nil {
		ret(s, abi.ErrTooLarge)
		return
	}
	if len(ex.leases) > 0 {
		// The fill is stored: end this call's lease on the key now, so its
		// waiters find the entry without waiting for the response to go out.
		ex.releaseLease(k)
	}
	ret(s, abi.OK)
}

// hCacheFillLease is cache_fill_lease (ABI v1.1): the key's fill lease,
// held by the exchange until the call ends or it stores the key; when
// another call holds it, the exchange records a fill wait for the gateway.
func (e *Engine) hCacheFillLease(_ context.Context, mod api.Module, s []uint64) {
	inst, ex := e.call(mod, u32(s[0]))
	key := read(mod, u32(s[1]), u32(s[2]))
	wait := int64(s[3])
	t := e.opts.Services.Leases
	if t == nil || e.opts.Services.Cache == nil {
		ret(s, abi.ErrUnavail)
		return
	}
	k, kok := inst.storedKey(key)
	if !kok || wait < 0 || wait > abi.MaxFillLeaseWait {
		ret(s, abi.ErrInvalid)
		return
	}
	if ex.Phase != PhaseRequest {
		ret(s, abi.ErrPhase)
		return
	}
	if ex.holdsLease(k) {
		ret(s, abi.OK)
		return
	}
	if b := e.opts.Budgets.HeldLeases; len(ex.leases) >= b {
		ret(s, inst.refuse(ex, budgetLeases, abi.FnCacheFillLease, len(ex.leases), b))
		return
	}
	l, ok := t.Acquire(k, e.opts.Services.now())
	switch {
	case ok:
		ex.holdLease(t, l)
		ret(s, abi.OK)
	case l == nil: // the table is full: go on without a lease
		ret(s, abi.ErrUnavail)
	case ex.fillWaited:
		// This request already waited for a fill (this is the re-run):
		// it goes to the backend without a lease, never waits twice.
		ret(s, abi.ErrUnavail)
	default:
		if wait > 0 && ex.fillWait == nil {
			ex.fillWait, ex.fillWaitD = l.Done(), time.Duration(wait)*time.Millisecond
		}
		ret(s, abi.ErrLimit)
	}
}

func (e *Engine) hCacheDel(_ context.Context, mod api.Module, s []uint64) {
	inst, _ := e.call(mod, u32(s[0]))
	key := read(mod, u32(s[1]), u32(s[2]))
	c := e.opts.Services.Cache
	if c == nil {
		ret(s, abi.ErrUnavail)
		return
	}
	k, kok := inst.storedKey(key)
	if !kok {
		ret(s, abi.OK) // nothing can be stored under it
		return
	}
	c.Delete(k)
	ret(s, abi.OK)
}

func (e *Engine) hJWTVerify(_ context.Context, mod api.Module, s []uint64) {
	_, ex := e.call(mod, u32(s[0]))
	tok := read(mod, u32(s[1]), u32(s[2]))
	cfg := read(mod, u32(s[3]), u32(s[4]))
	buf, capacity := u32(s[5]), u32(s[6])
	read(mod, buf, capacity)
	v := e.opts.Services.JWT
	if v == nil {
		ret(s, abi.ErrUnavail)
		return
	}
	ctx := ex.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	claims, st, err := v.Verify(ctx, string(tok), cfg)
	if err != nil || st < 0 {
		if st >= 0 {
			st = abi.ErrJWTSig
		}
		ret(s, st)
		return
	}
	ret(s, out(mod, buf, capacity, claims))
}

func (e *Engine) hSubscriptionLookup(_ context.Context, mod api.Module, s []uint64) {
	_, ex := e.call(mod, u32(s[0]))
	key := read(mod, u32(s[1]), u32(s[2]))
	buf, capacity := u32(s[3]), u32(s[4])
	read(mod, buf, capacity)
	l := e.opts.Services.Subscriptions
	if l == nil {
		ret(s, abi.ErrUnavail)
		return
	}
	if len(key) == 0 || len(key) > 256 {
		ret(s, abi.ErrNotFound)
		return
	}
	ctx := ex.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	sub, ok, err := l.LookupSubscription(ctx, string(key), ex.API)
	if err != nil {
		ret(s, abi.ErrUnavail)
		return
	}
	if !ok {
		ret(s, abi.ErrNotFound)
		return
	}
	if sub.State == "active" && sub.APIAllowed {
		ex.sub = sub
		ex.Subscription = &ex.sub
	}
	enc, _ := json.Marshal(sub)
	ret(s, out(mod, buf, capacity, enc))
}

// isTokenByte reports whether c may appear in an HTTP token (RFC 9110 §5.6.2).
func isTokenByte(c byte) bool {
	if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func (e *Engine) hSubscriptionCheck(_ context.Context, mod api.Module, s []uint64) {
	_, ex := e.call(mod, u32(s[0]))
	name := read(mod, u32(s[1]), u32(s[2]))
	qname := read(mod, u32(s[3]), u32(s[4]))
	flags := i32(s[5])
	if ex.Phase == PhaseResponse {
		ret(s, abi.ErrPhase)
		return
	}
	l := e.opts.Services.Subscriptions
	if l == nil {
		ret(s, abi.ErrUnavail)
		return
	}
	var key string
	vs, found := ex.ReqHeader[string(name)]
	if !found {
		k, ok := canonicalKey(name)
		if !ok {
			ret(s, abi.ErrInvalid)
			return
		}
		vs = ex.ReqHeader[k]
		name = []byte(k)
	}
	if len(vs) > 0 {
		key = vs[0]
	}
	fromQuery := false
	if key == "" && flags&abi.SubAllowQuery != 0 && len(qname) > 0 {
		key, fromQuery = edge.QueryValue(ex.Query, string(qname))
	}
	if key == "" || len(key) > 256 {
		if key == "" {
			ret(s, abi.SubMissing)
		} else {
			ret(s, abi.SubInvalid)
		}
		return
	}
	ctx := ex.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	sub, ok, err := l.LookupSubscription(ctx, key, ex.API)
	switch {
	case err != nil:
		ret(s, abi.ErrUnavail)
		return
	case !ok || sub.State != "active":
		ret(s, abi.SubInvalid)
		return
	case !sub.APIAllowed:
		ret(s, abi.SubOutOfScope)
		return
	}
	ex.sub = sub
	ex.Subscription = &ex.sub
	if flags&abi.SubKeep == 0 {
		// The key leaves the request wherever it was: header and, when the
		// query form is allowed, the query parameter too.
		delete(ex.ReqHeader, string(name))
		if flags&abi.SubAllowQuery != 0 && len(qname) > 0 {
			if _, ok := edge.QueryValue(ex.Query, string(qname)); ok || fromQuery {
				ex.Query = edge.RemoveQueryParam(ex.Query, string(qname))
			}
		}
	}
	ret(s, abi.SubOK)
}
