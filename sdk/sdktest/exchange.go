package sdktest

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/abi"
	"github.com/gatehouse/gatehouse/abi/egress"
	"github.com/gatehouse/gatehouse/abi/hostcall"
	"github.com/gatehouse/gatehouse/sdk"
)

// exchange is one request in the emulated host: the semantics layer's
// exchange (abi/hostcall, the rules the gateway runs) plus what the
// emulator reports. It is the imports.Backend the SDK calls during its guest
// calls, and the layer's Env: every host function checks its ctx here and
// runs the gateway's own code in hostcall.
type exchange struct {
	h      *Host
	hc     *hostcall.Host
	handle uint32 // the ctx of the running guest call; 0 between calls
	ex     hostcall.Exchange
	logs   []Log
	// bodyRead: a policy read the request body in the request phase (the
	// gateway then buffers it; otherwise it streams it to the backend).
	bodyRead bool
}

// services returns the host's stores as the semantics layer takes them (a
// nil store: the capability is unavailable).
func (h *Host) services() hostcall.Services {
	s := hostcall.Services{Now: h.Now, Rand: h.Rand, JWT: h.JWT}
	if h.Counters != nil {
		s.Counters = h.Counters
	}
	if h.Cache != nil {
		s.Cache = h.Cache
	}
	if h.Semaphores != nil {
		s.Semaphores = h.Semaphores
	}
	if h.Leases != nil {
		s.Leases = h.Leases
	}
	if h.Subscriptions != nil {
		s.Subscriptions = catalog(h.Subscriptions)
	}
	return s
}

// catalog is the subscription catalog by key.
type catalog map[string]Subscription

func (c catalog) LookupSubscription(_ context.Context, key, _ string) (hostcall.Subscription, bool, error) {
	s, ok := c[key]
	if !ok {
		return hostcall.Subscription{}, false, nil
	}
	return hostcall.Subscription{ID: s.ID, State: s.State, Scope: s.Scope, Product: s.Product, User: s.User, APIAllowed: s.APIAllowed}, true, nil
}

func (h *Host) newExchange(req Request) *exchange {
	svc := h.services()
	x := &exchange{h: h, hc: hostcall.New(&svc, hostcall.Budgets{})}
	e := &x.ex
	def := func(s, d string) string {
		if s == "" {
			return d
		}
		return s
	}
	e.Ctx = context.Background()
	e.Method = def(req.Method, http.MethodGet)
	e.Path, e.Query = req.Path, req.Query
	if p, q, ok := strings.Cut(e.Path, "?"); ok {
		e.Path, e.Query = p, q
	}
	e.Path = def(e.Path, "/")
	e.OrigPath = e.Path
	if prefix := strings.TrimSuffix(req.PathPrefix, "/"); prefix != "" {
		e.Path = def(strings.TrimPrefix(e.Path, prefix), "/")
	}
	e.ReqHeader = canonical(req.Header)
	e.ReqBody.Load(clone(req.Body))
	if len(req.Body) > h.BodyLimit {
		e.ReqBody.TooLarge = true
	}
	names := make([]string, 0, len(req.Params))
	for k := range req.Params {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		e.Params = append(e.Params, hostcall.Param{Name: k, Value: req.Params[k]})
	}
	for k, v := range req.Vars {
		e.SetVar(k, v)
	}
	e.ClientIP = def(req.ClientIP, "192.0.2.1")
	e.RequestID = def(req.RequestID, fmt.Sprintf("req-%d", nextRequest.Add(1)))
	e.API, e.Operation, e.Template = req.API, req.Operation, req.RouteTemplate
	e.Scheme, e.Host = def(req.Scheme, "https"), def(req.Host, "api.example.com")
	e.APIBackend = def(req.Backend, "https://backend.example.com")
	e.APITimeout = req.BackendTimeout
	if e.APITimeout <= 0 {
		e.APITimeout = 30 * time.Second
	}
	allow := req.EgressAllow
	if req.AllowPrivateBackend {
		allow = append(slices.Clip(allow), "0.0.0.0/0", "::/0")
	}
	al, err := egress.ParseAllowList(allow)
	if err != nil {
		panic("sdktest: Request.EgressAllow: " + err.Error())
	}
	if e.Egress, err = egress.NewScope(e.APIBackend, al); err != nil {
		panic("sdktest: Request.Backend: " + err.Error())
	}
	e.OutputCap = h.OutputLimit
	e.RespHeader = http.Header{}
	return x
}

// backendURL and timeout are what the backend call uses.
func (x *exchange) backendURL() string {
	if x.ex.Backend.URL != nil {
		return x.ex.Backend.RawURL
	}
	return x.ex.APIBackend
}

func (x *exchange) timeout() time.Duration {
	if x.ex.Backend.Timeout > 0 {
		return x.ex.Backend.Timeout
	}
	return x.ex.APITimeout
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

// env is the exchange as the semantics layer's Env: the emulated module's
// view.
type env exchange

func (x *exchange) env() *env { return (*env)(x) }

func (v *env) Plan(id uint32) ([]byte, bool) {
	ids, ok := v.h.planSteps(id)
	if !ok {
		return nil, false
	}
	b := make([]byte, 4*len(ids))
	for i, id := range ids {
		binary.LittleEndian.PutUint32(b[4*i:], id)
	}
	return b, true
}

func (v *env) Attachment(id uint32) (string, []byte, bool) {
	a, ok := v.h.attachment(id)
	if !ok {
		return "", nil, false
	}
	return a.policy, []byte(a.config), true
}

// StoredKey keeps keys as written, as the host does for the built-in
// module (the emulator runs one module; HoldConcurrency and friends name
// keys as the policy passed them).
func (v *env) StoredKey(key []byte) (string, bool) {
	if len(key) == 0 || len(key) > abi.MaxKey || key[0] == 0 {
		return "", false
	}
	return string(key), true
}

func (v *env) Log(_ *hostcall.Exchange, level int32, msg []byte) {
	v.logs = append(v.logs, Log{Level: sdk.LogLevel(level), Message: string(msg)})
}

func (v *env) BudgetRefused(_ *hostcall.Exchange, budget, fn string, have, limit int) {
	v.logs = append(v.logs, Log{Level: sdk.LogWarn, Message: fmt.Sprintf("host refused %s: request budget %q exhausted (%d, limit %d)", fn, budget, have, limit)})
}

func (v *env) BackendRefused(_ *hostcall.Exchange, err error) {
	v.logs = append(v.logs, Log{Level: sdk.LogWarn, Message: "egress: policy backend URL refused: " + err.Error()})
}

// imports.Backend: the ctx check, then the gateway's rules.

func (x *exchange) GetField(ctx uint32, field int32, buf []byte) int32 {
	x.check(ctx)
	return x.hc.GetField(x.env(), &x.ex, field, buf)
}

func (x *exchange) SetField(ctx uint32, field int32, val []byte) int32 {
	x.check(ctx)
	return x.hc.SetField(x.env(), &x.ex, field, val)
}

func (x *exchange) GetHeader(ctx uint32, kind int32, name, buf []byte) int32 {
	x.check(ctx)
	return x.hc.GetHeader(x.env(), &x.ex, kind, name, buf)
}

func (x *exchange) GetHeaders(ctx uint32, kind int32, buf []byte) int32 {
	x.check(ctx)
	return x.hc.GetHeaders(x.env(), &x.ex, kind, buf)
}

func (x *exchange) SetHeader(ctx uint32, kind int32, name, val []byte) int32 {
	x.check(ctx)
	return x.hc.SetHeader(x.env(), &x.ex, false, kind, name, val)
}

func (x *exchange) AddHeader(ctx uint32, kind int32, name, val []byte) int32 {
	x.check(ctx)
	return x.hc.SetHeader(x.env(), &x.ex, true, kind, name, val)
}

func (x *exchange) DelHeader(ctx uint32, kind int32, name []byte) int32 {
	x.check(ctx)
	return x.hc.DelHeader(x.env(), &x.ex, kind, name)
}

func (x *exchange) GetBody(ctx uint32, kind int32, buf []byte) int32 {
	x.check(ctx)
	if kind == abi.KindRequest && x.ex.Phase == hostcall.PhaseRequest {
		x.bodyRead = true
	}
	return x.hc.GetBody(x.env(), &x.ex, kind, buf)
}

func (x *exchange) SetBody(ctx uint32, kind int32, body []byte) int32 {
	x.check(ctx)
	return x.hc.SetBody(x.env(), &x.ex, kind, body)
}

func (x *exchange) GetStatus(ctx uint32) int32 {
	x.check(ctx)
	return x.hc.GetStatus(x.env(), &x.ex)
}

func (x *exchange) SetStatus(ctx uint32, code int32) int32 {
	x.check(ctx)
	return x.hc.SetStatus(x.env(), &x.ex, code)
}

func (x *exchange) SendResponse(ctx uint32, code int32, body []byte) int32 {
	x.check(ctx)
	return x.hc.SendResponse(x.env(), &x.ex, code, body)
}

func (x *exchange) GetParam(ctx uint32, name, buf []byte) int32 {
	x.check(ctx)
	return x.hc.GetParam(x.env(), &x.ex, name, buf)
}

func (x *exchange) GetVar(ctx uint32, name, buf []byte) int32 {
	x.check(ctx)
	return x.hc.GetVar(x.env(), &x.ex, name, buf)
}

func (x *exchange) SetVar(ctx uint32, name, val []byte) int32 {
	x.check(ctx)
	return x.hc.SetVar(x.env(), &x.ex, name, val)
}

func (x *exchange) GetPlan(ctx uint32, plan uint32, buf []byte) int32 {
	x.check(ctx)
	return x.hc.GetPlan(x.env(), &x.ex, plan, buf)
}

func (x *exchange) GetAttachment(ctx uint32, attachment uint32, item int32, buf []byte) int32 {
	x.check(ctx)
	return x.hc.GetAttachment(x.env(), &x.ex, attachment, item, buf)
}

func (x *exchange) Log(ctx uint32, level int32, msg []byte) int32 {
	x.check(ctx)
	return x.hc.Log(x.env(), &x.ex, level, msg)
}

func (x *exchange) Now() int64 { return x.hc.Now() }

func (x *exchange) Random(buf []byte) int32 { return x.hc.Random(buf) }

func (x *exchange) CounterAdd(ctx uint32, key []byte, delta, limit, windowMs int64, mode int32, o *[16]byte) int32 {
	x.check(ctx)
	return x.hc.CounterAdd(x.env(), &x.ex, key, delta, limit, windowMs, mode, o)
}

func (x *exchange) CacheGet(ctx uint32, key, buf []byte) int32 {
	x.check(ctx)
	return x.hc.CacheGet(x.env(), &x.ex, key, buf)
}

func (x *exchange) CacheSet(ctx uint32, key, val []byte, ttlMs int64) int32 {
	x.check(ctx)
	return x.hc.CacheSet(x.env(), &x.ex, key, val, ttlMs)
}

func (x *exchange) CacheDel(ctx uint32, key []byte) int32 {
	x.check(ctx)
	return x.hc.CacheDel(x.env(), &x.ex, key)
}

func (x *exchange) JWTVerify(ctx uint32, token, cfg, buf []byte) int32 {
	x.check(ctx)
	return x.hc.JWTVerify(x.env(), &x.ex, token, cfg, buf)
}

func (x *exchange) SubscriptionLookup(ctx uint32, key, buf []byte) int32 {
	x.check(ctx)
	return x.hc.SubscriptionLookup(x.env(), &x.ex, key, buf)
}

func (x *exchange) SubscriptionCheck(ctx uint32, header, query []byte, flags int32) int32 {
	x.check(ctx)
	return x.hc.SubscriptionCheck(x.env(), &x.ex, header, query, flags)
}

func (x *exchange) ConcurrencyAcquire(ctx uint32, key []byte, limit int64) int32 {
	x.check(ctx)
	return x.hc.ConcurrencyAcquire(x.env(), &x.ex, key, limit)
}

func (x *exchange) CacheFillLease(ctx uint32, key []byte, waitMs int64) int32 {
	x.check(ctx)
	return x.hc.CacheFillLease(x.env(), &x.ex, key, waitMs)
}
