//go:build wasip1

// Command abibench calls one host function many times per on_request, so a
// benchmark can price each ABI function. Its attachment config is
// "FUNCTION:ITERATIONS" (a JSON string). Static buffers only: no guest
// allocation on the measured path.
package main

import (
	"unsafe"
)

//go:wasmimport gatehouse_v1 get_field
func getField(ctx uint32, field int32, buf unsafe.Pointer, capacity uint32) int32

//go:wasmimport gatehouse_v1 set_field
func setField(ctx uint32, field int32, p unsafe.Pointer, n uint32) int32

//go:wasmimport gatehouse_v1 get_header
func getHeader(ctx uint32, kind int32, name unsafe.Pointer, nameLen uint32, buf unsafe.Pointer, capacity uint32) int32

//go:wasmimport gatehouse_v1 get_headers
func getHeaders(ctx uint32, kind int32, buf unsafe.Pointer, capacity uint32) int32

//go:wasmimport gatehouse_v1 set_header
func setHeader(ctx uint32, kind int32, name unsafe.Pointer, nameLen uint32, val unsafe.Pointer, valLen uint32) int32

//go:wasmimport gatehouse_v1 add_header
func addHeader(ctx uint32, kind int32, name unsafe.Pointer, nameLen uint32, val unsafe.Pointer, valLen uint32) int32

//go:wasmimport gatehouse_v1 del_header
func delHeader(ctx uint32, kind int32, name unsafe.Pointer, nameLen uint32) int32

//go:wasmimport gatehouse_v1 get_body
func getBody(ctx uint32, kind int32, buf unsafe.Pointer, capacity uint32) int32

//go:wasmimport gatehouse_v1 set_body
func setBody(ctx uint32, kind int32, p unsafe.Pointer, n uint32) int32

//go:wasmimport gatehouse_v1 get_status
func getStatus(ctx uint32) int32

//go:wasmimport gatehouse_v1 set_status
func setStatus(ctx uint32, code int32) int32

//go:wasmimport gatehouse_v1 send_response
func sendResponse(ctx uint32, code int32, body unsafe.Pointer, bodyLen uint32) int32

//go:wasmimport gatehouse_v1 get_param
func getParam(ctx uint32, name unsafe.Pointer, nameLen uint32, buf unsafe.Pointer, capacity uint32) int32

//go:wasmimport gatehouse_v1 get_var
func getVar(ctx uint32, name unsafe.Pointer, nameLen uint32, buf unsafe.Pointer, capacity uint32) int32

//go:wasmimport gatehouse_v1 set_var
func setVar(ctx uint32, name unsafe.Pointer, nameLen uint32, val unsafe.Pointer, valLen uint32) int32

//go:wasmimport gatehouse_v1 get_plan
func getPlan(ctx, plan uint32, buf unsafe.Pointer, capacity uint32) int32

//go:wasmimport gatehouse_v1 get_attachment
func getAttachment(ctx, att uint32, item int32, buf unsafe.Pointer, capacity uint32) int32

//go:wasmimport gatehouse_v1 log
func logMsg(ctx uint32, level int32, msg unsafe.Pointer, n uint32) int32

//go:wasmimport gatehouse_v1 now
func now() int64

//go:wasmimport gatehouse_v1 random
func random(buf unsafe.Pointer, n uint32) int32

//go:wasmimport gatehouse_v1 counter_add
func counterAdd(ctx uint32, key unsafe.Pointer, keyLen uint32, delta, limit, windowMs int64, mode int32, out unsafe.Pointer) int32

//go:wasmimport gatehouse_v1 cache_get
func cacheGet(ctx uint32, key unsafe.Pointer, keyLen uint32, buf unsafe.Pointer, capacity uint32) int32

//go:wasmimport gatehouse_v1 cache_set
func cacheSet(ctx uint32, key unsafe.Pointer, keyLen uint32, val unsafe.Pointer, valLen uint32, ttlMs int64) int32

//go:wasmimport gatehouse_v1 cache_del
func cacheDel(ctx uint32, key unsafe.Pointer, keyLen uint32) int32

//go:wasmimport gatehouse_v1 jwt_verify
func jwtVerify(ctx uint32, tok unsafe.Pointer, tokLen uint32, cfg unsafe.Pointer, cfgLen uint32, buf unsafe.Pointer, capacity uint32) int32

//go:wasmimport gatehouse_v1 subscription_check
func subscriptionCheck(ctx uint32, header unsafe.Pointer, headerLen uint32, query unsafe.Pointer, queryLen uint32, flags int32) int32

//go:wasmimport gatehouse_v1 concurrency_acquire
func concurrencyAcquire(ctx uint32, key unsafe.Pointer, keyLen uint32, limit int64) int32

//go:wasmimport gatehouse_v1 cache_fill_lease
func cacheFillLease(ctx uint32, key unsafe.Pointer, keyLen uint32, waitMs int64) int32

//go:wasmimport gatehouse_v1 subscription_lookup
func subscriptionLookup(ctx uint32, key unsafe.Pointer, keyLen uint32, buf unsafe.Pointer, capacity uint32) int32

var (
	buf   [16 << 10]byte
	out   [16]byte
	cfg   [1024]byte
	fname [64]byte
	// per attachment: parsed once per instance
	parsed = map[uint32]job{}
)

type job struct {
	fn    string
	op    int
	iters int
	arg   string // token / key for jwt and subscription
}

func p(s string) (unsafe.Pointer, uint32) {
	return unsafe.Pointer(unsafe.StringData(s)), uint32(len(s))
}

const (
	hName  = "X-Bench"
	hValue = "value-1234567890"
	vName  = "bench.var"
	cKey   = "bench-key"
	body   = `{"hello":"world"}`
)

func parse(ctx, att uint32) job {
	if j, ok := parsed[att]; ok {
		return j
	}
	n := getAttachment(ctx, att, 1, unsafe.Pointer(&cfg[0]), uint32(len(cfg)))
	s := string(cfg[:n])
	if len(s) >= 2 && s[0] == '"' {
		s = s[1 : len(s)-1]
	}
	j := job{iters: 1}
	fn, rest := s, ""
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			fn, rest = s[:i], s[i+1:]
			break
		}
	}
	j.fn = fn
	j.op = -1
	for i, name := range names {
		if name == fn {
			j.op = i
		}
	}
	it, arg := rest, ""
	for i := 0; i < len(rest); i++ {
		if rest[i] == ':' {
			it, arg = rest[:i], rest[i+1:]
			break
		}
	}
	n2 := 0
	for _, c := range it {
		n2 = n2*10 + int(c-'0')
	}
	if n2 > 0 {
		j.iters = n2
	}
	j.arg = arg
	parsed[att] = j
	return j
}

func one(ctx, plan uint32, j job) {
	b := unsafe.Pointer(&buf[0])
	c := uint32(len(buf))
	np, nl := p(hName)
	vp, vl := p(hValue)
	switch j.op {
	case 0: // noop
	case 1: // get_field
		getField(ctx, 2, b, c)
	case 2: // set_field
		pp, pl := p("/pets/1")
		setField(ctx, 2, pp, pl)
	case 3: // get_header
		getHeader(ctx, 0, np, nl, b, c)
	case 4: // get_headers
		getHeaders(ctx, 0, b, c)
	case 5: // set_header
		setHeader(ctx, 0, np, nl, vp, vl)
	case 6: // add_header
		addHeader(ctx, 1, np, nl, vp, vl)
	case 7: // del_header
		delHeader(ctx, 0, np, nl)
	case 8: // get_body
		getBody(ctx, 0, b, c)
	case 9: // set_body
		bp, bl := p(body)
		setBody(ctx, 0, bp, bl)
	case 10: // get_status
		getStatus(ctx)
	case 11: // set_status
		setStatus(ctx, 200)
	case 12: // send_response
		bp, bl := p(body)
		sendResponse(ctx, 200, bp, bl)
	case 13: // get_param
		pp, pl := p("id")
		getParam(ctx, pp, pl, b, c)
	case 14: // get_var
		kp, kl := p(vName)
		getVar(ctx, kp, kl, b, c)
	case 15: // set_var
		kp, kl := p(vName)
		setVar(ctx, kp, kl, vp, vl)
	case 16: // get_plan
		getPlan(ctx, plan, b, c)
	case 17: // get_attachment
		getAttachment(ctx, 0, 0, b, c)
	case 18: // log
		mp, ml := p("bench log line")
		logMsg(ctx, 0, mp, ml)
	case 19: // now
		now()
	case 20: // random
		random(b, 16)
	case 21: // counter_add
		kp, kl := p(cKey)
		counterAdd(ctx, kp, kl, 1, 0, 60000, 0, unsafe.Pointer(&out[0]))
	case 22: // cache_get
		kp, kl := p(cKey)
		cacheGet(ctx, kp, kl, b, c)
	case 23: // cache_set
		kp, kl := p(cKey)
		cacheSet(ctx, kp, kl, vp, vl, 60000)
	case 24: // cache_del
		kp, kl := p(cKey)
		cacheDel(ctx, kp, kl)
	case 25: // jwt_verify
		tp, tl := p(j.arg)
		cp, cl := p(jwtCfg)
		jwtVerify(ctx, tp, tl, cp, cl, b, c)
	case 26: // subscription_lookup
		kp, kl := p(j.arg)
		subscriptionLookup(ctx, kp, kl, b, c)
	case 27: // subscription_check
		hp, hl := p("X-Key")
		qp, ql := p("key")
		subscriptionCheck(ctx, hp, hl, qp, ql, 2)
	case 28: // concurrency_acquire (the benchmark releases after each call)
		kp, kl := p(cKey)
		concurrencyAcquire(ctx, kp, kl, 1<<40)
	case 29: // cache_fill_lease (taken once, then held by the call: the price of the lookup)
		kp, kl := p(cKey)
		cacheFillLease(ctx, kp, kl, 1000)
	}
}

var names = [...]string{"noop", "get_field", "set_field", "get_header", "get_headers", "set_header", "add_header", "del_header", "get_body", "set_body", "get_status", "set_status", "send_response", "get_param", "get_var", "set_var", "get_plan", "get_attachment", "log", "now", "random", "counter_add", "cache_get", "cache_set", "cache_del", "jwt_verify", "subscription_lookup", "subscription_check", "concurrency_acquire", "cache_fill_lease"}

// jwtCfg must match the benchmark's signing key and claims.
const jwtCfg = `{"algorithms":["HS256"],"issuers":["bench"],"audiences":["api"],"hmac_secret":"0123456789abcdef0123456789abcdef"}`

func run(ctx, plan uint32) int32 {
	n := getPlan(ctx, plan, unsafe.Pointer(&fname[0]), uint32(len(fname)))
	for i := int32(0); i+4 <= n; i += 4 {
		att := uint32(fname[i]) | uint32(fname[i+1])<<8 | uint32(fname[i+2])<<16 | uint32(fname[i+3])<<24
		j := parse(ctx, att)
		for k := 0; k < j.iters; k++ {
			one(ctx, plan, j)
		}
	}
	return 0
}

//go:wasmexport gatehouse_abi_v1
func abiVersion() int32 { return 0 }

//go:wasmexport on_request
func onRequest(ctx, plan uint32) int32 { return run(ctx, plan) }

//go:wasmexport on_response
func onResponse(ctx, plan uint32) int32 { return run(ctx, plan) }

func main() {}
