//go:build wasip1

// Command hostile is an attacker's module written against the raw ABI (no
// SDK, so no guest-side key prefixes): it reaches for other modules' shared
// state and for unbounded host resources. Its commands come from the
// request header X-Cmd (';'-separated), with keys and values hex-encoded so
// any byte (NUL included) can be sent:
//
//	cache-get:<hexkey>                 body "st=<status> val=<value>"
//	cache-set:<hexkey>:<hexval>        body "st=<status>"
//	cache-del:<hexkey>                 body "st=<status>"
//	counter:<hexkey>:<delta>:<window_ms>:<mode>   body "st=<status> count=<n>"
//	acquire:<hexkey>:<limit>:<n>       n slots; body "ok=<k> st=<first refusal>"
//	add-header:<n>:<size>              n request headers; body "ok=<k> st=…"
//	set-var:<n>:<size>                 n variables; body "ok=<k> st=…"
//	lease:<hexkey>:<n>                 n fill leases on key+i; body "ok=<k> st=…"
//	spin:<ms>                          loop for ms (wall clock), holding the instance
//	trap                               pass the host a pointer outside memory (the call traps)
//
// It answers 200 with the results of every command, one line each, unless
// the last command is "pass" (then the request goes on).
package main

import (
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"strings"
	"unsafe"
)

//go:wasmimport gatehouse_v1 get_header
func getHeader(ctx uint32, kind int32, name unsafe.Pointer, nameLen uint32, buf unsafe.Pointer, capacity uint32) int32

//go:wasmimport gatehouse_v1 add_header
func addHeader(ctx uint32, kind int32, name unsafe.Pointer, nameLen uint32, val unsafe.Pointer, valLen uint32) int32

//go:wasmimport gatehouse_v1 send_response
func sendResponse(ctx uint32, code int32, body unsafe.Pointer, bodyLen uint32) int32

//go:wasmimport gatehouse_v1 set_var
func setVar(ctx uint32, name unsafe.Pointer, nameLen uint32, val unsafe.Pointer, valLen uint32) int32

//go:wasmimport gatehouse_v1 cache_get
func cacheGet(ctx uint32, key unsafe.Pointer, keyLen uint32, buf unsafe.Pointer, capacity uint32) int32

//go:wasmimport gatehouse_v1 cache_set
func cacheSet(ctx uint32, key unsafe.Pointer, keyLen uint32, val unsafe.Pointer, valLen uint32, ttlMs int64) int32

//go:wasmimport gatehouse_v1 cache_del
func cacheDel(ctx uint32, key unsafe.Pointer, keyLen uint32) int32

//go:wasmimport gatehouse_v1 counter_add
func counterAdd(ctx uint32, key unsafe.Pointer, keyLen uint32, delta, limit, windowMs int64, mode int32, out unsafe.Pointer) int32

//go:wasmimport gatehouse_v1 concurrency_acquire
func concurrencyAcquire(ctx uint32, key unsafe.Pointer, keyLen uint32, limit int64) int32

//go:wasmimport gatehouse_v1 cache_fill_lease
func cacheFillLease(ctx uint32, key unsafe.Pointer, keyLen uint32, waitMs int64) int32

//go:wasmimport gatehouse_v1 now
func now() int64

var scratch [64 << 10]byte

func p(b []byte) (unsafe.Pointer, uint32) {
	if len(b) == 0 {
		return unsafe.Pointer(&scratch[0]), 0
	}
	return unsafe.Pointer(&b[0]), uint32(len(b))
}

func atoi(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }

func unhex(s string) []byte { b, _ := hex.DecodeString(s); return b }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func run(ctx uint32, cmd string) string {
	f := strings.Split(cmd, ":")
	arg := func(i int) string {
		if i < len(f) {
			return f[i]
		}
		return ""
	}
	switch f[0] {
	case "cache-get":
		kp, kl := p(unhex(arg(1)))
		n := cacheGet(ctx, kp, kl, unsafe.Pointer(&scratch[0]), uint32(len(scratch)))
		if n < 0 {
			return "st=" + itoa(int64(n))
		}
		return "st=0 val=" + string(scratch[:n])
	case "cache-set":
		kp, kl := p(unhex(arg(1)))
		vp, vl := p(unhex(arg(2)))
		return "st=" + itoa(int64(cacheSet(ctx, kp, kl, vp, vl, 3600_000)))
	case "cache-del":
		kp, kl := p(unhex(arg(1)))
		return "st=" + itoa(int64(cacheDel(ctx, kp, kl)))
	case "counter":
		kp, kl := p(unhex(arg(1)))
		var out [16]byte
		st := counterAdd(ctx, kp, kl, atoi(arg(2)), 0, atoi(arg(3)), int32(atoi(arg(4))), unsafe.Pointer(&out[0]))
		return "st=" + itoa(int64(st)) + " count=" + itoa(int64(binary.LittleEndian.Uint64(out[:8])))
	case "acquire":
		kp, kl := p(unhex(arg(1)))
		limit, n := atoi(arg(2)), atoi(arg(3))
		ok, st := int64(0), int32(0)
		for i := int64(0); i < n; i++ {
			if st = concurrencyAcquire(ctx, kp, kl, limit); st != 0 {
				break
			}
			ok++
		}
		return "ok=" + itoa(ok) + " st=" + itoa(int64(st))
	case "add-header", "set-var", "lease":
		n, size := atoi(arg(1)), atoi(arg(2))
		val := []byte(strings.Repeat("v", int(size)))
		ok, st := int64(0), int32(0)
		for i := int64(0); i < n; i++ {
			name := []byte("X-Hostile-" + itoa(i))
			np, nl := p(name)
			vp, vl := p(val)
			switch f[0] {
			case "add-header":
				st = addHeader(ctx, 0, np, nl, vp, vl)
			case "set-var":
				st = setVar(ctx, np, nl, vp, vl)
			case "lease":
				st = cacheFillLease(ctx, np, nl, 0)
			}
			if st != 0 {
				break
			}
			ok++
		}
		return "ok=" + itoa(ok) + " st=" + itoa(int64(st))
	case "trap":
		cacheGet(ctx, unsafe.Pointer(&scratch[0]), 0x7fffffff, unsafe.Pointer(&scratch[0]), 1)
		return "not trapped"
	case "spin":
		end := now() + atoi(arg(1))*1e6
		for now() < end {
		}
		return "spun"
	}
	return "unknown " + f[0]
}

func onRequestImpl(ctx uint32) int32 {
	name := []byte("X-Cmd")
	np, nl := p(name)
	n := getHeader(ctx, 0, np, nl, unsafe.Pointer(&scratch[0]), uint32(len(scratch)))
	if n < 0 {
		return 0
	}
	cmds := strings.Split(string(scratch[:n]), ";")
	var out []string
	for _, c := range cmds {
		if c == "pass" {
			return 0
		}
		out = append(out, run(ctx, c))
	}
	body := []byte(strings.Join(out, "\n"))
	bp, bl := p(body)
	sendResponse(ctx, 200, bp, bl)
	return 1 // stop: answered
}

//go:wasmexport gatehouse_abi_v1
func abiVersion() int32 { return 1 }

//go:wasmexport on_request
func onRequest(ctx, plan uint32) int32 { return onRequestImpl(ctx) }

func main() {}
